import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
	createHeyGenClient,
	HeyGenError,
	KNOWN_ERROR_CODES,
	metricCode,
	parseRetryAfter,
	redact,
	videoOptionsSchema,
	type GenerateVideoRequest,
	type HeyGenClient
} from '../../heygen/index.ts';
import { errorFromHttp } from '../../heygen/errors.ts';
import { startHeyGenSimulator, type Faults, type HeyGenSimulator } from '../../heygen/simulator/server.ts';

const SECRET = 'hg-SECRET-key-0123456789abcdef';

const req: GenerateVideoRequest = {
	script: 'Keep the key secret.',
	avatarId: 'sim-avatar-anna',
	voiceId: 'sim-voice-en-1',
	options: {},
	callbackId: 'job-secret',
	idempotencyKey: 'video-job:job-secret:attempt-1'
};

function assertNoKey(err: unknown): void {
	expect(err).toBeInstanceOf(HeyGenError);
	const e = err as HeyGenError;
	const texts = [JSON.stringify(e), String(e), e.stack ?? '', e.message, inspect(e, { depth: 10, showHidden: true })];
	for (const t of texts) {
		expect(t).not.toContain(SECRET);
		expect(t).not.toContain(encodeURIComponent(SECRET));
	}
	expect(e.cause).toBeUndefined();
	for (const v of Object.values(e)) expect(String(v)).not.toContain(SECRET);
}

async function caught(fn: () => Promise<unknown>): Promise<unknown> {
	try {
		await fn();
	} catch (err) {
		return err;
	}
	throw new Error('expected the call to fail');
}

describe('the API key never appears in errors', () => {
	let sim: HeyGenSimulator;
	let client: HeyGenClient;
	beforeAll(async () => {
		sim = await startHeyGenSimulator({ validKeys: [SECRET] });
		// Long enough that a busy machine's slow reply is not taken for the timeout case (which would
		// leave its fault to the next case); the `slow` fault outlasts it.
		client = createHeyGenClient({ baseUrl: sim.url, apiKey: SECRET, timeoutMs: 2000 });
	});
	afterAll(async () => {
		await sim.close();
	});

	const faults: Array<[string, Partial<Faults>, string]> = [
		['badKey', { badKey: { times: 1 } }, 'invalid_api_key'],
		['noCredit', { noCredit: { times: 1 } }, 'insufficient_credit'],
		['inProgress', { inProgress: { times: 1 } }, 'request_in_progress'],
		['invalidParameter', { invalidParameter: { times: 1, message: `bad ${SECRET}` } }, 'invalid_parameter'],
		['rateLimit', { rateLimit: { times: 1, retryAfter: 3 } }, 'rate_limited'],
		['serverError 500', { serverError: { times: 1, status: 500 } }, 'server_error'],
		['serverError 502', { serverError: { times: 1, status: 502 } }, 'server_error'],
		['serverError 503', { serverError: { times: 1, status: 503 } }, 'server_error'],
		['slow', { slow: { times: 1, ms: 10_000 } }, 'timeout'],
		['malformedJson', { malformedJson: { times: 1 } }, 'bad_response'],
		['badShape', { badShape: { times: 1 } }, 'bad_response'],
		['replyLost', { replyLost: { times: 1 } }, 'network']
	];
	it.each(faults)('%s', async (_name, f, code) => {
		sim.clearFaults();
		sim.setFaults(f);
		const err = await caught(() => client.generateVideo(req));
		expect((err as HeyGenError).code).toBe(code);
		assertNoKey(err);
	});

	it('unknown avatar, unknown video, validation', async () => {
		sim.reset(); // forget the key's earlier video, which HeyGen would replay
		assertNoKey(await caught(() => client.generateVideo({ ...req, avatarId: 'nope' })));
		assertNoKey(await caught(() => client.getVideoStatus('nope')));
		assertNoKey(await caught(() => client.generateVideo({ ...req, script: '' })));
	});

	it('network error', async () => {
		const dead = createHeyGenClient({ baseUrl: 'http://127.0.0.1:1', apiKey: SECRET, timeoutMs: 2000 });
		const err = await caught(() => dead.listAvatars());
		expect((err as HeyGenError).code).toBe('network');
		assertNoKey(err);
	});

	it('a reply or a fetch failure that echoes the key is redacted', async () => {
		const echoBody: typeof fetch = async (_url, init) => {
			const key = (init?.headers as Record<string, string>)['x-api-key'];
			return new Response(JSON.stringify({ error: { code: 'voice_trouble', message: `bad key ${key}`, param: 'script' } }), {
				status: 400
			});
		};
		const e1 = await caught(() => createHeyGenClient({ baseUrl: 'http://x.invalid', apiKey: SECRET, fetch: echoBody }).listVoices());
		// An unknown code's text is kept only without the key; with it, it is dropped as a whole.
		expect((e1 as HeyGenError).message).toContain('HeyGen said: "[redacted]"');
		assertNoKey(e1);

		const echoHtml: typeof fetch = async () => new Response(`<html>${SECRET}</html>`, { status: 500 });
		assertNoKey(await caught(() => createHeyGenClient({ baseUrl: 'http://x.invalid', apiKey: SECRET, fetch: echoHtml }).listVoices()));

		const echoOk: typeof fetch = async () => new Response(`not json ${SECRET}`, { status: 200 });
		assertNoKey(await caught(() => createHeyGenClient({ baseUrl: 'http://x.invalid', apiKey: SECRET, fetch: echoOk }).listVoices()));

		const throws: typeof fetch = async () => {
			throw new TypeError('fetch failed', {
				cause: Object.assign(new Error(`socket hang up x-api-key: ${SECRET}`), { code: 'ECONNRESET' })
			});
		};
		const e4 = await caught(() => createHeyGenClient({ baseUrl: 'http://x.invalid', apiKey: SECRET, fetch: throws }).listVoices());
		expect((e4 as HeyGenError).code).toBe('network');
		expect((e4 as HeyGenError).message).toContain('ECONNRESET');
		assertNoKey(e4);
	});
});

