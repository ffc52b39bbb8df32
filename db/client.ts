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

export interface ConnectOptions {
	applicationName?: string;
	/**
	 * The Vault stand-in's root key (config/index.ts resolveVaultRootKey), for connections that
	 * encrypt or decrypt secrets. It travels as a startup option (`-c vault_internal.root_key=…`):
	 * a session setting read by the stand-in's functions, never stored, not shown in
	 * pg_stat_activity and not part of any statement, so statement logs never hold it. Connections
	 * that only write jobs leave it out. Supabase's real Vault ignores it.
	 */
	vaultRootKey?: string;
	/** Only for rotating the root key (vault_internal.rotate_root_key, npm run vault:rotate-key): the new key. */
	vaultNewRootKey?: string;
}

/** pg settings for one connection; a connection string's own `options` are kept. */
export function connectionConfig(connectionString: string, opts: ConnectOptions = {}): pg.ClientConfig {
	const base = { connectionString, application_name: opts.applicationName ?? 'heygen-video-jobs' };
	const settings = Object.entries({ root_key: opts.vaultRootKey, new_root_key: opts.vaultNewRootKey })
		.filter((e): e is [string, string] => Boolean(e[1]))
		// Postgres splits options at spaces and takes a backslash as an escape.
		.map(([name, value]) => `-c vault_internal.${name}=${value.replace(/[\\\s]/g, (c) => `\\${c}`)}`);
	if (!settings.length) return base;
	// pg lets options in the URL override the ones given here, so they are merged and moved out of it.
	const url = new URL(connectionString);
	const own = url.searchParams.get('options');
	url.searchParams.delete('options');
	return { ...base, connectionString: url.toString(), options: [own, ...settings].filter(Boolean).join(' ') };
}

export function createPool(connectionString: string, opts: ConnectOptions & { max?: number } = {}): pg.Pool {
	const pool = new pg.Pool({
		...connectionConfig(connectionString, opts),
		max: opts.max ?? 10,
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

export function createDb(connectionString: string, opts: ConnectOptions & { max?: number } = {}): DbHandle {
	const pool = createPool(connectionString, opts);
	const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
	return { pool, db, close: () => db.destroy() };
}
