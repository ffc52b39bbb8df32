import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { MIGRATIONS_DIR, migrate, migrationStatus, readMigrations } from '../../db/migrate.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

const run = promisify(execFile);

describe('migration runner', () => {
	let db: TestDatabase;
	let dir: string;
	beforeAll(async () => {
		db = await createTestDatabase({ empty: true });
		dir = mkdtempSync(path.join(tmpdir(), 'migrations-'));
		cpSync(MIGRATIONS_DIR, dir, { recursive: true });
	});
	afterAll(async () => {
		await db.drop();
		rmSync(dir, { recursive: true, force: true });
	});

	/** A copy of the migrations that `change` alters, for this test only (removed after it). */
	function changedCopy(change: (copy: string) => void): string {
		const copy = mkdtempSync(path.join(tmpdir(), 'migrations-changed-'));
		onTestFinished(() => rmSync(copy, { recursive: true, force: true }));
		cpSync(dir, copy, { recursive: true });
		change(copy);
		return copy;
	}

	/** A refused or failed migration leaves neither its table nor its schema_migrations row. */
	async function expectNotApplied(table: string, version: number): Promise<void> {
		const { rows } = await db.sql(
			`select to_regclass('public.' || $1) as t, (select count(*)::int from schema_migrations where version = $2) as n`,
			[table, version]
		);
		expect(rows[0]).toEqual({ t: null, n: 0 });
	}

	it('applies every migration to a fresh database, in order, with checksums', async () => {
		const files = await readMigrations();
		const applied = await migrate(db.url, { dir });
		expect(applied).toEqual(files.map((f) => f.file));
		const { rows } = await db.sql('select version, checksum from schema_migrations order by version');
		expect(rows).toEqual(files.map((f) => ({ version: f.version, checksum: f.checksum })));
		const tables = await db.sql(`select count(*)::int as n from information_schema.tables where table_schema = 'public'
			and table_name in ('businesses', 'business_members', 'content', 'video_jobs', 'video_job_events')`);
		expect(tables.rows[0].n).toBe(5);
	});

	it('is a no-op the second time', async () => {
		expect(await migrate(db.url, { dir })).toEqual([]);
		const c = await db.pool.connect();
		try {
			expect((await migrationStatus(c, dir)).every((m) => m.state === 'applied')).toBe(true);
		} finally {
			c.release();
		}
	});

	it('refuses to run when an applied migration was edited', async () => {
		const file = path.join(dir, '0002_businesses_and_content.sql');
		const original = readFileSync(file, 'utf8');
		writeFileSync(file, original + '\n-- an innocent-looking edit\n');
		try {
			await expect(migrate(db.url, { dir })).rejects.toThrow(/0002_businesses_and_content\.sql was changed after it was applied/);
			const c = await db.pool.connect();
			try {
				const status = await migrationStatus(c, dir);
				expect(status.find((m) => m.version === 2)?.state).toBe('changed');
			} finally {
				c.release();
			}
		} finally {
			writeFileSync(file, original);
		}
	});

	it('refuses to run when an applied migration file is missing', async () => {
		const other = changedCopy((copy) => rmSync(path.join(copy, '0003_pgboss_enqueue.sql')));
		await expect(migrate(db.url, { dir: other })).rejects.toThrow(/0003_pgboss_enqueue is applied in the database but its file is missing/);
	});

	it('rolls back a failing migration completely and names it', async () => {
		const other = changedCopy((copy) =>
			writeFileSync(path.join(copy, '0099_broken.sql'), 'create table half_done (id int);\nselect * from no_such_table;\n')
		);
		await expect(migrate(db.url, { dir: other })).rejects.toThrow(
			/0099_broken\.sql failed and was rolled back: relation "no_such_table" does not exist/
		);
		await expectNotApplied('half_done', 99);
	});

	it('refuses a pending file numbered below the latest applied migration, naming it, and applies nothing', async () => {
		const other = changedCopy((copy) => writeFileSync(path.join(copy, '0007_merged_late.sql'), 'create table merged_late (id int);\n'));
		const latest = (await readMigrations()).at(-1)!.file.replace('.', '\\.');
		await expect(migrate(db.url, { dir: other })).rejects.toThrow(
			new RegExp(`Migration 0007_merged_late\\.sql is pending but numbered below ${latest}, the latest applied migration`)
		);
		await expectNotApplied('merged_late', 7);
	});

	it('refuses two files with the same number, naming both', async () => {
		const other = changedCopy((copy) => writeFileSync(path.join(copy, '0003_second_three.sql'), 'select 1;\n'));
		await expect(migrate(db.url, { dir: other })).rejects.toThrow(
			/Migrations "0003_pgboss_enqueue\.sql" and "0003_second_three\.sql" share the number 0003/
		);
	});

	it('rejects badly named files', async () => {
		const other = mkdtempSync(path.join(tmpdir(), 'migrations-name-'));
		writeFileSync(path.join(other, '12_oops.sql'), 'select 1;');
		await expect(readMigrations(other)).rejects.toThrow(/"12_oops\.sql" must look like 0001_some_name\.sql/);
		rmSync(other, { recursive: true, force: true });
	});
});

describe('concurrent migrate from two processes', () => {
	let db: TestDatabase;
	beforeAll(async () => {
		db = await createTestDatabase({ empty: true });
	});
	afterAll(async () => db.drop());

	it('applies each migration exactly once and both processes succeed', async () => {
		const env = { ...process.env, DATABASE_URL: db.url };
		const cli = path.resolve('db/cli.ts');
		const [a, b] = await Promise.all([run(process.execPath, [cli, 'migrate'], { env }), run(process.execPath, [cli, 'migrate'], { env })]);
		const files = await readMigrations();
		const appliedLines = (a.stdout + b.stdout).split('\n').filter((l) => l.startsWith('applied '));
		expect(appliedLines.sort()).toEqual(files.map((f) => `applied ${f.file}`).sort());
		const { rows } = await db.sql('select count(*)::int as n from schema_migrations');
		expect(rows[0].n).toBe(files.length);
	});
});
