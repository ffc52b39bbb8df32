// Migration 0014: the webhook signing secret lives in Vault next to the key; a changed key forgets
// the old account's webhook, delete_heygen_key removes both secrets, a registration made with a key
// that is no longer current is not saved, event ids are remembered once, and every SECURITY
// DEFINER function pins search_path with pg_temp last.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { seedBusiness, type Seeded } from '../helpers/fixtures.ts';

describe('HeyGen webhook secret and events in SQL', () => {
	let db: TestDatabase;
	let biz: Seeded;
	const save = async (key: string, endpoint: string, secret: string) =>
		(
			await db.sql(`select * from save_heygen_webhook($1, $2, $3, 'https://app.example/api/heygen/webhook/x', $4)`, [
				biz.businessId,
				key,
				endpoint,
				secret
			])
		).rows[0];
	const row = async () =>
		(
			await db.sql(
				`select b.heygen_webhook_endpoint_id as endpoint, get_heygen_webhook_secret(b.id) as secret,
				        (select count(*)::int from vault.secrets s where s.name like 'heygen_%:' || b.id::text) as vault_rows
				 from businesses b where b.id = $1`,
				[biz.businessId]
			)
		).rows[0];

	beforeAll(async () => {
		db = await createTestDatabase();
		biz = await seedBusiness(db, { key: null, name: 'Hooked' });
		await db.sql(`select set_heygen_key($1, 'key-one')`, [biz.businessId]);
	});
	afterAll(async () => {
		await db?.drop();
	});

	it('saves the secret in Vault only with the current key; a replaced endpoint is reported for deletion', async () => {
		expect(await save('key-stale', 'ep_1', 'whsec_aaaaaaaaaa')).toEqual({ saved: false, previous_endpoint_id: null });
		expect(await row()).toEqual({ endpoint: null, secret: null, vault_rows: 1 });
		expect(await save('key-one', 'ep_1', 'whsec_aaaaaaaaaa')).toEqual({ saved: true, previous_endpoint_id: null });
		expect(await save('key-one', 'ep_2', 'whsec_bbbbbbbbbb')).toEqual({ saved: true, previous_endpoint_id: 'ep_1' });
		expect(await row()).toEqual({ endpoint: 'ep_2', secret: 'whsec_bbbbbbbbbb', vault_rows: 2 });
		const plain = await db.sql(`select b::text as t from businesses b where id = $1`, [biz.businessId]);
		expect(plain.rows[0].t).not.toContain('whsec_');
	});

	it('bad input is refused with a clear message', async () => {
		await expect(save('key-one', 'bad id!', 'whsec_aaaaaaaaaa')).rejects.toThrow(/endpoint id is missing or malformed/);
		await expect(save('key-one', 'ep_3', 'short')).rejects.toThrow(/secret is missing/);
		await expect(
			db.sql(`select * from save_heygen_webhook($1, 'key-one', 'ep_3', 'ftp://x', 'whsec_aaaaaaaaaa')`, [biz.businessId])
		).rejects.toThrow(/http\(s\) URL/);
	});

	it('event ids: unknown video changes nothing, the first delivery is accepted, the replay is a duplicate', async () => {
		await db.sql(`update businesses set heygen_avatar_id = 'a', heygen_voice_id = 'v' where id = $1`, [biz.businessId]);
		const job = (await db.sql(`insert into video_jobs (content_id) values ($1) returning id`, [biz.contentId])).rows[0].id;
		await db.sql(`update video_jobs set status = 'submitting' where id = $1`, [job]);
		await db.sql(`update video_jobs set status = 'rendering', heygen_video_id = 'vid-1' where id = $1`, [job]);
		const receive = async (event: string, video: string) =>
			(await db.sql(`select heygen_webhook_receive($1, $2, 'avatar_video.success', $3) as o`, [biz.businessId, event, video])).rows[0].o;
		expect(await receive('evt_1', 'vid-unknown')).toBe('unknown_video');
		expect((await db.sql(`select count(*)::int as n from heygen_webhook_events`)).rows[0].n).toBe(0);
		expect(await receive('evt_1', 'vid-1')).toBe('accepted');
		expect(await receive('evt_1', 'vid-1')).toBe('duplicate');
		const poll = await db.sql(`select count(*)::int as n from pgboss.job where name = 'video.poll' and singleton_key = $1`, [job]);
		expect(poll.rows[0].n).toBeGreaterThanOrEqual(1);
	});

	it('the same key again keeps the webhook; another key forgets it; delete_heygen_key removes both secrets', async () => {
		await db.sql(`select set_heygen_key($1, 'key-one')`, [biz.businessId]);
		expect((await row()).endpoint).toBe('ep_2');
		await db.sql(`select set_heygen_key($1, 'key-two')`, [biz.businessId]);
		expect(await row()).toEqual({ endpoint: null, secret: null, vault_rows: 1 });
		expect(await save('key-two', 'ep_9', 'whsec_cccccccccc')).toEqual({ saved: true, previous_endpoint_id: null });
		await db.sql(`select delete_heygen_key($1)`, [biz.businessId]);
		expect(await row()).toEqual({ endpoint: null, secret: null, vault_rows: 0 });
	});

	it('every SECURITY DEFINER function of 0014 pins search_path with pg_temp last', async () => {
		const { rows } = await db.sql(
			`select proname, array_to_string(proconfig, ',') as cfg from pg_proc
			 where prosecdef and proname in ('set_heygen_key', 'delete_heygen_key', 'get_heygen_key', 'has_heygen_key', 'heygen_key_check_caller',
			   'heygen_webhook_forget', 'save_heygen_webhook', 'clear_heygen_webhook', 'get_heygen_webhook_secret')`
		);
		expect(rows).toHaveLength(8);
		for (const r of rows) expect(r.cfg, r.proname).toBe('search_path=pg_catalog, public, pg_temp');
	});

	it('webhook functions are not callable by public, anon or authenticated', async () => {
		const { rows } = await db.sql(
			`select r.rolname, p.proname from pg_proc p cross join pg_roles r
			 where p.proname in ('save_heygen_webhook', 'get_heygen_webhook_secret', 'clear_heygen_webhook', 'heygen_webhook_receive')
			   and r.rolname in ('anon', 'authenticated') and has_function_privilege(r.oid, p.oid, 'execute')`
		);
		expect(rows).toEqual([]);
	});
});
