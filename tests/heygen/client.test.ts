import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildCreateBody, createHeyGenClient, type GenerateVideoRequest, type HeyGenClient } from '../../heygen/index.ts';
import { SIM_LOOKS, SIM_VOICE_LIST, type HeyGenSimulator } from '../../heygen/simulator/server.ts';
import { heygenError, simulatorForFile } from '../helpers/heygen-sim.ts';

const SAMPLE = readFileSync(new URL('../../heygen/simulator/sample.mp4', import.meta.url));

let sim: HeyGenSimulator;
let client: HeyGenClient;

const baseReq: GenerateVideoRequest = {
	script: 'Hello from the simulator.',
	avatarId: 'sim-avatar-anna',
	voiceId: 'sim-voice-en-1',
	options: {},
	callbackId: 'job-1',
	idempotencyKey: 'video-job:job-1:attempt-1'
};

simulatorForFile((started) => {
	sim = started;
	client = createHeyGenClient({ baseUrl: sim.url, apiKey: sim.apiKey, timeoutMs: 5000 });
});

describe('v3 happy path', () => {
	it('POST /v3/videos → GET /v3/videos/{id} completed → the signed URL downloads exactly sample.mp4', async () => {
		const { videoId } = await client.generateVideo(baseReq);
		const s = await client.getVideoStatus(videoId);
		expect(s).toMatchObject({ id: videoId, status: 'completed', duration: 2, subtitleUrl: null, error: null });
		expect(s.completedAt).toBeInstanceOf(Date);
		expect(s.thumbnailUrl).toMatch(/\.jpg\?/);
		const res = await fetch(s.videoUrl!);
		expect(Buffer.from(await res.arrayBuffer()).equals(SAMPLE)).toBe(true);
		expect(sim.requests.map((r) => `${r.method} ${r.path}`).slice(0, 2)).toEqual(['POST /v3/videos', `GET /v3/videos/${videoId}`]);
	});

	it('sends the v3 body, the x-api-key header and the Idempotency-Key', async () => {
		await client.generateVideo({
			...baseReq,
			options: {
				title: 'T',
				resolution: '4k',
				aspect_ratio: '1:1',
				background_color: '#112233',
				voice_speed: 1.2,
				voice_pitch: -10,
				voice_locale: 'en-GB',
				captions: true,
				remove_background: true,
				engine: 'avatar_v'
			},
			callbackUrl: 'https://example.com/hook'
		});
		expect(sim.submits[0]!.body).toEqual({
			type: 'avatar',
			avatar_id: 'sim-avatar-anna',
			script: 'Hello from the simulator.',
			voice_id: 'sim-voice-en-1',
			title: 'T',
			resolution: '4k',
			aspect_ratio: '1:1',
			background: { type: 'color', value: '#112233' },
			voice_settings: { speed: 1.2, pitch: -10, locale: 'en-GB' },
			caption: { file_format: 'srt' },
			remove_background: true,
			engine: { type: 'avatar_v' },
			callback_id: 'job-1',
			callback_url: 'https://example.com/hook'
		});
		expect(sim.submits[0]!.idempotencyKey).toBe('video-job:job-1:attempt-1');
	});

	it('minimal options map to a minimal body', () => {
		expect(buildCreateBody(baseReq)).toEqual({
			type: 'avatar',
			avatar_id: 'sim-avatar-anna',
			script: 'Hello from the simulator.',
			voice_id: 'sim-voice-en-1',
			callback_id: 'job-1'
		});
	});

	it('the same Idempotency-Key replays the first video instead of making a second', async () => {
		const a = await client.generateVideo(baseReq);
		const b = await client.generateVideo(baseReq);
		expect(b.videoId).toBe(a.videoId);
		expect(sim.submits).toHaveLength(1);
		const c = await client.generateVideo({ ...baseReq, idempotencyKey: 'video-job:job-1:attempt-2' });
		expect(c.videoId).not.toBe(a.videoId);
	});

	it('reports pending/processing while rendering, then completed with subtitles when captions were asked for', async () => {
		sim.renderMs = 400;
		const { videoId } = await client.generateVideo({ ...baseReq, options: { captions: true } });
		expect(['pending', 'processing']).toContain((await client.getVideoStatus(videoId)).status);
		await sim.waitFor((s) => s.videos.get(videoId)!.status === 'completed', 3000);
		const done = await client.getVideoStatus(videoId);
		expect(done.status).toBe('completed');
		const srt = await (await fetch(done.subtitleUrl!)).text();
		expect(srt).toMatch(/^1\n00:00:00,000 --> /);
	});

	it('a failed render reports failure_code and failure_message', async () => {
		sim.setFaults({ renderFails: { code: 'AVATAR_RENDER_ERROR', message: 'The avatar could not be rendered', times: 1 } });
		const { videoId } = await client.generateVideo(baseReq);
		const s = await client.getVideoStatus(videoId);
		expect(s.status).toBe('failed');
		expect(s.error).toEqual({ code: 'AVATAR_RENDER_ERROR', message: 'The avatar could not be rendered' });
	});

	it('lists every look and every voice across pages, and filters voices by language', async () => {
		const looks = await client.listAvatars();
		expect(looks.map((a) => a.id)).toEqual(SIM_LOOKS.map((l) => l.id));
		expect(looks[2]).toMatchObject({ id: 'sim-avatar-lena', name: 'Lena (simulated)', defaultVoiceId: 'sim-voice-de-1', gender: 'female' });
		expect(looks[0]!.previewImageUrl).toMatch(/\/previews\/avatar\.jpg$/);
		const voices = await client.listVoices();
		expect(voices.map((v) => v.id)).toEqual(SIM_VOICE_LIST.map((v) => v.voice_id));
		expect(voices[0]!.previewAudioUrl).toMatch(/voice\.mp3$/);
		// Two a page: the client followed next_token.
		expect(sim.requests.filter((r) => r.path === '/v3/avatars/looks')).toHaveLength(2);
		expect(sim.requests.filter((r) => r.path === '/v3/voices')).toHaveLength(2);
		expect((await client.listVoices({ language: 'German' })).map((v) => v.id)).toEqual(['sim-voice-de-1']);
	});

	it('reads the account and its remaining credits for each billing type', async () => {
		expect((await client.account()).credits).toEqual({
			billingType: 'wallet',
			remaining: 120.5,
			unit: 'usd',
			summary: '$120.5 in the wallet'
		});
		sim.billing = {
			billing_type: 'subscription',
			subscription: { plan: 'Creator', credits: { premium_credits: { remaining: 300 }, add_on_credits: { remaining: 20 } } }
		};
		expect((await client.account()).credits.summary).toBe('320 credits (Creator plan)');
		sim.billing = {
			billing_type: 'usage_based',
			usage_based: { included_credits: 100, remaining_credits: 42, spending_cap_usd: 500, spending_current_usd: 12.25 }
		};
		expect((await client.account()).credits).toMatchObject({
			billingType: 'usage_based',
			remaining: 42,
			summary: '42 included credits left; $12.25 of a $500 cap spent'
		});
		sim.billing = { billing_type: 'wallet', wallet: { currency: 'usd', remaining_balance: 120.5 } };
	});
});

