/** The web app's small pure pieces, without a server. */
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { describe, expect, test } from 'vitest';
import { describeOptions, duration, clock } from '../../web/lib/format.ts';
import { srtToVtt } from '../../web/lib/server/media.ts';
import { dbErrorMessage } from '../../web/lib/server/errors.ts';
import { contentSchema } from '../../web/lib/server/content.ts';
import { isVisiblyEmpty } from '../../web/lib/server/text-rules.ts';
import { INVISIBLE_SCRIPTS } from '../helpers/invisible.ts';
import { parseRange } from '../../web/lib/server/media.ts';
import { RateLimiter } from '../../web/lib/server/rate-limit.ts';
import { safeNext } from '../../web/lib/server/redirects.ts';
import { resolveAuthSecret } from '../../web/lib/server/secret.ts';
import { verifyWebhookSignature, webhookTimestampFresh } from '../../heygen/webhooks.ts';

// The same rule as SQL's script check (tests/db/bad-input.test.ts runs the same inputs there).
describe('a content body with no visible character', () => {
	test.each(INVISIBLE_SCRIPTS)('%s is refused as an empty script', (_name, body) => {
		expect(isVisiblyEmpty(body)).toBe(true);
		const r = contentSchema.safeParse({ title: 'A post', body });
		expect(r.success).toBe(false);
		expect(r.error!.issues).toEqual([expect.objectContaining({ path: ['body'], message: 'Write the script the avatar should say.' })]);
	});

	test('one visible character among them is a script', () => {
		expect(contentSchema.safeParse({ title: 'A post', body: '\u2800\u{e0041}a\u{e0100}' }).success).toBe(true);
	});
});

describe('parseRange', () => {
	test.each([
		[null, 1000, null],
		['bytes=0-99', 1000, { start: 0, end: 99 }],
		['bytes=900-', 1000, { start: 900, end: 999 }],
		['bytes=-100', 1000, { start: 900, end: 999 }],
		['bytes=-5000', 1000, { start: 0, end: 999 }],
		['bytes=0-5000', 1000, { start: 0, end: 999 }],
		['bytes=1000-', 1000, 'unsatisfiable'],
		['bytes=-0', 1000, 'unsatisfiable'],
		['bytes=0-0', 0, 'unsatisfiable'],
		['bytes=5-2', 1000, null],
		['bytes=0-1,5-6', 1000, null],
		['items=0-1', 1000, null]
	] as const)('%s of %i bytes', (header, size, want) => {
		expect(parseRange(header, size)).toEqual(want);
	});
});

describe('verifyWebhookSignature (Heygen-Signature)', () => {
	const body = new TextEncoder().encode('{"event_type":"avatar_video.success"}');
	const hex = createHmac('sha256', 'whsec_s3cret').update(body).digest('hex');
	test('hex HMAC-SHA256 of the raw body keyed with the secret string, any case', () => {
		expect(verifyWebhookSignature(body, hex, 'whsec_s3cret')).toBe(true);
		expect(verifyWebhookSignature(body, hex.toUpperCase(), 'whsec_s3cret')).toBe(true);
	});
	test('wrong secret, wrong body, prefixes, base64, empty or garbage', () => {
		expect(verifyWebhookSignature(body, hex, 'whsec_other')).toBe(false);
		expect(verifyWebhookSignature(new TextEncoder().encode('{}'), hex, 'whsec_s3cret')).toBe(false);
		expect(verifyWebhookSignature(body, `sha256=${hex}`, 'whsec_s3cret')).toBe(false);
		expect(verifyWebhookSignature(body, Buffer.from(hex, 'hex').toString('base64'), 'whsec_s3cret')).toBe(false);
		expect(verifyWebhookSignature(body, null, 'whsec_s3cret')).toBe(false);
		expect(verifyWebhookSignature(body, '', 'whsec_s3cret')).toBe(false);
		expect(verifyWebhookSignature(body, hex.slice(0, 40), 'whsec_s3cret')).toBe(false);
		expect(verifyWebhookSignature(body, hex, '')).toBe(false);
	});
	test('Heygen-Timestamp: within 5 minutes either way', () => {
		const now = 1_800_000_000_000;
		expect(webhookTimestampFresh(String(now / 1000 - 299), now)).toBe(true);
		expect(webhookTimestampFresh(String(now / 1000 + 60), now)).toBe(true);
		expect(webhookTimestampFresh(String(now / 1000 - 301), now)).toBe(false);
		expect(webhookTimestampFresh(String(now / 1000 + 301), now)).toBe(false);
		expect(webhookTimestampFresh('soon', now)).toBe(false);
		expect(webhookTimestampFresh(null, now)).toBe(false);
	});
});

