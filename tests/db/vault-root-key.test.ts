// Migration 0022: the Vault stand-in's root key lives outside the database. A copy of the database
// (what a pg_dump or a restored backup holds) decrypts nothing without it; the sessions that carry
// it (db/client.ts) decrypt as before; sessions that only write jobs need no key; a database with
// secrets from before 0022 is re-encrypted and the worker still reads its keys; the key can be
// rotated; and the key shows up in no catalog, activity row or error.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { loadConfig, resolveVaultRootKey } from '../../config/index.ts';
import { connectionConfig, createDb } from '../../db/client.ts';
import { MIGRATIONS_DIR, migrate } from '../../db/migrate.ts';
import { withDatabase } from '../setup/global-postgres.ts';
import { admin, createTestDatabase, pgError, type TestDatabase } from '../helpers/db.ts';
import { seedBusiness, TEST_KEY } from '../helpers/fixtures.ts';
import { startPipeline, waitForStatus } from '../helpers/pipeline.ts';

const run = promisify(execFile);
const ROOT_KEY = () => inject('vaultRootKey');
const WEBHOOK_SECRET = `whsec_${randomBytes(16).toString('hex')}`;

/** A client on `name`, with the given root key (or none): how an app, a DBA or a thief connects. */
async function connect(name: string, vaultRootKey?: string): Promise<pg.Client> {
	const c = new pg.Client(connectionConfig(withDatabase(inject('pgAdminUrl'), name), { applicationName: 'vault-test', vaultRootKey }));
	await c.connect();
	return c;
}

async function withClient<T>(name: string, vaultRootKey: string | undefined, fn: (c: pg.Client) => Promise<T>): Promise<T> {
	const c = await connect(name, vaultRootKey);
	try {
		return await fn(c);
	} finally {
		await c.end();
	}
}

/** Rows of every table in every schema (catalogs included) whose text contains any of `needles`. */
async function tablesContaining(c: pg.Client, needles: string[]): Promise<string[]> {
	const { rows: rels } = await c.query<{ rel: string }>(
		`select format('%I.%I', n.nspname, k.relname) as rel from pg_class k join pg_namespace n on n.oid = k.relnamespace
		 where k.relkind in ('r', 'm', 'p') order by 1`
	);
	expect(rels.map((r) => r.rel)).toEqual(expect.arrayContaining(['vault.secrets', 'pg_catalog.pg_proc', 'pg_catalog.pg_db_role_setting']));
	const hits: string[] = [];
	for (const { rel } of rels) {
		const { rows } = await c.query(
			`select count(*)::int as n from ${rel} t where exists (select 1 from unnest($1::text[]) x where strpos(t::text, x) > 0)`,
			[needles]
		);
		if (rows[0].n > 0) hits.push(rel);
	}
	return hits;
}

describe('resolving the root key', () => {
	it('VAULT_ROOT_KEY wins; else <DATA_DIR>/vault-root.key is made once (0600) and reused; bad keys are refused by name', () => {
		const dir = mkdtempSync(path.join(tmpdir(), 'hvj-vault-key-'));
		try {
			const given = 'k'.repeat(40);
			expect(resolveVaultRootKey(loadConfig({ DATA_DIR: dir, VAULT_ROOT_KEY: given }))).toBe(given);
			const made = resolveVaultRootKey(loadConfig({ DATA_DIR: dir }));
			expect(made).toMatch(/^[A-Za-z0-9_-]{43}$/);
			expect(statSync(path.join(dir, 'vault-root.key')).mode & 0o777).toBe(0o600);
			expect(resolveVaultRootKey(loadConfig({ DATA_DIR: dir }))).toBe(made);
			expect(() => loadConfig({ VAULT_ROOT_KEY: 'short' })).toThrow(/VAULT_ROOT_KEY: VAULT_ROOT_KEY must be at least 32 characters/);
			expect(() => loadConfig({ VAULT_ROOT_KEY: `${given} x` })).toThrow(/VAULT_ROOT_KEY must be printable ASCII without spaces/);
			// A damaged key file is never replaced by a new key (that would lose every secret).
			writeFileSync(path.join(dir, 'vault-root.key'), 'short\n');
			expect(() => resolveVaultRootKey(loadConfig({ DATA_DIR: dir }))).toThrow(/vault-root\.key/);
			expect(readFileSync(path.join(dir, 'vault-root.key'), 'utf8')).toBe('short\n');
		} finally {
			rmSync(dir, { recursive: true, force: true });
		}
	});
});