describe('bulk status (GET /v3/videos/statuses)', () => {
	it('answers many videos in one call: queued as pending, completed, failed with its code, and not_found for unknown ids', async () => {
		sim.renderMs = 600_000;
		const rendering = (await client.generateVideo({ ...baseReq, idempotencyKey: 'k-1' })).videoId;
		sim.renderMs = 0;
		const done = (await client.generateVideo({ ...baseReq, idempotencyKey: 'k-2' })).videoId;
		sim.setFaults({ renderFails: { code: 'AVATAR_ERROR', message: 'Avatar broke', times: 1 } });
		const failed = (await client.generateVideo({ ...baseReq, idempotencyKey: 'k-3' })).videoId;
		const before = sim.requests.length;
		const got = await client.getVideoStatuses([rendering, done, failed, 'nope']);
		expect(sim.requests.slice(before).map((r) => r.endpoint)).toEqual(['statuses']);
		expect(got.get(rendering)).toEqual({ id: rendering, status: 'pending', error: null });
		expect(got.get(done)).toEqual({ id: done, status: 'completed', error: null });
		expect(got.get(failed)).toEqual({ id: failed, status: 'failed', error: { code: 'AVATAR_ERROR', message: 'Avatar broke' } });
		expect(got.get('nope')).toEqual({ id: 'nope', status: 'not_found', error: null });
	});

	it('makes no call for an empty list', async () => {
		const before = sim.requests.length;
		expect((await client.getVideoStatuses([])).size).toBe(0);
		expect(sim.requests.length).toBe(before);
	});

	it('a body past the size cap is abandoned (retryable)', async () => {
		const small = createHeyGenClient({ baseUrl: sim.url, apiKey: sim.apiKey, timeoutMs: 5000, maxBodyBytes: 1024 });
		sim.setFaults({ hugeReply: { bytes: 10_000, endpoint: 'statuses', times: 1 } });
		const e = await heygenError(() => small.getVideoStatuses(['a']));
		expect(e.code).toBe('reply_too_large');
		expect(e.retryable).toBe(true);
	});
});

