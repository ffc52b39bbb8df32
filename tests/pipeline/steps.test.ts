/**
 * The worker's steps at their edges: duplicate and concurrent deliveries, a webhook wake-up that
 * lands while a status check is running, a key removed mid-render, HeyGen's `waiting` status, and
 * what storage is told about the download.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { startHeyGenSimulator } from '../../heygen/simulator/server.ts';
import { createStorage, type VideoStorage } from '../../storage/index.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { addContent, insertJob, seedBusiness } from '../helpers/fixtures.ts';
import {
	countStatusCalls,
	countSubmits,
	finishRender,
	reportWaiting,
	slowStatusCalls,
	slowSubmits,
	statusReplies,
	videoIdFor,
	waitForSim
} from '../helpers/heygen-sim.ts';
import { startPipeline, waitForStatus, type Pipeline } from '../helpers/pipeline.ts';

let db: TestDatabase;
let businessId: string;
let p: Pipeline | undefined;

beforeAll(async () => {
	db = await createTestDatabase();
	({ businessId } = await seedBusiness(db));
});
afterEach(async () => {
	await p?.stop();
	p = undefined;
});
afterAll(async () => db?.drop());

/** The pg-boss deliveries of one step for a job, by state. */
async function deliveries(jobId: string, queue: string): Promise<string[]> {
	const { rows } = await db.sql<{ state: string }>(
		`select state from pgboss.job where name = $1 and data->>'jobId' = $2 order by created_on`,
		[queue, jobId]
	);
	return rows.map((r) => r.state);
}

/** Waits until no delivery of `queue` for the job is waiting or running. */
async function settled(jobId: string, queue: string): Promise<string[]> {
	return vi.waitFor(
		async () => {
			const states = await deliveries(jobId, queue);
			if (states.length === 0 || states.some((s) => s === 'created' || s === 'retry' || s === 'active'))
				throw new Error(`${queue}: ${states.join(', ')}`);
			return states;
		},
		{ timeout: 15_000, interval: 50 }
	);
}

async function pendingPolls(jobId: string): Promise<number> {
	const { rows } = await db.sql(
		`select count(*)::int as n from pgboss.job where name = 'video.poll' and singleton_key = $1 and state in ('created', 'retry')`,
		[jobId]
	);
	return rows[0].n;
}

describe('submit', () => {
	test('a submit delivered for a job that already has a HeyGen video makes no HeyGen call', async () => {
		const jobId = await insertJob(db, await addContent(db, businessId));
		// As left by an earlier delivery that got HeyGen's video id (or a person recording it by hand).
		await db.sql(`update video_jobs set status = 'submitting' where id = $1`, [jobId]);
		await db.sql(`update video_jobs set heygen_video_id = 'already-made' where id = $1`, [jobId]);
		p = await startPipeline(db);
		expect(await settled(jobId, 'video.submit')).toEqual(['completed']);
		expect(countSubmits(p.sim)).toBe(0);
		const { rows } = await db.sql('select heygen_video_id from video_jobs where id = $1', [jobId]);
		expect(rows[0].heygen_video_id).toBe('already-made');
	});

	test('two concurrent submit deliveries for one job make exactly one HeyGen call', async () => {
		const jobId = await insertJob(db, await addContent(db, businessId));
		// A second delivery of the same step (as after a redelivery), both in the worker at once.
		await db.sql(`select pgboss_enqueue('video.submit', jsonb_build_object('jobId', $1::text))`, [jobId]);
		const sim = await startHeyGenSimulator({ renderMs: 600_000 });
		slowSubmits(sim, 1000);
		try {
			p = await startPipeline(db, { sim });
			const job = await waitForStatus(db, jobId, 'rendering');
			await settled(jobId, 'video.submit');
			expect(countSubmits(sim, jobId)).toBe(1);
			expect(job.heygen_video_id).toBe(videoIdFor(sim, jobId));
		} finally {
			await p?.stop();
			p = undefined;
			await sim.close();
		}
	});
});

