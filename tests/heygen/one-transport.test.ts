/**
 * Exactly one module talks HTTP to HeyGen's API: heygen/transport.ts. Every HeyGen call (videos,
 * statuses, looks, voices, the account, webhook endpoints, and whatever comes next) goes through it,
 * so they all share one timeout, one capped body read, one error mapping and one key redaction.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHeyGenClient, isHeyGenError, type HeyGenError } from '../../heygen/index.ts';
import { startHeyGenSimulator, type HeyGenSimulator } from '../../heygen/simulator/server.ts';
import { createWebhookApi } from '../../heygen/webhooks.ts';

const ROOTS = ['heygen', 'worker', 'web', 'storage', 'db', 'log', 'config', 'scripts'];
// The simulator is HeyGen's stand-in (it is the server, and posts webhooks to the app). The bare
// worker is bench:pipeline's baseline: on purpose a naive client of the simulator with none of the
// product's guarantees, never run against HeyGen.
const SKIP = new Set(['heygen/simulator', 'scripts/bench/bare-worker.ts']);
const TRANSPORT = 'heygen/transport.ts';

/** Other modules that may make HTTP requests, and why none of them is a call to HeyGen's API. */
const OTHER_HTTP: Record<string, string> = {
	'worker/download.ts': "downloads the files HeyGen's presigned URLs point at (no key, no API route)",
	'web/routes/media/[...path]/+server.ts': 'streams a stored video from the storage backend',
	'storage/supabase.ts': 'hands fetch to supabase-js for Supabase Storage',
	'scripts/demo.ts': 'drives the web app it started',
	'scripts/bench/web.ts': 'drives the web app under test',
	'scripts/bench/library.ts': 'drives the web app under test',
	'scripts/bench/completion-latency.ts': 'reads the metrics of the app under test'
};

function sources(dir: string): string[] {
	if (SKIP.has(dir)) return [];
	if (statSync(dir).isFile()) return /\.(ts|js|svelte)$/.test(dir) ? [dir] : [];
	return readdirSync(dir).flatMap((f) => sources(path.posix.join(dir, f)));
}

// fetch( / globalThis.fetch / a fetch option handed on, undici, node:http(s) client requests.
const MAKES_HTTP =
	/\bfetch\s*\(|globalThis\.fetch|\.fetch\s*\?\?|from\s+['"]undici['"]|\b(?:https?\.)?(?:request|get)\s*\(\s*(?:new URL|target|url)\b/;
// HeyGen's API: its auth header as a header, its host, a /v3/ route.
const TALKS_TO_HEYGEN = /['"]x-api-key['"]\s*:|api\.heygen\.com|['"`]\/v3\//;

describe('one HeyGen transport', () => {
	const files = ROOTS.flatMap((r) => sources(r));

	it('scans the product', () => {
		expect(files.length).toBeGreaterThan(80);
		expect(files).toContain(TRANSPORT);
	});

	it('no module but heygen/transport.ts makes HTTP requests, except the listed ones that never call HeyGen', () => {
		const http = files.filter((f) => f !== TRANSPORT && MAKES_HTTP.test(readFileSync(f, 'utf8')));
		expect(http.filter((f) => !(f in OTHER_HTTP))).toEqual([]);
	});

	it('none of those is about HeyGen: no HeyGen header, host or /v3/ route in them', () => {
		const aboutHeyGen = Object.keys(OTHER_HTTP).filter((f) => TALKS_TO_HEYGEN.test(readFileSync(f, 'utf8')));
		expect(aboutHeyGen).toEqual([]);
	});

	it('only the transport sets the x-api-key header', () => {
		const setters = files.filter((f) => /['"]x-api-key['"]\s*:/.test(readFileSync(f, 'utf8')));
		expect(setters).toEqual([TRANSPORT]);
	});

	it('no module in heygen/ reads a body uncapped (.text(), .json(), .arrayBuffer()): read-capped.ts does', () => {
		const readers = files.filter((f) => f.startsWith('heygen/') && /\.(text|json|arrayBuffer)\(\)/.test(readFileSync(f, 'utf8')));
		expect(readers).toEqual([]);
	});
});

describe('every HeyGen call shares the transport', () => {
	let sim: HeyGenSimulator;
	beforeAll(async () => {
		sim = await startHeyGenSimulator();
	});
	afterAll(async () => {
		await sim?.close();
	});

	async function heygenError(p: Promise<unknown>): Promise<HeyGenError> {
		const err = await p.then(
			() => null,
			(e: unknown) => e
		);
		if (!isHeyGenError(err)) throw new Error(`expected a HeyGenError, got ${String(err)}`);
		return err;
	}

	it('the video client and the webhook API time out alike', async () => {
		// Answers only when aborted, with the abort's reason, as fetch does.
		const hang: typeof fetch = (_url, init) =>
			new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal!.reason)));
		const opts = { baseUrl: 'http://unused', apiKey: 'k', timeoutMs: 100, fetch: hang };
		const video = await heygenError(createHeyGenClient(opts).account());
		const hooks = await heygenError(createWebhookApi(opts).listEndpoints());
		expect({ code: video.code, message: video.message }).toEqual({ code: 'timeout', message: 'HeyGen did not answer within 0.1 s.' });
		expect({ code: hooks.code, message: hooks.message }).toEqual({ code: 'timeout', message: 'HeyGen did not answer within 0.1 s.' });
	});

	it('both send their calls to the configured HeyGen URL', async () => {
		const before = sim.requests.length;
		await createHeyGenClient({ baseUrl: sim.url, apiKey: sim.apiKey }).account();
		await createWebhookApi({ baseUrl: sim.url, apiKey: sim.apiKey }).listEndpoints();
		expect(sim.requests.slice(before).map((r) => `${r.method} ${r.path}${r.search}`)).toEqual([
			'GET /v3/users/me',
			'GET /v3/webhooks/endpoints'
		]);
	});

	it('the webhook API caps the reply body like the video client (no uncapped res.text())', async () => {
		const huge: typeof fetch = async () => new Response('{"data":[' + ' '.repeat(64 * 1024) + ']}', { status: 200 });
		const opts = { baseUrl: 'http://unused', apiKey: 'k', maxBodyBytes: 1024, fetch: huge };
		expect((await heygenError(createWebhookApi(opts).listEndpoints())).code).toBe('reply_too_large');
		expect((await heygenError(createHeyGenClient(opts).listVoices())).code).toBe('reply_too_large');
	});

	it('the webhook API honours Retry-After like the video client', async () => {
		const busy: typeof fetch = async () =>
			new Response('{"error":{"code":"rate_limit_exceeded","message":"slow down"}}', { status: 429, headers: { 'retry-after': '7' } });
		const opts = { baseUrl: 'http://unused', apiKey: 'k', fetch: busy };
		expect(await heygenError(createWebhookApi(opts).listEndpoints())).toMatchObject({ code: 'rate_limited', retryAfterMs: 7000 });
		expect(await heygenError(createHeyGenClient(opts).account())).toMatchObject({ code: 'rate_limited', retryAfterMs: 7000 });
	});
});
