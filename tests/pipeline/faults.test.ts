import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import type { HeyGenSimulator } from '../../heygen/simulator/server.ts';
import type { TestDatabase } from '../helpers/db.ts';
import { addContent, insertJob, TEST_KEY } from '../helpers/fixtures.ts';
import { eventTrail, HAPPY_TRAIL, waitForStatus, waitUntil, type Pipeline } from '../helpers/pipeline.ts';
import { pipelineTest as it } from '../helpers/pipeline-fixtures.ts';

// A short HTTP timeout so the 'slow' fault becomes a client timeout.
it.override({ pipelineOptions: { env: { HEYGEN_TIMEOUT_MS: '400' } } });

/** Each fault either ends completed (retryable) or failed with HeyGen's code (permanent). */
describe('pipeline under HeyGen faults', () => {
	it.afterEach(({ pipeline }) => pipeline.sim.clearFaults());

	async function runJob(db: TestDatabase, businessId: string, extra: Record<string, unknown> = {}) {
		const contentId = await addContent(db, businessId, 'A script long enough to be a script.');
		const jobId = await insertJob(db, contentId, extra);
		const job = await waitForStatus(db, jobId, ['completed', 'failed', 'canceled']);
		return { jobId, contentId, job };
	}

	function expectStoredExactly(p: Pipeline, job: Record<string, any>) {
		const file = path.join(p.storageDir, job.business_id, job.content_id, `${job.id}.mp4`);
		expect(readFileSync(file).equals(p.sim.mp4)).toBe(true);
	}

	const retryable: Array<[string, (sim: HeyGenSimulator) => void, { submits: number | 'any' }]> = [
		[
			'HTTP 500 on generate (twice)',
			(sim) => sim.setFaults({ serverError: { status: 500, endpoint: 'generate', times: 2 } }),
			{ submits: 1 }
		],
		[
			'HTTP 502 HTML page on status',
			(sim) => sim.setFaults({ serverError: { status: 502, endpoint: 'status', times: 2 } }),
			{ submits: 1 }
		],
		[
			'429 with Retry-After on status',
			(sim) => sim.setFaults({ rateLimit: { retryAfter: 1, endpoint: 'status', times: 1 } }),
			{ submits: 1 }
		],
		['slow status reply (client timeout)', (sim) => sim.setFaults({ slow: { ms: 1500, endpoint: 'status', times: 1 } }), { submits: 1 }],
		['malformed JSON from status', (sim) => sim.setFaults({ malformedJson: { endpoint: 'status', times: 2 } }), { submits: 1 }],
		['wrong JSON shape from status', (sim) => sim.setFaults({ badShape: { endpoint: 'status', times: 1 } }), { submits: 1 }],
		['truncated download', (sim) => sim.setFaults({ truncatedDownload: { times: 1 } }), { submits: 1 }],
		['video URL 403 for a while after completion', (sim) => sim.setFaults({ downloadForbidden: { times: 3 } }), { submits: 1 }],
		['generate reply lost after HeyGen created the video', (sim) => sim.setFaults({ replyLost: { times: 1 } }), { submits: 1 }],
		['409 request_in_progress on generate', (sim) => sim.setFaults({ inProgress: { times: 2 } }), { submits: 1 }],
		[
			'429 over the concurrent-render limit on generate',
			(sim) => sim.setFaults({ rateLimit: { retryAfter: 0, endpoint: 'generate', times: 2 } }),
			{ submits: 1 }
		],
		['timeout on generate', (sim) => sim.setFaults({ slow: { ms: 1500, endpoint: 'generate', times: 1 } }), { submits: 1 }],
		['empty video body once', (sim) => sim.setFaults({ badDownload: { kind: 'empty', times: 1 } }), { submits: 1 }],
		['HTML page instead of the video once', (sim) => sim.setFaults({ badDownload: { kind: 'html', times: 1 } }), { submits: 1 }]
	];

	for (const [name, inject, bound] of retryable) {
		it(`recovers from: ${name}`, async ({ db, business: { businessId }, pipeline: p }) => {
			inject(p.sim);
			const { jobId, job } = await runJob(db, businessId);
			expect(job.status, `${job.error_code}: ${job.error_message}`).toBe('completed');
			expectStoredExactly(p, job);
			expect(await eventTrail(db, jobId)).toEqual(HAPPY_TRAIL);
			// A retryable fault after HeyGen returned a video id never causes a second submit.
			expect(p.sim.submitsFor(jobId)).toBe(bound.submits);
		});
	}

	it('honours Retry-After on generate', async ({ db, business: { businessId }, pipeline: p }) => {
		p.sim.setFaults({ rateLimit: { retryAfter: 1, endpoint: 'generate', times: 1 } });
		const { jobId, job } = await runJob(db, businessId);
		expect(job.status).toBe('completed');
		const generates = p.sim.requests.filter((r) => r.endpoint === 'generate');
		const [first, second] = generates.slice(-2);
		expect(second!.at - first!.at).toBeGreaterThanOrEqual(950);
		expect(p.sim.submitsFor(jobId)).toBe(1);
	});

	it('fetches a fresh signed URL when the saved one has expired', async ({ db, business: { businessId }, pipeline: p }) => {
		p.sim.setFaults({ shortUrlTtlMs: -1 });
		const contentId = await addContent(db, businessId, 'Expiring URL script.');
		const jobId = await insertJob(db, contentId);
		const stuck = await waitForStatus(db, jobId, 'transferring');
		await p.sim.waitFor((s) => s.requests.some((r) => r.endpoint === 'files' && r.status === 403), 10_000);
		p.sim.setFaults({ shortUrlTtlMs: null });
		const job = await waitForStatus(db, jobId, ['completed', 'failed']);
		expect(job.status, job.error_message).toBe('completed');
		expect(job.heygen_url).not.toBe(stuck.heygen_url);
		expectStoredExactly(p, job);
	});

	const permanent: Array<[string, (sim: HeyGenSimulator) => void, string, RegExp, Record<string, unknown>?]> = [
		[
			'unknown avatar (404)',
			() => {},
			'avatar_not_found',
			/^HeyGen does not know the avatar "no-such-avatar" on this account\. Choose another avatar in the HeyGen settings, then Generate again /,
			{ avatar_id: 'no-such-avatar' }
		],
		[
			'unknown voice (404)',
			() => {},
			'voice_not_found',
			/^HeyGen does not know the voice "no-such-voice" on this account\. Choose another voice in the HeyGen settings, then Generate again /,
			{ voice_id: 'no-such-voice' }
		],
		[
			'settings refused (400)',
			(sim) => sim.setFaults({ invalidParameter: { param: 'voice_settings.locale', message: 'Locale not supported for this voice' } }),
			'invalid_parameter',
			/^HeyGen refused the video settings \(voice_settings\.locale\)\. A setting has a value HeyGen does not accept\. Change the script, avatar, voice or format, then Generate again\.$/
		],
		[
			'render failed at HeyGen',
			(sim) =>
				sim.setFaults({ renderFails: { code: 'MOVIO_PAYMENT_INSUFFICIENT_CREDIT', message: 'Insufficient credit to render', times: 1 } }),
			'MOVIO_PAYMENT_INSUFFICIENT_CREDIT',
			/could not render the video: Insufficient credit/
		],
		[
			'an empty video every time',
			(sim) => sim.setFaults({ badDownload: { kind: 'empty' } }),
			'download_bad_body',
			/Gave up downloading the video after 6 attempts\. Last error: HeyGen's video URL returned an empty file\./
		],
		[
			'an HTML page every time',
			(sim) => sim.setFaults({ badDownload: { kind: 'html' } }),
			'download_bad_body',
			/returned a web page instead of the video file/
		],
		[
			'a file that is not an MP4 every time',
			(sim) => sim.setFaults({ badDownload: { kind: 'notMp4' } }),
			'invalid_video',
			/not a playable MP4: it does not start with an "ftyp" box\.$/
		]
	];
	// The account, not the job: the business is paused and the job waits (tests/pipeline/spend-guard.test.ts).
	const accountRefusals: Array<[string, (sim: HeyGenSimulator) => void, string, RegExp]> = [
		[
			'bad API key (401)',
			(sim) => sim.setFaults({ badKey: {} }),
			'key_rejected',
			/^HeyGen rejected the API key\. Save a valid key in the HeyGen settings, then retry the video\.$/
		],
		[
			'no credits (402)',
			(sim) => sim.setFaults({ noCredit: {} }),
			'insufficient_credit',
			/^HeyGen has no credits left on this account\. Add credits in HeyGen, then retry the video\.$/
		]
	];
	for (const [name, inject, reason, message] of accountRefusals) {
		it(`pauses the business instead of failing the job on: ${name}`, async ({ db, business: { businessId }, pipeline: p }) => {
			inject(p.sim);
			const jobId = await insertJob(db, await addContent(db, businessId, 'Paused script.'));
			const paused = async () =>
				(await db.sql('select heygen_paused_reason from businesses where id = $1', [businessId])).rows[0].heygen_paused_reason;
			await waitUntil(db, async () => (await paused()) !== null);
			expect(await paused()).toBe(reason);
			const back = (await db.sql('select * from video_jobs where id = $1', [jobId])).rows[0];
			expect(back.status).toBe('queued');
			expect(back.submit_count).toBe(0);
			expect(back.last_error).toMatch(message);
			expect(back.last_error).not.toContain(TEST_KEY);
			p.sim.clearFaults();
			await db.sql('select resume_heygen($1)', [businessId]);
			const job = await waitForStatus(db, jobId, ['completed', 'failed']);
			expect(job.status, `${job.error_code}: ${job.error_message}`).toBe('completed');
			expect(p.sim.submitsFor(jobId)).toBe(1);
		});
	}

	for (const [name, inject, code, message, extra] of permanent) {
		it(`fails clearly on: ${name}`, async ({ db, business: { businessId }, pipeline: p }) => {
			inject(p.sim);
			const { jobId, job } = await runJob(db, businessId, extra);
			expect(job.status).toBe('failed');
			expect(job.error_code).toBe(code);
			expect(job.error_message).toMatch(message);
			expect(job.error_message).not.toContain(TEST_KEY);
			const trail = await eventTrail(db, jobId);
			expect(trail.at(-1)).toMatch(/→failed$/);
			expect(p.sim.submitsFor(jobId)).toBeLessThanOrEqual(1);
			// Nothing half-written: a failed transfer leaves no file behind.
			for (const ext of ['mp4', 'jpg', 'srt'])
				expect(existsSync(path.join(p.storageDir, job.business_id, job.content_id, `${jobId}.${ext}`))).toBe(false);
		});
	}

	it('redacts the key (and anything like a key) from a failure message before storing and logging it', async ({
		db,
		business: { businessId },
		pipeline: p
	}) => {
		const leak = `token ${TEST_KEY} and sk_LiveAbCdEf0123456789XyZaBcDeF0123456789`;
		p.sim.setFaults({ renderFails: { code: 'BAD', message: `Render failed for key ${leak}`, times: 1 } });
		const { job } = await runJob(db, businessId);
		expect(job.status).toBe('failed');
		expect(job.error_message).toContain('[redacted]');
		expect(job.error_message).not.toContain(TEST_KEY);
		expect(job.error_message).not.toContain('sk_LiveAbCdEf0123456789XyZaBcDeF0123456789');
		const events = await db.sql(`select detail::text as d from video_job_events where job_id = $1`, [job.id]);
		expect(events.rows.map((r) => r.d).join('')).not.toContain(TEST_KEY);
		expect(p.logs.join('')).not.toContain(TEST_KEY);
	});

	it('gives up on a HeyGen that keeps failing, with the last error in the message', async ({
		db,
		business: { businessId },
		pipeline: p
	}) => {
		p.sim.setFaults({ serverError: { status: 503, endpoint: 'generate' } });
		const { job } = await runJob(db, businessId);
		expect(job.status).toBe('failed');
		expect(job.submit_count).toBe(5);
		expect(job.error_message).toMatch(/Gave up submitting to HeyGen after 5 attempts/);
	});

	it('fails a render that outlives its deadline', async ({ db, business: { businessId }, pipeline: p }) => {
		const contentId = await addContent(db, businessId, 'Slow render.');
		const jobId = await insertJob(db, contentId, { options: JSON.stringify({ title: '[sim renderMs=600000]' }) });
		// The deadline is set once the job renders, so a slow machine cannot make it pass before the
		// submit (a deadline fixed at insert made this test depend on how fast the submit ran).
		await waitForStatus(db, jobId, 'rendering');
		await db.sql(`update video_jobs set deadline = now() + interval '1 second' where id = $1`, [jobId]);
		const job = await waitForStatus(db, jobId, ['completed', 'failed']);
		expect(job.status).toBe('failed');
		expect(job.error_code).toBe('deadline_exceeded');
		expect(job.error_message).toMatch(/had not finished rendering/);
		// Failed at its deadline, not when the 10-minute render would have ended.
		expect(new Date(job.completed_at).getTime()).toBeGreaterThanOrEqual(new Date(job.deadline).getTime());
		expect(new Date(job.completed_at).getTime() - new Date(job.deadline).getTime()).toBeLessThan(60_000);
	});
});
