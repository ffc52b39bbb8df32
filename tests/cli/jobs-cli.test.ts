import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect } from 'vitest';
import type { TestDatabase } from '../helpers/db.ts';
import { dbTest, insertJob } from '../helpers/fixtures.ts';

const run = promisify(execFile);
const jobs = (db: TestDatabase, ...args: string[]) =>
	run(process.execPath, [path.resolve('scripts/jobs.ts'), ...args], { env: { PATH: process.env.PATH ?? '', DATABASE_URL: db.url } });

/** Each test's own job, failed for lack of credit (tests run in any order). */
const it = dbTest.extend<{ failedJob: string }>({
	failedJob: async ({ db, business }, use) => {
		const jobId = await insertJob(db, business.contentId);
		await db.sql(
			`update video_jobs set status = 'failed', error_code = 'insufficient_credit', error_message = 'No credit left' where id = $1`,
			[jobId]
		);
		await use(jobId);
	}
});

describe('npm run jobs', () => {
	it('lists recent jobs with status and error', async ({ db, failedJob }) => {
		const { stdout } = await jobs(db);
		const line = stdout.split('\n').find((l) => l.includes(failedJob));
		expect(line).toMatch(/failed\s+A post/);
		expect(stdout).toContain('insufficient_credit: No credit left');
	});

	it('filters by status and retries and cancels by id, recording the CLI as actor', async ({ db, failedJob }) => {
		expect((await jobs(db, '--status', 'completed')).stdout.trim()).toBe('No video jobs yet.');
		expect((await jobs(db, 'retry', failedJob)).stdout).toContain(`${failedJob}  queued`);
		expect((await jobs(db, 'cancel', failedJob, 'Not', 'needed')).stdout).toContain(`${failedJob}  canceled`);
		const { rows } = await db.sql('select to_status, actor, detail from video_job_events where job_id = $1 order by id desc limit 1', [
			failedJob
		]);
		expect(rows[0]).toMatchObject({
			to_status: 'canceled',
			actor: expect.stringMatching(/^cli:/),
			detail: { error_message: 'Not needed' }
		});
	});

	it('explains bad input and exits non-zero', async ({ db, failedJob }) => {
		await jobs(db, 'retry', failedJob); // failed → queued
		await expect(jobs(db, 'retry', failedJob)).rejects.toMatchObject({
			code: 1,
			stderr: expect.stringContaining('only failed or canceled jobs can be retried')
		});
		await expect(jobs(db, 'frobnicate')).rejects.toMatchObject({
			code: 1,
			stderr: expect.stringContaining('unknown command "frobnicate"')
		});
		await expect(jobs(db, '--limit', 'lots')).rejects.toMatchObject({
			code: 1,
			stderr: expect.stringContaining('--limit must be a whole number')
		});
	});
});
