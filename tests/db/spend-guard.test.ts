// The spend guard in SQL (migration 0024): approval, monthly budgets, the usage view and pausing.
// The worker's side (no HeyGen call while held or paused) is tests/pipeline/spend-guard.test.ts.
import type pg from 'pg';
import { describe, expect } from 'vitest';
import { asNewRole, inRolledBackTransaction, pgError, README_GRANTS, type TestDatabase } from '../helpers/db.ts';
import { addContent, completedJob, dbTest as test, insertJob, pgbossJobs, seedBusiness } from '../helpers/fixtures.ts';

const NO_JOB = '00000000-0000-0000-0000-000000000000';
/** 10 words: 4 seconds at 2.5 words a second. */
const TEN_WORDS = 'one two three four five six seven eight nine ten';

const job = async (db: TestDatabase, id: string) => (await db.sql(`select * from video_jobs where id = $1`, [id])).rows[0];
const history = async (db: TestDatabase, id: string) =>
	(await db.sql(`select from_status, to_status, actor, detail from video_job_events where job_id = $1 order by id`, [id])).rows;

async function approvingBusiness(db: TestDatabase, name: string) {
	const b = await seedBusiness(db, { name, body: TEN_WORDS });
	await db.sql(`update businesses set require_approval = true where id = $1`, [b.businessId]);
	return b;
}

/** A Supabase-like auth.uid() for this file's database: the business_check_manager path. */
async function signedInAs(c: pg.PoolClient, userId: string) {
	await c.query(`create schema if not exists auth`);
	await c.query(`create or replace function auth.uid() returns text language sql stable as $$ select current_setting('test.uid', true) $$`);
	await c.query(`select set_config('test.uid', $1, true)`, [userId]);
}

