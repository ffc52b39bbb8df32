import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { insertJob, seedBusiness } from '../helpers/fixtures.ts';
import { eventTrail, HAPPY_TRAIL, startPipeline, waitForStatus, type Pipeline } from '../helpers/pipeline.ts';

describe('pipeline happy path', () => {
	let db: TestDatabase;
	let p: Pipeline;
	beforeAll(async () => {
		db = await createTestDatabase();
		p = await startPipeline(db, { renderMs: 300 });
	});
	afterAll(async () => {
		await p?.stop();
		await db?.drop();
	});

	it('takes a plain SQL insert to completed with the exact bytes in storage', async () => {
		const { businessId, contentId } = await seedBusiness(db);
		const jobId = await insertJob(db, contentId, { options: JSON.stringify({ test: true, dimension: { width: 1280, height: 720 } }) });
		const job = await waitForStatus(db, jobId, ['completed', 'failed']);
		expect(job.status, `${job.error_code}: ${job.error_message}`).toBe('completed');
		expect(job.storage_path).toBe(`videos/${businessId}/${contentId}/${jobId}.mp4`);
		expect(job.video_url).toBe(`/media/${businessId}/${contentId}/${jobId}.mp4`);
		const stored = readFileSync(path.join(p.storageDir, businessId, contentId, `${jobId}.mp4`));
		expect(stored.equals(p.sim.mp4)).toBe(true);
		expect(Number(job.size_bytes)).toBe(p.sim.mp4.length);
		expect(job.poll_count).toBeGreaterThanOrEqual(1);
		expect(job.last_heygen_status).toBe('completed');
		expect(job.submit_count).toBe(1);
		expect(p.sim.submitsFor(jobId)).toBe(1);

		const submitted = p.sim.submits[0]!.body as any;
		expect(submitted.dimension).toEqual({ width: 1280, height: 720 });
		expect(submitted.test).toBe(true);
		expect(submitted.callback_id).toBe(jobId);

		const { rows } = await db.sql('select heygen_video_id, heygen_status, heygen_url, video_long_url from content where id = $1', [contentId]);
		expect(rows[0]).toEqual({
			heygen_video_id: job.heygen_video_id,
			heygen_status: 'completed',
			heygen_url: job.heygen_url,
			video_long_url: job.video_url
		});
		expect(job.heygen_url).toMatch(new RegExp(`^${p.sim.url}/files/`));
		expect(await eventTrail(db, jobId)).toEqual(HAPPY_TRAIL);
	});
});