describe('poll', () => {
	test('a wake-up during an in-flight status check leaves exactly one scheduled check', async () => {
		// Long poll intervals: nothing polls unless woken.
		p = await startPipeline(db, { renderMs: 600_000, worker: { settings: { pollInitialMs: 60_000, pollMaxMs: 60_000 } } });
		const jobId = await insertJob(db, await addContent(db, businessId));
		await waitForStatus(db, jobId, 'rendering');
		slowStatusCalls(p.sim, 1500);
		expect((await db.sql('select video_jobs_wake_poll($1) as woke', [jobId])).rows[0].woke).toBe(true);
		await waitForSim(p.sim, (s) => countStatusCalls(s) >= 1);
		// The first check is now waiting on HeyGen; a webhook wakes the job again.
		expect((await db.sql('select video_jobs_wake_poll($1) as woke', [jobId])).rows[0].woke).toBe(true);
		await waitForSim(p.sim, (s) => statusReplies(s).length >= 1);
		// Settled: no check is running and none is due; whatever is left is scheduled a minute out.
		await vi.waitFor(
			async () => {
				const { rows } = await db.sql(
					`select count(*)::int as n from pgboss.job where name = 'video.poll' and singleton_key = $1
					 and (state = 'active' or (state in ('created', 'retry') and start_after < now() + interval '30 seconds'))`,
					[jobId]
				);
				if (rows[0].n > 0) throw new Error(`${rows[0].n} status checks running or due`);
			},
			{ timeout: 15_000, interval: 50 }
		);
		expect(await pendingPolls(jobId)).toBe(1);
		const { rows } = await db.sql('select status from video_jobs where id = $1', [jobId]);
		expect(rows[0].status).toBe('rendering');
	});

	test('while HeyGen says `waiting` the job keeps polling, then completes', async () => {
		p = await startPipeline(db, { renderMs: 600_000 });
		const jobId = await insertJob(db, await addContent(db, businessId));
		await waitForStatus(db, jobId, 'rendering');
		const sim = p.sim;
		reportWaiting(sim, videoIdFor(sim, jobId)!);
		const seen = statusReplies(sim).length;
		await waitForSim(sim, (s) => statusReplies(s).length >= seen + 3);
		const { rows } = await db.sql('select status, last_heygen_status from video_jobs where id = $1', [jobId]);
		// v3's client reads `waiting` as still pending.
		expect(rows[0]).toEqual({ status: 'rendering', last_heygen_status: 'pending' });
		finishRender(sim, videoIdFor(sim, jobId)!);
		const done = await waitForStatus(db, jobId, ['completed', 'failed']);
		expect(done.status).toBe('completed');
	});

	test('deleting the key mid-render fails the job with missing_api_key', async () => {
		p = await startPipeline(db, { renderMs: 600_000 });
		const jobId = await insertJob(db, await addContent(db, businessId));
		await waitForStatus(db, jobId, 'rendering');
		await db.sql('select delete_heygen_key($1)', [businessId]);
		// The worker keeps a key for a few seconds before it reads it again.
		const job = await waitForStatus(db, jobId, ['failed', 'completed', 'canceled'], 25_000);
		expect(job.status).toBe('failed');
		expect(job.error_code).toBe('missing_api_key');
		expect(job.error_message).toMatch(/key was removed/);
		await db.sql('select set_heygen_key($1, $2)', [businessId, 'sim-test-key']);
	}, 40_000);
});

describe('transfer', () => {
	test('storage is told the size HeyGen announced for the download', async () => {
		const dir = mkdtempSync(path.join(tmpdir(), 'hvj-steps-'));
		const local = await createStorage({ kind: 'local', dir, publicBaseUrl: '/media' });
		const expected = new Map<string, number | undefined>();
		const storage: VideoStorage = Object.assign(Object.create(local) as VideoStorage, {
			put: (objectPath: string, body: Parameters<VideoStorage['put']>[1], opts: Parameters<VideoStorage['put']>[2]) => {
				expected.set(path.extname(objectPath), opts?.expectedBytes);
				return local.put(objectPath, body, opts);
			}
		});
		try {
			p = await startPipeline(db, { worker: { storage } });
			const jobId = await insertJob(db, await addContent(db, businessId));
			const job = await waitForStatus(db, jobId, ['completed', 'failed']);
			expect(job.status).toBe('completed');
			const size = p.sim.mp4.length;
			expect(Number(job.size_bytes)).toBe(size);
			expect(expected.get('.mp4')).toBe(size);
			expect(expected.get('.jpg')).toBe(p.sim.thumbnail.length);
		} finally {
			rmSync(dir, { recursive: true, force: true });
		}
	});
});
