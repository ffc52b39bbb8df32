// Job states have one definition, in SQL (0016): the view the app's generated module is read from,
// the partial unique index and the sweep all follow video_jobs_is_active / video_jobs_step_queue.
import { describe, expect } from 'vitest';
import { ACTIVE_STATUSES, JOB_STATUSES, STEP_QUEUE, STEP_STATUS } from '../../db/job-states.ts';
import { pgError } from '../helpers/db.ts';
import { dbTest as it, insertJob, pgbossJobs, seedBusiness } from '../helpers/fixtures.ts';

describe('video_job_states', () => {
	it('lists every status in enum order with its activity and queue, as the generated module does', async ({ db }) => {
		const { rows } = await db.sql<{ status: string; position: number; active: boolean; queue: string | null }>(
			'select status::text, position, active, queue from video_job_states order by position'
		);
		expect(rows.map((r) => r.status)).toEqual([...JOB_STATUSES]);
		expect(rows.map((r) => r.position)).toEqual(JOB_STATUSES.map((_, i) => i + 1));
		expect(rows.filter((r) => r.active).map((r) => r.status)).toEqual([...ACTIVE_STATUSES]);
		for (const r of rows) expect(r.queue).toBe(r.active ? STEP_QUEUE[r.status as keyof typeof STEP_QUEUE] : null);
		expect(STEP_STATUS).toEqual({ 'video.submit': 'submitting', 'video.poll': 'rendering', 'video.transfer': 'transferring' });
	});

	it('the one-active-job index is defined by video_jobs_is_active, not a copy of the list', async ({ db }) => {
		const [idx] = (await db.sql<{ def: string }>(`select pg_get_indexdef('video_jobs_one_active_per_content'::regclass) as def`)).rows;
		// (for avatar jobs: translations are counted per source and language, migration 0023)
		expect(idx!.def).toMatch(/WHERE \(video_jobs_is_active\(status\) AND \(kind = 'avatar'::text\)\)/);
		const { contentId } = await seedBusiness(db, { name: 'Index' });
		await insertJob(db, contentId);
		// The trigger's friendlier check names the index's constraint, so both report one conflict.
		const err = await pgError(db.sql(`insert into video_jobs (content_id) values ($1)`, [contentId]));
		expect(err.code).toBe('23505');
		expect(err.constraint).toBe('video_jobs_one_active_per_content');
		expect(err.detail).toBe('active_job_exists');
	});

	it('the sweep re-enqueues an orphan on the queue video_jobs_step_queue names', async ({ db }) => {
		const { contentId } = await seedBusiness(db, { name: 'Sweep' });
		const jobId = await insertJob(db, contentId);
		await db.sql(`update video_jobs set status = 'submitting', submit_count = 1 where id = $1`, [jobId]);
		await db.sql(`update video_jobs set status = 'rendering', heygen_video_id = 'hv-1' where id = $1`, [jobId]);
		await db.sql(`delete from pgboss.job where singleton_key = $1`, [jobId]);
		const { rows: swept } = await db.sql<{ job_id: string; action: string }>(`select * from video_jobs_sweep(interval '0 seconds')`);
		expect(swept).toEqual([{ job_id: jobId, action: 're-enqueued rendering' }]);
		expect((await pgbossJobs(db, jobId)).map((j: { name: string }) => j.name)).toEqual(['video.poll']);
	});
});
