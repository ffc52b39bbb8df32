import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { insertJob, seedBusiness } from '../helpers/fixtures.ts';

const run = promisify(execFile);

describe('npm run jobs', () => {
	let db: TestDatabase;
	let jobId: string;
	const jobs = (...args: string[]) =>
		run(process.execPath, [path.resolve('scripts/jobs.ts'), ...args], { env: { PATH: process.env.PATH ?? '', DATABASE_URL: db.url } });

	beforeAll(async () => {
		db = await createTestDatabase();
		const { contentId } = await seedBusiness(db);
		jobId = await insertJob(db, contentId);
		await db.sql(`update video_jobs set status = 'failed', error_code = 'insufficient_credit', error_message = 'No credit left' where id = $1`, [jobId]);
	});
	afterAll(async () => db?.drop());

	it('lists recent jobs with status and error', async () => {
		const { stdout } = await jobs();
		expect(stdout).toContain(jobId);
		expect(stdout).toMatch(/failed\s+A post/);
		expect(stdout).toContain('insufficient_credit: No credit left');
	});

	it('filters by status and retries and cancels by id, recording the CLI as actor', async () => {
		expect((await jobs('--status', 'completed')).stdout.trim()).toBe('No video jobs yet.');
		expect((await jobs('retry', jobId)).stdout).toContain(`${jobId}  queued`);
		expect((await jobs('cancel', jobId, 'Not', 'needed')).stdout).toContain(`${jobId}  canceled`);
		const { rows } = await db.sql('select to_status, actor, detail from video_job_events where job_id = $1 order by id desc limit 1', [jobId]);
		expect(rows[0]).toMatchObject({ to_status: 'canceled', actor: expect.stringMatching(/^cli:/), detail: { error_message: 'Not needed' } });
	});

	it('explains bad input and exits non-zero', async () => {
		await jobs('retry', jobId); // canceled → queued
		await expect(jobs('retry', jobId)).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('only failed or canceled jobs can be retried') });
		await expect(jobs('frobnicate')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('unknown command "frobnicate"') });
		await expect(jobs('--limit', 'lots')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('--limit must be a whole number') });
	});
});
