/**
 * A video file that is not a playable MP4 fails the job for good, as `invalid_video`, after one
 * download, and leaves nothing in storage: no video, no temp file, no subtitles or thumbnail.
 */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BadDownloadKind } from '../../heygen/simulator/types.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { addContent, insertJob, seedBusiness } from '../helpers/fixtures.ts';
import { videoIdFor } from '../helpers/heygen-sim.ts';
import { eventTrail, HAPPY_TRAIL, startPipeline, waitForStatus, type Pipeline } from '../helpers/pipeline.ts';

let db: TestDatabase;
let p: Pipeline;
let businessId: string;
beforeAll(async () => {
	db = await createTestDatabase();
	p = await startPipeline(db);
	({ businessId } = await seedBusiness(db));
});
afterEach(() => p.sim.clearFaults());
afterAll(async () => {
	await p?.stop();
	await db?.drop();
});

async function runJob(options: Record<string, unknown>) {
	const contentId = await addContent(db, businessId, 'A script long enough to be a script.');
	const jobId = await insertJob(db, contentId, { options: JSON.stringify(options) });
	return waitForStatus(db, jobId, ['completed', 'failed', 'canceled']);
}

/** Every file under the job's content folder, temp files included. */
async function storedFor(job: Record<string, any>): Promise<string[]> {
	const entries = await readdir(path.join(p.storageDir, job.business_id, job.content_id), { recursive: true }).catch((err) => {
		if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
		throw err;
	});
	return entries.sort();
}

describe('a video that is not a playable MP4', () => {
	const mp4Length = () => p.sim.mp4.length;
	const cases: Array<[BadDownloadKind, () => string]> = [
		['textFtyp', () => 'it was served as "text/plain", which is not a video type'],
		['notMp4', () => 'it does not start with an "ftyp" box'],
		['cutShort', () => `its "mdat" box at byte 2208 runs to byte ${mp4Length()}, past the ${mp4Length() >> 1} bytes the reply announced`],
		[
			'wrongLength',
			() => `its "mdat" box at byte 2208 runs to byte ${mp4Length()}, past the ${mp4Length() - 1000} bytes the reply announced`
		]
	];
	for (const [kind, problem] of cases) {
		it(`${kind}: fails as invalid_video after one download and stores nothing`, async () => {
			p.sim.setFaults({ badDownload: { kind } });
			// Captions: the subtitles are stored before the video, so they must go again.
			const job = await runJob({ captions: true });
			expect(job.status).toBe('failed');
			expect(job.error_code).toBe('invalid_video');
			expect(job.error_message).toBe(`HeyGen's video file is not a playable MP4: ${problem()}.`);
			expect((await eventTrail(db, job.id)).at(-1)).toBe('transferring→failed');
			expect(job.transfer_count).toBe(1);
			const videoId = videoIdFor(p.sim, job.id)!;
			expect(p.sim.videos.get(videoId)!.downloads).toBe(1);
			expect(p.sim.requests.some((r) => r.path === `/files/${videoId}.srt` && r.status === 200)).toBe(true);
			expect(await storedFor(job)).toEqual([]);
		});
	}

	it('the simulator sample, padded to 3 MiB more with a `free` box, completes at its full size', async () => {
		const size = mp4Length() + 3 * 1024 * 1024;
		const job = await runJob({ title: `[sim sizeBytes=${size}]` });
		expect(job.status, `${job.error_code}: ${job.error_message}`).toBe('completed');
		expect(Number(job.size_bytes)).toBe(size);
		expect(await eventTrail(db, job.id)).toEqual(HAPPY_TRAIL);
		expect(await storedFor(job)).toEqual([`${job.id}.jpg`, `${job.id}.mp4`]);
	});
});
