// The job status machine, enforced in SQL: every legal transition works and is audited exactly
// once, every illegal one raises, frozen columns stay frozen, and content follows the job.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, pgError, type TestDatabase } from '../helpers/db.ts';
import { addContent, pgbossJobs, seedBusiness, type Seeded } from '../helpers/fixtures.ts';

type Status = 'awaiting_approval' | 'queued' | 'submitting' | 'rendering' | 'transferring' | 'completed' | 'failed' | 'canceled';
const STATUSES: Status[] = ['awaiting_approval', 'queued', 'submitting', 'rendering', 'transferring', 'completed', 'failed', 'canceled'];
const ACTIVE: Status[] = ['queued', 'submitting', 'rendering', 'transferring'];

const LEGAL: Array<[Status, Status]> = [
	['queued', 'submitting'],
	['submitting', 'rendering'],
	['rendering', 'transferring'],
	['transferring', 'completed'],
	...ACTIVE.flatMap((s): Array<[Status, Status]> => [
		[s, 'failed'],
		[s, 'canceled']
	]),
	['failed', 'queued'],
	['canceled', 'queued'],
	// Spend guard (0024): approve, reject, and a submit HeyGen refused for the account (paused).
	['awaiting_approval', 'queued'],
	['awaiting_approval', 'canceled'],
	['submitting', 'queued']
];
const isLegal = (from: Status, to: Status) => LEGAL.some(([f, t]) => f === from && t === to);
const ILLEGAL: Array<[Status, Status]> = STATUSES.flatMap((from) =>
	STATUSES.filter((to) => to !== from && !isLegal(from, to)).map((to): [Status, Status] => [from, to])
);

/** The UPDATE a worker (or a DBA) would run to make each move, with the columns it requires. */
const STEP: Record<Status, string> = {
	awaiting_approval: `update video_jobs set status = 'awaiting_approval' where id = $1`,
	queued: `update video_jobs set status = 'queued' where id = $1`,
	submitting: `update video_jobs set status = 'submitting', submit_count = submit_count + 1 where id = $1`,
	rendering: `update video_jobs set status = 'rendering', heygen_video_id = 'hv-' || left(id::text, 8) where id = $1`,
	transferring: `update video_jobs set status = 'transferring', heygen_url = 'https://heygen.example/' || id || '.mp4', poll_count = poll_count + 3 where id = $1`,
	completed: `update video_jobs set status = 'completed', storage_path = 'videos/' || id || '.mp4', video_url = 'https://cdn.example/' || id || '.mp4', size_bytes = 12345 where id = $1`,
	failed: `update video_jobs set status = 'failed', error_code = 'heygen_error', error_message = 'HeyGen said no' where id = $1`,
	canceled: `update video_jobs set status = 'canceled' where id = $1`
};
/** How to reach each state from a fresh (queued) job. */
const PATH: Record<Status, Status[]> = {
	awaiting_approval: [], // a new job of a business that requires approval
	queued: [],
	submitting: ['submitting'],
	rendering: ['submitting', 'rendering'],
	transferring: ['submitting', 'rendering', 'transferring'],
	completed: ['submitting', 'rendering', 'transferring', 'completed'],
	failed: ['submitting', 'failed'],
	canceled: ['canceled']
};

interface Event {
	id: number;
	from_status: Status | null;
	to_status: Status;
	detail: Record<string, unknown>;
	actor: string;
}

