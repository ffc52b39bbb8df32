import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { DB } from './types.ts';

// bigint ids (event ids, byte counts) fit in a JS number for any realistic value; numeric stays a
// string so durations keep their precision.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export type Database = Kysely<DB>;

export interface DbHandle {
	pool: pg.Pool;
	db: Database;
	close(): Promise<void>;
}

export function createPool(connectionString: string, opts: { max?: number; applicationName?: string } = {}): pg.Pool {
	const pool = new pg.Pool({
		connectionString,
		max: opts.max ?? 10,
		application_name: opts.applicationName ?? 'heygen-video-jobs',
		connectionTimeoutMillis: 10_000
	});
	// An idle client losing its connection (server restart) must not crash the process.
	pool.on('error', () => {});
	// pg-pool drops its error listener while a client is checked out, so a connection that dies
	// while its holder waits between statements (e.g. a transaction held open across a HeyGen
	// call) would throw an uncaught 'error'. The holder sees the failure on its next statement.
	pool.on('connect', (client) => client.on('error', () => {}));
	return pool;
}

export function createDb(connectionString: string, opts: { max?: number; applicationName?: string } = {}): DbHandle {
	const pool = createPool(connectionString, opts);
	const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
	return { pool, db, close: () => db.destroy() };
}