describe('redaction', () => {
	it('drops a text carrying the key (or its encodings) as a whole', () => {
		const key = 'NmQ5ZTk4YzFhYmNkZWYxMjM0NTY3ODkwYWJjZGVmMTI=';
		expect(redact(`key ${key} video 3f2a9c0d1e2b4a5c8d7e6f5a4b3c2d1e`, key)).toBe('[redacted]');
		expect(redact(`enc ${encodeURIComponent(key)}`, key)).toBe('[redacted]');
	});

	it('removes anything that looks like a credential, and keeps ids', () => {
		const key = 'NmQ5ZTk4YzFhYmNkZWYxMjM0NTY3ODkwYWJjZGVmMTI=';
		const text = `x-api-key: other-secret-123456 Bearer eyJhbGciOi.eyJzdWIiOiIx.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV video 3f2a9c0d1e2b4a5c8d7e6f5a4b3c2d1e job 7b1e1c7e-3f4a-4b5c-9d8e-1a2b3c4d5e6f`;
		const out = redact(text, key);
		expect(out).not.toContain('other-secret-123456');
		expect(out).not.toContain('SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV');
		expect(out).toContain('3f2a9c0d1e2b4a5c8d7e6f5a4b3c2d1e');
		expect(out).toContain('7b1e1c7e-3f4a-4b5c-9d8e-1a2b3c4d5e6f');
	});

	it('a key cut in half by clipping is still removed (redaction runs first)', () => {
		const e = errorFromHttp({
			status: 400,
			body: { error: { code: 'invalid_parameter', message: `${'x '.repeat(148)}${SECRET}` } },
			rawText: '',
			retryAfter: null,
			endpoint: 'POST /v3/videos',
			apiKey: SECRET
		});
		expect(e.message).not.toContain(SECRET.slice(0, 8));
	});

	it('metric labels come from a fixed set', () => {
		expect(metricCode('insufficient_credit')).toBe('insufficient_credit');
		expect(metricCode('storage_io')).toBe('storage_error');
		expect(metricCode('download_http_500')).toBe('download_http');
		expect(metricCode(`error for ${SECRET}`)).toBe('other');
		expect(metricCode('MOVIO_SOMETHING_NEW')).toBe('other');
		expect(metricCode(null)).toBe('other');
		expect(KNOWN_ERROR_CODES.every((c) => /^[a-z_]+$/.test(c))).toBe(true);
	});
});

