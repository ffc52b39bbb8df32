/**
 * video_jobs_wake_poll(): what a HeyGen webhook (or a person) calls to make a rendering job check
 * its status now. It moves the scheduled check forward, creates one if none is waiting, and is a
 * harmless no-op for jobs that are not rendering.
 */
import { describe, expect } from 'vitest';
import type { TestDatabase } from '../helpers/db.ts';
import { addContent, dbTest as it, insertJob, renderingJob } from '../helpers/fixtures.ts';

describe('video_jobs_wake_poll', () => {
	const wake = async (db: TestDatabase, jobId: string) =>
		(await db.sql<{ woke: boolean }>(`select video_jobs_wake_poll($1) as woke`, [jobId])).rows[0]!.woke;
	/** The job's pg-boss jobs, with whether each may start now. */
	const steps = async (db: TestDatabase, jobId: string) =>
		(
			await db.sql(
				`select name, state, start_after <= now() + interval '1 second' as due from pgboss.job where data->>'jobId' = $1 order by created_on`,
				[jobId]
			)
		).rows;

	it('moves a scheduled status check of a rendering job to now, without adding another', async ({ db, business }) => {
		const jobId = (await renderingJob(db, business.businessId)).jobId;
		await db.sql(`select pgboss_enqueue('video.poll', jsonb_build_object('jobId', $1::text), now() + interval '1 hour', $1::text)`, [
			jobId
		]);
		expect(await steps(db, jobId)).toEqual([{ name: 'video.poll', state: 'created', due: false }]);
		expect(await wake(db, jobId)).toBe(true);
		expect(await steps(db, jobId)).toEqual([{ name: 'video.poll', state: 'created', due: true }]);
		// A second webhook for the same video changes nothing more.
		expect(await wake(db, jobId)).toBe(true);
		expect(await steps(db, jobId)).toEqual([{ name: 'video.poll', state: 'created', due: true }]);
	});

	it('schedules a status check now when none is waiting', async ({ db, business }) => {
		const jobId = (await renderingJob(db, business.businessId)).jobId;
		expect(await steps(db, jobId)).toEqual([]);
		expect(await wake(db, jobId)).toBe(true);
		expect(await steps(db, jobId)).toEqual([{ name: 'video.poll', state: 'created', due: true }]);
	});

	it('adds a check when the only one is already running (it may have asked HeyGen before the news)', async ({ db, business }) => {
		const jobId = (await renderingJob(db, business.businessId)).jobId;
		await db.sql(`select pgboss_enqueue('video.poll', jsonb_build_object('jobId', $1::text), null, $1::text)`, [jobId]);
		await db.sql(`update pgboss.job set state = 'active', started_on = now() where singleton_key = $1`, [jobId]);
		expect(await wake(db, jobId)).toBe(true);
		expect(await steps(db, jobId)).toEqual([
			{ name: 'video.poll', state: 'active', due: true },
			{ name: 'video.poll', state: 'created', due: true }
		]);
	});

	it('returns false and changes nothing for a job that is not rendering, or no job at all', async ({ db, business }) => {
		const queued = await insertJob(db, await addContent(db, business.businessId));
		const before = await steps(db, queued);
		expect(before).toEqual([{ name: 'video.submit', state: 'created', due: true }]);
		expect(await wake(db, queued)).toBe(false);
		expect(await steps(db, queued)).toEqual(before);

		const done = (await renderingJob(db, business.businessId)).jobId;
		await db.sql(`update video_jobs set status = 'failed', error_code = 'render_failed', error_message = 'No' where id = $1`, [done]);
		expect(await wake(db, done)).toBe(false);
		expect(await steps(db, done)).toEqual([]);

		const unknown = '00000000-0000-4000-8000-000000000000';
		expect(await wake(db, unknown)).toBe(false);
		expect((await db.sql(`select count(*)::int as n from pgboss.job where singleton_key = $1`, [unknown])).rows[0].n).toBe(0);
	});
});