describe('video job status machine', () => {
	let db: TestDatabase;
	let seeded: Seeded;
	let approving: Seeded;
	let sessionUser: string;

	const events = async (jobId: string) =>
		(await db.sql<Event>(`select id, from_status, to_status, detail, actor from video_job_events where job_id = $1 order by id`, [jobId]))
			.rows;
	const job = async (jobId: string) => (await db.sql(`select * from video_jobs where id = $1`, [jobId])).rows[0];
	const content = async (contentId: string) =>
		(await db.sql(`select heygen_video_id, heygen_status, heygen_url, video_long_url from content where id = $1`, [contentId])).rows[0];

	async function newJob(biz = seeded): Promise<{ jobId: string; contentId: string }> {
		const contentId = await addContent(db, biz.businessId, 'A script for the status machine.');
		const { rows } = await db.sql(`insert into video_jobs (content_id) values ($1) returning id`, [contentId]);
		return { jobId: rows[0].id, contentId };
	}
	async function reach(status: Status) {
		const j = await newJob(status === 'awaiting_approval' ? approving : seeded);
		for (const step of PATH[status]) await db.sql(STEP[step], [j.jobId]);
		expect((await job(j.jobId)).status).toBe(status);
		return j;
	}

	beforeAll(async () => {
		db = await createTestDatabase();
		seeded = await seedBusiness(db);
		approving = await seedBusiness(db);
		await db.sql(`update businesses set require_approval = true where id = $1`, [approving.businessId]);
		sessionUser = (await db.sql(`select session_user as u`)).rows[0].u;
	});
	afterAll(async () => {
		await db?.drop();
	});

	it('the happy path queued → submitting → rendering → transferring → completed is audited step by step', async () => {
		const { jobId, contentId } = await newJob();
		const seen: Array<[Status | null, Status]> = [[null, 'queued']];
		expect((await events(jobId)).map((e) => [e.from_status, e.to_status])).toEqual(seen);
		let from: Status = 'queued';
		for (const to of ['submitting', 'rendering', 'transferring', 'completed'] as Status[]) {
			const res = await db.sql(STEP[to], [jobId]);
			expect(res.rowCount).toBe(1);
			seen.push([from, to]);
			const ev = await events(jobId);
			expect(ev.map((e) => [e.from_status, e.to_status])).toEqual(seen);
			expect(ev.at(-1)!.actor).toBe(sessionUser);
			expect((await content(contentId)).heygen_status).toBe(to);
			from = to;
		}
		const j = await job(jobId);
		expect(j.started_at).toBeInstanceOf(Date);
		expect(j.completed_at).toBeInstanceOf(Date);
		expect(j.completed_at.getTime()).toBeGreaterThanOrEqual(j.started_at.getTime());
		const ev = await events(jobId);
		expect(ev[2]!.detail).toEqual({ attempt: 1, heygen_video_id: j.heygen_video_id });
		expect(ev[3]!.detail).toEqual({ attempt: 1, heygen_video_id: j.heygen_video_id, poll_count: 3 });
		expect(ev[4]!.detail).toEqual({
			attempt: 1,
			heygen_video_id: j.heygen_video_id,
			storage_path: `videos/${jobId}.mp4`,
			size_bytes: 12345
		});
	});

	describe('every legal transition writes exactly one event with the right from/to', () => {
		it.each(LEGAL)('%s → %s', async (from, to) => {
			const { jobId } = await reach(from);
			const before = await events(jobId);
			const res = await db.sql(STEP[to], [jobId]);
			expect(res.rowCount).toBe(1);
			expect((await job(jobId)).status).toBe(to);
			const after = await events(jobId);
			expect(after).toHaveLength(before.length + 1);
			expect(after.at(-1)).toMatchObject({ from_status: from, to_status: to, actor: sessionUser });
		});
	});

	describe('every illegal transition raises 23514 "illegal status change" and changes nothing', () => {
		const jobs = new Map<Status, string>();
		beforeAll(async () => {
			for (const s of STATUSES) jobs.set(s, (await reach(s)).jobId);
		});
		it.each(ILLEGAL)('%s → %s', async (from, to) => {
			const jobId = jobs.get(from)!;
			const before = await events(jobId);
			// Every column the target state's constraints want is filled in, so only the status machine can refuse.
			const err = await pgError(
				db.sql(
					`update video_jobs set status = $2::video_job_status,
					   heygen_video_id = coalesce(heygen_video_id, 'hv-filler'), heygen_url = coalesce(heygen_url, 'https://filler'),
					   storage_path = coalesce(storage_path, 'filler.mp4'), video_url = coalesce(video_url, 'https://filler.mp4'),
					   error_code = coalesce(error_code, 'filler'), error_message = coalesce(error_message, 'filler')
					 where id = $1`,
					[jobId, to]
				)
			);
			expect(err.code).toBe('23514');
			expect(err.message).toBe(`video_jobs ${jobId}: illegal status change ${from} -> ${to}`);
			expect(err.hint).toContain('failed or canceled -> queued (retry)');
			expect((await job(jobId)).status).toBe(from);
			expect(await events(jobId)).toEqual(before);
		});
		it('covers the cases named in the design', () => {
			const names = ILLEGAL.map(([f, t]) => `${f}->${t}`);
			for (const n of [
				'queued->rendering',
				'queued->completed',
				'rendering->queued',
				'submitting->transferring',
				'completed->queued',
				'completed->failed',
				'failed->canceled'
			])
				expect(names).toContain(n);
			expect(ILLEGAL).toHaveLength(39);
		});
	});

	it('progress updates within an active state are allowed and write no event', async () => {
		const { jobId } = await reach('rendering');
		const before = await events(jobId);
		await db.sql(`update video_jobs set poll_count = poll_count + 1, last_heygen_status = 'processing' where id = $1`, [jobId]);
		const j = await job(jobId);
		expect(j.poll_count).toBe(1);
		expect(j.last_heygen_status).toBe('processing');
		expect(await events(jobId)).toEqual(before);
	});

	it('the actor comes from set local video_jobs.actor, else the session user', async () => {
		const c = await db.pool.connect();
		const contentId = await addContent(db, seeded.businessId, 'Actor test.');
		let jobId: string;
		try {
			await c.query('begin');
			await c.query(`set local video_jobs.actor = 'user:42'`);
			jobId = (await c.query(`insert into video_jobs (content_id) values ($1) returning id`, [contentId])).rows[0].id;
			await c.query('commit');
			await c.query('begin');
			await c.query(`set local video_jobs.actor = 'worker'`);
			await c.query(STEP.submitting, [jobId]);
			await c.query('commit');
			// set local ends with the transaction: the next change is the session user's.
			await c.query(STEP.canceled, [jobId]);
		} finally {
			await c.query('rollback').catch(() => {});
			c.release();
		}
		expect((await events(jobId)).map((e) => [e.to_status, e.actor])).toEqual([
			['queued', 'user:42'],
			['submitting', 'worker'],
			['canceled', sessionUser]
		]);
		const j = await job(jobId);
		expect(j.requested_by).toBe('user:42');
		expect(j.error_code).toBe('canceled');
		expect(j.error_message).toBe(`Canceled by ${sessionUser}`);
	});

	describe('frozen columns', () => {
		const cases: Array<[string, string]> = [
			['script', `script = 'A different script'`],
			['options', `options = '{"captions": true}'`],
			['content_id', `content_id = $2`],
			['avatar_id', `avatar_id = 'other-avatar'`],
			['voice_id', `voice_id = 'other-voice'`],
			['requested_by', `requested_by = 'someone else'`],
			['idempotency_key', `idempotency_key = 'late-key'`],
			['created_at', `created_at = now() - interval '1 day'`]
		];
		it.each(cases)('%s cannot be updated', async (col, set) => {
			const { jobId } = await reach('rendering');
			const other = await addContent(db, seeded.businessId, 'Other content.');
			const before = await job(jobId);
			const err = await pgError(
				db.sql(`update video_jobs set ${set} where id = $1 ${set.includes('$2') ? '' : 'and $2::uuid is not null'}`, [jobId, other])
			);
			expect(err.code).toBe('23514');
			expect(err.message).toBe(
				`video_jobs ${jobId}: id, business, content, kind, source, language, script, avatar, voice, options, requester and idempotency key are fixed when the job is created`
			);
			expect((await job(jobId))[col]).toEqual(before[col]);
		});
	});

	it('a completed job cannot be changed, and a failed one only through retry', async () => {
		const { jobId } = await reach('completed');
		const err = await pgError(db.sql(`update video_jobs set video_url = 'https://elsewhere/x.mp4' where id = $1`, [jobId]));
		expect(err.code).toBe('23514');
		expect(err.message).toBe(`video_jobs ${jobId}: job is completed and can no longer change`);
		expect(err.hint).toBe('Insert a new job for a new video.');
		expect((await job(jobId)).video_url).toBe(`https://cdn.example/${jobId}.mp4`);
		const err2 = await pgError(db.sql(`select retry_video_job($1)`, [jobId]));
		expect(err2.code).toBe('23514');
		expect(err2.message).toContain('only failed or canceled jobs can be retried');
		expect(err2.detail).toBe('job_not_retryable');
		const err3 = await pgError(db.sql(`select cancel_video_job($1, 'too late')`, [jobId]));
		expect(err3.code).toBe('23514');
		expect(err3.message).toBe(`cancel_video_job: job ${jobId} is already completed and cannot be canceled`);
		expect(err3.detail).toBe('job_not_active');

		const failed = (await reach('failed')).jobId;
		const err4 = await pgError(db.sql(`update video_jobs set error_message = 'rewritten' where id = $1`, [failed]));
		expect(err4.code).toBe('23514');
		expect(err4.message).toBe(`video_jobs ${failed}: job is failed and can no longer change`);
		expect(err4.hint).toBe('Retry it with select retry_video_job(id).');
	});

	it('failed needs an error code and message; rendering needs a HeyGen video id; completed needs the file', async () => {
		const q = await reach('queued');
		const e1 = await pgError(db.sql(`update video_jobs set status = 'failed' where id = $1`, [q.jobId]));
		expect(e1.code).toBe('23514');
		expect(e1.constraint).toBe('video_jobs_failed_has_reason');
		const s = await reach('submitting');
		const e2 = await pgError(db.sql(`update video_jobs set status = 'rendering' where id = $1`, [s.jobId]));
		expect(e2.constraint).toBe('video_jobs_rendering_has_video_id');
		const t = await reach('transferring');
		const e3 = await pgError(db.sql(`update video_jobs set status = 'completed' where id = $1`, [t.jobId]));
		expect(e3.constraint).toBe('video_jobs_completed_has_file');
		expect((await events(t.jobId)).at(-1)!.to_status).toBe('transferring');
	});

	describe('video_job_events is append-only', () => {
		it.each([
			['UPDATE', `update video_job_events set actor = 'mallory'`],
			['DELETE', `delete from video_job_events`],
			['TRUNCATE', `truncate video_job_events`]
		])('%s raises', async (op, sql) => {
			await newJob();
			const n = (await db.sql(`select count(*)::int as n from video_job_events`)).rows[0].n;
			expect(n).toBeGreaterThan(0);
			const err = await pgError(db.sql(sql));
			expect(err.code).toBe('42501');
			expect(err.message).toBe(`video_job_events is append-only: ${op} is not allowed`);
			expect(
				(await db.sql(`select count(*)::int as n, count(*) filter (where actor = 'mallory')::int as m from video_job_events`)).rows[0]
			).toEqual({ n, m: 0 });
		});
		it('survives the deletion of its job', async () => {
			const { jobId, contentId } = await reach('failed');
			await db.sql(`delete from content where id = $1`, [contentId]);
			expect((await db.sql(`select count(*)::int as n from video_jobs where id = $1`, [jobId])).rows[0].n).toBe(0);
			expect((await events(jobId)).map((e) => e.to_status)).toEqual(['queued', 'submitting', 'failed']);
		});
	});

	it('cancel_video_job cancels an active job, records the reason, and cancels its pending pg-boss jobs', async () => {
		const { jobId, contentId } = await reach('rendering');
		const other = (await reach('rendering')).jobId;
		// What the worker would have queued by now: the first poll, keyed by the video job id.
		await db.sql(
			`select pgboss_enqueue('video.poll', jsonb_build_object('jobId', id), now() + interval '5 seconds', id::text) from video_jobs where id = any ($1::uuid[])`,
			[[jobId, other]]
		);
		// A pg-boss job a worker already holds is left to the worker (it re-reads the status).
		await db.sql(`update pgboss.job set state = 'active', started_on = now() where name = 'video.submit' and data->>'jobId' = $1`, [jobId]);

		const { rows } = await db.sql(`select * from cancel_video_job($1, '  Customer changed their mind  ')`, [jobId]);
		expect(rows[0]).toMatchObject({ id: jobId, status: 'canceled', error_code: 'canceled', error_message: 'Customer changed their mind' });
		expect(rows[0].completed_at).toBeInstanceOf(Date);
		const ev = (await events(jobId)).at(-1)!;
		expect(ev).toMatchObject({ from_status: 'rendering', to_status: 'canceled', actor: sessionUser });
		expect(ev.detail).toMatchObject({ error_code: 'canceled', error_message: 'Customer changed their mind', attempt: 1 });
		expect((await pgbossJobs(db, jobId)).map((j) => [j.name, j.state])).toEqual([
			['video.submit', 'active'],
			['video.poll', 'cancelled']
		]);
		// Another job's pg-boss jobs are untouched.
		expect((await pgbossJobs(db, other)).map((j) => [j.name, j.state])).toEqual([
			['video.submit', 'created'],
			['video.poll', 'created']
		]);
		expect((await content(contentId)).heygen_status).toBe('canceled');

		const { jobId: q } = await reach('queued');
		await db.sql(`select cancel_video_job($1)`, [q]);
		expect((await job(q)).error_message).toBe(`Canceled by ${sessionUser}`);
		expect((await pgbossJobs(db, q)).map((j) => j.state)).toEqual(['cancelled']);

		const again = await pgError(db.sql(`select cancel_video_job($1, 'twice')`, [q]));
		expect(again.code).toBe('23514');
		expect(again.message).toBe(`cancel_video_job: job ${q} is already canceled and cannot be canceled`);
		const missing = await pgError(db.sql(`select cancel_video_job('00000000-0000-0000-0000-000000000000')`));
		expect(missing.code).toBe('P0002');
		expect(missing.message).toBe('cancel_video_job: no video job 00000000-0000-0000-0000-000000000000');
	});

	it('video_job_transitions holds exactly the legal moves the trigger allows', async () => {
		const { rows } = await db.sql<{ f: Status; t: Status }>(
			'select from_status::text as f, to_status::text as t from video_job_transitions order by 1, 2'
		);
		const key = ([f, t]: [Status, Status]) => `${f}->${t}`;
		expect(rows.map((r) => key([r.f, r.t])).sort()).toEqual(LEGAL.map(key).sort());
	});

	describe('retry', () => {
		it.each([
			['failed', 'retry_video_job'],
			['failed', 'plain UPDATE'],
			['canceled', 'retry_video_job'],
			['canceled', 'plain UPDATE']
		] as Array<[Status, string]>)(
			'%s → queued via %s enqueues a new video.submit, bumps attempt and resets progress',
			async (from, how) => {
				const { jobId } = await reach(from);
				const oldDeadline = (await job(jobId)).deadline;
				if (how === 'retry_video_job') {
					const { rows } = await db.sql(`select * from retry_video_job($1)`, [jobId]);
					expect(rows[0]).toMatchObject({ id: jobId, status: 'queued', attempt: 2 });
				} else {
					expect((await db.sql(STEP.queued, [jobId])).rowCount).toBe(1);
				}
				const j = await job(jobId);
				expect(j).toMatchObject({
					status: 'queued',
					attempt: 2,
					heygen_video_id: null,
					heygen_url: null,
					storage_path: null,
					video_url: null,
					error_code: null,
					error_message: null,
					started_at: null,
					completed_at: null,
					// A retry is a fresh attempt: every per-attempt counter starts again.
					submit_count: 0,
					poll_count: 0,
					transfer_count: 0,
					heygen_idempotency_key: null
				});
				expect(j.deadline.getTime()).toBeGreaterThanOrEqual(oldDeadline.getTime());
				const ev = (await events(jobId)).at(-1)!;
				expect(ev).toMatchObject({ from_status: from, to_status: 'queued', detail: { attempt: 2 } });
				const boss = await pgbossJobs(db, jobId);
				expect(boss.map((b) => [b.name, b.state])).toEqual([
					['video.submit', 'cancelled'], // failing or canceling a job cancels its pending steps
					['video.submit', 'created']
				]);
				expect(boss[1]!.data).toStrictEqual({ jobId });
			}
		);

		it.each(['retry_video_job', 'plain UPDATE'])(
			'retrying a job that failed its deadline gives it a fresh deadline (via %s)',
			async (how) => {
				const { jobId } = await reach('rendering');
				await db.sql(`update video_jobs set deadline = now() - interval '1 minute' where id = $1`, [jobId]);
				await db.sql(
					`update video_jobs set status = 'failed', error_code = 'deadline_exceeded', error_message = 'Too late' where id = $1`,
					[jobId]
				);
				if (how === 'retry_video_job') await db.sql(`select retry_video_job($1)`, [jobId]);
				else await db.sql(STEP.queued, [jobId]);
				const { rows } = await db.sql(`select status, deadline > now() + interval '59 minutes' as fresh from video_jobs where id = $1`, [
					jobId
				]);
				expect(rows[0]).toEqual({ status: 'queued', fresh: true });
				await db.sql(`select cancel_video_job($1)`, [jobId]);
			}
		);

		it('refuses an active job, an unknown job, and a content that has another active job', async () => {
			const { jobId } = await reach('rendering');
			const e1 = await pgError(db.sql(`select retry_video_job($1)`, [jobId]));
			expect(e1.code).toBe('23514');
			expect(e1.message).toContain(`retry_video_job: job ${jobId} is rendering`);
			expect(e1.message).toContain('only failed or canceled jobs can be retried');
			const e2 = await pgError(db.sql(`select retry_video_job('00000000-0000-0000-0000-000000000000')`));
			expect(e2.code).toBe('P0002');

			const { jobId: failed, contentId } = await reach('failed');
			const { rows } = await db.sql(`insert into video_jobs (content_id) values ($1) returning id`, [contentId]);
			const before = await events(failed);
			const e3 = await pgError(db.sql(`select retry_video_job($1)`, [failed]));
			expect(e3.code).toBe('23505');
			expect(e3.constraint).toBe('video_jobs_one_active_per_content');
			expect((await job(failed)).status).toBe('failed');
			expect(await events(failed)).toEqual(before);
			expect((await pgbossJobs(db, failed)).length).toBe(1);
			await db.sql(`select cancel_video_job($1)`, [rows[0].id]);
		});
	});

	it("content's video columns follow the latest job and keep the last stored video after a later failure", async () => {
		const { jobId: first, contentId } = await reach('queued');
		// heygen_video_id, heygen_status, heygen_url, video_long_url
		const columns = async () => Object.values(await content(contentId));
		expect(await columns()).toEqual([null, 'queued', null, null]);
		for (const s of ['submitting', 'rendering', 'transferring', 'completed'] as Status[]) await db.sql(STEP[s], [first]);
		const url1 = `https://cdn.example/${first}.mp4`;
		expect(await columns()).toEqual([`hv-${first.slice(0, 8)}`, 'completed', `https://heygen.example/${first}.mp4`, url1]);

		const second = (await db.sql(`insert into video_jobs (content_id) values ($1) returning id`, [contentId])).rows[0].id;
		const hv2 = `hv-${second.slice(0, 8)}`;
		expect(await columns()).toEqual([null, 'queued', null, url1]);
		await db.sql(STEP.submitting, [second]);
		await db.sql(STEP.rendering, [second]);
		expect(await columns()).toEqual([hv2, 'rendering', null, url1]);
		await db.sql(STEP.failed, [second]);
		expect(await columns()).toEqual([hv2, 'failed', null, url1]);
		await db.sql(`select retry_video_job($1)`, [second]);
		expect(await columns()).toEqual([null, 'queued', null, url1]);
		for (const s of ['submitting', 'rendering', 'transferring', 'completed'] as Status[]) await db.sql(STEP[s], [second]);
		expect((await content(contentId)).video_long_url).toBe(`https://cdn.example/${second}.mp4`);
	});

	describe('direct writes to content video columns are rejected', () => {
		it.each([
			['heygen_video_id', `'forged'`],
			['heygen_status', `'failed'`],
			['heygen_url', `'https://forged'`],
			['video_long_url', `'https://forged.mp4'`],
			['video_long_url', `null`]
		])('%s := %s', async (col, value) => {
			const { jobId, contentId } = await reach('completed');
			const before = await content(contentId);
			const err = await pgError(db.sql(`update content set ${col} = ${value} where id = $1`, [contentId]));
			expect(err.code).toBe('42501');
			expect(err.message).toBe(
				'content.heygen_video_id, heygen_status, heygen_url and video_long_url are kept in step with video_jobs by trigger and cannot be written directly'
			);
			expect(await content(contentId)).toEqual(before);
			expect(before.video_long_url).toBe(`https://cdn.example/${jobId}.mp4`);
		});
		it('other content columns stay writable', async () => {
			const { contentId } = await reach('completed');
			const before = await content(contentId);
			await db.sql(`update content set title = 'Renamed', body = 'New body' where id = $1`, [contentId]);
			expect(await content(contentId)).toEqual(before);
		});
	});

	it('a single UPDATE over many jobs audits each of them', async () => {
		const ids = [(await reach('queued')).jobId, (await reach('queued')).jobId, (await reach('queued')).jobId];
		const res = await db.sql(`update video_jobs set status = 'canceled', error_message = 'bulk cancel' where id = any ($1::uuid[])`, [ids]);
		expect(res.rowCount).toBe(3);
		for (const id of ids) {
			expect((await events(id)).map((e) => [e.from_status, e.to_status])).toEqual([
				[null, 'queued'],
				['queued', 'canceled']
			]);
			expect((await pgbossJobs(db, id)).map((b) => b.state)).toEqual(['cancelled']);
		}
	});

	it('sends a NOTIFY on video_jobs for every transition, and none for progress-only updates', async () => {
		const listener = new pg.Client(db.url);
		listener.on('error', () => {});
		await listener.connect();
		const payloads: Array<Record<string, unknown>> = [];
		const barriers: string[] = [];
		let wake = () => {};
		listener.on('notification', (m) => {
			if (m.channel === 'video_jobs') payloads.push(JSON.parse(m.payload!));
			else barriers.push(m.payload!);
			wake();
		});
		const until = (cond: () => boolean, what: string) =>
			new Promise<void>((resolve, reject) => {
				const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 10_000);
				wake = () => {
					if (cond()) {
						clearTimeout(timer);
						resolve();
					}
				};
				wake();
			});
		try {
			await listener.query('listen video_jobs');
			await listener.query('listen sm_barrier');
			const contentId = await addContent(db, seeded.businessId, 'Notify every step.');
			const jobId = (await db.sql(`insert into video_jobs (content_id) values ($1) returning id`, [contentId])).rows[0].id;
			for (const s of ['submitting', 'rendering'] as Status[]) await db.sql(STEP[s], [jobId]);
			await db.sql(`update video_jobs set poll_count = poll_count + 1 where id = $1`, [jobId]); // no transition
			await db.sql(STEP.failed, [jobId]);
			await db.sql(`select retry_video_job($1)`, [jobId]);
			await db.sql(`select cancel_video_job($1, 'stop')`, [jobId]);
			await db.sql(STEP.queued, [jobId]);
			for (const s of ['submitting', 'rendering', 'transferring', 'completed'] as Status[]) await db.sql(STEP[s], [jobId]);

			const ev = await events(jobId);
			expect(ev.map((e) => e.to_status)).toEqual([
				'queued',
				'submitting',
				'rendering',
				'failed',
				'queued',
				'canceled',
				'queued',
				'submitting',
				'rendering',
				'transferring',
				'completed'
			]);
			await until(() => payloads.length >= ev.length, `${ev.length} notifications`);
			await db.sql(`select pg_notify('sm_barrier', 'end')`);
			await until(() => barriers.includes('end'), 'the barrier');
			expect(payloads).toEqual(
				ev.map((e) => ({ event_id: e.id, id: jobId, content_id: contentId, business_id: seeded.businessId, status: e.to_status }))
			);
		} finally {
			await listener.end();
		}
	});
});
