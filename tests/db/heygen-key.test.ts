// The HeyGen key: write-only through set/delete, readable only by the server/worker role, never in
// clear in Vault, never in an error message, a job, an event, content or a pg-boss payload.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, inRolledBackTransaction, pgError, type TestDatabase } from '../helpers/db.ts';
import { seedBusiness, type Seeded } from '../helpers/fixtures.ts';

const freshKey = (label: string) => `hg-${label}-${randomBytes(12).toString('hex')}`;

describe('HeyGen key in Vault', () => {
	let db: TestDatabase;
	let biz: Seeded;

	const secretIdOf = async (businessId: string) =>
		(await db.sql(`select heygen_secret_id from businesses where id = $1`, [businessId])).rows[0].heygen_secret_id as string | null;
	const getKey = async (businessId: string) => (await db.sql(`select get_heygen_key($1) as k`, [businessId])).rows[0].k as string | null;

	beforeAll(async () => {
		db = await createTestDatabase();
		biz = await seedBusiness(db, { key: null, name: 'Keyed' });
	});
	afterAll(async () => {
		await db?.drop();
	});

	it('set_heygen_key then get_heygen_key returns it; the Vault row never holds it in clear', async () => {
		const key = freshKey('first');
		await db.sql(`select set_heygen_key($1, $2)`, [biz.businessId, key]);
		expect(await getKey(biz.businessId)).toBe(key);
		expect((await db.sql(`select has_heygen_key($1) as h`, [biz.businessId])).rows[0].h).toBe(true);

		const secretId = await secretIdOf(biz.businessId);
		expect(secretId).toMatch(/^[0-9a-f-]{36}$/);
		const { rows } = await db.sql(
			`select s.*, s::text as whole, encode(coalesce(s.nonce, ''::bytea), 'escape') as nonce_text,
			        position(convert_to($2, 'UTF8') in decode(s.secret, 'base64')) as in_ciphertext
			   from vault.secrets s where s.id = $1`,
			[secretId, key]
		);
		expect(rows).toHaveLength(1);
		const s = rows[0];
		expect(s.name).toBe(`heygen_api_key:${biz.businessId}`);
		for (const col of ['name', 'description', 'secret', 'whole', 'nonce_text']) {
			expect(String(s[col] ?? ''), col).not.toContain(key);
		}
		expect(s.secret).not.toBe(key);
		expect(s.secret.length).toBeGreaterThan(key.length);
		expect(s.in_ciphertext).toBe(0);
		// Every text-like column of the table, whatever columns it has now or later.
		const { rows: cols } = await db.sql(
			`select column_name from information_schema.columns where table_schema = 'vault' and table_name = 'secrets'`
		);
		for (const { column_name } of cols) {
			const { rows: hit } = await db.sql(`select count(*)::int as n from vault.secrets where strpos(${column_name}::text, $1) > 0`, [key]);
			expect(hit[0].n, column_name).toBe(0);
		}
		// Only the decrypting view shows it, and only for the owner/service roles.
		const { rows: dec } = await db.sql(`select decrypted_secret from vault.decrypted_secrets where id = $1`, [secretId]);
		expect(dec[0].decrypted_secret).toBe(key);
	});

	it('setting again replaces the key in place: one secret row, same id', async () => {
		const key1 = freshKey('one');
		const key2 = freshKey('two');
		await db.sql(`select set_heygen_key($1, $2)`, [biz.businessId, key1]);
		const id1 = await secretIdOf(biz.businessId);
		await db.sql(`select set_heygen_key($1, $2)`, [biz.businessId, key2]);
		expect(await secretIdOf(biz.businessId)).toBe(id1);
		expect(await getKey(biz.businessId)).toBe(key2);
		const { rows } = await db.sql(`select id from vault.secrets where name = $1`, [`heygen_api_key:${biz.businessId}`]);
		expect(rows).toEqual([{ id: id1 }]);
		expect((await db.sql(`select count(*)::int as n from vault.decrypted_secrets where decrypted_secret = $1`, [key1])).rows[0].n).toBe(0);
	});

	it('delete_heygen_key removes the secret row and clears heygen_secret_id; jobs then need a key', async () => {
		const other = await seedBusiness(db, { name: 'Deleter', key: freshKey('del') });
		const secretId = await secretIdOf(other.businessId);
		expect(secretId).not.toBeNull();
		await db.sql(`select delete_heygen_key($1)`, [other.businessId]);
		expect(await secretIdOf(other.businessId)).toBeNull();
		expect((await db.sql(`select count(*)::int as n from vault.secrets where id = $1`, [secretId])).rows[0].n).toBe(0);
		expect(await getKey(other.businessId)).toBeNull();
		expect((await db.sql(`select has_heygen_key($1) as h`, [other.businessId])).rows[0].h).toBe(false);
		// Idempotent.
		await db.sql(`select delete_heygen_key($1)`, [other.businessId]);
		const err = await pgError(db.sql(`insert into video_jobs (content_id) values ($1)`, [other.contentId]));
		expect(err.code).toBe('23514');
		expect(err.message).toBe(`video_jobs: business ${other.businessId} has no HeyGen API key`);
		expect(err.hint).toBe('Save one with select set_heygen_key(business_id, key).');
		// A new key after a delete creates a fresh secret.
		const again = freshKey('again');
		await db.sql(`select set_heygen_key($1, $2)`, [other.businessId, again]);
		expect(await getKey(other.businessId)).toBe(again);
		expect(await secretIdOf(other.businessId)).not.toBe(secretId);
	});

	describe('bad keys raise without echoing the key and leave the stored key alone', () => {
		let current: string;
		beforeAll(async () => {
			current = freshKey('keep');
			await db.sql(`select set_heygen_key($1, $2)`, [biz.businessId, current]);
		});
		it.each([
			['empty', '', /^set_heygen_key: the key is empty$/],
			['null', null, /^set_heygen_key: the key is empty$/],
			['with spaces', 'sk live 0123456789abcdef', /^set_heygen_key: the key contains spaces or control characters/],
			['with surrounding whitespace', ' sk-live-0123456789abcdef\n', /^set_heygen_key: the key contains spaces or control characters/],
			['with a tab', 'sk-live\t0123456789abcdef', /^set_heygen_key: the key contains spaces or control characters/],
			['600 characters', 'K'.repeat(599) + 'Z', /^set_heygen_key: the key is too long \(600 characters; at most 500\)$/]
		])('%s', async (_name, bad, message) => {
			const secretsBefore = (await db.sql(`select count(*)::int as n from vault.secrets`)).rows[0].n;
			const err = await pgError(db.sql(`select set_heygen_key($1, $2)`, [biz.businessId, bad]));
			expect(err.code).toBe('23514');
			expect(err.message).toMatch(message);
			if (bad) {
				for (const field of [err.message, err.detail, err.hint, err.where, err.internalQuery]) {
					expect(String(field ?? '')).not.toContain(bad.trim());
				}
				expect(String(err.message)).not.toContain('sk-live');
				expect(String(err.message)).not.toContain('KKKKKKKK');
			}
			expect(await getKey(biz.businessId)).toBe(current);
			expect((await db.sql(`select count(*)::int as n from vault.secrets`)).rows[0].n).toBe(secretsBefore);
		});
	});

	it('an unknown business errors for set and delete; get returns null', async () => {
		const missing = '00000000-0000-4000-8000-00000000beef';
		const key = freshKey('nobody');
		const e1 = await pgError(db.sql(`select set_heygen_key($1, $2)`, [missing, key]));
		expect(e1.code).toBe('23503');
		expect(e1.message).toBe(`set_heygen_key: no business ${missing}`);
		expect(e1.message).not.toContain(key);
		const e2 = await pgError(db.sql(`select delete_heygen_key($1)`, [missing]));
		expect(e2.code).toBe('23503');
		expect(e2.message).toBe(`delete_heygen_key: no business ${missing}`);
		expect(await getKey(missing)).toBeNull();
		expect((await db.sql(`select count(*)::int as n from vault.decrypted_secrets where decrypted_secret = $1`, [key])).rows[0].n).toBe(0);
	});

	it('the key functions are SECURITY DEFINER with a pinned search_path', async () => {
		const { rows } = await db.sql(
			`select p.proname, p.prosecdef, p.proconfig from pg_proc p
			  where p.pronamespace = 'public'::regnamespace
			    and p.proname in ('set_heygen_key', 'get_heygen_key', 'delete_heygen_key', 'has_heygen_key') order by 1`
		);
		expect(rows.map((r) => r.proname)).toEqual(['delete_heygen_key', 'get_heygen_key', 'has_heygen_key', 'set_heygen_key']);
		for (const r of rows) {
			expect(r.prosecdef, r.proname).toBe(true);
			// pg_temp last (0014): otherwise a caller's temporary table could shadow a real one.
			expect(r.proconfig, r.proname).toEqual(['search_path=pg_catalog, public, pg_temp']);
		}
	});

	describe.each(['anon', 'authenticated'])('role %s', (role) => {
		it.each([
			['set_heygen_key', `select set_heygen_key($1, 'sk-attacker-key')`, 'permission denied for function set_heygen_key'],
			['get_heygen_key', `select get_heygen_key($1)`, 'permission denied for function get_heygen_key'],
			['delete_heygen_key', `select delete_heygen_key($1)`, 'permission denied for function delete_heygen_key'],
			['has_heygen_key', `select has_heygen_key($1)`, 'permission denied for function has_heygen_key'],
			['vault.secrets', `select * from vault.secrets where $1::uuid is not null`, 'permission denied for schema vault'],
			['vault.decrypted_secrets', `select * from vault.decrypted_secrets where $1::uuid is not null`, 'permission denied for schema vault'],
			['vault.create_secret', `select vault.create_secret('x' || $1::text)`, 'permission denied for schema vault'],
			[
				'vault_internal.root_key_check',
				`select * from vault_internal.root_key_check where $1::uuid is not null`,
				'permission denied for schema vault_internal'
			],
			['vault_internal.decrypt', `select vault_internal.decrypt($1::text)`, 'permission denied for schema vault_internal']
		])('cannot use %s', async (_what, sql, message) => {
			const before = await getKey(biz.businessId);
			const err = await inRolledBackTransaction(db, async (c) => {
				await c.query(`set local role ${role}`);
				expect((await c.query(`select current_user as u`)).rows[0].u).toBe(role);
				return pgError(c.query(sql, [biz.businessId]));
			});
			expect(err.code).toBe('42501');
			expect(err.message).toBe(message);
			expect(await getKey(biz.businessId)).toBe(before);
			expect(before).not.toBeNull();
		});
	});

	describe('role service_role', () => {
		it('can set, get, and check the key', async () => {
			const key = freshKey('svc');
			const got = await inRolledBackTransaction(db, async (c) => {
				await c.query(`set local role service_role`);
				await c.query(`select set_heygen_key($1, $2)`, [biz.businessId, key]);
				const { rows } = await c.query(`select get_heygen_key($1) as k, has_heygen_key($1) as h`, [biz.businessId]);
				return rows[0];
			});
			expect(got).toEqual({ k: key, h: true });
		});
		it('still cannot read the key fingerprint, call the encrypt helper or rotate the root key', async () => {
			for (const [sql, message] of [
				[`select * from vault_internal.root_key_check`, 'permission denied for table root_key_check'],
				[`select vault_internal.encrypt('x')`, 'permission denied for function encrypt'],
				[`select vault_internal.root_key()`, 'permission denied for function root_key'],
				[`select vault_internal.rotate_root_key()`, 'permission denied for function rotate_root_key']
			] as const) {
				const err = await inRolledBackTransaction(db, async (c) => {
					await c.query(`set local role service_role`);
					return pgError(c.query(sql));
				});
				expect(err.code).toBe('42501');
				expect(err.message).toBe(message);
			}
		});
	});

	it('after a job is created and moves through its states, the key appears in no row anywhere', async () => {
		const key = freshKey('leak');
		const b = await seedBusiness(db, { name: 'Leak check', key });
		expect(await getKey(b.businessId)).toBe(key);
		const jobId = (await db.sql(`insert into video_jobs (content_id, idempotency_key) values ($1, 'leak-1') returning id`, [b.contentId]))
			.rows[0].id;
		await db.sql(`update video_jobs set status = 'submitting' where id = $1`, [jobId]);
		await db.sql(`update video_jobs set status = 'rendering', heygen_video_id = 'hv-leak' where id = $1`, [jobId]);
		await db.sql(
			`update video_jobs set status = 'failed', error_code = 'heygen_401', error_message = 'HeyGen rejected the API key' where id = $1`,
			[jobId]
		);
		await db.sql(`select retry_video_job($1)`, [jobId]);
		await db.sql(`update video_jobs set status = 'submitting' where id = $1`, [jobId]);
		await db.sql(`update video_jobs set status = 'rendering', heygen_video_id = 'hv-leak-2' where id = $1`, [jobId]);
		await db.sql(`select pgboss_enqueue('video.poll', jsonb_build_object('jobId', $1::uuid), null, $1::text)`, [jobId]);
		await db.sql(`update video_jobs set status = 'transferring', heygen_url = 'https://heygen.example/v.mp4' where id = $1`, [jobId]);
		await db.sql(
			`update video_jobs set status = 'completed', storage_path = 'videos/leak.mp4', video_url = 'https://cdn.example/leak.mp4' where id = $1`,
			[jobId]
		);
		// A failed attempt to store a bad variant of the key must not leave it anywhere either.
		await pgError(db.sql(`select set_heygen_key($1, $2)`, [b.businessId, `${key} `]));

		const { rows } = await db.sql(
			`select
			   (select count(*)::int from video_jobs t where strpos(t::text, $1) > 0) as video_jobs,
			   (select count(*)::int from video_jobs t where t::text like '%' || $1 || '%') as video_jobs_like,
			   (select count(*)::int from video_job_events t where strpos(t::text, $1) > 0) as events,
			   (select count(*)::int from video_job_events t where strpos(t.detail::text, $1) > 0) as event_detail,
			   (select count(*)::int from content t where strpos(t::text, $1) > 0) as content,
			   (select count(*)::int from businesses t where strpos(t::text, $1) > 0) as businesses,
			   (select count(*)::int from pgboss.job t where strpos(t.data::text, $1) > 0) as pgboss_data,
			   (select count(*)::int from pgboss.job t where strpos(t::text, $1) > 0) as pgboss_row,
			   (select count(*)::int from vault.secrets t where strpos(t::text, $1) > 0) as vault_secrets`,
			[key]
		);
		expect(rows[0]).toEqual({
			video_jobs: 0,
			video_jobs_like: 0,
			events: 0,
			event_detail: 0,
			content: 0,
			businesses: 0,
			pgboss_data: 0,
			pgboss_row: 0,
			vault_secrets: 0
		});
		// The scan itself works: the same query finds something that is there.
		const { rows: control } = await db.sql(`select count(*)::int as n from video_job_events t where strpos(t::text, 'hv-leak-2') > 0`);
		expect(control[0].n).toBeGreaterThan(0);
		const events = (await db.sql(`select count(*)::int as n from video_job_events where job_id = $1`, [jobId])).rows[0].n;
		expect(events).toBe(9);
	});
});
