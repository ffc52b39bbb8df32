import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHeyGenSimulator } from '../../heygen/simulator/server.ts';
import { createTestDatabase, pgError, type TestDatabase } from '../helpers/db.ts';
import { addContent, seedBusiness } from '../helpers/fixtures.ts';
import { FAST_SETTINGS, startPipeline, waitForStatus, type Pipeline } from '../helpers/pipeline.ts';

/**
 * businesses.heygen_concurrency: the submit step never lets a business have more jobs submitting or
 * rendering than HeyGen renders at once for its account; the rest wait in queued, without using up
 * attempts, and start as slots free up.
 */
describe('renders paced under heygen_concurrency', () => {
	let db: TestDatabase;
	let p: Pipeline;
	beforeAll(async () => {
		db = await createTestDatabase();
		// HeyGen itself refuses a 4th render at once, like its concurrency limit does.
		const sim = await startHeyGenSimulator({ renderMs: 150, concurrencyLimit: 3 });
		p = await startPipeline(db, { sim, worker: { concurrency: 20 } });
	});
	afterAll(async () => {
		await p?.stop();
		await p?.sim.close();
		await db?.drop();
	});

	it('the column defaults to 10 and accepts 1 to 100 only', async () => {
		const { businessId } = await seedBusiness(db, { name: 'Default Co' });
		const { rows } = await db.sql('select heygen_concurrency from businesses where id = $1', [businessId]);
		expect(rows[0].heygen_concurrency).toBe(10);
		for (const bad of [0, 101, -1]) {
			const err = await pgError(db.sql('update businesses set heygen_concurrency = $2 where id = $1', [businessId, bad]));
			expect(err.constraint).toBe('businesses_heygen_concurrency_check');
		}
	});

	it('200 jobs inserted at once with heygen_concurrency = 3: never more than 3 rendering, all complete', async () => {
		const { businessId } = await seedBusiness(db, { name: 'Paced Co' });
		await db.sql('update businesses set heygen_concurrency = 3 where id = $1', [businessId]);
		await db.sql(`insert into content (business_id, title, body) select $1, 'Post ' || g, 'Script ' || g from generate_series(1, 200) g`, [
			businessId
		]);

		// Watch every status change; count this business's jobs in submitting or rendering.
		const listener = new pg.Client(db.url);
		await listener.connect();
		const status = new Map<string, string>();
		let inFlight = 0;
		let maxInFlight = 0;
		let completed = 0;
		let failed = 0;
		let done: () => void = () => {};
		const allDone = new Promise<void>((resolve) => (done = resolve));
		listener.on('notification', (n) => {
			const e = JSON.parse(n.payload!);
			if (e.business_id !== businessId) return;
			const busy = (s: string | undefined) => s === 'submitting' || s === 'rendering';
			if (busy(status.get(e.id))) inFlight--;
			if (busy(e.status)) inFlight++;
			status.set(e.id, e.status);
			maxInFlight = Math.max(maxInFlight, inFlight);
			if (e.status === 'completed') completed++;
			if (e.status === 'failed') failed++;
			if (completed + failed === 200) done();
		});
		await listener.query('listen video_jobs');
		try {
			await db.sql(`insert into video_jobs (content_id) select id from content where business_id = $1 and title like 'Post %'`, [
				businessId
			]);
			await Promise.race([
				allDone,
				new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out: ${completed} completed, ${failed} failed`)), 150_000))
			]);
		} finally {
			await listener.end();
		}
		expect(failed).toBe(0);
		expect(completed).toBe(200);
		expect(maxInFlight).toBeLessThanOrEqual(3);
		expect(maxInFlight).toBe(3);
		// HeyGen never had to refuse a render, and no job used up an attempt waiting for a slot.
		expect(p.sim.requests.filter((r) => r.endpoint === 'generate' && r.status === 429)).toHaveLength(0);
		const { rows } = await db.sql(
			`select max(submit_count)::int as m, count(*)::int as n from video_jobs where business_id = $1 and status = 'completed'`,
			[businessId]
		);
		expect(rows[0]).toEqual({ m: 1, n: 200 });
		expect(p.sim.submits.filter((s) => s.callbackId !== null)).toHaveLength(200);
	}, 180_000);
});

describe('a freed render slot wakes the next queued job', () => {
	let db: TestDatabase;
	let p: Pipeline;
	beforeAll(async () => {
		db = await createTestDatabase();
		// Waiting jobs would only look again after a minute: only the wake-up can start them sooner.
		p = await startPipeline(db, { renderMs: 100, worker: { settings: { ...FAST_SETTINGS, slotWaitMs: 60_000 } } });
	});
	afterAll(async () => {
		await p?.stop();
		await db?.drop();
	});

	it('with heygen_concurrency = 1, three jobs run one after the other without waiting for the timer', async () => {
		const { businessId } = await seedBusiness(db);
		await db.sql('update businesses set heygen_concurrency = 1 where id = $1', [businessId]);
		const contents = [
			await addContent(db, businessId, 'One.'),
			await addContent(db, businessId, 'Two.'),
			await addContent(db, businessId, 'Three.')
		];
		const { rows } = await db.sql<{ id: string }>('insert into video_jobs (content_id) select unnest($1::uuid[]) returning id', [contents]);
		const started = Date.now();
		for (const { id } of rows) expect((await waitForStatus(db, id, ['completed', 'failed'], 20_000)).status).toBe('completed');
		expect(Date.now() - started).toBeLessThan(20_000);
		const { rows: overlap } = await db.sql(
			`
			select count(*)::int as n from video_job_events a join video_job_events b
			  on a.job_id < b.job_id and a.to_status = 'submitting' and b.to_status = 'submitting'
			where a.job_id = any($1) and b.job_id = any($1)
			  and tstzrange(a.at, (select min(at) from video_job_events x where x.job_id = a.job_id and x.to_status = 'transferring'))
			   && tstzrange(b.at, (select min(at) from video_job_events y where y.job_id = b.job_id and y.to_status = 'transferring'))`,
			[rows.map((r) => r.id)]
		);
		expect(overlap[0].n).toBe(0);
	}, 40_000);
});