describe('approval', () => {
	test('a new job of a business that requires approval waits: no pg-boss job, the hold and estimate recorded', async ({ db }) => {
		const { contentId } = await approvingBusiness(db, 'Approving Co');
		const id = await insertJob(db, contentId);
		expect(await job(db, id)).toMatchObject({ status: 'awaiting_approval', hold_reason: 'approval_required', estimated_seconds: '4.0' });
		expect(await pgbossJobs(db, id)).toEqual([]);
		const [created] = await history(db, id);
		expect(created).toMatchObject({ from_status: null, to_status: 'awaiting_approval' });
		expect(created.detail).toMatchObject({ hold_reason: 'approval_required', estimated_seconds: 4 });
		// Not active: the content can still be edited, and the content row shows the hold.
		const c = await db.sql(`select heygen_status from content where id = $1`, [contentId]);
		expect(c.rows[0].heygen_status).toBe('awaiting_approval');
	});

	test('approve_video_job queues and enqueues it in one transaction, recorded with the actor', async ({ db }) => {
		const { contentId } = await approvingBusiness(db, 'Approve Co');
		const id = await insertJob(db, contentId);
		await inRolledBackTransaction(db, async (c) => {
			await c.query(`set local video_jobs.actor = 'owner@example.com'`);
			const { rows } = await c.query(`select status from approve_video_job($1)`, [id]);
			expect(rows[0].status).toBe('queued');
			const boss = await c.query(`select name, state from pgboss.job where data->>'jobId' = $1`, [id]);
			expect(boss.rows).toEqual([{ name: 'video.submit', state: 'created' }]);
			const ev = await c.query(`select from_status, to_status, actor from video_job_events where job_id = $1 order by id`, [id]);
			expect(ev.rows.at(-1)).toEqual({ from_status: 'awaiting_approval', to_status: 'queued', actor: 'owner@example.com' });
		});
	});

	test('reject_video_job ends it canceled with the reason, recorded with the actor', async ({ db }) => {
		const { contentId } = await approvingBusiness(db, 'Reject Co');
		const id = await insertJob(db, contentId);
		await inRolledBackTransaction(db, async (c) => {
			await c.query(`set local video_jobs.actor = 'admin@example.com'`);
			const { rows } = await c.query(`select status, error_code, error_message from reject_video_job($1, 'Not this month')`, [id]);
			expect(rows[0]).toEqual({ status: 'canceled', error_code: 'rejected', error_message: 'Not this month' });
			const ev = await c.query(`select from_status, to_status, actor, detail from video_job_events where job_id = $1 order by id`, [id]);
			expect(ev.rows.at(-1)).toMatchObject({
				from_status: 'awaiting_approval',
				to_status: 'canceled',
				actor: 'admin@example.com',
				detail: { error_code: 'rejected', error_message: 'Not this month' }
			});
		});
	});

	test('both refuse an unknown job, a job in another status and an overlong reason, changing nothing', async ({ db, business }) => {
		for (const fn of ['approve_video_job($1)', `reject_video_job($1, 'no')`]) {
			const missing = await pgError(db.sql(`select * from ${fn}`, [NO_JOB]));
			expect([missing.code, missing.detail]).toEqual(['P0002', 'job_not_found']);
			expect(missing.message).toMatch(new RegExp(`^(approve|reject)_video_job: no video job ${NO_JOB}$`));
		}
		const queued = await insertJob(db, business.contentId);
		const done = await completedJob(db, await addContent(db, business.businessId, 'Done.'));
		for (const [id, status] of [
			[queued, 'queued'],
			[done, 'completed']
		] as const) {
			const a = await pgError(db.sql(`select * from approve_video_job($1)`, [id]));
			expect([a.code, a.detail, a.message]).toEqual([
				'23514',
				'job_not_awaiting_approval',
				`approve_video_job: job ${id} is ${status}; only a job awaiting approval can be approved`
			]);
			const r = await pgError(db.sql(`select * from reject_video_job($1, 'no')`, [id]));
			expect([r.code, r.detail]).toEqual(['23514', 'job_not_awaiting_approval']);
			expect((await job(db, id)).status).toBe(status);
		}
		const { contentId } = await approvingBusiness(db, 'Long Reason Co');
		const held = await insertJob(db, contentId);
		const long = await pgError(db.sql(`select * from reject_video_job($1, $2)`, [held, 'x'.repeat(2001)]));
		expect([long.code, long.detail]).toEqual(['23514', 'reason_too_long']);
		expect((await job(db, held)).status).toBe('awaiting_approval');
	});

	test('a signed-in member of another business, or a plain member, may not approve or reject', async ({ db }) => {
		const { businessId, contentId } = await approvingBusiness(db, 'Guarded Co');
		const other = await seedBusiness(db, { name: 'Other Co' });
		const id = await insertJob(db, contentId);
		await db.sql(
			`insert into auth_users (id, name, email, email_verified) values ('u-other', 'O', 'o@example.com', true), ('u-member', 'M', 'm@example.com', true), ('u-owner', 'W', 'w@example.com', true)`
		);
		await db.sql(
			`insert into business_members (business_id, user_id, role) values ($1, 'u-other', 'owner'), ($2, 'u-member', 'member'), ($2, 'u-owner', 'owner')`,
			[other.businessId, businessId]
		);
		for (const user of ['u-other', 'u-member']) {
			for (const fn of ['approve_video_job($1)', `reject_video_job($1, 'no')`]) {
				const err = await inRolledBackTransaction(db, async (c) => {
					await signedInAs(c, user);
					return pgError(c.query(`select * from ${fn}`, [id]));
				});
				expect(err.code).toBe('42501');
				expect(err.message).toMatch(
					new RegExp(`^not allowed to (approve|reject) video jobs for business ${businessId}: only its owners and admins may$`)
				);
			}
		}
		const approved = await inRolledBackTransaction(db, async (c) => {
			await signedInAs(c, 'u-owner');
			return (await c.query(`select status from approve_video_job($1)`, [id])).rows[0].status;
		});
		expect(approved).toBe('queued');
		expect((await job(db, id)).status).toBe('awaiting_approval');
	});

	test('a role without the documented grants cannot approve; with them (like retry and cancel) it can', async ({ db }) => {
		const { contentId } = await approvingBusiness(db, 'Granted Co');
		const id = await insertJob(db, contentId);
		const denied = await inRolledBackTransaction(db, async (c) => {
			await c.query('set local role anon');
			return pgError(c.query(`select * from approve_video_job($1)`, [id]));
		});
		expect([denied.code, denied.message]).toEqual(['42501', 'permission denied for table video_jobs']);
		const status = await inRolledBackTransaction(db, async (c) => {
			await asNewRole(c, README_GRANTS);
			return (await c.query(`select status from reject_video_job($1, 'by the CRM')`, [id])).rows[0].status;
		});
		expect(status).toBe('canceled');
	});
});