describe('dbErrorMessage', () => {
	const pgErr = (message: string, code: string, extra: { detail?: string; constraint?: string } = {}) => {
		const e = new pg.DatabaseError(message, 0, 'error');
		e.code = code;
		if (extra.detail) e.detail = extra.detail;
		if (extra.constraint) e.constraint = extra.constraint;
		return e;
	};
	test('codes from our SQL (detail) become sentences for the form, whatever the message says', () => {
		expect(
			dbErrorMessage(
				pgErr('video_jobs: content x already has an active video job y (rendering)', '23505', {
					detail: 'active_job_exists',
					constraint: 'video_jobs_one_active_per_content'
				})
			)
		).toBe('A video for this content is already in progress. Wait for it to finish or cancel it first.');
		expect(
			dbErrorMessage(
				pgErr('video_jobs.script is 6000 characters; HeyGen accepts at most 5000 per video', '23514', { detail: 'script_too_long' }),
				{ scriptLength: 6000 }
			)
		).toBe('The script is 6,000 characters; HeyGen accepts at most 5,000 per video. Shorten it and try again.');
		expect(dbErrorMessage(pgErr('reworded', '23514', { detail: 'script_too_long' }))).toMatch(/longer than the 5,000 characters/);
		expect(dbErrorMessage(pgErr('reworded entirely', '23514', { detail: 'api_key_missing' }))).toBe(
			'This business has no HeyGen API key. Add one in Settings first.'
		);
		expect(dbErrorMessage(pgErr('x', '23514', { detail: 'avatar_missing' }))).toBe('Choose an avatar in Settings first.');
		expect(dbErrorMessage(pgErr('x', '23514', { detail: 'voice_missing' }))).toBe('Choose a voice in Settings first.');
		expect(dbErrorMessage(pgErr('x', '23514', { detail: 'script_empty' }))).toBe(
			'The script is empty. Write the text the avatar should say first.'
		);
		expect(
			dbErrorMessage(pgErr('cancel_video_job: job x is already completed and cannot be canceled', '23514', { detail: 'job_not_active' }))
		).toBe('This video has already finished; there is nothing to cancel.');
		expect(dbErrorMessage(pgErr('x', '23514', { detail: 'job_not_retryable' }))).toBe('Only a failed or canceled video can be retried.');
	});
	test('constraint violations map by SQLSTATE and constraint name', () => {
		expect(
			dbErrorMessage(
				pgErr('duplicate key value violates unique constraint "video_jobs_one_active_per_content"', '23505', {
					constraint: 'video_jobs_one_active_per_content'
				})
			)
		).toMatch(/already in progress/);
	});
	test('a message alone maps to nothing specific, and raw SQL text never reaches the user', () => {
		const msg = dbErrorMessage(pgErr('video_jobs: business 7f1c2a9e-1111-4222-8333-444455556666 has no HeyGen API key', '23514'));
		expect(msg).toBe('The database refused this change. Reload the page and try again.');
		expect(dbErrorMessage(pgErr('x', '23514', { detail: 'no_such_code' }))).toBe(
			'The database refused this change. Reload the page and try again.'
		);
	});
	test('anything that is not about the data is not for the user', () => {
		expect(dbErrorMessage(pgErr('terminating connection due to administrator command', '57P01'))).toBeNull();
		expect(dbErrorMessage(pgErr('syntax error at or near "x"', '42601', { detail: 'active_job_exists' }))).toBeNull();
		expect(dbErrorMessage(new Error('boom'))).toBeNull();
	});
});

