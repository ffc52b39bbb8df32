// db/schema.sql is the schema the migrations build, read back from the catalogue. It must match a
// freshly migrated database exactly, and an old database upgraded step by step (with rows in it)
// must end with the same catalogue as a fresh install.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrate, readMigrations } from '../../db/migrate.ts';
import { dumpSchema } from '../../db/schema-dump.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { insertJob, seedBusiness } from '../helpers/fixtures.ts';

const SCHEMA_FILE = path.resolve(import.meta.dirname, '../../db/schema.sql');

describe('db/schema.sql', () => {
	let fresh: TestDatabase;
	let supabase = false;
	beforeAll(async () => {
		fresh = await createTestDatabase();
		// Against a Supabase server (auth.uid() exists) the migrations add RLS policies a plain Postgres has not.
		supabase = (await fresh.sql(`select to_regprocedure('auth.uid()') is not null as s`)).rows[0].s;
	});
	afterAll(async () => {
		await fresh?.drop();
	});

	it('is exactly what migrating a fresh database gives (run `npm run db:schema` if this fails)', async (ctx) => {
		if (supabase) ctx.skip();
		const actual = await dumpSchema(fresh.url);
		const committed = readFileSync(SCHEMA_FILE, 'utf8');
		expect(actual, 'db/schema.sql is out of date: run `npm run db:schema` and commit it').toBe(committed);
	});

	it('shows functions with their settings, triggers, views and grants', () => {
		const text = readFileSync(SCHEMA_FILE, 'utf8');
		expect(text).toMatch(
			/FUNCTION public\.video_jobs_after_update\(\)[\s\S]*?SET search_path TO 'pg_catalog', 'public', 'pg_temp'\n SET plan_cache_mode TO 'force_generic_plan'/
		);
		expect(text).toContain('CREATE TRIGGER video_jobs_before_update BEFORE UPDATE ON public.video_jobs FOR EACH ROW');
		expect(text).toContain('create view public.video_job_states as');
		expect(text).toContain('grant execute on function public.set_heygen_key(uuid,text) to service_role;');
		// pg-boss's own tables are pg-boss's business; our helper functions are ours.
		expect(text).not.toMatch(/create table pgboss\./);
		expect(text).toContain('FUNCTION public.pgboss_enqueue_at(');
	});

	it('an UPDATE of video_jobs fires at most two row triggers, one before-update trigger', async () => {
		// tgtype bits: 1 row, 2 before, 16 update.
		const { rows } = await fresh.sql(
			`select tgname, (tgtype & 2) <> 0 as before from pg_trigger
			 where tgrelid = 'video_jobs'::regclass and not tgisinternal and tgtype & 1 = 1 and tgtype & 16 = 16 order by tgname`
		);
		expect(rows).toEqual([
			{ tgname: 'video_jobs_before_update', before: true },
			{ tgname: 'video_jobs_wake_waiting_submit', before: false }
		]);
	});

	it('an upgrade from 0001, step by step with rows in between, ends with the same catalogue as a fresh install', async () => {
		const old = await createTestDatabase({ empty: true });
		try {
			expect(await migrate(old.url, { upTo: 1 })).toEqual(['0001_roles_and_vault.sql']);
			const middle = await migrate(old.url, { upTo: 12 });
			expect(middle.at(-1)).toBe('0012_heygen_v3.sql');
			const { businessId, contentId } = await seedBusiness(old);
			const jobId = await insertJob(old, contentId);
			await old.sql(`update video_jobs set status = 'failed', error_code = 'x', error_message = 'before the upgrade' where id = $1`, [
				jobId
			]);
			// The app hands migrate the Vault root key: 0022 re-encrypts the key seeded before it.
			const rest = await migrate(old.url, { vaultRootKey: inject('vaultRootKey') });
			expect(rest.at(-1)).toBe((await readMigrations()).at(-1)!.file);

			expect(await dumpSchema(old.url)).toBe(await dumpSchema(fresh.url));
			// The rows came through, and the upgraded triggers work on them.
			const retried = await old.sql(`select status, attempt, business_id from retry_video_job($1)`, [jobId]);
			expect(retried.rows[0]).toEqual({ status: 'queued', attempt: 2, business_id: businessId });
		} finally {
			await old.drop();
		}
	});
});
