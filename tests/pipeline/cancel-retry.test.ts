import { describe, expect } from 'vitest';
import { addContent, insertJob, pgbossJobs, TEST_KEY } from '../helpers/fixtures.ts';
import { countSubmits } from '../helpers/heygen-sim.ts';
import { eventTrail, FAST_SETTINGS, waitForStatus } from '../helpers/pipeline.ts';
import { pipelineTest as it } from '../helpers/pipeline-fixtures.ts';
import { pollVideo } from '../../worker/handlers/poll.ts';

describe('cancel and retry from SQL while the worker runs', () => {
	it('a canceled rendering job stays canceled; its pending poll is cancelled and a late poll does nothing', async ({
		db,
		business: { businessId },
		pipeline: p
	}) => {
		const contentId = await addContent(db, businessId, 'Cancel me.');
		const jobId = await insertJob(db, contentId, { options: JSON.stringify({ title: '[sim renderMs=600000]' }) });
		await waitForStatus(db, jobId, 'rendering');
		await db.sql(`select cancel_video_job($1, 'Changed my mind')`, [jobId]);
		const pending = (await pgbossJobs(db, jobId)).filter((j) => j.name === 'video.poll' && ['created', 'retry'].includes(j.state));
		expect(pending).toEqual([]);

		// A poll that was already on its way runs anyway: it must change nothing.
		const before = await db.sql('select * from video_jobs where id = $1', [jobId]);
		await pollVideo(p.worker.ctx, jobId);
		const after = await db.sql('select * from video_jobs where id = $1', [jobId]);
		expect(after.rows[0]).toEqual(before.rows[0]);
		expect(after.rows[0].status).toBe('canceled');
		expect(after.rows[0].error_message).toBe('Changed my mind');
		expect(await eventTrail(db, jobId)).toEqual(['∅→queued', 'queued→submitting', 'submitting→rendering', 'rendering→canceled']);
	});

	it('a failed job retried from SQL renders again and completes', async ({ db, business: { businessId }, pipeline: p }) => {
		p.sim.setFaults({ invalidParameter: { times: 1 } }); // a permanent refusal of the job (402 would pause the business)
		const contentId = await addContent(db, businessId, 'Retry me.');
		const jobId = await insertJob(db, contentId);
		const failed = await waitForStatus(db, jobId, 'failed');
		expect(failed.error_code).toBe('invalid_parameter');
		await db.sql('select retry_video_job($1)', [jobId]);
		const done = await waitForStatus(db, jobId, ['completed', 'failed']);
		expect(done.status).toBe('completed');
		expect(done.attempt).toBe(2);
		expect(done.error_code).toBeNull();
		expect(await eventTrail(db, jobId)).toEqual([
			'∅→queued',
			'queued→submitting',
			'submitting→failed',
			'failed→queued',
			'queued→submitting',
			'submitting→rendering',
			'rendering→transferring',
			'transferring→completed'
		]);
	});

	// A retry is a fresh attempt: submit_count starts again, so a job that used up its submit
	// attempts is submitted to HeyGen again instead of failing at once.
	it('a job that failed after its last submit attempt is submitted again on retry and completes', async ({
		db,
		business: { businessId },
		pipeline: p
	}) => {
		p.sim.setFaults({ serverError: { status: 503, endpoint: 'generate' } });
		const contentId = await addContent(db, businessId, 'HeyGen was down for a while.');
		const jobId = await insertJob(db, contentId);
		const failed = await waitForStatus(db, jobId, 'failed');
		expect(failed.error_message).toMatch(/^Gave up submitting to HeyGen after 5 attempts/);
		expect(failed.submit_count).toBe(FAST_SETTINGS.maxSubmits);
		expect(countSubmits(p.sim, jobId)).toBe(0);
		p.sim.setFaults({ serverError: null });

		await db.sql('select retry_video_job($1)', [jobId]);
		const done = await waitForStatus(db, jobId, ['completed', 'failed']);
		expect(done).toMatchObject({ status: 'completed', attempt: 2, submit_count: 1, error_code: null });
		expect(countSubmits(p.sim, jobId)).toBe(1);
	});

	it('never lets the API key into logs, job payloads, events, errors or stored rows', async ({
		db,
		business: { businessId },
		pipeline: p
	}) => {
		const contentId = await addContent(db, businessId, 'Secret scan.');
		const jobId = await insertJob(db, contentId);
		await waitForStatus(db, jobId, 'completed');
		expect(p.logs.length).toBeGreaterThan(5);
		expect(p.logs.join('')).not.toContain(TEST_KEY);
		const scan = await db.sql(
			`select
			   (select count(*) from pgboss.job where data::text like '%' || $1 || '%' or coalesce(output::text, '') like '%' || $1 || '%') as boss,
			   (select count(*) from video_jobs where video_jobs::text like '%' || $1 || '%') as jobs,
			   (select count(*) from video_job_events where video_job_events::text like '%' || $1 || '%') as events,
			   (select count(*) from content where content::text like '%' || $1 || '%') as content,
			   (select count(*) from vault.secrets where secrets::text like '%' || $1 || '%') as vault`,
			[TEST_KEY]
		);
		expect(scan.rows[0]).toEqual({ boss: 0, jobs: 0, events: 0, content: 0, vault: 0 });
	});
});
