/**
 * Translation jobs end to end (issue 21), with the worker and the HeyGen simulator: the SQL insert
 * for three languages ends with three completed jobs, three MP4s and their captions in storage and
 * exactly one translation per job at HeyGen, also when create replies are lost; a source HeyGen no
 * longer has is uploaded from storage; a failed translation becomes a sentence of our own.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { SIM_LANGUAGES } from '../../heygen/simulator/server.ts';
import { addContent, insertJob } from '../helpers/fixtures.ts';
import { finishRender, holdRenders } from '../helpers/heygen-sim.ts';
import { eventTrail, HAPPY_TRAIL, waitForStatus } from '../helpers/pipeline.ts';
import { pipelineTest as it } from '../helpers/pipeline-fixtures.ts';
import { expectTranslated, translate, translateCallsFor, translationsFor } from '../helpers/translations.ts';

const THREE = ['Spanish (Spain)', 'German', 'Japanese'];

/** Re-checks a database condition until it holds (the language refresh sends no NOTIFY of its own). */
async function until(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
		await new Promise((r) => setTimeout(r, 25));
	}
}

describe('translation jobs', () => {
	it("saving a key refreshes HeyGen's language list", async ({ db, business, pipeline: p }) => {
		await db.sql(`delete from heygen_languages`);
		const asked = p.sim.requests.filter((r) => r.endpoint === 'languages').length;
		await db.sql('select set_heygen_key($1, $2)', [business.businessId, p.sim.apiKey]);
		await p.sim.waitFor((s) => s.requests.filter((r) => r.endpoint === 'languages' && r.status === 200).length > asked);
		await until(async () => (await db.sql('select count(*)::int as n from heygen_languages')).rows[0].n > 0);
		const { rows } = await db.sql('select name from heygen_languages');
		expect(rows.map((r) => r.name).sort()).toEqual([...SIM_LANGUAGES].sort());
	});

	it('three languages in one insert: three completed jobs, MP4s and captions, one translation each', async ({
		db,
		business,
		pipeline: p
	}) => {
		const source = await insertJob(db, business.contentId);
		await waitForStatus(db, source, 'completed');
		const ids = await translate(db, source, THREE);
		for (const [i, id] of ids.entries()) {
			const job = await waitForStatus(db, id, ['completed', 'failed']);
			expectTranslated(p.sim, job, p.storageDir, THREE[i]!);
			expect(await eventTrail(db, id)).toEqual(HAPPY_TRAIL);
			expect(job.heygen_idempotency_key).toBe(`video-job:${id}:attempt-1`);
		}
		// The source's own video was asked for a fresh URL, not re-rendered; content still shows it.
		expect(p.sim.submits.filter((s) => s.callbackId === source)).toHaveLength(1);
		const { rows } = await db.sql('select heygen_video_id from content where id = $1', [business.contentId]);
		expect(rows[0].heygen_video_id).toBe(
			(await db.sql('select heygen_video_id from video_jobs where id = $1', [source])).rows[0].heygen_video_id
		);
		// The worker's logs never carry the key.
		expect(p.logs.join('')).not.toContain(p.sim.apiKey);
	});

	it('with every create reply lost, HeyGen still makes exactly one translation per job', async ({ db, business, pipeline: p }) => {
		const contentId = await addContent(db, business.businessId, 'Lost replies.');
		const source = await insertJob(db, contentId);
		await waitForStatus(db, source, 'completed');
		p.sim.setFaults({ replyLost: { times: 3 } });
		const ids = await translate(db, source, THREE);
		for (const [i, id] of ids.entries()) {
			const job = await waitForStatus(db, id, ['completed', 'failed']);
			expectTranslated(p.sim, job, p.storageDir, THREE[i]!);
		}
		// Every reply was lost (the three faults fired), each job's resumed submit found the translation
		// its first create made (by callback id) instead of making another.
		expect(p.sim.faults.replyLost).toBeUndefined();
		const jobs = (await db.sql('select * from video_jobs where id = any($1::uuid[])', [ids])).rows;
		expect(jobs.map((j) => [translateCallsFor(p.sim, j), j.submit_count])).toEqual(jobs.map(() => [1, 2]));
		expect(p.logs.join('').split('found the translation an earlier submit made').length - 1).toBe(3);
	});

	it('a source HeyGen no longer has is uploaded from storage as an asset', async ({ db, business, pipeline: p }) => {
		const contentId = await addContent(db, business.businessId, 'Gone at HeyGen.');
		const source = await waitForStatus(db, await insertJob(db, contentId), 'completed');
		p.sim.videos.delete(source.heygen_video_id);
		const [id] = await translate(db, source.id, ['German']);
		const job = await waitForStatus(db, id!, ['completed', 'failed']);
		expectTranslated(p.sim, job, p.storageDir, 'German');
		const [made] = translationsFor(p.sim, id!);
		expect(made!.translation!.source).toMatch(/^asset:asset_/);
		expect(p.sim.assets.get(made!.translation!.source.slice('asset:'.length))!.equals(p.sim.mp4)).toBe(true);
	});

	it('a source HeyGen no longer has and storage lacks fails with a sentence, without calling create', async ({
		db,
		business,
		pipeline: p
	}) => {
		const contentId = await addContent(db, business.businessId, 'Gone everywhere.');
		const source = await waitForStatus(db, await insertJob(db, contentId), 'completed');
		p.sim.videos.delete(source.heygen_video_id);
		rmSync(path.join(p.storageDir, source.business_id, source.content_id, `${source.id}.mp4`));
		const [id] = await translate(db, source.id, ['German']);
		const job = await waitForStatus(db, id!, ['completed', 'failed']);
		expect([job.status, job.error_code, job.error_message]).toEqual([
			'failed',
			'source_unavailable',
			'HeyGen no longer has the original video and the stored copy is missing, so it cannot be translated.'
		]);
		expect(translationsFor(p.sim, id!)).toHaveLength(0);
	});

	it('translations share the business render slots with renders', async ({ db, business, pipeline: p }) => {
		const contentId = await addContent(db, business.businessId, 'One slot.');
		const source = await waitForStatus(db, await insertJob(db, contentId), 'completed');
		await db.sql('update businesses set heygen_concurrency = 1 where id = $1', [business.businessId]);
		const release = holdRenders(p.sim);
		try {
			const render = await waitForStatus(
				db,
				await insertJob(db, await addContent(db, business.businessId, 'Holds the slot.')),
				'rendering'
			);
			const [id] = await translate(db, source.id, ['German']);
			// The translation's submit found the one slot taken, and waits in queued without calling HeyGen.
			await until(async () => p.logs.some((l) => l.includes(id!) && l.includes('waiting for a HeyGen render slot')));
			expect((await db.sql('select status from video_jobs where id = $1', [id])).rows[0].status).toBe('queued');
			expect(translationsFor(p.sim, id!)).toHaveLength(0);
			release(); // the translation, once it has the slot, renders at once
			finishRender(p.sim, render.heygen_video_id);
			await waitForStatus(db, render.id, 'completed');
			const job = await waitForStatus(db, id!, ['completed', 'failed']);
			expect(job.status).toBe('completed');
		} finally {
			release();
			await db.sql('update businesses set heygen_concurrency = 10 where id = $1', [business.businessId]);
		}
	});

	it("a failed translation's failure_message becomes our sentence, not HeyGen's text", async ({ db, business, pipeline: p }) => {
		const contentId = await addContent(db, business.businessId, 'Fails.');
		const source = await waitForStatus(db, await insertJob(db, contentId), 'completed');
		p.sim.setFaults({ renderFails: { message: 'Preflight: no speech detected in input video (trace 9f8e7d)', times: 1 } });
		const [id] = await translate(db, source.id, ['Japanese']);
		const job = await waitForStatus(db, id!, ['completed', 'failed']);
		expect([job.status, job.error_code, job.error_message]).toEqual([
			'failed',
			'translation_failed',
			'HeyGen found no speech it could translate in the original video.'
		]);
		// Retry is a new attempt: a new key and a new translation, which succeeds.
		await db.sql('select retry_video_job($1)', [id]);
		const again = await waitForStatus(db, id!, ['completed', 'failed']);
		expect(again.status).toBe('completed');
		expect(again.heygen_idempotency_key).toBe(`video-job:${id}:attempt-2`);
		expect(translationsFor(p.sim, id!)).toHaveLength(2);
	});
});
