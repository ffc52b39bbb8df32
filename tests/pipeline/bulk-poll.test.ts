/**
 * Status checks in bulk: a batch of due polls makes one `GET /v3/videos/statuses` per account
 * (HeyGen business key), and every job still takes its own transition with its own event.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { pollVideos } from '../../worker/handlers/poll.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { addContent, insertJob, seedBusiness } from '../helpers/fixtures.ts';
import { bulkStatusCalls, countStatusCalls, finishRender, videoIdFor, waitForSim } from '../helpers/heygen-sim.ts';
import { FAST_SETTINGS, startPipeline, waitForStatus, type Pipeline } from '../helpers/pipeline.ts';

let db: TestDatabase;
let p: Pipeline | undefined;

beforeAll(async () => {
	db = await createTestDatabase();
});
afterEach(async () => {
	await p?.stop();
	p = undefined;
});
afterAll(async () => {
	await db?.drop();
});

async function jobsIn(businessId: string, n: number): Promise<string[]> {
	const ids: string[] = [];
	for (let i = 0; i < n; i++) ids.push(await insertJob(db, await addContent(db, businessId, `Script ${i}.`)));
	return ids;
}

async function events(jobId: string): Promise<string[]> {
	const { rows } = await db.sql<{ t: string }>(
		`select coalesce(from_status::text, '-') || '>' || to_status::text as t from video_job_events where job_id = $1 order by id`,
		[jobId]
	);
	return rows.map((r) => r.t);
}

async function row(jobId: string) {
	const { rows } = await db.sql(
		`select status, poll_count, last_heygen_status, last_error, error_code, error_message from video_jobs where id = $1`,
		[jobId]
	);
	return rows[0];
}

async function pendingPolls(jobId: string, states = ['created', 'retry']): Promise<number> {
	const { rows } = await db.sql(
		`select count(*)::int as n from pgboss.job where name = 'video.poll' and singleton_key = $1 and state = any($2::pgboss.job_state[])`,
		[jobId, states]
	);
	return rows[0].n;
}

/** A worker whose own polls are far off, so the test drives every status check itself. */
async function rendering(perBusiness: number[]): Promise<{ byBusiness: string[][]; all: string[] }> {
	p = await startPipeline(db, {
		renderMs: 600_000,
		worker: { settings: { ...FAST_SETTINGS, pollInitialMs: 600_000, pollMaxMs: 600_000 } }
	});
	const byBusiness: string[][] = [];
	for (const [i, n] of perBusiness.entries()) {
		const { businessId } = await seedBusiness(db, { name: `Bulk ${i}` });
		byBusiness.push(await jobsIn(businessId, n));
	}
	const all = byBusiness.flat();
	for (const id of all) await waitForStatus(db, id, 'rendering');
	return { byBusiness, all };
}

