import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHeyGenSimulator, type HeyGenSimulator } from '../../heygen/simulator/server.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { addContent, insertJob, seedBusiness, TEST_KEY } from '../helpers/fixtures.ts';
import { startPipeline, waitForStatus, type Pipeline } from '../helpers/pipeline.ts';
import { pipelineTest } from '../helpers/pipeline-fixtures.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process.ts';

/**
 * HeyGen makes exactly one video per job attempt, whatever happens between its reply and the
 * commit that saves the video id: the reply is lost, the worker is SIGKILLed, or Postgres goes
 * away. Each case checks the simulator: one video for the job, although it was asked more than once.
 */

/** `n` jobs in one statement, as another service would insert them (one worker fetch takes them all). */
async function insertJobsAtOnce(db: TestDatabase, businessId: string, n: number, label: string): Promise<string[]> {
	const contents: string[] = [];
	for (let i = 0; i < n; i++) contents.push(await addContent(db, businessId, `${label} ${i}.`));
	const { rows } = await db.sql<{ id: string }>('insert into video_jobs (content_id) select unnest($1::uuid[]) returning id', [contents]);
	return rows.map((r) => r.id);
}

function expectOneVideo(sim: HeyGenSimulator, job: Record<string, any>, storageDir: string) {
	expect(job.status, `${job.error_code}: ${job.error_message}`).toBe('completed');
	expect(sim.submitsFor(job.id)).toBe(1);
	expect(sim.videos.get(job.heygen_video_id)?.callbackId).toBe(job.id);
	const file = path.join(storageDir, job.business_id, job.content_id, `${job.id}.mp4`);
	expect(readFileSync(file).equals(sim.mp4)).toBe(true);
}

describe('a lost generate reply', () => {
	pipelineTest('ends with the one video HeyGen made, for every job', async ({ db, business: { businessId }, pipeline: p }) => {
		p.sim.setFaults({ replyLost: { times: 10 } });
		const ids: string[] = [];
		for (let i = 0; i < 10; i++) ids.push(await insertJob(db, await addContent(db, businessId, `Lost reply ${i}.`)));
		for (const id of ids) {
			const job = await waitForStatus(db, id, ['completed', 'failed']);
			expectOneVideo(p.sim, job, p.storageDir);
			// Asked twice (the lost reply, then the retry with the same key, which HeyGen replayed).
			expect(p.sim.generateCallsFor(id)).toBe(2);
			expect(job.heygen_idempotency_key).toBe(`video-job:${id}:attempt-1`);
		}
		expect(p.sim.submits.filter((s) => ids.includes(s.callbackId ?? ''))).toHaveLength(10);
	});

	pipelineTest(
		'a retry of a failed job is a new attempt with a new key and one new video',
		async ({ db, business: { businessId }, pipeline: p }) => {
			const contentId = await addContent(db, businessId, 'Retried.');
			p.sim.setFaults({ invalidParameter: { times: 1 } }); // a permanent refusal of the job (402 would pause the business)
			const id = await insertJob(db, contentId);
			const failed = await waitForStatus(db, id, 'failed');
			expect(failed.error_code).toBe('invalid_parameter');
			expect(p.sim.submitsFor(id)).toBe(0);
			await db.sql('select retry_video_job($1)', [id]);
			const job = await waitForStatus(db, id, ['completed', 'failed']);
			expectOneVideo(p.sim, job, p.storageDir);
			expect(job.heygen_idempotency_key).toBe(`video-job:${id}:attempt-2`);
		}
	);

	pipelineTest(
		'409 request_in_progress is retried without using up the attempts',
		async ({ db, business: { businessId }, pipeline: p }) => {
			const contentId = await addContent(db, businessId, 'Busy.');
			p.sim.setFaults({ inProgress: { times: 8 } });
			const id = await insertJob(db, contentId);
			const job = await waitForStatus(db, id, ['completed', 'failed'], 30_000);
			expectOneVideo(p.sim, job, p.storageDir);
			// More 409s than MAX_SUBMITS (5) allows failures, and still completed.
			expect(
				p.sim.requests.filter((r) => r.endpoint === 'generate' && r.status === 409 && r.idempotencyKey === job.heygen_idempotency_key)
			).toHaveLength(8);
		},
		40_000
	);
});

