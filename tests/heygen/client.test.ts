import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
	buildGenerateBody,
	createHeyGenClient,
	HeyGenError,
	type GenerateVideoRequest,
	type HeyGenClient
} from '../../heygen/index.ts';
import { startHeyGenSimulator, type HeyGenSimulator } from '../../heygen/simulator/server.ts';

const SAMPLE = readFileSync(new URL('../../heygen/simulator/sample.mp4', import.meta.url));

let sim: HeyGenSimulator;
let client: HeyGenClient;

const baseReq: GenerateVideoRequest = {
	script: 'Hello from the simulator.',
	avatarId: 'sim-avatar-anna',
	voiceId: 'sim-voice-en-1',
	options: { test: true },
	callbackId: 'job-1'
};

/** Run `fn`, expect it to reject with a HeyGenError, and return it. */
async function heygenError(fn: () => Promise<unknown>): Promise<HeyGenError> {
	try {
		await fn();
	} catch (err) {
		expect(err).toBeInstanceOf(HeyGenError);
		return err as HeyGenError;
	}
	throw new Error('expected a HeyGenError, but the call succeeded');
}

beforeAll(async () => {
	sim = await startHeyGenSimulator();
	client = createHeyGenClient({ baseUrl: sim.url, apiKey: sim.apiKey, timeoutMs: 5000 });
});
afterAll(async () => {
	await sim.close();
});
afterEach(() => {
	sim.reset();
	sim.renderMs = 0;
});

