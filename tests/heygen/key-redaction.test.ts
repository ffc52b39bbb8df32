/**
 * heygen/secret-forms.ts and heygen/heygen-said.ts: HeyGen's code and message are stored only in a
 * form that cannot carry the API key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHeyGenClient } from '../../heygen/index.ts';
import { errorFromHttp } from '../../heygen/errors.ts';
import { safeCode, safeSaid } from '../../heygen/heygen-said.ts';
import { containsSecret, redact } from '../../heygen/secret-forms.ts';
import { echoKey, KEY_ECHO_FORMS, startHeyGenSimulator, type HeyGenSimulator } from '../../heygen/simulator/server.ts';
import { finishRender } from '../helpers/heygen-sim.ts';

const KEY = 'sk_V2_hgu_Q7fT3kLm9XbR2sWpZ4yN8cJd6HvA1eGo';

describe('containsSecret', () => {
	it.each(KEY_ECHO_FORMS.map((f) => [f]))('finds the key written %s, alone and inside a sentence', (form) => {
		const k = echoKey(KEY, form);
		expect(containsSecret(k, KEY)).toBe(true);
		expect(containsSecret(`Request refused for key "${k}" (see docs).`, KEY)).toBe(true);
	});

	it('finds the key with any one character missing, and inside encoded text around it', () => {
		for (let i = 0; i < KEY.length; i++)
			expect(containsSecret(KEY.slice(0, i) + KEY.slice(i + 1), KEY), `without character ${i}`).toBe(true);
		expect(containsSecret(Buffer.from(`x-api-key=${KEY}`).toString('base64'), KEY)).toBe(true);
		expect(containsSecret(Buffer.from(`key:${KEY}`).toString('hex'), KEY)).toBe(true);
		expect(containsSecret(encodeURIComponent(`the key is ${KEY}!`), KEY)).toBe(true);
	});

	it('leaves ordinary HeyGen text alone: ids, URLs, sentences', () => {
		for (const text of [
			'Video 3f2a9c0d1e2b4a5c8d7e6f5a4b3c2d1e not found',
			'Avatar look sim-avatar-anna not found',
			'Video render failed, we are looking into this issue. Video credits refunded.',
			'https://resource.heygen.ai/video/7b1e1c7e-3f4a-4b5c-9d8e-1a2b3c4d5e6f.mp4?Expires=1767225600&Signature=abc',
			'MOVIO_PAYMENT_INSUFFICIENT_CREDIT'
		]) {
			expect(containsSecret(text, KEY), text).toBe(false);
		}
	});

	it('redact drops a text that carries the key as a whole, so no piece of it survives clipping', () => {
		expect(redact(`bad key ${echoKey(KEY, 'upper')} in request`, KEY)).toBe('[redacted]');
		expect(redact('Locale not supported for this voice', KEY)).toBe('Locale not supported for this voice');
	});
});

describe('safeCode and safeSaid', () => {
	it('keeps documented codes (lower-cased) and code-shaped ones; anything else is not a code', () => {
		expect(safeCode('INVALID_PARAMETER', KEY)).toBe('invalid_parameter');
		expect(safeCode('MOVIO_PAYMENT_INSUFFICIENT_CREDIT', KEY)).toBe('MOVIO_PAYMENT_INSUFFICIENT_CREDIT');
		expect(safeCode(40001, KEY)).toBe('40001');
		for (const bad of ['has space', 'a'.repeat(90), 'code-with-dash', 'x1y2z3', '<script>', ''])
			expect(safeCode(bad, KEY), bad).toBeUndefined();
		for (const form of KEY_ECHO_FORMS) expect(safeCode(echoKey(KEY, form), KEY), form).toBeUndefined();
		// Letters and underscores only, yet the key: refused because it is the key.
		const lettersKey = 'sk_live_AbCdEfGhIjKlMnOpQrStUvWx';
		expect(safeCode(lettersKey.toLowerCase(), lettersKey)).toBeUndefined();
	});

	it('a known code comes with our sentence, never HeyGen’s text; an unknown one keeps a safe text', () => {
		expect(safeSaid({ code: 'invalid_parameter', message: `key ${KEY}` }, KEY, 'x')).toEqual({
			code: 'invalid_parameter',
			known: true,
			text: 'A setting has a value HeyGen does not accept.'
		});
		expect(safeSaid({ code: 'AVATAR_ERROR', message: 'The avatar broke' }, KEY, 'x')).toEqual({
			code: 'AVATAR_ERROR',
			known: false,
			text: 'The avatar broke'
		});
		expect(safeSaid({ code: echoKey(KEY, 'reversed'), message: echoKey(KEY, 'spaced') }, KEY, 'render_failed')).toEqual({
			code: 'render_failed',
			known: false,
			text: '[redacted]'
		});
	});

	it('errorFromHttp stores neither the code nor the message of a reply that echoes the key', () => {
		for (const form of KEY_ECHO_FORMS) {
			const k = echoKey(KEY, form);
			const e = errorFromHttp({
				status: 418,
				body: { error: { code: k, message: `key ${k}`, param: k } },
				rawText: '',
				retryAfter: null,
				endpoint: 'POST /v3/videos',
				apiKey: KEY
			});
			expect(e.code).toBe('heygen_refused');
			expect(e.heygenCode).toBeUndefined();
			expect(containsSecret(JSON.stringify(e.toJSON()), KEY), form).toBe(false);
		}
	});
});

describe('the client hands on a failed render safely (single and bulk status)', () => {
	let sim: HeyGenSimulator;
	beforeAll(async () => {
		sim = await startHeyGenSimulator({ validKeys: [KEY], renderMs: 600_000 });
	});
	afterAll(async () => {
		await sim?.close();
	});

	it.each(KEY_ECHO_FORMS.map((f) => [f]))('key echoed %s in failure_code and failure_message', async (form) => {
		const client = createHeyGenClient({ baseUrl: sim.url, apiKey: KEY });
		sim.setFaults({ echoKeyRender: { form, times: 1 } });
		const { videoId } = await client.generateVideo({
			script: 'Hi.',
			avatarId: 'sim-avatar-anna',
			voiceId: 'sim-voice-en-1',
			options: {},
			callbackId: 'c',
			idempotencyKey: `echo-${form}`
		});
		finishRender(sim, videoId);
		const one = await client.getVideoStatus(videoId);
		const bulk = (await client.getVideoStatuses([videoId, 'other'])).get(videoId)!;
		for (const s of [one, bulk]) expect(s.error).toEqual({ code: 'render_failed', message: '[redacted]' });
	});
});

describe('URLs, ids and names HeyGen sends are not kept when they carry the key', () => {
	const replying =
		(body: unknown): typeof fetch =>
		async () =>
			new Response(JSON.stringify(body), { status: 200 });
	const client = (body: unknown) => createHeyGenClient({ baseUrl: 'http://unused', apiKey: KEY, fetch: replying(body) });

	it('a completed video whose URLs carry the key has no URL (the poll waits for a clean one)', async () => {
		const url = `https://files.example/v.mp4?k=${echoKey(KEY, 'hex')}`;
		const s = await client({
			data: { id: 'v1', status: 'completed', video_url: url, thumbnail_url: url, subtitle_url: url }
		}).getVideoStatus('v1');
		expect({ video: s.videoUrl, thumbnail: s.thumbnailUrl, subtitles: s.subtitleUrl }).toEqual({
			video: null,
			thumbnail: null,
			subtitles: null
		});
	});

	it('a created video whose id is the key is a bad reply; list names and the account email are dropped', async () => {
		const created = client({ data: { video_id: echoKey(KEY, 'upper'), status: 'waiting' } });
		const req = { script: 'Hi.', avatarId: 'a', voiceId: 'v', options: {}, callbackId: 'c', idempotencyKey: 'k' };
		await expect(created.generateVideo(req)).rejects.toMatchObject({ code: 'bad_response' });
		const looks = await client({ data: [{ id: 'look-1', name: `Look ${echoKey(KEY, 'reversed')}` }], has_more: false }).listAvatars();
		expect(looks).toEqual([{ id: 'look-1', name: 'look-1' }]);
		const me = await client({ data: { username: 'u', email: `${KEY}@example.com`, billing_type: null } }).account();
		expect(me.email).toBeNull();
	});
});
