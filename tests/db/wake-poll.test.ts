/**
 * video_jobs_wake_poll(): what a HeyGen webhook (or a person) calls to make a rendering job check
 * its status now. It moves the scheduled check forward, creates one if none is waiting, and is a
 * harmless no-op for jobs that are not rendering.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { addContent, insertJob, seedBusiness } from '../helpers/fixtures.ts';

describe('video_jobs_wake_poll', () => {
	let db: TestDatabase;
	let businessId: string;
	beforeAll(async () => {
		db = await createTestDatabase();
		({ businessId } = await seedBusiness(db));
	});
	afterAll(async () => db?.drop());

	async function renderingJob(): Promise<string> {
		const jobId = await insertJob(db, await addContent(db, businessId));
		await db.sql(`update video_jobs set status = 'submitting' where id = $1`, [jobId]);
		await db.sql(`update video_jobs set status = 'rendering', heygen_video_id = 'v-' || left(id::text, 8) where id = $1`, [jobId]);
		await db.sql(`delete from pgboss.job where singleton_key = $1`, [jobId]);
		return jobId;
	}
	const wake = async (jobId: string) => (await db.sql<{ woke: boolean }>(`select video_jobs_wake_poll($1) as woke`, [jobId])).rows[0]!.woke;
	/** The job's pg-boss jobs, with whether each may start now. */
	const steps = async (jobId: string) =>
		(
			await db.sql(
				`select name, state, start_after <= now() + interval '1 second' as due from pgboss.job where data->>'jobId' = $1 order by created_on`,
				[jobId]
			)
		).rows;

	it('moves a scheduled status check of a rendering job to now, without adding another', async () => {
		const jobId = await renderingJob();
		await db.sql(`select pgboss_enqueue('video.poll', jsonb_build_object('jobId', $1::text), now() + interval '1 hour', $1::text)`, [jobId]);
		expect(await steps(jobId)).toEqual([{ name: 'video.poll', state: 'created', due: false }]);
		expect(await wake(jobId)).toBe(true);
		expect(await steps(jobId)).toEqual([{ name: 'video.poll', state: 'created', due: true }]);
		// A second webhook for the same video changes nothing more.
		expect(await wake(jobId)).toBe(true);
		expect(await steps(jobId)).toEqual([{ name: 'video.poll', state: 'created', due: true }]);
	});

	it('schedules a status check now when none is waiting', async () => {
		const jobId = await renderingJob();
		expect(await steps(jobId)).toEqual([]);
		expect(await wake(jobId)).toBe(true);
		expect(await steps(jobId)).toEqual([{ name: 'video.poll', state: 'created', due: true }]);
	});

	it('adds a check when the only one is already running (it may have asked HeyGen before the news)', async () => {
		const jobId = await renderingJob();
		await db.sql(`select pgboss_enqueue('video.poll', jsonb_build_object('jobId', $1::text), null, $1::text)`, [jobId]);
		await db.sql(`update pgboss.job set state = 'active', started_on = now() where singleton_key = $1`, [jobId]);
		expect(await wake(jobId)).toBe(true);
		expect(await steps(jobId)).toEqual([
			{ name: 'video.poll', state: 'active', due: true },
			{ name: 'video.poll', state: 'created', due: true }
		]);
	});

	it('returns false and changes nothing for a job that is not rendering, or no job at all', async () => {
		const queued = await insertJob(db, await addContent(db, businessId));
		const before = await steps(queued);
		expect(before).toEqual([{ name: 'video.submit', state: 'created', due: true }]);
		expect(await wake(queued)).toBe(false);
		expect(await steps(queued)).toEqual(before);

		const done = await renderingJob();
		await db.sql(`update video_jobs set status = 'failed', error_code = 'render_failed', error_message = 'No' where id = $1`, [done]);
		expect(await wake(done)).toBe(false);
		expect(await steps(done)).toEqual([]);

		const unknown = '00000000-0000-4000-8000-000000000000';
		expect(await wake(unknown)).toBe(false);
		expect((await db.sql(`select count(*)::int as n from pgboss.job where singleton_key = $1`, [unknown])).rows[0].n).toBe(0);
	});
});