describe('v3 error mapping', () => {
	const cases: Array<[string, () => void, () => Promise<unknown>, string, boolean, RegExp]> = [
		[
			'401 bad key',
			() => sim.setFaults({ badKey: { times: 1 } }),
			() => client.account(),
			'invalid_api_key',
			false,
			/^HeyGen rejected the API key/
		],
		[
			'402 insufficient_credit',
			() => sim.setFaults({ noCredit: { times: 1 } }),
			() => client.generateVideo(baseReq),
			'insufficient_credit',
			false,
			/^HeyGen has no credits left on this account/
		],
		[
			'404 avatar',
			() => {},
			() => client.generateVideo({ ...baseReq, avatarId: 'nope' }),
			'avatar_not_found',
			false,
			/^HeyGen does not know the avatar "nope"/
		],
		[
			'404 voice',
			() => {},
			() => client.generateVideo({ ...baseReq, voiceId: 'nope' }),
			'voice_not_found',
			false,
			/^HeyGen does not know the voice "nope"/
		],
		['404 video', () => {}, () => client.getVideoStatus('nope'), 'video_not_found', false, /^HeyGen no longer has this video/],
		[
			'400 validation',
			() => sim.setFaults({ invalidParameter: { param: 'script', message: 'Script has blocked words', times: 1 } }),
			() => client.generateVideo(baseReq),
			'invalid_parameter',
			false,
			/^HeyGen refused the video settings \(script\)\. A setting has a value HeyGen does not accept\. Change the script, avatar, voice or format, then Generate again\.$/
		],
		[
			'409 request_in_progress',
			() => sim.setFaults({ inProgress: { times: 1 } }),
			() => client.generateVideo(baseReq),
			'request_in_progress',
			true,
			/still working on an identical earlier request/
		],
		[
			'429 rate limit',
			() => sim.setFaults({ rateLimit: { retryAfter: 7, times: 1 } }),
			() => client.listVoices(),
			'rate_limited',
			true,
			/Retrying after 7 s\.$/
		],
		[
			'500',
			() => sim.setFaults({ serverError: { status: 500, times: 1 } }),
			() => client.account(),
			'server_error',
			true,
			/^HeyGen had a temporary problem \(HTTP 500\)/
		],
		[
			'502 HTML',
			() => sim.setFaults({ serverError: { status: 502, times: 1 } }),
			() => client.account(),
			'server_error',
			true,
			/^HeyGen had a temporary problem \(HTTP 502\)\.$/
		],
		[
			'malformed JSON',
			() => sim.setFaults({ malformedJson: { times: 1 } }),
			() => client.account(),
			'bad_response',
			true,
			/not valid JSON/
		],
		[
			'wrong shape',
			() => sim.setFaults({ badShape: { endpoint: 'status', times: 1 } }),
			async () => client.getVideoStatus((await client.generateVideo(baseReq)).videoId),
			'bad_response',
			true,
			/data\.status/
		],
		[
			'bulk status, wrong shape',
			() => sim.setFaults({ badShape: { endpoint: 'statuses', times: 1 } }),
			async () => client.getVideoStatuses([(await client.generateVideo(baseReq)).videoId, 'other']),
			'bad_response',
			true,
			/data\.0\.status/
		],
		[
			'bulk status, 503',
			() => sim.setFaults({ serverError: { status: 503, endpoint: 'statuses', times: 1 } }),
			() => client.getVideoStatuses(['a', 'b']),
			'server_error',
			true,
			/HTTP 503/
		],
		// The bulk route missing says nothing about the videos: retryable, never video_not_found.
		[
			'bulk status, route answers 404',
			() => sim.setFaults({ routeMissing: { endpoint: 'statuses', times: 1 } }),
			() => client.getVideoStatuses(['a', 'b']),
			'endpoint_not_found',
			true,
			/404 for GET \/v3\/videos\/statuses/
		],
		[
			'bulk status, over 100 ids',
			() => {},
			() => client.getVideoStatuses(Array.from({ length: 101 }, (_, i) => `v${i}`)),
			'invalid_options',
			false,
			/at most 100/
		],
		[
			'reply lost',
			() => sim.setFaults({ replyLost: { times: 1 } }),
			() => client.generateVideo(baseReq),
			'network',
			true,
			/^Could not reach HeyGen/
		]
	];
	it.each(cases)('%s', async (_name, inject, call, code, retryable, message) => {
		inject();
		const e = await heygenError(call);
		expect(e.code).toBe(code);
		expect(e.retryable).toBe(retryable);
		expect(e.message).toMatch(message);
	});

	it('429 keeps Retry-After (seconds or an HTTP date)', async () => {
		sim.setFaults({ rateLimit: { retryAfter: 3, times: 1 } });
		expect((await heygenError(() => client.account())).retryAfterMs).toBe(3000);
		sim.setFaults({ rateLimit: { retryAfter: new Date(Date.now() + 5000).toUTCString(), times: 1 } });
		const e = await heygenError(() => client.account());
		expect(e.retryAfterMs).toBeGreaterThan(3000);
		expect(e.retryAfterMs).toBeLessThanOrEqual(5000);
	});

	it('a slow reply is a retryable timeout', async () => {
		const quick = createHeyGenClient({ baseUrl: sim.url, apiKey: sim.apiKey, timeoutMs: 200 });
		sim.setFaults({ slow: { ms: 2000, times: 1 } });
		const e = await heygenError(() => quick.account());
		expect(e).toMatchObject({ code: 'timeout', retryable: true });
	});

	it('a reply larger than the cap is abandoned, not buffered', async () => {
		const capped = createHeyGenClient({ baseUrl: sim.url, apiKey: sim.apiKey, timeoutMs: 5000, maxBodyBytes: 64 * 1024 });
		sim.setFaults({ hugeReply: { bytes: 50 * 1024 * 1024, times: 1 } });
		const before = process.memoryUsage().rss;
		const e = await heygenError(() => capped.listVoices());
		expect(e).toMatchObject({ code: 'reply_too_large', retryable: true });
		expect(e.message).toBe('HeyGen sent a reply larger than 64 KiB to GET /v3/voices; it was not read.');
		expect(process.memoryUsage().rss - before).toBeLessThan(40 * 1024 * 1024);
	});

	it('bad options, an empty or too long script and a bad key format are refused before any request', async () => {
		const n = sim.requests.length;
		expect((await heygenError(() => client.generateVideo({ ...baseReq, options: { test: true } as never }))).code).toBe('invalid_options');
		expect((await heygenError(() => client.generateVideo({ ...baseReq, script: '   ' }))).code).toBe('empty_script');
		expect((await heygenError(() => client.generateVideo({ ...baseReq, script: 'x'.repeat(5001) }))).code).toBe('script_too_long');
		expect((await heygenError(() => client.generateVideo({ ...baseReq, idempotencyKey: 'has space' }))).code).toBe('invalid_options');
		expect(sim.requests.length).toBe(n);
	});

	it('the retired v1/v2 routes answer 410 endpoint_retired at the simulator', async () => {
		const res = await fetch(`${sim.url}/v2/video/generate`, { method: 'POST', headers: { 'x-api-key': sim.apiKey } });
		expect(res.status).toBe(410);
		expect((await res.json()).error.code).toBe('endpoint_retired');
	});
});
