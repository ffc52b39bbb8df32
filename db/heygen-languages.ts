import { sql } from 'kysely';
import type { Database } from './client.ts';

/**
 * HeyGen's translation language names, as the worker last read them (table heygen_languages,
 * migration 0023), sorted. Empty until the worker first read them with a saved key: then
 * video_jobs accepts any well-formed name and HeyGen judges it.
 */
export async function listHeyGenLanguages(db: Database): Promise<string[]> {
	const rows = await db.selectFrom('heygen_languages').select('name').orderBy('name').execute();
	return rows.map((r) => r.name);
}

/** When the list was last refreshed, or null when it is empty. */
export async function heygenLanguagesRefreshedAt(db: Database): Promise<Date | null> {
	const row = await db
		.selectFrom('heygen_languages')
		.select((eb) => eb.fn.min('refreshed_at').as('at'))
		.executeTakeFirst();
	return row?.at ? new Date(row.at as string | Date) : null;
}

/** Replaces the list (heygen_languages_replace refuses an empty one, keeping what it has). Returns the count kept. */
export async function saveHeyGenLanguages(db: Database, names: readonly string[]): Promise<number> {
	const { rows } = await sql<{ n: number }>`select heygen_languages_replace(${[...names]}::text[]) as n`.execute(db);
	return rows[0]?.n ?? 0;
}
