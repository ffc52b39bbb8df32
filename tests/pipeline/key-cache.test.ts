// Finding 13 of issue 11: once a HeyGen key is removed or replaced, the worker stops using the old
// one at once (a NOTIFY drops its cached copy), instead of for up to 10 s.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHeyGenClient } from '../../heygen/index.ts';
import { startHeyGenSimulator, type HeyGenSimulator } from '../../heygen/simulator/server.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { insertJob, seedBusiness, TEST_KEY } from '../helpers/fixtures.ts';
import { startPipeline, waitForStatus, type Pipeline } from '../helpers/pipeline.ts';

const NEW_KEY = 'sim-test-key-2';
// One HeyGen call may already be on its way when the change commits; nothing may start later.
const IN_FLIGHT_MS = 500;

let db: TestDatabase;
let sim: HeyGenSimulator;
let pipeline: Pipeline;
const calls: { key: string; at: number }[] = [];

beforeAll(async () => {
	db = await createTestDatabase();
	sim = await startHeyGenSimulator({ renderMs: 120_000, validKeys: [TEST_KEY, NEW_KEY] });
	pipeline = await startPipeline(db, {
		sim,
		worker: {
			// Every HeyGen call the worker makes builds its client with the key it is about to use.
			heygen: (apiKey) => {
				calls.push({ key: apiKey, at: Date.now() });
				return createHeyGenClient({ baseUrl: sim.url, apiKey, timeoutMs: 5_000 });
			}
		}
	});
});
afterAll(async () => {
	await pipeline?.stop();
	await sim?.close();
	await db?.drop();
});

/** Resolves once `query` returns a row (pg_stat_activity has no NOTIFY to wait on: re-read every 25 ms). */
async function waitForRow(db: TestDatabase, query: string, timeoutMs = 10_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while ((await db.sql(query)).rows.length === 0) {
		if (Date.now() > deadline) throw new Error(`no row within ${timeoutMs} ms: ${query}`);
		await new Promise((r) => setTimeout(r, 25));
	}
}

/** A job that keeps polling (the render takes minutes), after a few polls have cached the key. */
async function renderingJob(): Promise<{ businessId: string; jobId: string }> {
	const { businessId, contentId } = await seedBusiness(db);
	const jobId = await insertJob(db, contentId);
	await waitForStatus(db, jobId, 'rendering');
	const before = calls.length;
	await sim.waitFor(() => calls.length >= before + 3, 10_000);
	return { businessId, jobId };
}

describe('the worker’s HeyGen key cache', () => {
	it('a removed key is not used again: the job fails for want of a key at once', async () => {
		const { businessId, jobId } = await renderingJob();
		await db.sql('select delete_heygen_key($1)', [businessId]);
		const removedAt = Date.now();
		const job = await waitForStatus(db, jobId, 'failed', 5_000);
		expect(job.error_code).toBe('missing_api_key');
		const late = calls.filter((c) => c.key === TEST_KEY && c.at > removedAt + IN_FLIGHT_MS);
		expect(late).toEqual([]);
		expect(job.completed_at.getTime() - removedAt).toBeLessThan(2_000);
	});

	it('a replaced key: the next calls use the new one only', async () => {
		const { businessId, jobId } = await renderingJob();
		await db.sql('select set_heygen_key($1, $2)', [businessId, NEW_KEY]);
		const replacedAt = Date.now();
		const before = calls.length;
		await sim.waitFor(() => calls.slice(before).some((c) => c.key === NEW_KEY), 2_000);
		await sim.waitFor(() => calls.filter((c) => c.at > replacedAt + IN_FLIGHT_MS).length >= 2, 5_000);
		expect(calls.filter((c) => c.at > replacedAt + IN_FLIGHT_MS).every((c) => c.key === NEW_KEY)).toBe(true);
		await db.sql('select cancel_video_job($1)', [jobId]);
	});

	it('after its LISTEN backend is killed, the worker listens again and a replacement is heard at once', async () => {
		const { businessId, jobId } = await renderingJob();
		const { rows: old } = await db.sql(`select pid from pg_stat_activity
			where datname = current_database() and application_name = 'video-worker-keys'`);
		expect(old).toHaveLength(1);
		await db.sql('select pg_terminate_backend($1)', [old[0].pid]);
		// Listening again: a new backend whose last statement was the LISTEN.
		await waitForRow(
			db,
			`select 1 from pg_stat_activity where datname = current_database() and application_name = 'video-worker-keys'
			and pid <> ${Number(old[0].pid)} and state = 'idle' and query ilike 'listen %'`
		);
		// The key is cached again (caching resumes once listening): a missed NOTIFY would keep the old key in use.
		const before = calls.length;
		await sim.waitFor(() => calls.length >= before + 3, 10_000);
		await db.sql('select set_heygen_key($1, $2)', [businessId, NEW_KEY]);
		const replacedAt = Date.now();
		await sim.waitFor(() => calls.filter((c) => c.at > replacedAt + IN_FLIGHT_MS).length >= 2, 5_000);
		expect(calls.filter((c) => c.at > replacedAt + IN_FLIGHT_MS).every((c) => c.key === NEW_KEY)).toBe(true);
		await db.sql('select cancel_video_job($1)', [jobId]);
	});

	it('the NOTIFY carries the business id only, never the key', async () => {
		const { businessId } = await seedBusiness(db, { key: null });
		const listener = await db.pool.connect();
		try {
			const got = new Promise<string>((resolve) => listener.on('notification', (n) => resolve(`${n.channel}:${n.payload}`)));
			await listener.query('listen heygen_key_changed');
			await db.sql('select set_heygen_key($1, $2)', [businessId, 'sk-secret-never-in-a-notify']);
			expect(await got).toBe(`heygen_key_changed:${businessId}`);
		} finally {
			await listener.query('unlisten *');
			listener.release();
		}
	});
});