describe('a worker SIGKILLed while HeyGen is answering the submit', () => {
	let db: TestDatabase;
	let sim: HeyGenSimulator;
	let storageDir: string;
	const workers: WorkerProcess[] = [];
	beforeAll(async () => {
		db = await createTestDatabase();
		sim = await startHeyGenSimulator();
		storageDir = mkdtempSync(path.join(tmpdir(), 'hvj-once-'));
	});
	afterAll(async () => {
		for (const w of workers) await w.kill();
		await sim?.close();
		await db?.drop();
		rmSync(storageDir, { recursive: true, force: true });
	});
	const start = () => {
		const w = spawnWorker({ DATABASE_URL: db.url, HEYGEN_API_URL: sim.url, STORAGE_DIR: storageDir, SLOT_WAIT_SECONDS: '0.5' });
		workers.push(w);
		return w;
	};

	it('leaves each job with exactly one video', async () => {
		const { businessId } = await seedBusiness(db);
		const first = start();
		await first.ready;
		// HeyGen creates each video at once but holds its reply for 8 s; the kill comes inside that,
		// and the new worker's first tries meet 409 request_in_progress until the replies are done.
		sim.setFaults({ slowReply: { ms: 8000, times: 5 } });
		const ids = await insertJobsAtOnce(db, businessId, 5, 'Killed');
		await sim.waitFor((s) => ids.every((id) => s.submitsFor(id) === 1), 15_000);
		await first.kill('SIGKILL');
		const { rows } = await db.sql(
			`select count(*)::int as n from video_jobs where status = 'submitting' and heygen_idempotency_key is not null`
		);
		expect(rows[0].n).toBe(5);

		const second = start();
		await second.ready;
		for (const id of ids) expectOneVideo(sim, await waitForStatus(db, id, ['completed', 'failed'], 60_000), storageDir);
		expect(sim.submits).toHaveLength(5);
		expect(ids.every((id) => sim.generateCallsFor(id) >= 2)).toBe(true);
		expect([...first.output, ...second.output].join('')).not.toContain(TEST_KEY);
	}, 120_000);
});

describe('Postgres gone while HeyGen is answering the submit', () => {
	let db: TestDatabase;
	let proxy: TcpProxy;
	let p: Pipeline;
	beforeAll(async () => {
		db = await createTestDatabase();
		proxy = await startTcpProxy(db.url);
		p = await startPipeline(db, { worker: { databaseUrl: proxy.urlFor(db.url) } });
	});
	afterAll(async () => {
		proxy?.up();
		await p?.stop();
		await proxy?.close();
		await db?.drop();
	});

	it('leaves each job with exactly one video once the database is back', async () => {
		const { businessId } = await seedBusiness(db);
		p.sim.setFaults({ slowReply: { ms: 1500, times: 5 } });
		const ids = await insertJobsAtOnce(db, businessId, 5, 'Outage');
		await p.sim.waitFor((s) => ids.every((id) => s.submitsFor(id) === 1), 15_000);
		// The replies arrive while the worker cannot reach Postgres to save the video ids.
		proxy.down();
		await p.sim.waitFor((s) => s.requests.filter((r) => r.endpoint === 'generate' && r.status === 200).length >= 5, 10_000);
		// The outage lasts until the worker has tried to reach the database again and again, and failed.
		await proxy.refusedAtLeast(3, 30_000);
		proxy.up();
		for (const id of ids) expectOneVideo(p.sim, await waitForStatus(db, id, ['completed', 'failed'], 90_000), p.storageDir);
		expect(p.sim.submits).toHaveLength(5);
	}, 150_000);
});
