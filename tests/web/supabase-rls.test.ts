/**
 * Migration 0011 on a Supabase-shaped database (an `auth.uid()` and a `supabase_realtime`
 * publication, as Supabase has): row-level security lets a signed-in member read only their own
 * businesses, the auth_* tables stay unreadable, and the events table is published for Realtime.
 * On plain Postgres the migration changes nothing.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { migrate } from '../../db/migrate.ts';
import { createTestDatabase, inRolledBackTransaction, type TestDatabase } from '../helpers/db.ts';

let supa: TestDatabase;
let plain: TestDatabase;

beforeAll(async () => {
	[supa, plain] = await Promise.all([createTestDatabase({ empty: true }), createTestDatabase()]);
	await supa.sql(`
		create schema auth;
		create function auth.uid() returns uuid language sql stable as
		  $$ select nullif(current_setting('request.jwt.claim.sub', true), '')::uuid $$;
		create publication supabase_realtime;`);
	await migrate(supa.url);
	// What Supabase grants its API roles on public tables by default.
	await supa.sql(`grant usage on schema public to anon, authenticated; grant select on all tables in schema public to anon, authenticated;`);
}, 60_000);
afterAll(async () => {
	await supa?.drop();
	await plain?.drop();
});

const ALICE = '11111111-1111-4111-8111-111111111111';
const BOB = '22222222-2222-4222-8222-222222222222';

test('members read only their own businesses; auth tables and other tenants stay hidden', async () => {
	const { rows } = await supa.sql<{ id: string }>(`insert into businesses (name) values ('Alice Co'), ('Bob Co') returning id`);
	const [a, b] = rows.map((r) => r.id);
	await supa.sql(`insert into business_members (business_id, user_id, role) values ($1, $2, 'owner'), ($3, $4, 'owner')`, [a, ALICE, b, BOB]);
	await supa.sql(`insert into content (business_id, title, body) values ($1, 'A post', 'a'), ($2, 'B post', 'b')`, [a, b]);
	await supa.sql(`insert into auth_users (id, name, email, email_verified) values ('u1', 'U', 'u@example.com', false)`);

	const asUser = (uid: string | null, query: string) =>
		inRolledBackTransaction(supa, async (c) => {
			await c.query(`set local role ${uid ? 'authenticated' : 'anon'}`);
			if (uid) await c.query(`select set_config('request.jwt.claim.sub', $1, true)`, [uid]);
			return (await c.query(query)).rows;
		});
	expect(await asUser(ALICE, 'select name from businesses')).toEqual([{ name: 'Alice Co' }]);
	expect(await asUser(ALICE, 'select title from content')).toEqual([{ title: 'A post' }]);
	expect(await asUser(ALICE, 'select user_id from business_members')).toEqual([{ user_id: ALICE }]);
	expect(await asUser(BOB, 'select title from content')).toEqual([{ title: 'B post' }]);
	expect(await asUser(ALICE, 'select * from auth_users')).toEqual([]);
	expect(await asUser(ALICE, 'select * from video_job_events')).toEqual([]);
	expect(await asUser(null, 'select * from businesses')).toEqual([]);
	// The app's own connection (the table owner) is not restricted.
	expect((await supa.sql('select count(*)::int as n from businesses')).rows[0].n).toBe(2);
});

test('video_job_events and video_jobs are published for Supabase Realtime', async () => {
	const { rows } = await supa.sql(`select tablename from pg_publication_tables where pubname = 'supabase_realtime' order by 1`);
	expect(rows.map((r) => r.tablename)).toEqual(['video_job_events', 'video_jobs']);
});

test('on plain Postgres the migration leaves row-level security off', async () => {
	const { rows } = await plain.sql(`select relname, relrowsecurity from pg_class where relname in ('businesses', 'content', 'video_jobs', 'auth_users') order by 1`);
	expect(rows.every((r) => r.relrowsecurity === false)).toBe(true);
	expect((await plain.sql(`select to_regprocedure('is_business_member(uuid)') as f`)).rows[0].f).toBeNull();
});
