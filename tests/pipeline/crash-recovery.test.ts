import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHeyGenSimulator, type HeyGenSimulator } from '../heygen-simulator/server.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { addContent, insertJob, seedBusiness, TEST_KEY } from '../helpers/fixtures.ts';
import { waitForStatus } from '../helpers/pipeline.ts';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process.ts';

/**
 * SIGKILL a real worker process while jobs sit in each phase, start a new one, and check that every
 * job finishes, with at most one extra HeyGen submit for a job killed between HeyGen's reply and
 * the commit that saves the video id.
 */
describe('worker killed mid-flight', () => {
	let db: TestDatabase;
	let sim: HeyGenSimulator;
	let storageDir: string;
	const workers: WorkerProcess[] = [];
	beforeAll(async () => {
		db = await createTestDatabase();
		sim = await startHeyGenSimulator({ renderMs: 0 });
		storageDir = mkdtempSync(path.join(tmpdir(), 'hvj-kill-'));
	});
	afterAll(async () => {
		for (const w of workers) await w.kill();
		await sim?.close();
		await db?.drop();
		rmSync(storageDir, { recursive: true, force: true });
	});
	const start = () => {
		const w = spawnWorker({ DATABASE_URL: db.url, HEYGEN_API_URL: sim.url, STORAGE_DIR: storageDir });
		workers.push(w);
		return w;
	};

	it('finishes every job after a SIGKILL in submit, poll and transfer', async () => {
		const { businessId } = await seedBusiness(db);
		const first = start();
		await first.ready;

		// Mid-transfer: the download request hangs.
		sim.setFaults({ slow: { ms: 60_000, endpoint: 'files', times: 1 } });
		const transferJob = await insertJob(db, await addContent(db, businessId, 'transfer'));
		await waitForStatus(db, transferJob, 'transferring');
		await sim.waitFor((s) => s.requests.some((r) => r.endpoint === 'files'), 10_000);

		// Mid-poll: a render that takes a while.
		const pollJob = await insertJob(db, await addContent(db, businessId, 'poll'), { options: JSON.stringify({ title: '[sim renderMs=4000]' }) });
		await waitForStatus(db, pollJob, 'rendering');

		// After submit, before saving: kill the moment HeyGen has accepted the video.
		const submitJob = await insertJob(db, await addContent(db, businessId, 'submit'));
		await sim.waitFor((s) => s.submitsFor(submitJob) === 1, 10_000);
		await first.kill('SIGKILL');

		const states = await db.sql('select id, status from video_jobs');
		expect(states.rows.every((r) => ['submitting', 'rendering', 'transferring', 'completed'].includes(r.status))).toBe(true);

		const second = start();
		await second.ready;
		for (const id of [transferJob, pollJob, submitJob]) {
			const job = await waitForStatus(db, id, ['completed', 'failed'], 45_000);
			expect(job.status, `${id}: ${job.error_message}`).toBe('completed');
			const file = path.join(storageDir, job.business_id, job.content_id, `${id}.mp4`);
			expect(readFileSync(file).equals(sim.mp4)).toBe(true);
		}
		expect(sim.submitsFor(transferJob)).toBe(1);
		expect(sim.submitsFor(pollJob)).toBe(1);
		// The guaranteed bound: one submit, plus one per crash inside the submit window.
		expect(sim.submitsFor(submitJob)).toBeLessThanOrEqual(2);

		const logs = [...first.output, ...second.output].join('');
		expect(logs).not.toContain(TEST_KEY);
		await second.kill('SIGTERM');
	}, 120_000);
});

describe('two worker processes share the work', () => {
	let db: TestDatabase;
	let sim: HeyGenSimulator;
	let storageDir: string;
	const workers: WorkerProcess[] = [];
	beforeAll(async () => {
		db = await createTestDatabase();
		sim = await startHeyGenSimulator({ renderMs: 200 });
		storageDir = mkdtempSync(path.join(tmpdir(), 'hvj-two-'));
	});
	afterAll(async () => {
		for (const w of workers) await w.kill();
		await sim?.close();
		await db?.drop();
		rmSync(storageDir, { recursive: true, force: true });
	});

	it('completes 50 jobs with exactly one HeyGen submit each', async () => {
		const { businessId } = await seedBusiness(db);
		for (let i = 0; i < 2; i++) workers.push(spawnWorker({ DATABASE_URL: db.url, HEYGEN_API_URL: sim.url, STORAGE_DIR: storageDir, WORKER_CONCURRENCY: '10' }));
		await Promise.all(workers.map((w) => w.ready));
		await db.sql(
			`insert into content (business_id, title, body) select $1, 'Post ' || g, 'Script number ' || g from generate_series(1, 50) g`,
			[businessId]
		);
		const { rows } = await db.sql<{ id: string }>(
			`insert into video_jobs (content_id) select id from content where title like 'Post %' returning id`
		);
		expect(rows).toHaveLength(50);
		for (const { id } of rows) {
			const job = await waitForStatus(db, id, ['completed', 'failed'], 60_000);
			expect(job.status, job.error_message).toBe('completed');
			expect(sim.submitsFor(id)).toBe(1);
		}
		// Both processes took part (pg-boss hands out work with SKIP LOCKED).
		const byWorker = workers.map((w) => w.output.join('').split('video stored').length - 1);
		expect(byWorker.reduce((a, b) => a + b, 0)).toBe(50);
		expect(Math.min(...byWorker)).toBeGreaterThan(0);
	}, 120_000);
});