describe('monthly budget', () => {
	test('the limit must be positive', async ({ db, business }) => {
		const err = await pgError(db.sql(`update businesses set monthly_video_seconds_limit = 0 where id = $1`, [business.businessId]));
		expect([err.code, err.constraint]).toEqual(['23514', 'businesses_monthly_video_seconds_limit_check']);
	});

	test('estimates follow the words and the voice speed; a translation takes its source duration', async ({ db, business }) => {
		const slow = await insertJob(db, await addContent(db, business.businessId, TEN_WORDS), { options: { voice_speed: 0.5 } });
		expect((await job(db, slow)).estimated_seconds).toBe('8.0');
		const source = await completedJob(db, await addContent(db, business.businessId, TEN_WORDS));
		const tr = await db.sql(
			`insert into video_jobs (kind, source_job_id, output_language) values ('translation', $1, 'German') returning estimated_seconds`,
			[source]
		);
		expect(tr.rows[0].estimated_seconds).toBe('4.0');
		// The same rule the app shows before a job is made.
		const est = await db.sql(
			`select video_job_estimate_seconds($1) as plain, video_job_estimate_seconds($1, '{"voice_speed": 0.5}') as slow,
			        video_job_estimate_seconds(E' \\n ') as blank`,
			[TEN_WORDS]
		);
		expect(est.rows[0]).toEqual({ plain: '4.0', slow: '8.0', blank: '0' });
	});

	test('a job that would pass the limit is held over_budget, naming used and limit; one statement holds only the rows past it', async ({
		db
	}) => {
		const { businessId } = await seedBusiness(db, { name: 'Budget Co' });
		await db.sql(`update businesses set monthly_video_seconds_limit = 10 where id = $1`, [businessId]);
		await db.sql(`insert into content (business_id, title, body) select $1, 'Post ' || g, $2 from generate_series(1, 3) g`, [
			businessId,
			TEN_WORDS
		]);
		const { rows } = await db.sql(
			`insert into video_jobs (content_id) select id from content where business_id = $1 and body = $2 order by title returning id, status, hold_reason`,
			[businessId, TEN_WORDS]
		);
		expect(rows.map((r) => [r.status, r.hold_reason])).toEqual([
			['queued', null],
			['queued', null],
			['awaiting_approval', 'over_budget']
		]);
		const held = rows[2].id;
		expect(await pgbossJobs(db, held)).toEqual([]);
		expect((await history(db, held))[0].detail).toMatchObject({
			hold_reason: 'over_budget',
			used_seconds: 8,
			limit_seconds: 10,
			estimated_seconds: 4
		});
		const approved = await db.sql(`select status from approve_video_job($1)`, [held]);
		expect(approved.rows[0].status).toBe('queued');
		expect((await pgbossJobs(db, held)).map((j) => j.name)).toEqual(['video.submit']);
	});

	test('business_video_usage: jobs by status, estimated, actual and used seconds, the limit, failures by code', async ({ db }) => {
		const { businessId, contentId } = await seedBusiness(db, { name: 'Usage Co', body: TEN_WORDS });
		await db.sql(`update businesses set monthly_video_seconds_limit = 600 where id = $1`, [businessId]);
		const done = await insertJob(db, contentId);
		await db.sql(`update video_jobs set status = 'submitting' where id = $1`, [done]);
		await db.sql(`update video_jobs set status = 'rendering', heygen_video_id = 'v1' where id = $1`, [done]);
		await db.sql(`update video_jobs set status = 'transferring', duration_seconds = 7.5 where id = $1`, [done]);
		await db.sql(`update video_jobs set status = 'completed', storage_path = 'a.mp4', video_url = 'https://s/a.mp4' where id = $1`, [done]);
		for (const code of ['render_failed', 'render_failed', 'submit_failed']) {
			const f = await insertJob(db, await addContent(db, businessId, TEN_WORDS));
			await db.sql(`update video_jobs set status = 'failed', error_code = $2, error_message = 'x' where id = $1`, [f, code]);
		}
		await insertJob(db, await addContent(db, businessId, `${TEN_WORDS} ${TEN_WORDS}`)); // queued, 8 s
		const { rows } = await db.sql(`select * from business_video_usage where business_id = $1`, [businessId]);
		expect(rows).toHaveLength(1);
		expect(rows[0]).toMatchObject({
			jobs: 5,
			jobs_by_status: { completed: 1, failed: 3, queued: 1 },
			estimated_seconds: '24.0',
			actual_seconds: '7.5',
			used_seconds: '15.5',
			limit_seconds: 600,
			failures_by_error_code: { render_failed: 2, submit_failed: 1 }
		});
		const month = new Date();
		expect(rows[0].month).toEqual(new Date(Date.UTC(month.getUTCFullYear(), month.getUTCMonth(), 1)));
		const used = await db.sql(`select business_video_seconds_used($1) as s`, [businessId]);
		expect(used.rows[0].s).toBe('15.5');
	});
});

