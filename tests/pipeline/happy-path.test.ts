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
		const jobId = await insertJob(db, contentId, {
			options: JSON.stringify({ resolution: '720p', aspect_ratio: '9:16', captions: true, voice_speed: 1.1 })
		});
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
		expect(submitted).toMatchObject({
			type: 'avatar',
			resolution: '720p',
			aspect_ratio: '9:16',
			caption: { file_format: 'srt' },
			voice_settings: { speed: 1.1 }
		});
		expect(submitted.test).toBeUndefined();
		expect(submitted.callback_id).toBe(jobId);
		expect(p.sim.submits[0]!.idempotencyKey).toBe(`video-job:${jobId}:attempt-1`);
		expect(job.heygen_idempotency_key).toBe(`video-job:${jobId}:attempt-1`);

		// The thumbnail and the subtitles are stored beside the MP4; HeyGen's times land on the job.
		expect(job.thumbnail_path).toBe(`videos/${businessId}/${contentId}/${jobId}.jpg`);
		expect(job.subtitles_path).toBe(`videos/${businessId}/${contentId}/${jobId}.srt`);
		expect(readFileSync(path.join(p.storageDir, businessId, contentId, `${jobId}.jpg`)).equals(p.sim.thumbnail)).toBe(true);
		const srt = readFileSync(path.join(p.storageDir, businessId, contentId, `${jobId}.srt`), 'utf8');
		expect(srt).toMatch(/^1\n00:00:00,000 --> 00:00:01,000\nHello from the test/);
		expect(Number(job.duration_seconds)).toBe(2);
		expect(job.heygen_completed_at).toBeInstanceOf(Date);

		const { rows } = await db.sql('select heygen_video_id, heygen_status, heygen_url, video_long_url from content where id = $1', [
			contentId
		]);
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
