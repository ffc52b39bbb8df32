import { sql } from 'kysely';
import type { Selectable } from 'kysely';
import type { VideoJobs } from '$db/types.ts';
import type { TranslationOptions } from '$heygen/options.ts';
import { asUser } from './db.ts';

/**
 * One translation job per language, in ONE statement (the SQL contract of db/README.md § Translations):
 * the trigger takes content and business from the source and refuses an unknown language, a source
 * that is not a completed video of this business, and a second active translation into a language.
 * Business and content are named too, so SQL also refuses a source of another business. Any refusal leaves no row. Each row's idempotency key is the form's key and its language, so a
 * repeated post of the same form (a double click without JavaScript, a reload) makes nothing new.
 */
export async function createTranslations(args: {
	userId: string;
	businessId: string;
	contentId: string;
	sourceJobId: string;
	languages: string[];
	options: TranslationOptions;
	idempotencyKey: string;
}): Promise<{ created: number; existing: number }> {
	return asUser(args.userId, async (trx) => {
		const { rows } = await sql<Pick<Selectable<VideoJobs>, 'id'>>`
			insert into video_jobs (kind, source_job_id, business_id, content_id, output_language, options, idempotency_key)
			select 'translation', ${args.sourceJobId}::uuid, ${args.businessId}::uuid, ${args.contentId}::uuid, lang,
				${JSON.stringify(args.options)}::jsonb, ${args.idempotencyKey} || ':' || lang
			from unnest(${args.languages}::text[]) as lang
			on conflict (idempotency_key) do nothing
			returning id`.execute(trx);
		return { created: rows.length, existing: args.languages.length - rows.length };
	});
}