describe('classification units', () => {
	const base = { rawText: '', retryAfter: null, endpoint: 'POST /v3/videos', apiKey: 'k' };
	it.each([
		[401, null, 'invalid_api_key', 'permanent'],
		[403, null, 'forbidden', 'permanent'],
		[402, null, 'insufficient_credit', 'permanent'],
		[400, { error: { code: 'insufficient_credit', message: 'x' } }, 'insufficient_credit', 'permanent'],
		[404, { error: { code: 'not_found', message: 'Avatar look not found', param: 'avatar_id' } }, 'avatar_not_found', 'permanent'],
		[404, { error: { code: 'not_found', message: 'Voice not found' } }, 'voice_not_found', 'permanent'],
		[404, { error: { code: 'not_found', message: 'x' } }, 'video_not_found', 'permanent', 'GET /v3/videos/{video_id}'],
		[404, undefined, 'endpoint_not_found', 'retryable', 'GET /v3/videos/{video_id}'],
		[404, { error: { code: 'not_found', message: 'x' } }, 'endpoint_not_found', 'retryable', 'GET /v3/videos/statuses'],
		[400, { error: { code: 'invalid_parameter', message: 'x', param: 'script' } }, 'invalid_parameter', 'permanent'],
		[409, { error: { code: 'request_in_progress', message: 'x' } }, 'request_in_progress', 'retryable'],
		[410, { error: { code: 'endpoint_retired', message: 'x' } }, 'heygen_refused', 'permanent'],
		[422, null, 'invalid_parameter', 'permanent'],
		[429, null, 'rate_limited', 'retryable'],
		[408, null, 'server_error', 'retryable'],
		[500, null, 'server_error', 'retryable'],
		[504, { error: { code: 'gateway_timeout', message: 'x' } }, 'server_error', 'retryable']
	] as const)('%i %j → %s (%s) %s', (status, body, code, kind, endpoint: string = base.endpoint) => {
		const e = errorFromHttp({ ...base, endpoint, status, body: body ?? undefined });
		expect(e.code).toBe(code);
		expect(e.kind).toBe(kind);
		expect(e.retryable).toBe(kind === 'retryable');
		expect(e.httpStatus).toBe(status);
	});
	it('Retry-After on a 503 is honoured too', () => {
		const e = errorFromHttp({ ...base, status: 503, body: undefined, retryAfter: '12' });
		expect(e.retryAfterMs).toBe(12_000);
	});

	it('parseRetryAfter: seconds, HTTP date, garbage', () => {
		const now = Date.parse('2026-01-01T00:00:00Z');
		expect(parseRetryAfter('5', now)).toBe(5000);
		expect(parseRetryAfter('0', now)).toBe(0);
		expect(parseRetryAfter('Thu, 01 Jan 2026 00:01:30 GMT', now)).toBe(90_000);
		expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
		expect(parseRetryAfter('soon', now)).toBeUndefined();
		expect(parseRetryAfter(null, now)).toBeUndefined();
	});

	it('HeyGenError is an Error with a useful name and JSON form', () => {
		const e = new HeyGenError({ code: 'timeout', kind: 'retryable', message: 'm', endpoint: 'GET /v3/voices' });
		expect(e).toBeInstanceOf(Error);
		expect(String(e)).toBe('HeyGenError: m');
		expect(e.stack?.startsWith('HeyGenError: m')).toBe(true);
		expect(JSON.parse(JSON.stringify(e))).toEqual({
			name: 'HeyGenError',
			code: 'timeout',
			kind: 'retryable',
			retryable: true,
			message: 'm',
			endpoint: 'GET /v3/voices'
		});
	});
});

describe('videoOptionsSchema', () => {
	it('accepts the full v3 shape', () => {
		const full = {
			title: 't',
			resolution: '4k',
			aspect_ratio: '5:4',
			background_color: '#aBc123',
			voice_speed: 0.5,
			voice_pitch: 50,
			voice_locale: 'zh-Hant-TW',
			captions: false,
			remove_background: true,
			engine: 'avatar_iii'
		};
		expect(videoOptionsSchema.parse(full)).toEqual(full);
		expect(videoOptionsSchema.parse({})).toEqual({});
	});
	it.each([
		[{ unknown: 1 }, ''],
		[{ dimension: { width: 1280, height: 720 } }, ''],
		[{ resolution: '1440p' }, 'resolution'],
		[{ aspect_ratio: '21:9' }, 'aspect_ratio'],
		[{ background_color: 'red' }, 'background_color'],
		[{ background_color: '#fff' }, 'background_color'],
		[{ voice_speed: 1.6 }, 'voice_speed'],
		[{ voice_pitch: -51 }, 'voice_pitch'],
		[{ captions: 'yes' }, 'captions'],
		[{ engine: 'avatar_ii' }, 'engine']
	])('rejects %j', (value, path) => {
		const r = videoOptionsSchema.safeParse(value);
		expect(r.success).toBe(false);
		expect(r.error!.issues[0]!.path.join('.')).toBe(path);
	});
});
