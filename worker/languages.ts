/**
 * Keeps heygen_languages (the names a translation's output_language may take) fresh: read from
 * HeyGen with the business's key when a key is saved (the heygen_key_changed NOTIFY), and once a
 * day with any business's key (the worker's sweep asks; it only calls HeyGen when the list is
 * empty or a day old). One refresh at a time; a failure is logged and tried again later.
 */
import { sql } from 'kysely';
import { heygenLanguagesRefreshedAt, saveHeyGenLanguages } from '../db/heygen-languages.ts';
import { isHeyGenError } from '../heygen/index.ts';
import type { PipelineContext } from './context.ts';

export const LANGUAGES_MAX_AGE_MS = 24 * 3600_000;
/** After a failed refresh, the sweep waits this long before asking HeyGen again. */
const RETRY_AFTER_MS = 15 * 60_000;

export interface LanguageRefresher {
	/** A key was saved for `businessId` (refresh with it), or null: refresh if the list is stale. */
	wake(businessId: string | null): void;
	/** Resolves when no refresh is running. */
	idle(): Promise<void>;
}

export function languageRefresher(ctx: PipelineContext): LanguageRefresher {
	let running: Promise<void> | null = null;
	let pending: { businessId: string | null } | null = null;
	let notBefore = 0;

	async function anyBusinessWithKey(): Promise<string | null> {
		const { rows } = await sql<{
			id: string;
		}>`select id from businesses where heygen_secret_id is not null order by created_at limit 1`.execute(ctx.store.db);
		return rows[0]?.id ?? null;
	}

	async function refresh(businessId: string | null): Promise<void> {
		if (businessId === null) {
			if (Date.now() < notBefore) return;
			const at = await heygenLanguagesRefreshedAt(ctx.store.db);
			if (at && Date.now() - at.getTime() < LANGUAGES_MAX_AGE_MS) return;
			businessId = await anyBusinessWithKey();
			if (!businessId) return;
		}
		const key = await ctx.store.apiKey(businessId);
		if (!key) return;
		try {
			const names = await ctx.heygen(key).listTranslationLanguages();
			const n = await saveHeyGenLanguages(ctx.store.db, names);
			notBefore = 0;
			ctx.log.info({ businessId, languages: n }, 'HeyGen translation languages refreshed');
		} catch (err) {
			notBefore = Date.now() + RETRY_AFTER_MS;
			const code = isHeyGenError(err) ? err.code : 'unexpected';
			ctx.log.warn({ businessId, code, err: { message: (err as Error).message } }, 'could not refresh HeyGen translation languages');
		}
	}

	function run(): void {
		if (running || !pending) return;
		const next = pending;
		pending = null;
		running = refresh(next.businessId)
			.catch((err: unknown) => ctx.log.warn({ err: { message: (err as Error).message } }, 'language refresh failed'))
			.finally(() => {
				running = null;
				run();
			});
	}

	return {
		wake(businessId) {
			// A key's own refresh wins over a staleness check waiting behind it.
			if (!pending || businessId !== null) pending = { businessId };
			run();
		},
		async idle() {
			while (running) await running;
		}
	};
}
