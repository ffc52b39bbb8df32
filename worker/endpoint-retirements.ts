import { sql } from 'kysely';
import { isHeyGenError } from '../heygen/errors.ts';
import type { PipelineContext } from './context.ts';

/** Tries per retirement while HeyGen answers with transient errors (5xx, 429, timeouts). */
export const RETIREMENT_MAX_ATTEMPTS = 3;
const RETRY_AFTER_SECONDS = 60;

interface Claimed {
	id: string;
	business_id: string;
	endpoint_id: string;
	attempts: number;
	api_key: string | null;
}

type Ctx = Pick<PipelineContext, 'store' | 'webhooks' | 'log'>;

/**
 * Deletes, with the old key, the HeyGen webhook endpoints of keys replaced or removed from SQL
 * (heygen_endpoint_retirements, migration 0021), and records each outcome. Best effort: a
 * permanent refusal (the old key was revoked, say) is recorded as failed and not tried again; the
 * old key leaves Vault either way. Never throws.
 */
export async function retireEndpoints(ctx: Ctx): Promise<number> {
	if (!ctx.webhooks) return 0;
	let done = 0;
	try {
		for (;;) {
			const { rows } = await sql<Claimed>`select * from heygen_endpoint_retirements_claim(10)`.execute(ctx.store.db);
			if (rows.length === 0) return done;
			await Promise.all(rows.map((r) => retireOne(ctx, r)));
			done += rows.length;
		}
	} catch (err) {
		ctx.log.error({ err: { message: (err as Error).message } }, 'retiring old HeyGen webhook endpoints failed; will try again');
		return done;
	}
}

async function retireOne(ctx: Ctx, r: Claimed): Promise<void> {
	const finish = (outcome: string, error: string | null, retryAfterSeconds: number | null = null) =>
		sql`select heygen_endpoint_retirement_finish(${r.id}::bigint, ${outcome}, ${error},
			${retryAfterSeconds === null ? null : `${retryAfterSeconds} seconds`}::interval)`.execute(ctx.store.db);
	const where = { businessId: r.business_id, endpointId: r.endpoint_id, retirementId: r.id };
	if (!r.api_key) {
		await finish('no_key', 'The old key was not in Vault; the endpoint could not be deleted at HeyGen.');
		ctx.log.warn(where, 'old HeyGen webhook endpoint left registered: its key is gone');
		return;
	}
	try {
		// A 404 counts as deleted (heygen/webhooks.ts): the endpoint is gone either way.
		await ctx.webhooks!(r.api_key).deleteEndpoint(r.endpoint_id);
	} catch (err) {
		// HeyGen's messages are redacted of the key (heygen/errors.ts); anything else is not quoted.
		// The code and status say what happened to the delete; the sentence is the one a job would get.
		const message = isHeyGenError(err)
			? `${err.code}${err.httpStatus ? ` (HTTP ${err.httpStatus})` : ''}: ${err.message}`
			: 'unexpected error while talking to HeyGen';
		if (isHeyGenError(err) && err.retryable && r.attempts < RETIREMENT_MAX_ATTEMPTS) {
			await finish('failed', message, RETRY_AFTER_SECONDS * r.attempts);
			ctx.log.warn({ ...where, attempt: r.attempts, message }, 'could not delete the old HeyGen webhook endpoint yet; will try again');
			return;
		}
		await finish('failed', message);
		ctx.log.warn({ ...where, message }, 'HeyGen did not delete the old webhook endpoint; recorded in heygen_endpoint_retirements');
		return;
	}
	await finish('deleted', null);
	ctx.log.info(where, 'deleted the old HeyGen webhook endpoint of a replaced or removed key');
}

/** One run at a time per process; a wake-up during a run runs it once more afterwards. */
export function retirementRunner(ctx: Ctx): { wake(): void; idle(): Promise<void> } {
	let current: Promise<void> | null = null;
	let again = false;
	const loop = async () => {
		do {
			again = false;
			await retireEndpoints(ctx);
		} while (again);
		current = null;
	};
	return {
		wake() {
			if (current) again = true;
			else current = loop();
		},
		idle: () => current ?? Promise.resolve()
	};
}