describe('bulk status polls', () => {
	test('a batch of due polls makes one bulk call per business; in-progress jobs are rescheduled, each with its own update', async () => {
		const { byBusiness, all } = await rendering([4, 3]);
		const sim = p!.sim;
		const before = bulkStatusCalls(sim).length;
		const singleBefore = sim.requests.filter((r) => r.endpoint === 'status').length;
		const outcomes = await pollVideos(p!.worker.ctx, all);
		expect(outcomes.map((o) => o.status)).toEqual(all.map(() => 'fulfilled'));
		const calls = bulkStatusCalls(sim).slice(before);
		expect(calls).toHaveLength(2);
		const asked = calls.map((c) => [...c.ids].sort());
		const want = byBusiness.map((ids) => ids.map((id) => videoIdFor(sim, id)!).sort());
		expect(asked.sort((a, b) => a[0]!.localeCompare(b[0]!))).toEqual(want.sort((a, b) => a[0]!.localeCompare(b[0]!)));
		// No per-video GET for videos still rendering.
		expect(sim.requests.filter((r) => r.endpoint === 'status').length).toBe(singleBefore);
		for (const id of all) {
			expect(await row(id)).toMatchObject({ status: 'rendering', poll_count: 1, last_heygen_status: 'pending' });
			// Rescheduled: exactly one pending poll per job.
			expect(await pendingPolls(id)).toBe(1);
		}
	});

	test('completed, failed and unknown videos in one batch each take their own transition and write one event', async () => {
		const { all } = await rendering([4]);
		const sim = p!.sim;
		const [done, failed, gone, still] = all as [string, string, string, string];
		finishRender(sim, videoIdFor(sim, done)!);
		const fv = sim.videos.get(videoIdFor(sim, failed)!)!;
		fv.failWith = { code: 'AVATAR_ERROR', message: 'The avatar could not be rendered.' };
		finishRender(sim, fv.id);
		sim.videos.delete(videoIdFor(sim, gone)!);
		const before = bulkStatusCalls(sim).length;
		const singles = () => sim.requests.filter((r) => r.endpoint === 'status').map((r) => r.path);
		const singleBefore = singles().length;

		await pollVideos(p!.worker.ctx, all);

		expect(bulkStatusCalls(sim).length - before).toBe(1);
		// One GET for the completed video (fresh URLs for the transfer), one for the id HeyGen did not list.
		expect(singles().slice(singleBefore).sort()).toEqual(
			[`/v3/videos/${videoIdFor(sim, done)}`, `/v3/videos/${videoIdFor(sim, gone)}`].sort()
		);
		expect(await waitForStatus(db, done, 'completed')).toMatchObject({ status: 'completed' });
		expect(await row(failed)).toMatchObject({
			status: 'failed',
			error_code: 'AVATAR_ERROR',
			error_message: 'HeyGen could not render the video: The avatar could not be rendered.'
		});
		expect(await row(gone)).toMatchObject({ status: 'failed', error_code: 'video_not_found' });
		expect(await row(still)).toMatchObject({ status: 'rendering', last_heygen_status: 'pending' });

		const upTo = ['queued>submitting', 'submitting>rendering'];
		expect((await events(done)).slice(1)).toEqual([...upTo, 'rendering>transferring', 'transferring>completed']);
		expect((await events(failed)).slice(1)).toEqual([...upTo, 'rendering>failed']);
		expect((await events(gone)).slice(1)).toEqual([...upTo, 'rendering>failed']);
		expect((await events(still)).slice(1)).toEqual(upTo);
	});

	test('an account-wide answer to the bulk call (429) is recorded on every job in it and retried; the retry completes them', async () => {
		const { all } = await rendering([3]);
		const sim = p!.sim;
		sim.setFaults({ rateLimit: { retryAfter: 0, endpoint: 'statuses', times: 1 } });
		const singleBefore = sim.requests.filter((r) => r.endpoint === 'status').length;
		// The retry is scheduled a minute out, so the test reads the rows before it can run (a short
		// backoff let a loaded machine's worker run it first); the test then wakes it, as a webhook would.
		const { settings } = p!.worker.ctx;
		const backoff = { retryBaseMs: settings.retryBaseMs, retryMaxMs: settings.retryMaxMs };
		Object.assign(settings, { retryBaseMs: 60_000, retryMaxMs: 60_000 });
		try {
			await pollVideos(p!.worker.ctx, all);
		} finally {
			Object.assign(settings, backoff);
		}
		// Not asked again per video: the account's limit would only be hit three more times.
		expect(sim.requests.filter((r) => r.endpoint === 'status').length).toBe(singleBefore);
		for (const id of all) {
			const r = await row(id);
			expect(r).toMatchObject({ status: 'rendering', poll_count: 1 });
			expect(r.last_error).toMatch(/^rate_limited: HeyGen is busy for this account/);
			// One poll chain: exactly one retry waiting, none running.
			expect(await pendingPolls(id)).toBe(1);
			expect(await pendingPolls(id, ['active'])).toBe(0);
		}
		// The retry is an ordinary poll: woken, pg-boss runs it and it completes the jobs.
		for (const id of all) finishRender(sim, videoIdFor(sim, id)!);
		const callsBefore = countStatusCalls(sim);
		const { rows: woke } = await db.sql('select bool_and(video_jobs_wake_poll(id)) as all_woke from unnest($1::uuid[]) id', [all]);
		expect(woke[0].all_woke).toBe(true);
		for (const id of all) expect((await waitForStatus(db, id, ['completed', 'failed'])).status).toBe('completed');
		expect(countStatusCalls(sim)).toBeGreaterThan(callsBefore);
	});

	test('a bulk call that fails (503) falls back to one status call per video in the same poll', async () => {
		const { all } = await rendering([3]);
		const sim = p!.sim;
		sim.setFaults({ serverError: { status: 503, endpoint: 'statuses', times: 1 } });
		const singleBefore = sim.requests.filter((r) => r.endpoint === 'status').length;
		await pollVideos(p!.worker.ctx, all);
		expect(sim.requests.filter((r) => r.endpoint === 'status').length - singleBefore).toBe(3);
		for (const id of all)
			expect(await row(id)).toMatchObject({ status: 'rendering', poll_count: 1, last_heygen_status: 'pending', last_error: null });
	});

	test('the bulk status route answering 404 (moved or withdrawn) fails no job: each is asked on its own and completes', async () => {
		const { all } = await rendering([4]);
		const sim = p!.sim;
		for (const id of all) finishRender(sim, videoIdFor(sim, id)!);
		// Every bulk call answers 404 from now on, as if HeyGen had removed the route.
		sim.setFaults({ routeMissing: { endpoint: 'statuses' } });
		const outcomes = await pollVideos(p!.worker.ctx, all);
		expect(outcomes.map((o) => o.status)).toEqual(all.map(() => 'fulfilled'));
		await waitForSim(sim, (s) => s.requests.some((r) => r.endpoint === 'statuses' && r.status === 404));
		for (const id of all) {
			const done = await waitForStatus(db, id, ['completed', 'failed']);
			expect({ status: done.status, error_code: done.error_code }).toEqual({ status: 'completed', error_code: null });
			expect((await events(id)).slice(1)).toEqual([
				'queued>submitting',
				'submitting>rendering',
				'rendering>transferring',
				'transferring>completed'
			]);
		}
	});

	test('end to end through pg-boss: due polls of one business are checked together and every job completes', async () => {
		p = await startPipeline(db, { renderMs: 1500 });
		const { businessId } = await seedBusiness(db, { name: 'Bulk e2e' });
		const ids = await jobsIn(businessId, 8);
		for (const id of ids) expect((await waitForStatus(db, id, ['completed', 'failed'])).status).toBe('completed');
		const calls = bulkStatusCalls(p.sim);
		expect(calls.length).toBeGreaterThan(0);
		expect(Math.max(...calls.map((c) => c.ids.length))).toBeGreaterThan(1);
		for (const id of ids) {
			const ev = await events(id);
			expect(ev.slice(1)).toEqual(['queued>submitting', 'submitting>rendering', 'rendering>transferring', 'transferring>completed']);
		}
	});

	test('settling a batch in one statement still checks each row: a job canceled meanwhile is left alone and gets no next step', async () => {
		const { all } = await rendering([2]);
		const [kept, canceled] = all as [string, string];
		await db.sql(`update video_jobs set status = 'canceled' where id = $1`, [canceled]);
		const before = await events(canceled);
		const rows = await p!.worker.ctx.store.updateMany(
			all.map((jobId) => ({
				jobId,
				from: ['rendering'] as const,
				patch: { poll_count: 7, last_heygen_status: 'processing' },
				next: { queue: 'video.poll' as const, delayMs: 600_000 }
			}))
		);
		expect([...rows.keys()]).toEqual([kept]);
		expect(await row(kept)).toMatchObject({ status: 'rendering', poll_count: 7, last_heygen_status: 'processing' });
		expect(await row(canceled)).toMatchObject({ status: 'canceled', poll_count: 0 });
		expect(await events(canceled)).toEqual(before);
		expect(await pendingPolls(canceled)).toBe(0);
		expect(await pendingPolls(kept)).toBe(1);
		// A bad patch is refused as a whole: nothing half-written.
		await expect(
			p!.worker.ctx.store.updateMany([
				{ jobId: kept, from: ['rendering'], patch: { poll_count: 8 } },
				{ jobId: kept, from: ['rendering'], patch: { no_such_column: 1 } as never }
			])
		).rejects.toThrow();
		expect(await row(kept)).toMatchObject({ poll_count: 7 });
	});
});