describe('a copy of the database (what a dump or a backup holds)', () => {
	let src: TestDatabase;
	let businessId: string;
	const copy = `hvj_t_copy_${randomBytes(5).toString('hex')}`;
	const apiKey = `sk-dump-${randomBytes(12).toString('hex')}`;

	beforeAll(async () => {
		src = await createTestDatabase();
		({ businessId } = await seedBusiness(src, { key: apiKey, name: 'Dumped Co' }));
		const saved = await src.sql(`select * from save_heygen_webhook($1, $2, 'ep_dump', 'https://app.example/api/heygen/webhook/x', $3)`, [
			businessId,
			apiKey,
			WEBHOOK_SECRET
		]);
		expect(saved.rows[0].saved).toBe(true);
		// CREATE DATABASE … TEMPLATE copies every byte of the source, the way a restore would.
		// (The pool itself: Kysely's destroy() ends only a pool it has used.)
		await src.pool.end();
		await admin((c) => c.query(`create database ${copy} template ${src.name}`));
	});
	afterAll(async () => {
		await admin(async (c) => {
			await c.query(`drop database if exists ${copy} with (force)`);
			await c.query(`drop database if exists ${src.name} with (force)`);
		});
	});

	it('decrypts nothing without the root key: every reader fails naming the missing setting, never the key', async () => {
		await withClient(copy, undefined, async (c) => {
			for (const sql of [
				`select decrypted_secret from vault.decrypted_secrets`,
				`select vault_internal.decrypt(secret) from vault.secrets`,
				`select get_heygen_key('${businessId}')`,
				`select get_heygen_webhook_secret('${businessId}')`
			]) {
				const err = await pgError(c.query(sql));
				expect(err.code, sql).toBe('55000');
				expect(err.message, sql).toBe('vault: the root key is missing: this session has no vault_internal.root_key setting');
				expect(err.hint, sql).toMatch(/VAULT_ROOT_KEY/);
				expect(JSON.stringify(err), sql).not.toContain(ROOT_KEY());
			}
			// The in-database data key the old stand-in kept is gone.
			expect((await c.query(`select to_regclass('vault_internal.data_key') as t`)).rows[0].t).toBeNull();
		});
	});

	it('no table of the copy, catalogs included, holds the API key, the webhook secret or the root key', async () => {
		await withClient(copy, undefined, async (c) => {
			expect(await tablesContaining(c, [apiKey, WEBHOOK_SECRET, ROOT_KEY()])).toEqual([]);
			// The scan does find what is there: the business's name.
			expect(await tablesContaining(c, ['Dumped Co'])).toEqual(['public.businesses']);
		});
	});

	it('a wrong root key is refused by name (and writes nothing under it)', async () => {
		const wrong = randomBytes(32).toString('base64url');
		await withClient(copy, wrong, async (c) => {
			for (const sql of [`select get_heygen_key('${businessId}')`, `select set_heygen_key('${businessId}', 'sk-other-key-0123456789')`]) {
				const err = await pgError(c.query(sql));
				expect(err.code, sql).toBe('28000');
				expect(err.message, sql).toBe("vault: the root key of this session is not the one this database's secrets are encrypted with");
				expect(JSON.stringify(err), sql).not.toContain(wrong);
			}
		});
		await withClient(copy, ROOT_KEY(), async (c) => {
			expect((await c.query(`select get_heygen_key($1) as k`, [businessId])).rows[0].k).toBe(apiKey);
		});
	});

	it('with the root key the copy decrypts both secrets', async () => {
		await withClient(copy, ROOT_KEY(), async (c) => {
			const { rows } = await c.query(`select get_heygen_key($1) as k, get_heygen_webhook_secret($1) as w`, [businessId]);
			expect(rows[0]).toEqual({ k: apiKey, w: WEBHOOK_SECRET });
		});
	});

	it('a plain SQL writer without the key still inserts jobs; saving a key without it fails and changes nothing', async () => {
		await withClient(copy, undefined, async (c) => {
			const content = (await c.query(`select id from content where business_id = $1`, [businessId])).rows[0].id;
			const { rows } = await c.query(`insert into video_jobs (content_id) values ($1) returning status`, [content]);
			expect(rows[0].status).toBe('queued');
			const err = await pgError(c.query(`select set_heygen_key($1, 'sk-replacement-0123456789')`, [businessId]));
			expect(err.code).toBe('55000');
			const fresh = (await c.query(`insert into businesses (name) values ('No key yet') returning id`)).rows[0].id;
			expect((await pgError(c.query(`select set_heygen_key($1, 'sk-first-key-0123456789')`, [fresh]))).code).toBe('55000');
			expect((await c.query(`select heygen_secret_id from businesses where id = $1`, [fresh])).rows[0].heygen_secret_id).toBeNull();
		});
		await withClient(copy, ROOT_KEY(), async (c) => {
			expect((await c.query(`select get_heygen_key($1) as k`, [businessId])).rows[0].k).toBe(apiKey);
		});
	});
});

