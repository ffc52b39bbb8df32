// Enqueue from SQL: a plain INSERT into video_jobs creates the pg-boss job in the same transaction,
// copies the queue's settings, and wakes LISTEN-ing workers only when the transaction commits.
import pg from 'pg';
import { PgBoss } from 'pg-boss';
import { describe, expect } from 'vitest';
import { pgError, type TestDatabase } from '../helpers/db.ts';
import { addContent, dbTest, pgbossJobs, TEST_KEY } from '../helpers/fixtures.ts';

const PGBOSS_CHANNEL_SQL = `select 'pgboss_' || left(encode(sha224('pgboss'::bytea), 'hex'), 24) as channel`;

interface Listener {
	/** Payloads received so far on each channel, in arrival order. */
	received: Map<string, string[]>;
	/** Resolves once `count` payloads have arrived on `channel` (rejects after a timeout). */
	waitFor(channel: string, count: number, timeoutMs?: number): Promise<string[]>;
	/**
	 * Commits a NOTIFY on a private channel from another connection and waits for it. Postgres
	 * delivers notifications in commit order, so anything committed before the barrier has arrived
	 * once it returns, and anything missing was not sent: a deterministic "nothing happened".
	 */
	barrier(): Promise<void>;
	close(): Promise<void>;
}

async function listen(db: TestDatabase, channels: string[]): Promise<Listener> {
	const client = new pg.Client(db.url);
	// db.drop() terminates leftover connections; that must not crash the run.
	client.on('error', () => {});
	await client.connect();
	const barrierChannel = `barrier_${Math.random().toString(36).slice(2)}`;
	const received = new Map<string, string[]>([...channels, barrierChannel].map((c) => [c, []]));
	let waiters: Array<() => void> = [];
	client.on('notification', (m) => {
		received.get(m.channel)?.push(m.payload ?? '');
		for (const w of waiters) w();
	});
	for (const c of [...channels, barrierChannel]) await client.query(`listen "${c}"`);
	const waitFor = (channel: string, count: number, timeoutMs = 10_000) =>
		new Promise<string[]>((resolve, reject) => {
			const check = () => {
				const got = received.get(channel) ?? [];
				if (got.length >= count) {
					clearTimeout(timer);
					waiters = waiters.filter((w) => w !== check);
					resolve(got);
				}
			};
			const timer = setTimeout(() => {
				waiters = waiters.filter((w) => w !== check);
				reject(new Error(`timed out waiting for ${count} notification(s) on ${channel}; got ${received.get(channel)?.length ?? 0}`));
			}, timeoutMs);
			waiters.push(check);
			check();
		});
	let barriers = 0;
	return {
		received,
		waitFor,
		barrier: async () => {
			barriers += 1;
			await db.sql(`select pg_notify($1, $2)`, [barrierChannel, String(barriers)]);
			await waitFor(barrierChannel, barriers);
		},
		close: () => client.end()
	};
}

async function counts(db: TestDatabase) {
	const { rows } = await db.sql<{ jobs: number; events: number; boss: number }>(`
		select (select count(*)::int from video_jobs) as jobs,
		       (select count(*)::int from video_job_events) as events,
		       (select count(*)::int from pgboss.job where name like 'video.%') as boss`);
	return rows[0]!;
}

/** The channel pg-boss LISTENs on for new jobs, as its own code names it. */
const it = dbTest.extend(
	'pgbossChannel',
	{ scope: 'file' },
	async ({ db }) => (await db.sql(PGBOSS_CHANNEL_SQL)).rows[0].channel as string
);