describe('pausing', () => {
	async function submitting(db: TestDatabase, contentId: string) {
		const id = await insertJob(db, contentId);
		await db.sql(`update video_jobs set status = 'submitting', submit_count = 1 where id = $1`, [id]);
		return id;
	}

	test('heygen_pause_business pauses once, gives the submit back, and resume_heygen lifts it with events', async ({ db, business }) => {
		const a = await submitting(db, business.contentId);
		const b = await submitting(db, await addContent(db, business.businessId));
		for (const id of [a, b]) {
			const r = await db.sql(`select heygen_pause_business($1, 'insufficient_credit', 'HeyGen has no credits left', 'worker') as ok`, [id]);
			expect(r.rows[0].ok).toBe(true);
			expect(await job(db, id)).toMatchObject({ status: 'queued', submit_count: 0, last_error: 'HeyGen has no credits left' });
		}
		const biz = await db.sql(`select heygen_paused_reason, heygen_paused_at from businesses where id = $1`, [business.businessId]);
		expect(biz.rows[0].heygen_paused_reason).toBe('insufficient_credit');
		expect(biz.rows[0].heygen_paused_at).toBeInstanceOf(Date);
		// Not submitting any more: nothing to pause.
		const again = await db.sql(`select heygen_pause_business($1, 'insufficient_credit', 'x', 'worker') as ok`, [a]);
		expect(again.rows[0].ok).toBe(false);

		const resumed = await db.sql(`select resume_heygen($1) as ok`, [business.businessId]);
		expect(resumed.rows[0].ok).toBe(true);
		const twice = await db.sql(`select resume_heygen($1) as ok`, [business.businessId]);
		expect(twice.rows[0].ok).toBe(false);
		const ev = await db.sql(`select event, reason, job_id from business_heygen_events where business_id = $1 order by id`, [
			business.businessId
		]);
		expect(ev.rows).toEqual([
			{ event: 'paused', reason: 'insufficient_credit', job_id: a },
			{ event: 'resumed', reason: 'by_hand', job_id: null }
		]);
	});

	test('saving a key resumes at once', async ({ db, business }) => {
		await db.sql(`select heygen_pause_business($1, 'key_rejected', 'HeyGen rejected the API key', 'worker')`, [
			await submitting(db, business.contentId)
		]);
		await db.sql(`select set_heygen_key($1, 'sim-new-key')`, [business.businessId]);
		const biz = await db.sql(`select heygen_paused_reason from businesses where id = $1`, [business.businessId]);
		expect(biz.rows[0].heygen_paused_reason).toBeNull();
		const ev = await db.sql(`select event, reason from business_heygen_events where business_id = $1 order by id`, [business.businessId]);
		expect(ev.rows).toEqual([
			{ event: 'paused', reason: 'key_rejected' },
			{ event: 'resumed', reason: 'key_saved' }
		]);
	});

	test('bad input: unknown business, bad reasons, a bad pause column, a caller who is not an owner or admin', async ({ db, business }) => {
		const missing = await pgError(db.sql(`select resume_heygen($1)`, [NO_JOB]));
		expect([missing.code, missing.detail, missing.message]).toEqual([
			'P0002',
			'business_not_found',
			`resume_heygen: no business ${NO_JOB}`
		]);
		const reason = await pgError(db.sql(`select resume_heygen($1, 'whenever')`, [business.businessId]));
		expect([reason.code, reason.message]).toEqual([
			'23514',
			'resume_heygen: the reason must be credits_back, by_hand or key_saved, got whenever'
		]);
		const pause = await pgError(db.sql(`select heygen_pause_business($1, 'bored', 'x', 'worker')`, [NO_JOB]));
		expect(pause.code).toBe('23514');
		const col = await pgError(
			db.sql(`update businesses set heygen_paused_reason = 'bored', heygen_paused_at = now() where id = $1`, [business.businessId])
		);
		expect(col.constraint).toBe('businesses_heygen_paused_reason_check');
		const half = await pgError(db.sql(`update businesses set heygen_paused_reason = 'key_rejected' where id = $1`, [business.businessId]));
		expect(half.constraint).toBe('businesses_heygen_paused_complete');
		await db.sql(
			`insert into auth_users (id, name, email, email_verified) values ('u-stranger', 'S', 's@example.com', true) on conflict do nothing`
		);
		const stranger = await inRolledBackTransaction(db, async (c) => {
			await signedInAs(c, 'u-stranger');
			return pgError(c.query(`select resume_heygen($1)`, [business.businessId]));
		});
		expect([stranger.code, stranger.message]).toEqual([
			'42501',
			`not allowed to resume HeyGen for business ${business.businessId}: only its owners and admins may`
		]);
		const anon = await inRolledBackTransaction(db, async (c) => {
			await c.query('set local role anon');
			return pgError(c.query(`select resume_heygen($1)`, [business.businessId]));
		});
		expect([anon.code, anon.message]).toEqual(['42501', 'permission denied for function resume_heygen']);
	});
});