describe('where the key travels', () => {
	let db: TestDatabase;
	beforeAll(async () => {
		db = await createTestDatabase();
	});
	afterAll(async () => {
		await db?.drop();
	});

	it('not in pg_stat_activity, nor in any setting another session can see', async () => {
		await db.sql(`select 1`); // the pool's connection carries the key
		await withClient(db.name, undefined, async (c) => {
			const { rows } = await c.query(`select count(*)::int as n from pg_stat_activity a where strpos(a::text, $1) > 0`, [ROOT_KEY()]);
			expect(rows[0].n).toBe(0);
			const settings = await c.query(`select count(*)::int as n from pg_settings s where strpos(s::text, $1) > 0`, [ROOT_KEY()]);
			expect(settings.rows[0].n).toBe(0);
			expect((await c.query(`select current_setting('vault_internal.root_key', true) as k`)).rows[0].k).toBeNull();
		});
	});

	it('a connection string with its own options keeps them next to the key', async () => {
		const url = new URL(db.url);
		url.searchParams.set('options', '-c statement_timeout=12345');
		const h = createDb(url.toString(), { vaultRootKey: ROOT_KEY() });
		try {
			const { rows } = await h.pool.query(
				`select current_setting('statement_timeout') as t, current_setting('vault_internal.root_key') = $1 as keyed`,
				[ROOT_KEY()]
			);
			expect(rows[0]).toEqual({ t: '12345ms', keyed: true });
		} finally {
			await h.close();
		}
	});
});

describe('rotation', () => {
	let db: TestDatabase;
	afterAll(async () => {
		await db?.drop();
	});

	it('re-encrypts every secret under the new key; the old key is then refused', async () => {
		db = await createTestDatabase();
		const { businessId } = await seedBusiness(db, { key: 'sk-rotate-0123456789', name: 'Rotating' });
		const next = randomBytes(32).toString('base64url');
		// Both keys as connection options, as npm run vault:rotate-key passes them.
		const rotator = new pg.Client(connectionConfig(db.url, { vaultRootKey: ROOT_KEY(), vaultNewRootKey: next }));
		await rotator.connect();
		try {
			expect((await rotator.query(`select vault_internal.rotate_root_key() as n`)).rows[0].n).toBe(1);
		} finally {
			await rotator.end();
		}
		expect((await pgError(db.sql(`select get_heygen_key($1)`, [businessId]))).code).toBe('28000');
		await withClient(db.name, next, async (k) => {
			expect((await k.query(`select get_heygen_key($1) as k`, [businessId])).rows[0].k).toBe('sk-rotate-0123456789');
		});
	});
});

