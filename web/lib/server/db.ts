import { sql, type Transaction } from 'kysely';
import { createDb, type Database, type DbHandle } from '$db/client.ts';
import type { DB } from '$db/types.ts';
import { resolveVaultRootKey } from '$config/index.ts';
import { config } from './config.ts';

let handle: DbHandle | null = null;

/**
 * The web process's one pool, created on first use from DATABASE_URL (npm start sets it after
 * starting the embedded Postgres; the dev server's init hook does the same).
 */
export function database(): DbHandle {
	if (!handle) {
		const c = config();
		if (!c.DATABASE_URL)
			throw new Error('DATABASE_URL is not set: start the app with `npm start` (embedded Postgres) or set DATABASE_URL.');
		handle = createDb(c.DATABASE_URL, { max: 20, applicationName: 'web', vaultRootKey: resolveVaultRootKey(c) });
	}
	return handle;
}

export function db(): Database {
	return database().db;
}

export async function closeDatabase(): Promise<void> {
	const h = handle;
	handle = null;
	await h?.close();
}

/**
 * Runs fn in a transaction whose job changes are recorded in video_job_events as made by this
 * user (`video_jobs.actor` = 'user:<id>').
 */
export async function asUser<T>(userId: string, fn: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
	return db()
		.transaction()
		.execute(async (trx) => {
			await sql`select set_config('video_jobs.actor', ${`user:${userId}`}, true)`.execute(trx);
			return fn(trx);
		});
}
