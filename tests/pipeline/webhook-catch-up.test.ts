/**
 * Catch-up after downtime (worker/webhook-catch-up.ts): HeyGen's deliveries made while nobody
 * received them are read back from its event history (GET /v3/webhooks/events) and wake the jobs'
 * polls, so with polling set to a minute the jobs still complete within seconds, each transferred
 * once. The business's endpoint points at a port nobody listens on: every live delivery fails, as
 * it does while the app is down.
 */
import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHeyGenSimulator, type HeyGenSimulator } from '../../heygen/simulator/server.ts';
import { createWebhookApi } from '../../heygen/webhooks.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { addContent, insertJob, seedBusiness, TEST_KEY } from '../helpers/fixtures.ts';
import { finishRender, holdRenders, videoIdFor } from '../helpers/heygen-sim.ts';
import { eventTrail, FAST_SETTINGS, HAPPY_TRAIL, startPipeline, waitForStatus, type Pipeline } from '../helpers/pipeline.ts';

/** Polling at a minute: only the catch-up can finish a job within the test's seconds. */
const SLOW_POLL = { ...FAST_SETTINGS, pollInitialMs: 60_000, pollMaxMs: 60_000 };
/** Where the business's endpoint points: nothing listens there (the app is down). */
const DOWN = 'http://127.0.0.1:9/api/heygen/webhook';

let db: TestDatabase;
let sim: HeyGenSimulator;
const running: Pipeline[] = [];

beforeAll(async () => {
	db = await createTestDatabase();
	sim = await startHeyGenSimulator();
}, 60_000);
afterAll(async () => {
	for (const p of running) await p.stop();
	await sim?.close();
	await db?.drop();
});

async function start(settings: Partial<typeof SLOW_POLL> & { webhookSilenceMs?: number } = {}): Promise<Pipeline> {
	const p = await startPipeline(db, { sim, worker: { settings: { ...SLOW_POLL, ...settings } } });
	running.push(p);
	return p;
}

/** A business with a registered endpoint that nobody receives at, and `n` jobs held rendering. */
async function businessWithRenders(n: number, name: string): Promise<{ businessId: string; jobs: string[] }> {
	const { businessId, contentId } = await seedBusiness(db, { name });
	const url = `${DOWN}/${businessId}`;
	const endpoint = await createWebhookApi({ baseUrl: sim.url, apiKey: TEST_KEY }).createEndpoint(url);
	await db.sql('select * from save_heygen_webhook($1, $2, $3, $4, $5)', [businessId, TEST_KEY, endpoint.id, url, endpoint.secret]);
	const jobs = [await insertJob(db, contentId)];
	for (let i = 1; i < n; i++) jobs.push(await insertJob(db, await addContent(db, businessId, `Script ${i}.`)));
	return { businessId, jobs };
}

/** HeyGen finishes the render now (its history records the event; the delivery fails). */
async function finishNow(jobId: string): Promise<void> {
	const videoId = videoIdFor(sim, jobId)!;
	finishRender(sim, videoId);
	// The simulator ends a render when it is next asked about it; HeyGen's own clock in effect.
	const res = await fetch(`${sim.url}/v3/videos/${videoId}`, { headers: { 'x-api-key': TEST_KEY } });
	expect((await res.json()).data.status).toBe('completed');
}

/** The job's video files in storage: one per transfer that completed. */
const storedFiles = (p: Pipeline) => readdirSync(p.storageDir, { recursive: true }).map(String);

describe('webhook catch-up after downtime', () => {
	it('worker stopped, three renders finish, worker started with polling at a minute: three completed within 10 s, each transferred once', async () => {
		const release = holdRenders(sim);
		const first = await start();
		const { businessId, jobs } = await businessWithRenders(3, 'Down for a while');
		for (const id of jobs) await waitForStatus(db, id, 'rendering', 15_000);
		await first.worker.stop();

		for (const id of jobs) await finishNow(id);
		release();
		const history = sim.webhookEndpoints.history.filter((e) => jobs.some((j) => videoIdFor(sim, j) === e.entityId));
		expect(history.map((e) => e.eventType)).toEqual(['avatar_video.success', 'avatar_video.success', 'avatar_video.success']);
		// No live delivery got through.
		const delivered = sim.webhookEndpoints.deliveries.filter((d) => d.url.endsWith(businessId));
		expect(delivered.every((d) => d.status === null)).toBe(true);

		const startedAt = Date.now();
		const second = await start();
		for (const id of jobs) expect((await waitForStatus(db, id, ['completed', 'failed'], 10_000)).status).toBe('completed');
		expect(Date.now() - startedAt).toBeLessThan(10_000);

		for (const id of jobs) expect(await eventTrail(db, id)).toEqual(HAPPY_TRAIL);
		expect(storedFiles(second).filter((f) => f.endsWith('.mp4'))).toHaveLength(3);
		const { rows } = await db.sql<{ n: number }>('select count(*)::int as n from heygen_webhook_events where business_id = $1', [
			businessId
		]);
		expect(rows[0]!.n).toBe(3);
		const { rows: cursor } = await db.sql('select heygen_events_cursor from businesses where id = $1', [businessId]);
		expect(cursor[0].heygen_events_cursor).not.toBeNull();
		await second.stop();
	}, 60_000);

	it('a business whose webhook has been silent while a job renders is caught up on the sweep, without a restart', async () => {
		const release = holdRenders(sim);
		await start({ webhookSilenceMs: 300 });
		const { jobs } = await businessWithRenders(1, 'Silent webhook');
		const [id] = jobs as [string];
		await waitForStatus(db, id, 'rendering', 15_000);
		await finishNow(id);
		release();
		const job = await waitForStatus(db, id, ['completed', 'failed'], 10_000);
		expect(job.status).toBe('completed');
		expect(await eventTrail(db, id)).toEqual(HAPPY_TRAIL);
	}, 60_000);
});