describe('npm run vault:rotate-key', () => {
	let db: TestDatabase;
	let dataDir: string;
	afterAll(async () => {
		await db?.drop();
		if (dataDir) rmSync(dataDir, { recursive: true, force: true });
	});

	it('puts a new key in <DATA_DIR>/vault-root.key (0600), keeps the old one aside, and the secrets follow', async () => {
		db = await createTestDatabase();
		const { businessId } = await seedBusiness(db, { key: 'sk-script-rotated-0123456789', name: 'Script rotated' });
		dataDir = mkdtempSync(path.join(tmpdir(), 'hvj-rotate-'));
		const file = path.join(dataDir, 'vault-root.key');
		writeFileSync(file, `${ROOT_KEY()}\n`, { mode: 0o600 });
		const { stdout } = await run(process.execPath, [path.resolve('scripts/vault-rotate-key.ts')], {
			env: { PATH: process.env.PATH ?? '', DATABASE_URL: db.url, DATA_DIR: dataDir }
		});
		expect(stdout).toContain('Re-encrypted 1 secret(s) under the new root key.');
		expect(stdout).not.toContain(ROOT_KEY());
		const next = readFileSync(file, 'utf8').trim();
		expect(next).not.toBe(ROOT_KEY());
		expect(statSync(file).mode & 0o777).toBe(0o600);
		const aside = readdirSync(dataDir).filter((f) => f.startsWith('vault-root.key.replaced-'));
		expect(aside).toHaveLength(1);
		expect(readFileSync(path.join(dataDir, aside[0]!), 'utf8').trim()).toBe(ROOT_KEY());
		expect(stdout).not.toContain(next);
		await withClient(db.name, next, async (c) => {
			expect((await c.query(`select get_heygen_key($1) as k`, [businessId])).rows[0].k).toBe('sk-script-rotated-0123456789');
		});
		expect((await pgError(db.sql(`select get_heygen_key($1)`, [businessId]))).code).toBe('28000');
	});
});

describe('upgrade from a database with secrets under the old in-database key', () => {
	let db: TestDatabase;
	let dir: string;
	afterAll(async () => {
		await db?.drop();
		if (dir) rmSync(dir, { recursive: true, force: true });
	});

	it('0022 needs the root key, re-encrypts under it, drops the data key; the worker then reads the key and renders', async () => {
		db = await createTestDatabase({ empty: true });
		dir = mkdtempSync(path.join(tmpdir(), 'migrations-before-0022-'));
		for (const f of readdirSync(MIGRATIONS_DIR).filter((f) => f < '0022')) cpSync(path.join(MIGRATIONS_DIR, f), path.join(dir, f));
		await migrate(db.url, { dir });
		const biz = await seedBusiness(db, { name: 'Old Co' }); // the simulator's key, under the old stand-in
		await db.sql(`select * from save_heygen_webhook($1, $2, 'ep_old', 'https://app.example/api/heygen/webhook/x', $3)`, [
			biz.businessId,
			TEST_KEY,
			WEBHOOK_SECRET
		]);
		expect((await db.sql(`select to_regclass('vault_internal.data_key') is not null as old`)).rows[0].old).toBe(true);

		// Without the key the upgrade stops with a clear message and changes nothing.
		await expect(migrate(db.url)).rejects.toThrow(
			'0022_vault_root_key_outside.sql failed and was rolled back: Migration 0022 moves the Vault key out of the database and ' +
				'must re-encrypt 2 stored secret(s), but this session has no vault_internal.root_key setting'
		);
		expect((await db.sql(`select to_regclass('vault_internal.data_key') is not null as old`)).rows[0].old).toBe(true);

		await migrate(db.url, { vaultRootKey: ROOT_KEY() });
		expect((await db.sql(`select to_regclass('vault_internal.data_key') as t`)).rows[0].t).toBeNull();
		expect((await db.sql(`select get_heygen_webhook_secret($1) as w`, [biz.businessId])).rows[0].w).toBe(WEBHOOK_SECRET);
		const pipeline = await startPipeline(db);
		try {
			expect(await pipeline.worker.ctx.store.apiKey(biz.businessId)).toBe(TEST_KEY);
			const job = (await db.sql(`insert into video_jobs (content_id) values ($1) returning id`, [biz.contentId])).rows[0].id;
			expect((await waitForStatus(db, job, ['completed', 'failed'])).status).toBe('completed');
			expect(pipeline.logs.join('')).not.toContain(ROOT_KEY());
		} finally {
			await pipeline.stop();
		}
	}, 60_000);
});