test('safeNext keeps people on this site', () => {
	expect(safeNext(null)).toBe('/b');
	expect(safeNext('/b/123?x=1')).toBe('/b/123?x=1');
	expect(safeNext('//evil.example')).toBe('/b');
	expect(safeNext('/\\evil.example')).toBe('/b');
	expect(safeNext('https://evil.example')).toBe('/b');
});

test('RateLimiter: a fixed window per key', () => {
	const rl = new RateLimiter(2, 1000);
	expect([rl.hit('a', 0), rl.hit('a', 10), rl.hit('a', 20)]).toEqual([0, 0, 1]);
	expect(rl.hit('b', 20)).toBe(0);
	expect(rl.hit('a', 1001)).toBe(0);
	rl.reset('a');
	expect(rl.hit('a', 1002)).toBe(0);
});

test('options in words, v3 and pre-v3 rows alike', () => {
	expect(describeOptions({ aspect_ratio: '9:16', resolution: '1080p', captions: true })).toBe('Portrait 9:16 · 1080p · captions');
	expect(describeOptions({ dimension: { width: 720, height: 1280 }, caption: true, test: true })).toBe('Portrait 720×1280 · captions');
	expect(describeOptions({})).toBe('Landscape 16:9 (HeyGen default)');
	expect(clock(65)).toBe('1:05');
	expect(clock(3723)).toBe('1:02:03');
	expect(duration(0.42)).toBe('0.4 s');
	expect(duration(185)).toBe('3 min 5 s');
});

describe('resolveAuthSecret', () => {
	test('AUTH_SECRET wins; otherwise one is generated once, kept 0600, and reused', () => {
		const dir = mkdtempSync(path.join(tmpdir(), 'hvj-secret-'));
		try {
			expect(resolveAuthSecret('x'.repeat(40), dir)).toBe('x'.repeat(40));
			const a = resolveAuthSecret(undefined, path.join(dir, 'nested'));
			expect(a.length).toBeGreaterThanOrEqual(32);
			const file = path.join(dir, 'nested', 'auth-secret');
			expect(statSync(file).mode & 0o777).toBe(0o600);
			expect(resolveAuthSecret(undefined, path.join(dir, 'nested'))).toBe(a);
			expect(readFileSync(file, 'utf8').trim()).toBe(a);
			writeFileSync(file, 'short\n');
			expect(() => resolveAuthSecret(undefined, path.join(dir, 'nested'))).toThrow(/auth-secret/);
		} finally {
			rmSync(dir, { recursive: true, force: true });
		}
	});
});

test('SRT subtitles become WebVTT for the captions track', () => {
	const srt = '\uFEFF1\r\n00:00:00,000 --> 00:00:01,500\r\nHello there\r\n\r\n2\r\n00:00:01,500 --> 00:00:02,000\r\nBye\r\n';
	expect(srtToVtt(srt)).toBe('WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.500\nHello there\n\n2\n00:00:01.500 --> 00:00:02.000\nBye\n');
});

describe('web build inputs', () => {
	test('every folder the web bundle imports through an alias triggers a rebuild when it changes', async () => {
		// svelte.config.js is plain JS without types; read its alias map as data.
		const svelteConfig: { default: { kit: { alias: Record<string, string> } } } = await import(path.resolve('svelte.config.js'));
		const { WEB_BUILD_INPUTS } = await import('../../scripts/app.ts');
		const aliased = Object.values(svelteConfig.default.kit.alias);
		expect(aliased.length).toBeGreaterThan(0);
		for (const dir of aliased) expect(WEB_BUILD_INPUTS).toContain(dir);
		expect(WEB_BUILD_INPUTS).toContain('web');
	});
});
