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
	await supa.sql(
		`grant usage on schema public to anon, authenticated; grant select on all tables in schema public to anon, authenticated;`
	);
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
	await supa.sql(`insert into business_members (business_id, user_id, role) values ($1, $2, 'owner'), ($3, $4, 'owner')`, [
		a,
		ALICE,
		b,
		BOB
	]);
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
	const { rows } = await plain.sql(
		`select relname, relrowsecurity from pg_class where relname in ('businesses', 'content', 'video_jobs', 'auth_users') order by 1`
	);
	expect(rows.every((r) => r.relrowsecurity === false)).toBe(true);
	expect((await plain.sql(`select to_regprocedure('is_business_member(uuid)') as f`)).rows[0].f).toBeNull();
});

const CAROL = '33333333-3333-4333-8333-333333333333';
const DAVE = '44444444-4444-4444-8444-444444444444';

/** Runs `query` as a signed-in Supabase user (or as the app's own connection with uid null). */
const asSignedIn = (uid: string, query: string, values: unknown[] = []) =>
	inRolledBackTransaction(supa, async (c) => {
		await c.query(`set local role authenticated`);
		await c.query(`select set_config('request.jwt.claim.sub', $1, true)`, [uid]);
		return (await c.query(query, values)).rows;
	});

test('with jobs in two businesses, a signed-in user sees only the jobs and events of their own', async () => {
	const { rows } = await supa.sql<{ id: string }>(
		`insert into businesses (name, heygen_avatar_id, heygen_voice_id) values ('Carol Films', 'a', 'v'), ('Dave Films', 'a', 'v') returning id`
	);
	const [carolCo, daveCo] = rows.map((r) => r.id);
	await supa.sql(`insert into business_members (business_id, user_id, role) values ($1, $2, 'owner'), ($3, $4, 'owner')`, [
		carolCo,
		CAROL,
		daveCo,
		DAVE
	]);
	await supa.sql(`select set_heygen_key(id, 'sim-test-key') from businesses where id = any($1)`, [[carolCo, daveCo]]);
	const job = async (businessId: string, title: string) => {
		const c = await supa.sql(`insert into content (business_id, title, body) values ($1, $2, 'Script.') returning id`, [businessId, title]);
		return (await supa.sql(`insert into video_jobs (content_id) values ($1) returning id`, [c.rows[0].id])).rows[0].id as string;
	};
	const carolJob = await job(carolCo!, 'Carol post');
	const daveJob = await job(daveCo!, 'Dave post');

	expect(await asSignedIn(CAROL, 'select id from video_jobs')).toEqual([{ id: carolJob }]);
	expect(await asSignedIn(DAVE, 'select id from video_jobs')).toEqual([{ id: daveJob }]);
	expect(await asSignedIn(CAROL, 'select job_id from video_job_events')).toEqual([{ job_id: carolJob }]);
	expect(await asSignedIn(CAROL, 'select count(*)::int as n from video_jobs where id = $1', [daveJob])).toEqual([{ n: 0 }]);
});

test('with auth.uid() set to a plain member (or a stranger), set_heygen_key raises 42501; an owner may set it', async () => {
	const { rows } = await supa.sql<{ id: string }>(`insert into businesses (name) values ('Keyed Co') returning id`);
	const biz = rows[0]!.id;
	await supa.sql(`insert into business_members (business_id, user_id, role) values ($1, $2, 'owner'), ($1, $3, 'member')`, [
		biz,
		CAROL,
		DAVE
	]);
	// A server-side connection acting for a Supabase user: the function itself must check who it is.
	const setKeyAs = (uid: string) =>
		inRolledBackTransaction(supa, async (c) => {
			await c.query(`select set_config('request.jwt.claim.sub', $1, true)`, [uid]);
			await c.query(`select set_heygen_key($1, 'sim-test-key')`, [biz]);
			return (await c.query(`select has_heygen_key($1) as h`, [biz])).rows[0].h;
		});
	for (const uid of [DAVE, ALICE]) {
		const err = await setKeyAs(uid).then(
			() => null,
			(e: { code?: string; message?: string }) => e
		);
		expect(err, uid).toMatchObject({ code: '42501' });
		expect(err!.message).toBe(`not allowed to manage the HeyGen key of business ${biz}`);
	}
	expect(await setKeyAs(CAROL)).toBe(true);
	expect((await supa.sql(`select has_heygen_key($1) as h`, [biz])).rows[0].h).toBe(false);
});