describe('happy path', () => {
	it('generate → status completed → the signed URL downloads exactly sample.mp4', async () => {
		const { videoId } = await client.generateVideo(baseReq);
		expect(videoId).toMatch(/^[0-9a-f]{32}$/);
		expect(sim.submitsFor('job-1')).toBe(1);

		const st = await client.getVideoStatus(videoId);
		expect(st.id).toBe(videoId);
		expect(st.status).toBe('completed');
		expect(st.error).toBeNull();
		expect(st.duration).toBe(2);
		expect(st.thumbnailUrl).toMatch(new RegExp(`^${sim.url}/files/${videoId}\\.jpg\\?expires=\\d+&sig=[0-9a-f]{64}$`));
		expect(st.videoUrl).toMatch(new RegExp(`^${sim.url}/files/${videoId}\\.mp4\\?expires=\\d+&sig=[0-9a-f]{64}$`));

		const res = await fetch(st.videoUrl!);
		expect(res.status).toBe(200);
		expect(res.headers.get('content-type')).toBe('video/mp4');
		expect(res.headers.get('content-length')).toBe(String(SAMPLE.length));
		const bytes = Buffer.from(await res.arrayBuffer());
		expect(bytes.equals(SAMPLE)).toBe(true);
		expect(bytes.subarray(4, 8).toString('latin1')).toBe('ftyp');
	});

	it('sends the mapped body and the x-api-key header', async () => {
		const req: GenerateVideoRequest = {
			script: 'Mapped body',
			avatarId: 'sim-avatar-josh',
			voiceId: 'sim-voice-en-2',
			callbackId: 'job-map',
			callbackUrl: 'http://127.0.0.1:9/hook',
			options: {
				dimension: { width: 1280, height: 720 },
				caption: true,
				test: false,
				title: 'My title',
				avatar_style: 'closeUp',
				background_color: '#112233',
				voice_speed: 1.2
			}
		};
		await client.generateVideo(req);
		expect(sim.submits).toHaveLength(1);
		expect(sim.submits[0]!.body).toEqual({
			video_inputs: [
				{
					character: { type: 'avatar', avatar_id: 'sim-avatar-josh', avatar_style: 'closeUp' },
					voice: { type: 'text', voice_id: 'sim-voice-en-2', input_text: 'Mapped body', speed: 1.2 },
					background: { type: 'color', value: '#112233' }
				}
			],
			dimension: { width: 1280, height: 720 },
			caption: true,
			title: 'My title',
			test: false,
			callback_id: 'job-map',
			callback_url: 'http://127.0.0.1:9/hook'
		});
		const v = [...sim.videos.values()][0]!;
		expect(v.dimension).toEqual({ width: 1280, height: 720 });
		expect(v.callbackId).toBe('job-map');
	});

	it('minimal options map to a minimal body (default avatar_style, no background/speed)', () => {
		expect(buildGenerateBody({ ...baseReq, options: {} })).toEqual({
			video_inputs: [
				{
					character: { type: 'avatar', avatar_id: 'sim-avatar-anna', avatar_style: 'normal' },
					voice: { type: 'text', voice_id: 'sim-voice-en-1', input_text: baseReq.script }
				}
			],
			callback_id: 'job-1'
		});
	});

	it('reports pending/processing while rendering, then completed', async () => {
		sim.renderMs = 60_000;
		const { videoId } = await client.generateVideo(baseReq);
		const first = await client.getVideoStatus(videoId);
		expect(first.status).toBe('pending');
		expect(first.videoUrl).toBeNull();
		expect(first.duration).toBeNull();
		const v = sim.videos.get(videoId)!;
		v.createdAt -= 20_000; // a quarter of the render has passed
		expect((await client.getVideoStatus(videoId)).status).toBe('processing');
		v.createdAt -= 40_000; // the whole render has passed
		const done = await client.getVideoStatus(videoId);
		expect(done.status).toBe('completed');
		expect(done.videoUrl).not.toBeNull();
	});

	it('a failed render reports HeyGen error code and message', async () => {
		sim.setFaults({ renderFails: { times: 1, code: 40039, message: 'Invalid text detected', detail: 'Invalid text content' } });
		const { videoId } = await client.generateVideo(baseReq);
		const st = await client.getVideoStatus(videoId);
		expect(st.status).toBe('failed');
		expect(st.videoUrl).toBeNull();
		expect(st.error).toEqual({ code: 'invalid_text_input', message: 'Invalid text detected', detail: 'Invalid text content' });
		// The fault fired once: the next video renders fine.
		const next = await client.generateVideo({ ...baseReq, callbackId: 'job-2' });
		expect((await client.getVideoStatus(next.videoId)).status).toBe('completed');
	});

	it('lists avatars, voices and the remaining quota', async () => {
		const avatars = await client.listAvatars();
		expect(avatars.map((a) => a.id)).toEqual(['sim-avatar-anna', 'sim-avatar-josh']);
		expect(avatars[0]).toEqual({
			id: 'sim-avatar-anna',
			name: 'Anna (simulated)',
			gender: 'female',
			previewImageUrl: `${sim.url}/previews/avatar.jpg`,
			previewVideoUrl: `${sim.url}/previews/avatar.mp4`
		});
		const voices = await client.listVoices();
		expect(voices).toEqual([
			{ id: 'sim-voice-en-1', name: 'Sim English 1', language: 'English', gender: 'female', previewAudioUrl: `${sim.url}/previews/voice.mp3` },
			{ id: 'sim-voice-en-2', name: 'Sim English 2', language: 'English', gender: 'male', previewAudioUrl: `${sim.url}/previews/voice.mp3` }
		]);
		sim.remainingQuota = 1234;
		expect(await client.remainingQuota()).toEqual({ remainingQuota: 1234 });
	});

	it('accepts extra fields and nulls in replies it does not read', async () => {
		const fake: typeof fetch = async () =>
			new Response(
				JSON.stringify({
					error: null,
					data: {
						avatars: [{ avatar_id: 'a1', avatar_name: 'A', gender: null, preview_image_url: null, extra: { deep: 1 } }],
						talking_photos: null,
						something_new: true
					}
				}),
				{ status: 200, headers: { 'content-type': 'application/json' } }
			);
		const c = createHeyGenClient({ baseUrl: 'http://heygen.invalid', apiKey: 'k', fetch: fake });
		expect(await c.listAvatars()).toEqual([{ id: 'a1', name: 'A' }]);
	});
});

