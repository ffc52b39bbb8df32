import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { PgBoss } from 'pg-boss';
import { connectionConfig } from './client.ts';

/**
 * Forward-only numbered migrations (db/migrations/NNNN_name.sql). Each file runs in its own
 * transaction under an advisory lock and is recorded with a checksum; a file changed after it was
 * applied stops the run with an error instead of silently diverging.
 */

export const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');
/**
 * A line `-- migrate:commit` commits what came before it in a transaction of its own, for the few
 * statements Postgres lets nothing in the same transaction use (`alter type … add value`: the new
 * value is usable only after a commit). What comes before must be idempotent (`if not exists`): a
 * failure later in the file rolls back only the rest, and the next run repeats the whole file.
 */
const COMMIT_MARKER = /^-- migrate:commit$/m;
// Any fixed number works; it only has to be the same for every process migrating this database.
const LOCK_KEY = 7_341_902_118;

export interface MigrationFile {
	version: number;
	name: string;
	file: string;
	sql: string;
	checksum: string;
}

export interface MigrationStatus extends MigrationFile {
	state: 'applied' | 'pending' | 'changed';
	appliedAt?: Date;
}

export class MigrationError extends Error {
	override name = 'MigrationError';
}

export async function readMigrations(dir = MIGRATIONS_DIR): Promise<MigrationFile[]> {
	const files = (await readdir(dir)).filter((f) => f.endsWith('.sql')).sort();
	const seen = new Map<number, string>();
	const out: MigrationFile[] = [];
	for (const file of files) {
		const m = /^(\d{4})_([a-z0-9_]+)\.sql$/.exec(file);
		if (!m) throw new MigrationError(`Migration file name "${file}" must look like 0001_some_name.sql`);
		const version = Number(m[1]);
		const other = seen.get(version);
		if (other) throw new MigrationError(`Migrations "${other}" and "${file}" share the number ${m[1]}`);
		seen.set(version, file);
		const sql = (await readFile(path.join(dir, file), 'utf8')).replace(/\r\n/g, '\n');
		out.push({ version, name: m[2]!, file, sql, checksum: createHash('sha256').update(sql).digest('hex') });
	}
	return out;
}

type Queryable = pg.ClientBase;

async function ensureLedger(client: Queryable): Promise<void> {
	await client.query('begin');
	try {
		await client.query('select pg_advisory_xact_lock($1)', [LOCK_KEY]);
		await client.query(`
			create table if not exists public.schema_migrations (
				version int primary key,
				name text not null,
				checksum text not null,
				applied_at timestamptz not null default now()
			)`);
		await client.query('commit');
	} catch (err) {
		await client.query('rollback');
		throw err;
	}
}

async function appliedMigrations(client: Queryable) {
	const { rows } = await client.query<{ version: number; name: string; checksum: string; applied_at: Date }>(
		'select version, name, checksum, applied_at from public.schema_migrations order by version'
	);
	return new Map(rows.map((r) => [r.version, r]));
}

function verifyApplied(files: MigrationFile[], applied: Awaited<ReturnType<typeof appliedMigrations>>): void {
	const byVersion = new Map(files.map((f) => [f.version, f]));
	for (const [version, row] of applied) {
		const file = byVersion.get(version);
		if (!file) {
			throw new MigrationError(
				`Migration ${String(version).padStart(4, '0')}_${row.name} is applied in the database but its file is missing from db/migrations`
			);
		}
		if (file.checksum !== row.checksum) {
			throw new MigrationError(
				`Migration ${file.file} was changed after it was applied (checksum ${row.checksum.slice(0, 12)}… in the database, ` +
					`${file.checksum.slice(0, 12)}… on disk). Applied migrations are never edited: revert the change and add a new migration.`
			);
		}
	}
}

/**
 * Pending files must come after every applied one: a file numbered below the latest applied
 * migration (a branch merged late, a typo) would run after newer ones and build a schema no fresh
 * install has. It is refused, named, instead of being applied out of order.
 */