describe('enqueue from SQL', () => {
	it('a plain INSERT creates exactly one pg-boss job { jobId } with the queue settings copied', async ({ db, business }) => {
		const before = await counts(db);
		// Surrounding whitespace in the content is trimmed from the job's script.
		const contentId = await addContent(db, business.businessId, '  Hello from the enqueue tests.\n');
		const { rows } = await db.sql(`insert into video_jobs (content_id) values ($1) returning *`, [contentId]);
		expect(rows).toHaveLength(1);
		const job = rows[0];
		// Defaults resolved from the content and the business, then frozen on the row.
		expect(job).toMatchObject({
			business_id: business.businessId,
			content_id: contentId,
			script: 'Hello from the enqueue tests.',
			avatar_id: 'sim-avatar-anna',
			voice_id: 'sim-voice-en-1',
			options: {},
			status: 'queued',
			attempt: 1,
			heygen_video_id: null,
			requested_by: 'postgres'
		});
		expect(job.deadline.getTime() - job.created_at.getTime()).toBe(60 * 60 * 1000);

		const boss = await pgbossJobs(db, job.id);
		expect(boss).toHaveLength(1);
		expect(boss[0]!.name).toBe('video.submit');
		expect(boss[0]!.state).toBe('created');
		expect(boss[0]!.data).toStrictEqual({ jobId: job.id });
		const after = await counts(db);
		expect(after).toEqual({ jobs: before.jobs + 1, events: before.events + 1, boss: before.boss + 1 });

		// Every setting pg-boss's own send() would take from the queue row.
		const { rows: cmp } = await db.sql(
			`select j.retry_limit, j.retry_delay, j.retry_backoff, j.retry_delay_max, j.expire_seconds,
			        j.deletion_seconds, j.policy, j.dead_letter, j.heartbeat_seconds, j.priority, j.singleton_key,
			        extract(epoch from j.keep_until - j.start_after)::int as retention_seconds,
			        j.start_after <= now() as runnable_now,
			        q.retry_limit as q_retry_limit, q.retry_delay as q_retry_delay, q.retry_backoff as q_retry_backoff,
			        q.retry_delay_max as q_retry_delay_max, q.expire_seconds as q_expire_seconds,
			        q.deletion_seconds as q_deletion_seconds, q.policy as q_policy, q.dead_letter as q_dead_letter,
			        q.heartbeat_seconds as q_heartbeat_seconds, q.retention_seconds as q_retention_seconds
			   from pgboss.job j join pgboss.queue q on q.name = j.name
			  where j.id = $1`,
			[boss[0]!.id]
		);
		const r = cmp[0];
		expect(r).toMatchObject({ retry_limit: 8, retry_delay: 5, retry_backoff: true, retry_delay_max: 300, expire_seconds: 120 });
		expect({
			retry_limit: r.retry_limit,
			retry_delay: r.retry_delay,
			retry_backoff: r.retry_backoff,
			retry_delay_max: r.retry_delay_max,
			expire_seconds: r.expire_seconds,
			deletion_seconds: r.deletion_seconds,
			policy: r.policy,
			dead_letter: r.dead_letter,
			heartbeat_seconds: r.heartbeat_seconds,
			retention_seconds: r.retention_seconds
		}).toEqual({
			retry_limit: r.q_retry_limit,
			retry_delay: r.q_retry_delay,
			retry_backoff: r.q_retry_backoff,
			retry_delay_max: r.q_retry_delay_max,
			expire_seconds: r.q_expire_seconds,
			deletion_seconds: r.q_deletion_seconds,
			policy: r.q_policy,
			dead_letter: r.q_dead_letter,
			heartbeat_seconds: r.q_heartbeat_seconds,
			retention_seconds: r.q_retention_seconds
		});
		// The video job id doubles as singleton_key: cancel and the sweep find a job's pg-boss jobs by it.
		expect(r).toMatchObject({ priority: 0, singleton_key: job.id, runnable_now: true });

		// The payload carries no secret and no script: the worker reads both itself.
		const { rows: raw } = await db.sql(`select data::text as data from pgboss.job where id = $1`, [boss[0]!.id]);
		expect(raw[0].data).not.toContain(TEST_KEY);
		expect(raw[0].data).not.toContain('Hello from');
		expect(Object.keys(boss[0]!.data as object)).toEqual(['jobId']);

		// Clean up for the next tests: one active job per content.
		await db.sql(`select cancel_video_job($1, 'test cleanup')`, [job.id]);
	});

	it('pg-boss itself can fetch the job the trigger enqueued', async ({ db, business }) => {
		const contentId = await addContent(db, business.businessId, 'Fetched by pg-boss.');
		const { rows } = await db.sql(`insert into video_jobs (content_id) values ($1) returning id`, [contentId]);
		const boss = new PgBoss({
			connectionString: db.url,
			max: 2,
			supervise: false,
			schedule: false,
			migrate: false,
			registerInstance: false,
			openTelemetry: { enabled: false }
		});
		boss.on('error', () => {});
		await boss.start();
		try {
			const fetched = await boss.fetch<{ jobId: string }>('video.submit', { batchSize: 100 });
			const mine = fetched.filter((j) => j.data.jobId === rows[0].id);
			expect(mine).toHaveLength(1);
			expect(mine[0]!.data).toStrictEqual({ jobId: rows[0].id });
		} finally {
			await boss.stop({ graceful: false });
		}
		const states = await pgbossJobs(db, rows[0].id);
		expect(states.map((s) => s.state)).toEqual(['active']);
		await db.sql(`select cancel_video_job($1, 'test cleanup')`, [rows[0].id]);
	});

	it('BEGIN; INSERT; ROLLBACK leaves no job, no video_jobs row, no event and sends no notification', async ({
		db,
		business,
		pgbossChannel
	}) => {
		const contentId = await addContent(db, business.businessId, 'Rolled back.');
		const l = await listen(db, [pgbossChannel, 'video_jobs']);
		const before = await counts(db);
		const c = await db.pool.connect();
		try {
			await c.query('begin');
			const { rows } = await c.query(`insert into video_jobs (content_id) values ($1) returning id`, [contentId]);
			// Inside the transaction the job, its event and its pg-boss job exist...
			const inside = await c.query(
				`select (select count(*)::int from pgboss.job where data->>'jobId' = $1::text) as boss,
				        (select count(*)::int from video_job_events where job_id = $1::uuid) as events`,
				[rows[0].id]
			);
			expect(inside.rows[0]).toEqual({ boss: 1, events: 1 });
			await c.query('rollback');
		} finally {
			await c.query('rollback').catch(() => {});
			c.release();
		}
		// ...and after the rollback none of it does.
		expect(await counts(db)).toEqual(before);
		const { rows: content } = await db.sql(`select heygen_status from content where id = $1`, [contentId]);
		expect(content[0].heygen_status).toBeNull();
		await l.barrier();
		expect(l.received.get(pgbossChannel)).toEqual([]);
		expect(l.received.get('video_jobs')).toEqual([]);
		await l.close();
	});

	it('LISTEN-ing clients are notified only after COMMIT, on the pg-boss channel and on video_jobs', async ({
		db,
		business,
		pgbossChannel
	}) => {
		expect(pgbossChannel).toMatch(/^pgboss_[0-9a-f]{24}$/);
		const contentId = await addContent(db, business.businessId, 'Notify me.');
		const l = await listen(db, [pgbossChannel, 'video_jobs']);
		const c = await db.pool.connect();
		let jobId: string;
		try {
			await c.query('begin');
			const { rows } = await c.query(`insert into video_jobs (content_id) values ($1) returning id`, [contentId]);
			jobId = rows[0].id;
			await l.barrier();
			expect(l.received.get(pgbossChannel)).toEqual([]);
			expect(l.received.get('video_jobs')).toEqual([]);
			await c.query('commit');
		} catch (err) {
			await c.query('rollback').catch(() => {});
			throw err;
		} finally {
			c.release();
		}
		expect(await l.waitFor(pgbossChannel, 1)).toEqual(['video.submit']);
		const [payload] = await l.waitFor('video_jobs', 1);
		const { rows: ev } = await db.sql(`select id from video_job_events where job_id = $1`, [jobId]);
		expect(JSON.parse(payload!)).toStrictEqual({
			event_id: ev[0].id,
			id: jobId,
			content_id: contentId,
			business_id: business.businessId,
			status: 'queued'
		});
		await l.barrier();
		expect(l.received.get(pgbossChannel)).toHaveLength(1);
		expect(l.received.get('video_jobs')).toHaveLength(1);
		await l.close();
		await db.sql(`select cancel_video_job($1, 'test cleanup')`, [jobId]);
	});

	it('a 5,000-row INSERT … SELECT in one statement creates 5,000 jobs, 5,000 pg-boss jobs and 5,000 events', async ({
		db,
		business,
		pgbossChannel
	}) => {
		await db.sql(
			`insert into content (business_id, title, body)
			 select $1, 'Bulk ' || g, 'Bulk script number ' || g from generate_series(1, 5000) g`,
			[business.businessId]
		);
		const before = await counts(db);
		const l = await listen(db, [pgbossChannel]);
		const res = await db.sql(`insert into video_jobs (content_id) select id from content where business_id = $1 and title like 'Bulk %'`, [
			business.businessId
		]);
		expect(res.rowCount).toBe(5000);

		// Fetched into JS and compared here: a join on jsonb over fresh, unanalysed tables can pick a
		// nested loop and turn a 0.5 s insert into a slow assertion.
		const { rows: jobs } = await db.sql<{
			id: string;
			content_id: string;
			status: string;
			script: string;
			body: string;
			heygen_status: string;
		}>(
			`select j.id, j.content_id, j.status, j.script, c.body, c.heygen_status
			   from video_jobs j join content c on c.id = j.content_id where j.business_id = $1`,
			[business.businessId]
		);
		expect(jobs).toHaveLength(5000);
		expect(new Set(jobs.map((j) => j.content_id)).size).toBe(5000);
		expect(jobs.every((j) => j.status === 'queued' && j.script === j.body && j.heygen_status === 'queued')).toBe(true);
		const ids = jobs.map((j) => j.id).sort();

		const { rows: boss } = await db.sql<{ job_id: string; keys: string[]; name: string; state: string; retry_limit: number }>(
			`select data->>'jobId' as job_id, array(select jsonb_object_keys(data)) as keys, name, state, retry_limit
			   from pgboss.job where name = 'video.submit' and data->>'jobId' = any ($1::text[])`,
			[ids]
		);
		expect(boss).toHaveLength(5000);
		expect(boss.map((b) => b.job_id).sort()).toEqual(ids);
		expect(boss.every((b) => b.keys.length === 1 && b.keys[0] === 'jobId' && b.state === 'created' && b.retry_limit === 8)).toBe(true);

		const { rows: events } = await db.sql<{ job_id: string; from_status: string | null; to_status: string }>(
			`select job_id, from_status, to_status from video_job_events where job_id = any ($1::uuid[])`,
			[ids]
		);
		expect(events).toHaveLength(5000);
		expect(events.map((e) => e.job_id).sort()).toEqual(ids);
		expect(events.every((e) => e.from_status === null && e.to_status === 'queued')).toBe(true);
		expect(await counts(db)).toEqual({ jobs: before.jobs + 5000, events: before.events + 5000, boss: before.boss + 5000 });
		// One wake-up for the whole statement, not 5,000.
		await l.waitFor(pgbossChannel, 1);
		await l.barrier();
		expect(l.received.get(pgbossChannel)).toEqual(['video.submit']);
		await l.close();
	});

	it('ON CONFLICT (idempotency_key) DO NOTHING with a repeated key creates no second job or pg-boss job', async ({ db, business }) => {
		const contentId = await addContent(db, business.businessId, 'Idempotent.');
		const sql = `insert into video_jobs (content_id, idempotency_key) values ($1, $2)
		             on conflict (idempotency_key) do nothing returning id`;
		const first = await db.sql(sql, [contentId, 'order-42']);
		expect(first.rowCount).toBe(1);
		const before = await counts(db);
		const second = await db.sql(sql, [contentId, 'order-42']);
		expect(second.rowCount).toBe(0);
		expect(second.rows).toEqual([]);
		expect(await counts(db)).toEqual(before);
		const id = first.rows[0].id;
		expect((await db.sql(`select count(*)::int as n from video_jobs where idempotency_key = 'order-42'`)).rows[0].n).toBe(1);
		expect(await pgbossJobs(db, id)).toHaveLength(1);
		const { rows: ev } = await db.sql(`select to_status, detail from video_job_events where job_id = $1`, [id]);
		expect(ev).toEqual([{ to_status: 'queued', detail: { attempt: 1, idempotency_key: 'order-42' } }]);

		// Still a no-op once the first job is no longer active.
		await db.sql(`select cancel_video_job($1, 'done with it')`, [id]);
		const before2 = await counts(db);
		expect((await db.sql(sql, [contentId, 'order-42'])).rowCount).toBe(0);
		expect(await counts(db)).toEqual(before2);

		// Without ON CONFLICT the repeated key is a unique violation naming the constraint.
		const err = await pgError(db.sql(`insert into video_jobs (content_id, idempotency_key) values ($1, 'order-42')`, [contentId]));
		expect(err.code).toBe('23505');
		expect(err.constraint).toBe('video_jobs_idempotency_key_key');
		expect(await counts(db)).toEqual(before2);
	});

	it('a different idempotency key for content that already has an active job is refused', async ({ db, business }) => {
		const contentId = await addContent(db, business.businessId, 'Busy.');
		const sql = `insert into video_jobs (content_id, idempotency_key) values ($1, $2)
		             on conflict (idempotency_key) do nothing returning id`;
		const first = await db.sql(sql, [contentId, 'busy-1']);
		const before = await counts(db);
		const err = await pgError(db.sql(sql, [contentId, 'busy-2']));
		expect(err.code).toBe('23505');
		expect(err.message).toContain(`content ${contentId} already has an active video job ${first.rows[0].id} (queued)`);
		expect(await counts(db)).toEqual(before);
		await db.sql(`select cancel_video_job($1)`, [first.rows[0].id]);
	});

	it('pgboss_enqueue on an unknown queue fails clearly and inserts nothing', async ({ db }) => {
		const before = await counts(db);
		const total = async () => (await db.sql(`select count(*)::int as n from pgboss.job`)).rows[0].n;
		const n = await total();
		const err = await pgError(db.sql(`select pgboss_enqueue('no.such.queue', '{}')`));
		expect(err.code).toBe('42704');
		expect(err.message).toBe('pgboss_enqueue: queue "no.such.queue" does not exist');
		expect(await total()).toBe(n);
		expect(await counts(db)).toEqual(before);
	});

	it('pgboss_enqueue honours start_after, singleton_key and priority, and does not wake workers for a delayed job', async ({
		db,
		pgbossChannel
	}) => {
		const l = await listen(db, [pgbossChannel]);
		const { rows } = await db.sql(
			`select pgboss_enqueue('video.poll', '{"jobId":"00000000-0000-0000-0000-000000000001"}', now() + interval '30 seconds', 'poll-1', 3) as id`
		);
		const { rows: job } = await db.sql(
			`select name, data, priority, singleton_key, state, retry_limit, retry_delay_max, expire_seconds,
			        extract(epoch from start_after - created_on)::int as delay
			   from pgboss.job where id = $1`,
			[rows[0].id]
		);
		expect(job[0]).toEqual({
			name: 'video.poll',
			data: { jobId: '00000000-0000-0000-0000-000000000001' },
			priority: 3,
			singleton_key: 'poll-1',
			state: 'created',
			retry_limit: 20,
			retry_delay_max: 120,
			expire_seconds: 120,
			delay: 30
		});
		await l.barrier();
		expect(l.received.get(pgbossChannel)).toEqual([]);
		// An immediately runnable one does wake them.
		await db.sql(`select pgboss_enqueue('video.transfer', '{"jobId":"00000000-0000-0000-0000-000000000002"}')`);
		expect(await l.waitFor(pgbossChannel, 1)).toEqual(['video.transfer']);
		await l.close();
		await db.sql(`delete from pgboss.job where data->>'jobId' like '00000000-0000-0000-0000-00000000000%'`);
	});

	it('pgboss_enqueue_at gives each job its own start time, and refuses arrays of different lengths', async ({ db }) => {
		const ids = await db.sql(
			`select pgboss_enqueue_at('video.poll',
			   array['{"jobId":"00000000-0000-0000-0000-000000000003"}', '{"jobId":"00000000-0000-0000-0000-000000000004"}']::jsonb[],
			   array['at-3', 'at-4'], array[now() + interval '10 seconds', now() + interval '20 seconds']) as id`
		);
		const { rows } = await db.sql(
			`select singleton_key, extract(epoch from start_after - created_on)::int as delay from pgboss.job where id = any($1::uuid[]) order by singleton_key`,
			[ids.rows.map((r) => r.id)]
		);
		expect(rows).toEqual([
			{ singleton_key: 'at-3', delay: 10 },
			{ singleton_key: 'at-4', delay: 20 }
		]);
		const total = async () => (await db.sql(`select count(*)::int as n from pgboss.job`)).rows[0].n;
		const n = await total();
		const err = await pgError(db.sql(`select pgboss_enqueue_at('video.poll', array['{}']::jsonb[], array['a', 'b'], array[now()])`));
		expect(err.code).toBe('22023');
		expect(err.message).toBe('pgboss_enqueue_at: 1 data items, 2 singleton keys and 1 start times');
		expect(await total()).toBe(n);
		await db.sql(`delete from pgboss.job where singleton_key in ('at-3', 'at-4')`);
	});
});
