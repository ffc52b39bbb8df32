import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { addContent, insertJob, seedBusiness, TEST_KEY } from '../helpers/fixtures.ts';
import { eventTrail, HAPPY_TRAIL, startPipeline, waitForStatus, type Pipeline } from '../helpers/pipeline.ts';

/** Each fault either ends completed (retryable) or failed with HeyGen's code (permanent). */
describe('pipeline under HeyGen faults', () => {
	let db: TestDatabase;
	let p: Pipeline;
	let businessId: string;
	beforeAll(async () => {
		db = await createTestDatabase();
		// A short HTTP timeout so the 'slow' fault becomes a client timeout.
		p = await startPipeline(db, { env: { HEYGEN_TIMEOUT_MS: '400' } });
		({ businessId } = await seedBusiness(db));
	});
	afterEach(() => p.sim.clearFaults());
	afterAll(async () => {
		await p?.stop();
		await db?.drop();
	});

	async function runJob(extra: Record<string, unknown> = {}) {
		const contentId = await addContent(db, businessId, 'A script long enough to be a script.');
		const jobId = await insertJob(db, contentId, extra);
		const job = await waitForStatus(db, jobId, ['completed', 'failed', 'canceled']);
		return { jobId, contentId, job };
	}

	function expectStoredExactly(job: Record<string, any>) {
		const file = path.join(p.storageDir, job.business_id, job.content_id, `${job.id}.mp4`);
		expect(readFileSync(file).equals(p.sim.mp4)).toBe(true);
	}

	const retryable: Array<[string, () => void, { submits: number | 'any' }]> = [
		['HTTP 500 on generate (twice)', () => p.sim.setFaults({ serverError: { status: 500, endpoint: 'generate', times: 2 } }), { submits: 1 }],
		['HTTP 502 HTML page on status', () => p.sim.setFaults({ serverError: { status: 502, endpoint: 'status', times: 2 } }), { submits: 1 }],
		['429 with Retry-After on status', () => p.sim.setFaults({ rateLimit: { retryAfter: 1, endpoint: 'status', times: 1 } }), { submits: 1 }],
		['slow status reply (client timeout)', () => p.sim.setFaults({ slow: { ms: 1500, endpoint: 'status', times: 1 } }), { submits: 1 }],
		['malformed JSON from status', () => p.sim.setFaults({ malformedJson: { endpoint: 'status', times: 2 } }), { submits: 1 }],
		['wrong JSON shape from status', () => p.sim.setFaults({ badShape: { endpoint: 'status', times: 1 } }), { submits: 1 }],
		['truncated download', () => p.sim.setFaults({ truncatedDownload: { times: 1 } }), { submits: 1 }],
		['video URL 403 for a while after completion', () => p.sim.setFaults({ downloadForbidden: { times: 3 } }), { submits: 1 }],
		['generate reply lost after HeyGen created the video', () => p.sim.setFaults({ replyLost: { times: 1 } }), { submits: 1 }],
		['409 request_in_progress on generate', () => p.sim.setFaults({ inProgress: { times: 2 } }), { submits: 1 }],
		['429 over the concurrent-render limit on generate', () => p.sim.setFaults({ rateLimit: { retryAfter: 0, endpoint: 'generate', times: 2 } }), { submits: 1 }],
		['timeout on generate', () => p.sim.setFaults({ slow: { ms: 1500, endpoint: 'generate', times: 1 } }), { submits: 1 }],
		['empty video body once', () => p.sim.setFaults({ badDownload: { kind: 'empty', times: 1 } }), { submits: 1 }],
		['HTML page instead of the video once', () => p.sim.setFaults({ badDownload: { kind: 'html', times: 1 } }), { submits: 1 }]
	];

	for (const [name, inject, bound] of retryable) {
		it(`recovers from: ${name}`, async () => {
			inject();
			const { jobId, job } = await runJob();
			expect(job.status, `${job.error_code}: ${job.error_message}`).toBe('completed');
			expectStoredExactly(job);
			expect(await eventTrail(db, jobId)).toEqual(HAPPY_TRAIL);
			// A retryable fault after HeyGen returned a video id never causes a second submit.
			expect(p.sim.submitsFor(jobId)).toBe(bound.submits);
		});
	}

	it('honours Retry-After on generate', async () => {
		p.sim.setFaults({ rateLimit: { retryAfter: 1, endpoint: 'generate', times: 1 } });
		const { jobId, job } = await runJob();
		expect(job.status).toBe('completed');
		const generates = p.sim.requests.filter((r) => r.endpoint === 'generate');
		const [first, second] = generates.slice(-2);
		expect(second!.at - first!.at).toBeGreaterThanOrEqual(950);
		expect(p.sim.submitsFor(jobId)).toBe(1);
	});

	it('fetches a fresh signed URL when the saved one has expired', async () => {
		p.sim.setFaults({ shortUrlTtlMs: -1 });
		const contentId = await addContent(db, businessId, 'Expiring URL script.');
		const jobId = await insertJob(db, contentId);
		const stuck = await waitForStatus(db, jobId, 'transferring');
		await p.sim.waitFor((s) => s.requests.some((r) => r.endpoint === 'files' && r.status === 403), 10_000);
		p.sim.setFaults({ shortUrlTtlMs: null });
		const job = await waitForStatus(db, jobId, ['completed', 'failed']);
		expect(job.status, job.error_message).toBe('completed');
		expect(job.heygen_url).not.toBe(stuck.heygen_url);
		expectStoredExactly(job);
	});

	const permanent: Array<[string, () => void, string, RegExp, Record<string, unknown>?]> = [
		['bad API key (401)', () => p.sim.setFaults({ badKey: {} }), 'invalid_api_key', /^HeyGen rejected the API key\. Save a valid key in the HeyGen settings, then retry the video\.$/],
		['no credits (402)', () => p.sim.setFaults({ noCredit: {} }), 'insufficient_credit', /^HeyGen has no credits left on this account\. Add credits in HeyGen, then retry the video\.$/],
		['unknown avatar (404)', () => {}, 'avatar_not_found', /^HeyGen does not know the avatar "no-such-avatar" on this account\. Choose another avatar/, { avatar_id: 'no-such-avatar' }],
		['unknown voice (404)', () => {}, 'voice_not_found', /^HeyGen does not know the voice "no-such-voice" on this account\. Choose another voice/, { voice_id: 'no-such-voice' }],
		['settings refused (400)', () => p.sim.setFaults({ invalidParameter: { param: 'voice_settings.locale', message: 'Locale not supported for this voice' } }), 'invalid_parameter', /^HeyGen refused the video settings \(voice_settings\.locale\)\. A setting has a value HeyGen does not accept\.$/],
		['render failed at HeyGen', () => p.sim.setFaults({ renderFails: { code: 'MOVIO_PAYMENT_INSUFFICIENT_CREDIT', message: 'Insufficient credit to render', times: 1 } }), 'MOVIO_PAYMENT_INSUFFICIENT_CREDIT', /could not render the video: Insufficient credit/],
		['an empty video every time', () => p.sim.setFaults({ badDownload: { kind: 'empty' } }), 'download_bad_body', /Gave up downloading the video after 6 attempts\. Last error: HeyGen's video URL returned an empty file\./],
		['an HTML page every time', () => p.sim.setFaults({ badDownload: { kind: 'html' } }), 'download_bad_body', /returned a web page instead of the video file/],
		['a file that is not an MP4 every time', () => p.sim.setFaults({ badDownload: { kind: 'notMp4' } }), 'invalid_video', /not a playable MP4: it does not start with an "ftyp" box\.$/]
	];
	for (const [name, inject, code, message, extra] of permanent) {
		it(`fails clearly on: ${name}`, async () => {
			inject();
			const { jobId, job } = await runJob(extra);
			expect(job.status).toBe('failed');
			expect(job.error_code).toBe(code);
			expect(job.error_message).toMatch(message);
			expect(job.error_message).not.toContain(TEST_KEY);
			const trail = await eventTrail(db, jobId);
			expect(trail.at(-1)).toMatch(/→failed$/);
			expect(p.sim.submitsFor(jobId)).toBeLessThanOrEqual(1);
			// Nothing half-written: a failed transfer leaves no file behind.
			for (const ext of ['mp4', 'jpg', 'srt']) expect(existsSync(path.join(p.storageDir, job.business_id, job.content_id, `${jobId}.${ext}`))).toBe(false);
		});
	}

	it('redacts the key (and anything like a key) from a failure message before storing and logging it', async () => {
		const leak = `token ${TEST_KEY} and sk_LiveAbCdEf0123456789XyZaBcDeF0123456789`;
		p.sim.setFaults({ renderFails: { code: 'BAD', message: `Render failed for key ${leak}`, times: 1 } });
		const { job } = await runJob();
		expect(job.status).toBe('failed');
		expect(job.error_message).toContain('[redacted]');
		expect(job.error_message).not.toContain(TEST_KEY);
		expect(job.error_message).not.toContain('sk_LiveAbCdEf0123456789XyZaBcDeF0123456789');
		const events = await db.sql(`select detail::text as d from video_job_events where job_id = $1`, [job.id]);
		expect(events.rows.map((r) => r.d).join('')).not.toContain(TEST_KEY);
		expect(p.logs.join('')).not.toContain(TEST_KEY);
	});

	it('gives up on a HeyGen that keeps failing, with the last error in the message', async () => {
		p.sim.setFaults({ serverError: { status: 503, endpoint: 'generate' } });
		const { job } = await runJob();
		expect(job.status).toBe('failed');
		expect(job.submit_count).toBe(5);
		expect(job.error_message).toMatch(/Gave up submitting to HeyGen after 5 attempts/);
	});

	it('fails a render that outlives its deadline', async () => {
		const contentId = await addContent(db, businessId, 'Slow render.');
		const jobId = await insertJob(db, contentId, {
			options: JSON.stringify({ title: '[sim renderMs=600000]' }),
			deadline: new Date(Date.now() + 1500).toISOString()
		});
		const job = await waitForStatus(db, jobId, ['completed', 'failed']);
		expect(job.status).toBe('failed');
		expect(job.error_code).toBe('deadline_exceeded');
		expect(job.error_message).toMatch(/had not finished rendering/);
		expect(new Date(job.completed_at).getTime() - new Date(job.deadline).getTime()).toBeLessThan(3000);
	});
});