function verifyOrder(files: MigrationFile[], applied: Awaited<ReturnType<typeof appliedMigrations>>): void {
	if (applied.size === 0) return;
	const latest = Math.max(...applied.keys());
	const late = files.find((f) => !applied.has(f.version) && f.version < latest);
	if (late) {
		const latestName = `${String(latest).padStart(4, '0')}_${applied.get(latest)!.name}.sql`;
		throw new MigrationError(
			`Migration ${late.file} is pending but numbered below ${latestName}, the latest applied migration; ` +
				`it would run out of order. Give it a number above ${String(latest).padStart(4, '0')}.`
		);
	}
}

/** pg-boss creates and upgrades its own schema; the enqueue migration needs it to exist first. */
export async function ensurePgBossSchema(connectionString: string): Promise<void> {
	const boss = new PgBoss({
		connectionString,
		max: 2,
		supervise: false,
		schedule: false,
		migrate: true,
		registerInstance: false,
		openTelemetry: { enabled: false }
	});
	boss.on('error', () => {});
	await boss.start();
	await boss.stop({ graceful: false });
}

export async function migrationStatus(client: Queryable, dir = MIGRATIONS_DIR): Promise<MigrationStatus[]> {
	const files = await readMigrations(dir);
	const exists = await client.query(`select to_regclass('public.schema_migrations') is not null as ok`);
	const applied = exists.rows[0].ok ? await appliedMigrations(client) : new Map();
	return files.map((f) => {
		const row = applied.get(f.version);
		if (!row) return { ...f, state: 'pending' as const };
		return { ...f, state: row.checksum === f.checksum ? ('applied' as const) : ('changed' as const), appliedAt: row.applied_at };
	});
}

export interface MigrateOptions {
	dir?: string;
	log?: (msg: string) => void;
	/** Apply files up to and including this number only (an upgrade test stops part-way). */
	upTo?: number;
	/** The Vault root key (config resolveVaultRootKey): 0022 re-encrypts stored secrets under it. */
	vaultRootKey?: string;
}

/** Applies pending migrations; returns the files applied by this call. Safe to run concurrently. */
export async function migrate(connectionString: string, opts: MigrateOptions = {}): Promise<string[]> {
	const log = opts.log ?? (() => {});
	const files = (await readMigrations(opts.dir)).filter((f) => opts.upTo === undefined || f.version <= opts.upTo);
	const client = new pg.Client(connectionConfig(connectionString, { applicationName: 'migrate', vaultRootKey: opts.vaultRootKey }));
	await client.connect();
	try {
		await ensureLedger(client);
		const before = await appliedMigrations(client);
		verifyApplied(files, before);
		verifyOrder(files, before);
		// Whether each is still pending is re-checked under the lock: another process may get there first.
		const pending = files.filter((f) => !before.has(f.version));
		if (pending.length) await ensurePgBossSchema(connectionString);
		const done: string[] = [];
		for (const file of pending) {
			const parts = file.sql.split(COMMIT_MARKER);
			for (const [i, part] of parts.entries()) {
				const last = i === parts.length - 1;
				await client.query('begin');
				try {
					// Every transaction takes the lock and looks again: another process may have
					// applied the file between two parts of it.
					await client.query('select pg_advisory_xact_lock($1)', [LOCK_KEY]);
					const applied = await appliedMigrations(client);
					verifyApplied(files, applied);
					verifyOrder(files, applied);
					if (applied.has(file.version)) {
						await client.query('commit');
						break;
					}
					await client.query(part);
					if (last) {
						await client.query('insert into public.schema_migrations (version, name, checksum) values ($1, $2, $3)', [
							file.version,
							file.name,
							file.checksum
						]);
					}
					await client.query('commit');
					if (last) {
						done.push(file.file);
						log(`applied ${file.file}`);
					}
				} catch (err) {
					await client.query('rollback').catch(() => {});
					if (err instanceof MigrationError) throw err;
					const e = err as Error & { position?: string };
					throw new MigrationError(`Migration ${file.file} failed and was rolled back: ${e.message}`, { cause: err });
				}
			}
		}
		return done;
	} finally {
		await client.end();
	}
}
