import { describe, expect } from 'vitest';
import type { TestDatabase } from '../helpers/db.ts';
import { addContent, dbTest as it, insertJob, pgbossJobs } from '../helpers/fixtures.ts';

/** video_jobs_sweep(): the safety net for a job whose pg-boss step was lost. */
describe('video_jobs_sweep', () => {
	const loseSteps = (db: TestDatabase, jobId: string) => db.sql(`delete from pgboss.job where singleton_key = $1`, [jobId]);

	it('re-enqueues the step an orphaned job was at', async ({ db, business }) => {
		const queued = await insertJob(db, await addContent(db, business.businessId));
		const rendering = await insertJob(db, await addContent(db, business.businessId));
		await db.sql(`update video_jobs set status = 'submitting' where id = $1`, [rendering]);
		await db.sql(`update video_jobs set status = 'rendering', heygen_video_id = 'v-1' where id = $1`, [rendering]);
		const healthy = await insertJob(db, await addContent(db, business.businessId));
		await loseSteps(db, queued);
		await loseSteps(db, rendering);

		const { rows } = await db.sql(`select job_id, action from video_jobs_sweep(interval '0 seconds') order by action`);
		expect(rows).toEqual([
			{ job_id: queued, action: 're-enqueued queued' },
			{ job_id: rendering, action: 're-enqueued rendering' }
		]);
		expect((await pgbossJobs(db, queued)).map((j) => [j.name, j.state])).toEqual([['video.submit', 'created']]);
		expect((await pgbossJobs(db, rendering)).map((j) => [j.name, j.state])).toEqual([['video.poll', 'created']]);
		expect(await pgbossJobs(db, healthy)).toHaveLength(1);
		// A second sweep finds nothing to do.
		expect((await db.sql(`select * from video_jobs_sweep(interval '0 seconds')`)).rows).toEqual([]);
	});

	it('re-enqueues an orphaned transferring job on video.transfer, not video.submit', async ({ db, business }) => {
		const transferring = await insertJob(db, await addContent(db, business.businessId));
		await db.sql(`update video_jobs set status = 'submitting' where id = $1`, [transferring]);
		await db.sql(`update video_jobs set status = 'rendering', heygen_video_id = 'v-2' where id = $1`, [transferring]);
		await db.sql(`update video_jobs set status = 'transferring', heygen_url = 'https://heygen.example/v-2.mp4' where id = $1`, [
			transferring
		]);
		await loseSteps(db, transferring);

		const { rows } = await db.sql(`select job_id, action from video_jobs_sweep(interval '0 seconds')`);
		expect(rows).toEqual([{ job_id: transferring, action: 're-enqueued transferring' }]);
		expect((await pgbossJobs(db, transferring)).map((j) => [j.name, j.state])).toEqual([['video.transfer', 'created']]);
		await db.sql(`select cancel_video_job($1)`, [transferring]);
	});

	it('fails an orphaned job past its deadline with a clear reason, and leaves recent ones alone', async ({ db, business }) => {
		const late = await insertJob(db, await addContent(db, business.businessId));
		await db.sql(`update video_jobs set deadline = now() - interval '1 minute' where id = $1`, [late]);
		await loseSteps(db, late);
		expect((await db.sql(`select * from video_jobs_sweep()`)).rows).toEqual([]); // within the grace period
		const { rows } = await db.sql(`select job_id, action from video_jobs_sweep(interval '0 seconds')`);
		expect(rows).toEqual([{ job_id: late, action: 'failed: deadline passed' }]);
		const job = (await db.sql('select status, error_code, error_message from video_jobs where id = $1', [late])).rows[0];
		expect(job.status).toBe('failed');
		expect(job.error_code).toBe('deadline_exceeded');
		expect(job.error_message).toMatch(/^The video was not finished before its deadline \(/);
	});
});