describe('fault classification', () => {
	it('bad key → permanent invalid_api_key (401) on v2 and v1 endpoints', async () => {
		const bad = createHeyGenClient({ baseUrl: sim.url, apiKey: 'not-a-key' });
		const e1 = await heygenError(() => bad.generateVideo(baseReq));
		expect(e1).toMatchObject({ code: 'invalid_api_key', kind: 'permanent', retryable: false, httpStatus: 401 });
		expect(e1.message).toMatch(/^HeyGen rejected the API key \(401\)/);
		const e2 = await heygenError(() => bad.getVideoStatus('whatever'));
		expect(e2).toMatchObject({ code: 'invalid_api_key', kind: 'permanent', httpStatus: 401 });
		expect(sim.submits).toHaveLength(0);
	});

	it('badKey fault rejects even a valid key', async () => {
		sim.setFaults({ badKey: { times: 1 } });
		const e = await heygenError(() => client.remainingQuota());
		expect(e).toMatchObject({ code: 'invalid_api_key', kind: 'permanent', httpStatus: 401 });
		expect(await client.remainingQuota()).toEqual({ remainingQuota: sim.remainingQuota });
	});

	it('noCredit → permanent insufficient_credit (402)', async () => {
		sim.setFaults({ noCredit: { times: 1 } });
		const e = await heygenError(() => client.generateVideo(baseReq));
		expect(e).toMatchObject({ code: 'insufficient_credit', kind: 'permanent', retryable: false, httpStatus: 402 });
		expect(e.message).toContain('Insufficient credit');
		expect(sim.submits).toHaveLength(0);
	});

	it('trialLimit → permanent trial_video_limit_exceeded even though it arrives as a 429', async () => {
		sim.setFaults({ trialLimit: { times: 1 } });
		const e = await heygenError(() => client.generateVideo(baseReq));
		expect(e).toMatchObject({ code: 'trial_video_limit_exceeded', kind: 'permanent', retryable: false, httpStatus: 429 });
		expect(e.message).toContain('daily api trial limit 5');
	});

	it('unknown avatar / voice → permanent with HeyGen message', async () => {
		const e1 = await heygenError(() => client.generateVideo({ ...baseReq, avatarId: 'nobody' }));
		expect(e1).toMatchObject({ code: 'avatar_not_found', kind: 'permanent', httpStatus: 400 });
		expect(e1.message).toContain('Avatar nobody not found');
		const e2 = await heygenError(() => client.generateVideo({ ...baseReq, voiceId: 'mute' }));
		expect(e2).toMatchObject({ code: 'voice_not_found', kind: 'permanent', httpStatus: 400 });
		expect(e2.message).toContain('Voice mute not found');
	});

	it('unknown video id on status → permanent invalid_video_id (v1 numeric code 40031)', async () => {
		const e = await heygenError(() => client.getVideoStatus('does-not-exist'));
		expect(e).toMatchObject({ code: 'invalid_video_id', kind: 'permanent', httpStatus: 400 });
	});

	it('invalid options / long script are rejected before any request', async () => {
		const before = sim.requests.length;
		const e1 = await heygenError(() =>
			client.generateVideo({ ...baseReq, options: { voice_speed: 3 } as GenerateVideoRequest['options'] })
		);
		expect(e1).toMatchObject({ code: 'invalid_options', kind: 'permanent' });
		expect(e1.message).toContain('voice_speed');
		const e2 = await heygenError(() => client.generateVideo({ ...baseReq, script: 'x'.repeat(5001) }));
		expect(e2).toMatchObject({ code: 'script_too_long', kind: 'permanent' });
		expect(sim.requests.length).toBe(before);
	});

	it('429 → retryable, Retry-After seconds parsed into retryAfterMs', async () => {
		sim.setFaults({ rateLimit: { times: 1, retryAfter: 7 } });
		const e = await heygenError(() => client.generateVideo(baseReq));
		expect(e).toMatchObject({ code: 'rate_limit_exceeded', kind: 'retryable', retryable: true, httpStatus: 429, retryAfterMs: 7000 });
		expect(sim.submits).toHaveLength(0);
		// times: 1 → the next call goes through
		await client.generateVideo(baseReq);
		expect(sim.submitsFor('job-1')).toBe(1);
	});

	it('429 with an HTTP-date Retry-After', async () => {
		const at = new Date(Date.now() + 30_000).toUTCString();
		sim.setFaults({ rateLimit: { times: 1, retryAfter: at, endpoint: 'status' } });
		const { videoId } = await client.generateVideo(baseReq); // not affected: fault is for 'status'
		const e = await heygenError(() => client.getVideoStatus(videoId));
		expect(e.kind).toBe('retryable');
		expect(e.httpStatus).toBe(429);
		// HTTP dates have 1 s resolution: 29..30 s from now
		expect(e.retryAfterMs).toBeGreaterThanOrEqual(28_000);
		expect(e.retryAfterMs).toBeLessThanOrEqual(30_000);
	});

	it.each([
		[500, 'internal_error'],
		[502, 'http_502'],
		[503, 'service_unavailable']
	] as const)('%i → retryable %s', async (status, code) => {
		sim.setFaults({ serverError: { status, times: 1 } });
		const e = await heygenError(() => client.listVoices());
		expect(e).toMatchObject({ code, kind: 'retryable', retryable: true, httpStatus: status });
		expect(e.message).toContain(`(${status})`);
	});

	it('serverError restricted to one endpoint leaves the others alone', async () => {
		sim.setFaults({ serverError: { endpoint: 'avatars' } }); // Infinity times
		expect(await client.listVoices()).toHaveLength(2);
		for (let i = 0; i < 3; i++) {
			expect((await heygenError(() => client.listAvatars())).httpStatus).toBe(500);
		}
		sim.setFaults({ serverError: null });
		expect(await client.listAvatars()).toHaveLength(2);
	});

	it('slow reply → retryable timeout', async () => {
		const quick = createHeyGenClient({ baseUrl: sim.url, apiKey: sim.apiKey, timeoutMs: 150 });
		sim.setFaults({ slow: { ms: 10_000, times: 1, endpoint: 'quota' } });
		const started = Date.now();
		const e = await heygenError(() => quick.remainingQuota());
		expect(e).toMatchObject({ code: 'timeout', kind: 'retryable', endpoint: 'GET /v2/user/remaining_quota' });
		expect(e.message).toContain('150 ms');
		expect(Date.now() - started).toBeLessThan(5000);
	});

	it('connection refused → retryable network error', async () => {
		const srv = createServer();
		await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
		const port = (srv.address() as AddressInfo).port;
		await new Promise<void>((r) => srv.close(() => r()));
		const dead = createHeyGenClient({ baseUrl: `http://127.0.0.1:${port}`, apiKey: sim.apiKey, timeoutMs: 2000 });
		const e = await heygenError(() => dead.listAvatars());
		expect(e).toMatchObject({ code: 'network', kind: 'retryable' });
		expect(e.message).toContain('ECONNREFUSED');
		expect(e.httpStatus).toBeUndefined();
	});

	it('reply lost after the video was created → retryable network error, and the submit is recorded', async () => {
		sim.setFaults({ replyLost: { times: 1 } });
		const e = await heygenError(() => client.generateVideo(baseReq));
		expect(e).toMatchObject({ code: 'network', kind: 'retryable' });
		expect(sim.submitsFor('job-1')).toBe(1);
		expect(sim.videos.size).toBe(1);
	});

	it('malformed JSON → retryable bad_response', async () => {
		sim.setFaults({ malformedJson: { times: 1, endpoint: 'generate' } });
		const e = await heygenError(() => client.generateVideo(baseReq));
		expect(e).toMatchObject({ code: 'bad_response', kind: 'retryable', httpStatus: 200 });
		expect(e.message).toMatch(/^HeyGen reply for POST \/v2\/video\/generate was not valid JSON \(HTTP 200, application\/json\)/);
	});

	it.each([
		['status', /^HeyGen reply for GET \/v1\/video_status\.get did not match: data\.status: Invalid option/],
		['generate', /^HeyGen reply for POST \/v2\/video\/generate did not match: data\.video_id: Invalid input: expected string/],
		['avatars', /^HeyGen reply for GET \/v2\/avatars did not match: data\.avatars: Invalid input: expected array/],
		['voices', /^HeyGen reply for GET \/v2\/voices did not match: data\.voices\.0\.voice_id: Invalid input: expected string/],
		['quota', /^HeyGen reply for GET \/v2\/user\/remaining_quota did not match: data\.remaining_quota: Invalid input: expected number/]
	] as const)('mismatched JSON on %s → bad_response naming the field', async (endpoint, pattern) => {
		const { videoId } = await client.generateVideo(baseReq);
		sim.setFaults({ badShape: { times: 1, endpoint } });
		const calls: Record<typeof endpoint, () => Promise<unknown>> = {
			status: () => client.getVideoStatus(videoId),
			generate: () => client.generateVideo(baseReq),
			avatars: () => client.listAvatars(),
			voices: () => client.listVoices(),
			quota: () => client.remainingQuota()
		};
		const e = await heygenError(calls[endpoint]);
		expect(e.code).toBe('bad_response');
		expect(e.kind).toBe('retryable');
		expect(e.message).toMatch(pattern);
	});

	it('a 200 that carries an error body is still an error', async () => {
		const fake: typeof fetch = async () =>
			new Response(JSON.stringify({ data: null, error: { code: 'avatar_not_found', message: 'Avatar x not found' } }), {
				status: 200
			});
		const c = createHeyGenClient({ baseUrl: 'http://heygen.invalid', apiKey: 'k', fetch: fake });
		const e = await heygenError(() => c.generateVideo(baseReq));
		expect(e).toMatchObject({ code: 'avatar_not_found', kind: 'permanent', httpStatus: 200 });
	});

	it('an HTML 404 from a proxy → permanent http_404', async () => {
		const fake: typeof fetch = async () => new Response('<html>Not Found</html>', { status: 404, headers: { 'content-type': 'text/html' } });
		const c = createHeyGenClient({ baseUrl: 'http://heygen.invalid', apiKey: 'k', fetch: fake });
		const e = await heygenError(() => c.listVoices());
		expect(e).toMatchObject({ code: 'http_404', kind: 'permanent', httpStatus: 404 });
	});
});
