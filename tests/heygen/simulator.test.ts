import { readFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SIM_KEY, parseTitleBehaviour, startHeyGenSimulator, type HeyGenSimulator } from '../../heygen/simulator/server.ts';

const SAMPLE = readFileSync(new URL('../../heygen/simulator/sample.mp4', import.meta.url));

let sim: HeyGenSimulator;

function generateBody(over: Record<string, unknown> = {}, scene: Record<string, unknown> = {}): Record<string, unknown> {
	return {
		video_inputs: [
			{
				character: { type: 'avatar', avatar_id: 'sim-avatar-anna', avatar_style: 'normal' },
				voice: { type: 'text', voice_id: 'sim-voice-en-1', input_text: 'Hello' },
				...scene
			}
		],
		callback_id: 'cb-1',
		...over
	};
}

async function api(method: string, path: string, body?: unknown, key: string = DEFAULT_SIM_KEY) {
	const res = await fetch(sim.url + path, {
		method,
		headers: { 'x-api-key': key, 'content-type': 'application/json' },
		...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {})
	});
	const text = await res.text();
	let json: unknown = null;
	try {
		json = JSON.parse(text);
	} catch {
		/* not JSON */
	}
	return { status: res.status, headers: res.headers, text, json: json as Record<string, any> };
}

async function generate(over: Record<string, unknown> = {}): Promise<string> {
	const r = await api('POST', '/v2/video/generate', generateBody(over));
	expect(r.status).toBe(200);
	return r.json.data.video_id as string;
}

async function completedUrl(videoId: string): Promise<string> {
	const r = await api('GET', `/v1/video_status.get?video_id=${videoId}`);
	expect(r.json.data.status).toBe('completed');
	return r.json.data.video_url as string;
}

/** A raw GET with node:http, resolving with the response and every byte received (or the error). */
function rawGet(
	url: string,
	headers: Record<string, string> = {}
): Promise<{ res: IncomingMessage; body: Buffer; error: Error | null }> {
	return new Promise((resolve, reject) => {
		const req = request(url, { headers, agent: false }, (res) => {
			const chunks: Buffer[] = [];
			res.on('data', (c: Buffer) => chunks.push(c));
			res.on('end', () => resolve({ res, body: Buffer.concat(chunks), error: null }));
			res.on('error', (error) => resolve({ res, body: Buffer.concat(chunks), error }));
			res.on('aborted', () => resolve({ res, body: Buffer.concat(chunks), error: new Error('aborted') }));
		});
		req.on('error', reject);
		req.end();
	});
}

beforeAll(async () => {
	sim = await startHeyGenSimulator();
});
afterAll(async () => {
	await sim.close();
});
afterEach(() => {
	sim.reset();
	sim.renderMs = 0;
});

describe('API shapes and validation', () => {
	it('binds to 127.0.0.1 on a random port', () => {
		expect(sim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
		expect(sim.url.endsWith(':0')).toBe(false);
	});

	it('generate replies {error:null,data:{video_id}} and records the submit', async () => {
		const r = await api('POST', '/v2/video/generate', generateBody());
		expect(r.status).toBe(200);
		expect(r.json.error).toBeNull();
		expect(Object.keys(r.json.data)).toEqual(['video_id']);
		expect(sim.submitsFor('cb-1')).toBe(1);
		expect(sim.submitsFor('other')).toBe(0);
		expect(sim.submits[0]!.videoId).toBe(r.json.data.video_id);
	});

	it('status reply has the v1 shape with callback_id filled', async () => {
		const id = await generate();
		const r = await api('GET', `/v1/video_status.get?video_id=${id}`);
		expect(r.status).toBe(200);
		expect(r.json.code).toBe(100);
		expect(r.json.data).toMatchObject({ id, status: 'completed', duration: 2, callback_id: 'cb-1', error: null, gif_url: null });
		expect(r.json.data.video_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/files\/[0-9a-f]{32}\.mp4\?expires=\d+&sig=[0-9a-f]{64}$/);
	});

	it('401 for a missing or wrong key (v2 and v1 bodies)', async () => {
		const r1 = await api('POST', '/v2/video/generate', generateBody(), 'wrong');
		expect(r1.status).toBe(401);
		expect(r1.json).toEqual({ data: null, error: { code: 'invalid_api_key', message: expect.any(String) } });
		const r2 = await api('GET', '/v1/video_status.get?video_id=x', undefined, 'wrong');
		expect(r2.status).toBe(401);
		expect(r2.json).toMatchObject({ code: 40009, data: null });
		expect(sim.submits).toHaveLength(0);
	});

	it.each([
		['unknown avatar', generateBody({}, { character: { type: 'avatar', avatar_id: 'ghost' } }), 'avatar_not_found', 'Avatar ghost not found'],
		['unknown voice', generateBody({}, { voice: { type: 'text', voice_id: 'v-x', input_text: 'hi' } }), 'voice_not_found', 'Voice v-x not found'],
		['no scenes', { video_inputs: [] }, 'invalid_parameter', 'video_inputs'],
		['script too long', generateBody({}, { voice: { type: 'text', voice_id: 'sim-voice-en-1', input_text: 'a'.repeat(5001) } }), 'invalid_parameter', '5000'],
		['bad speed', generateBody({}, { voice: { type: 'text', voice_id: 'sim-voice-en-1', input_text: 'a', speed: 2 } }), 'invalid_parameter', 'speed'],
		['bad background', generateBody({}, { background: { type: 'color', value: 'blue' } }), 'invalid_parameter', 'background'],
		['bad dimension', generateBody({ dimension: { width: 10, height: 'x' } }), 'invalid_parameter', 'dimension'],
		['not JSON', '{"video_inputs":', 'invalid_parameter', 'JSON']
	])('400 for %s', async (_name, body, code, msg) => {
		const r = await api('POST', '/v2/video/generate', body);
		expect(r.status).toBe(400);
		expect(r.json.data).toBeNull();
		expect(r.json.error.code).toBe(code);
		expect(r.json.error.message).toContain(msg);
		expect(sim.submits).toHaveLength(0);
	});

	it('a 5000-character script is accepted', async () => {
		const r = await api('POST', '/v2/video/generate', generateBody({}, { voice: { type: 'text', voice_id: 'sim-voice-en-1', input_text: 'a'.repeat(5000) } }));
		expect(r.status).toBe(200);
	});

	it('unknown video id → 400 v1 error; unknown route → 404', async () => {
		const r = await api('GET', '/v1/video_status.get?video_id=nope');
		expect(r.status).toBe(400);
		expect(r.json).toEqual({ code: 40031, message: 'Invalid video id', data: null });
		const r2 = await api('GET', '/v2/video/status/abc');
		expect(r2.status).toBe(404);
	});

	it('avatars, voices and quota replies', async () => {
		const a = await api('GET', '/v2/avatars');
		expect(a.json.error).toBeNull();
		expect(a.json.data.avatars.map((x: { avatar_id: string }) => x.avatar_id)).toEqual(['sim-avatar-anna', 'sim-avatar-josh']);
		expect(a.json.data.talking_photos[0].talking_photo_id).toBe('sim-photo-1');
		const v = await api('GET', '/v2/voices');
		expect(v.json.data.voices.map((x: { voice_id: string }) => x.voice_id)).toEqual(['sim-voice-en-1', 'sim-voice-en-2']);
		const q = await api('GET', '/v2/user/remaining_quota');
		expect(q.json).toEqual({ error: null, data: { remaining_quota: 36000, details: { api: 36000 } } });
		const preview = await fetch(a.json.data.avatars[0].preview_image_url);
		expect(preview.headers.get('content-type')).toBe('image/jpeg');
		expect((await preview.arrayBuffer()).byteLength).toBeGreaterThan(1000);
	});
});

describe('render progression and webhooks', () => {
	it('pending → processing → completed over renderMs, waited for with waitFor', async () => {
		sim.renderMs = 300;
		const id = await generate();
		const first = await api('GET', `/v1/video_status.get?video_id=${id}`);
		expect(['pending', 'processing']).toContain(first.json.data.status);
		expect(first.json.data.video_url).toBeNull();
		await sim.waitFor((s) => s.videos.get(id)?.status === 'processing');
		await sim.waitFor((s) => s.videos.get(id)?.status === 'completed');
		const url = await completedUrl(id);
		expect(url).toContain(`/files/${id}.mp4`);
		expect(Date.now() - sim.videos.get(id)!.createdAt).toBeGreaterThanOrEqual(290);
	});

	it('every status call returns a freshly signed URL', async () => {
		const id = await generate();
		sim.setFaults({ shortUrlTtlMs: 60_000 });
		const u1 = new URL(await completedUrl(id));
		sim.setFaults({ shortUrlTtlMs: 120_000 });
		const u2 = new URL(await completedUrl(id));
		expect(Number(u2.searchParams.get('expires'))).toBeGreaterThan(Number(u1.searchParams.get('expires')));
		expect(u2.searchParams.get('sig')).not.toBe(u1.searchParams.get('sig'));
	});

	it('POSTs success and fail webhooks to callback_url', async () => {
		const received: unknown[] = [];
		const hook = createServer((req, res) => {
			const chunks: Buffer[] = [];
			req.on('data', (c: Buffer) => chunks.push(c));
			req.on('end', () => {
				received.push(JSON.parse(Buffer.concat(chunks).toString()));
				res.end('ok');
			});
		});
		await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
		const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/heygen`;
		try {
			const ok = await generate({ callback_url: hookUrl, callback_id: 'cb-ok' });
			sim.setFaults({ renderFails: { times: 1, code: 'boom', message: 'Render exploded' } });
			const bad = await generate({ callback_url: hookUrl, callback_id: 'cb-bad' });
			await sim.waitFor((s) => s.webhooks.length === 2);
			expect(sim.webhooks.map((w) => w.status)).toEqual([200, 200]);
			expect(received).toContainEqual({
				event_type: 'avatar_video.success',
				event_data: { video_id: ok, url: expect.stringContaining(`/files/${ok}.mp4?expires=`), callback_id: 'cb-ok' }
			});
			expect(received).toContainEqual({
				event_type: 'avatar_video.fail',
				event_data: { video_id: bad, msg: 'Render exploded', callback_id: 'cb-bad' }
			});
		} finally {
			await new Promise<void>((r) => hook.close(() => r()));
		}
	});

	it('a webhook receiver that is down is ignored', async () => {
		await generate({ callback_url: 'http://127.0.0.1:1/nothing' });
		await sim.waitFor((s) => s.webhooks.length === 1);
		expect(sim.webhooks[0]!.status).toBeNull();
		expect(sim.videos.size).toBe(1);
	});

	it('per-video behaviour from the title and from setVideoBehaviour', async () => {
		expect(parseTitleBehaviour('Intro [sim renderMs=5000 sizeBytes=1048576 failWith=oops] v2')).toEqual({
			renderMs: 5000,
			sizeBytes: 1048576,
			failWith: 'oops'
		});
		const a = await generate({ title: 'x [sim failWith=avatar_crash]' });
		const ra = await api('GET', `/v1/video_status.get?video_id=${a}`);
		expect(ra.json.data.status).toBe('failed');
		expect(ra.json.data.error).toMatchObject({ code: 'avatar_crash', message: expect.stringContaining('avatar_crash') });

		sim.setVideoBehaviour('cb-slow', { renderMs: 60_000, sizeBytes: 100_000 });
		const b = await generate({ callback_id: 'cb-slow' });
		expect(sim.videos.get(b)).toMatchObject({ renderMs: 60_000, sizeBytes: 100_000, status: 'pending' });
		expect(sim.videos.get(a)!.renderMs).toBe(0);
	});
});

describe('downloads', () => {
	it('HEAD and GET with Content-Length and video/mp4', async () => {
		const url = await completedUrl(await generate());
		const head = await fetch(url, { method: 'HEAD' });
		expect(head.status).toBe(200);
		expect(head.headers.get('content-length')).toBe(String(SAMPLE.length));
		expect(head.headers.get('accept-ranges')).toBe('bytes');
		const get = await fetch(url);
		expect(Buffer.from(await get.arrayBuffer()).equals(SAMPLE)).toBe(true);
		expect(sim.videos.values().next().value!.downloads).toBe(1);
	});

	it.each([
		['bytes=100-199', 100, 199],
		['bytes=20000-', 20000, SAMPLE.length - 1],
		['bytes=-500', SAMPLE.length - 500, SAMPLE.length - 1],
		['bytes=0-99999999', 0, SAMPLE.length - 1]
	])('Range %s → 206 with the right bytes', async (range, start, end) => {
		const url = await completedUrl(await generate());
		const res = await fetch(url, { headers: { range } });
		expect(res.status).toBe(206);
		expect(res.headers.get('content-range')).toBe(`bytes ${start}-${end}/${SAMPLE.length}`);
		expect(res.headers.get('content-length')).toBe(String(end - start + 1));
		const body = Buffer.from(await res.arrayBuffer());
		expect(body.equals(SAMPLE.subarray(start, end + 1))).toBe(true);
	});

	it('unsatisfiable range → 416', async () => {
		const url = await completedUrl(await generate());
		const res = await fetch(url, { headers: { range: `bytes=${SAMPLE.length}-` } });
		expect(res.status).toBe(416);
		expect(res.headers.get('content-range')).toBe(`bytes */${SAMPLE.length}`);
	});

	it('expired URL → 403 S3-style XML; bad signature → 403', async () => {
		const id = await generate();
		sim.setFaults({ shortUrlTtlMs: -1 });
		const expired = await completedUrl(id);
		const r1 = await fetch(expired);
		expect(r1.status).toBe(403);
		expect(r1.headers.get('content-type')).toBe('application/xml');
		const t1 = await r1.text();
		expect(t1).toContain('<Code>AccessDenied</Code>');
		expect(t1).toContain('Request has expired');

		sim.setFaults({ shortUrlTtlMs: null });
		const good = new URL(await completedUrl(id));
		good.searchParams.set('sig', '0'.repeat(64));
		const r2 = await fetch(good);
		expect(r2.status).toBe(403);
		expect(await r2.text()).toContain('SignatureDoesNotMatch');

		const moved = new URL(await completedUrl(id));
		moved.pathname = '/files/otherid.mp4';
		expect((await fetch(moved)).status).toBe(403);
	});

	it('shortUrlTtlMs sets the expiry of newly signed URLs (default 7 days)', async () => {
		const id = await generate();
		const before = Date.now();
		const def = Number(new URL(await completedUrl(id)).searchParams.get('expires'));
		expect(def - before).toBeGreaterThanOrEqual(7 * 24 * 3600 * 1000 - 1000);
		sim.setFaults({ shortUrlTtlMs: 5000 });
		const t0 = Date.now();
		const short = Number(new URL(await completedUrl(id)).searchParams.get('expires'));
		expect(short).toBeGreaterThanOrEqual(t0 + 5000);
		expect(short).toBeLessThanOrEqual(Date.now() + 5000);
	});

	it('downloadForbidden: the first N downloads answer 403, then 200', async () => {
		const url = await completedUrl(await generate());
		sim.setFaults({ downloadForbidden: { times: 2 } });
		expect((await fetch(url)).status).toBe(403);
		expect((await fetch(url)).status).toBe(403);
		const ok = await fetch(url);
		expect(ok.status).toBe(200);
		expect(Buffer.from(await ok.arrayBuffer()).equals(SAMPLE)).toBe(true);
	});

	it('truncatedDownload: full Content-Length, connection closed after half the bytes', async () => {
		const url = await completedUrl(await generate());
		sim.setFaults({ truncatedDownload: { times: 1 } });
		const r = await rawGet(url);
		expect(r.res.headers['content-length']).toBe(String(SAMPLE.length));
		expect(r.error).not.toBeNull();
		expect(r.body.length).toBe(Math.floor(SAMPLE.length / 2));
		expect(r.body.equals(SAMPLE.subarray(0, r.body.length))).toBe(true);
		// fetch sees it as a failure while reading the body
		sim.setFaults({ truncatedDownload: { times: 1 } });
		const res = await fetch(url);
		await expect(res.arrayBuffer()).rejects.toThrow();
		// and the fault has run out
		expect(Buffer.from(await (await fetch(url)).arrayBuffer()).equals(SAMPLE)).toBe(true);
	});

	it('sizeBytes: streams a big file (mp4 first, then zero padding) without buffering it', async () => {
		const size = 1024 ** 3; // 1 GiB, never materialised
		sim.setVideoBehaviour('cb-big', { sizeBytes: size });
		const url = await completedUrl(await generate({ callback_id: 'cb-big' }));
		const head = await fetch(url, { method: 'HEAD' });
		expect(head.headers.get('content-length')).toBe(String(size));
		// The start is the real mp4...
		const startRes = await fetch(url, { headers: { range: 'bytes=0-1023' } });
		expect(Buffer.from(await startRes.arrayBuffer()).equals(SAMPLE.subarray(0, 1024))).toBe(true);
		// ...the end is zeros.
		const tail = await fetch(url, { headers: { range: 'bytes=-4096' } });
		expect(tail.headers.get('content-range')).toBe(`bytes ${size - 4096}-${size - 1}/${size}`);
		const tailBytes = Buffer.from(await tail.arrayBuffer());
		expect(tailBytes.length).toBe(4096);
		expect(tailBytes.every((b) => b === 0)).toBe(true);
		// A 64 MiB slice spanning the mp4/padding boundary streams in chunks: memory does not grow by the
		// file's size (a server that built the 1 GiB file in memory would add ≥ 1 GiB of array buffers).
		const mem = () => process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
		const before = mem();
		const res = await fetch(url, { headers: { range: `bytes=${SAMPLE.length - 10}-${64 * 1024 * 1024 + SAMPLE.length}` } });
		expect(res.status).toBe(206);
		let total = 0;
		let first: Buffer | null = null;
		for await (const chunk of res.body!) {
			if (!first) first = Buffer.from(chunk);
			total += chunk.length;
		}
		expect(total).toBe(64 * 1024 * 1024 + 11);
		expect(first!.subarray(0, 10).equals(SAMPLE.subarray(SAMPLE.length - 10))).toBe(true);
		expect(mem() - before).toBeLessThan(256 * 1024 * 1024);
	});
});

describe('faults', () => {
	it('counts down `times` and then stops firing', async () => {
		sim.setFaults({ serverError: { times: 2, status: 503 } });
		expect((await api('GET', '/v2/voices')).status).toBe(503);
		expect(sim.faults.serverError?.times).toBe(1);
		expect((await api('GET', '/v2/voices')).status).toBe(503);
		expect(sim.faults.serverError).toBeUndefined();
		expect((await api('GET', '/v2/voices')).status).toBe(200);
	});

	it('Infinity until cleared; clearFaults removes everything', async () => {
		sim.setFaults({ rateLimit: { retryAfter: 9 }, noCredit: {} });
		for (let i = 0; i < 3; i++) {
			const r = await api('GET', '/v2/avatars');
			expect(r.status).toBe(429);
			expect(r.headers.get('retry-after')).toBe('9');
			expect(r.json.error.code).toBe('rate_limit_exceeded');
		}
		sim.clearFaults();
		expect((await api('GET', '/v2/avatars')).status).toBe(200);
		expect((await api('POST', '/v2/video/generate', generateBody())).status).toBe(200);
	});

	it('502 is an HTML gateway page, 500 a JSON error', async () => {
		sim.setFaults({ serverError: { times: 1, status: 502 } });
		const r = await api('GET', '/v2/voices');
		expect(r.status).toBe(502);
		expect(r.headers.get('content-type')).toBe('text/html');
		sim.setFaults({ serverError: { times: 1 } });
		const r2 = await api('GET', '/v2/voices');
		expect(r2.status).toBe(500);
		expect(r2.json).toEqual({ data: null, error: { code: 'internal_error', message: expect.any(String) } });
	});

	it('malformedJson is a 200 that does not parse', async () => {
		sim.setFaults({ malformedJson: { times: 1 } });
		const r = await api('GET', '/v2/user/remaining_quota');
		expect(r.status).toBe(200);
		expect(r.json).toBeNull();
		expect(() => JSON.parse(r.text)).toThrow();
	});

	it('noCredit → 402, trialLimit → 429 with their codes', async () => {
		sim.setFaults({ noCredit: { times: 1 }, trialLimit: { times: 1 } });
		const a = await api('POST', '/v2/video/generate', generateBody());
		expect(a.status).toBe(402);
		expect(a.json.error.code).toBe('insufficient_credit');
		const b = await api('POST', '/v2/video/generate', generateBody());
		expect(b.status).toBe(429);
		expect(b.json.error.code).toBe('trial_video_limit_exceeded');
		expect(sim.submits).toHaveLength(0);
	});

	it('slow delays the reply; close() does not wait for it', async () => {
		const local = await startHeyGenSimulator();
		local.setFaults({ slow: { ms: 60_000 } });
		const pending = fetch(`${local.url}/v2/voices`, { headers: { 'x-api-key': DEFAULT_SIM_KEY } }).then(
			(r) => r.status,
			() => 'failed'
		);
		await local.waitFor((s) => s.requests.length === 1);
		await local.close();
		expect(await pending).toBe('failed');
	});

	it('requests are recorded with their endpoint and status', async () => {
		await api('GET', '/v2/voices');
		await api('GET', '/v2/voices', undefined, 'bad');
		await sim.waitFor((s) => s.requests.length === 2 && s.requests.every((r) => r.status !== null));
		expect(sim.requests.map((r) => [r.method, r.path, r.endpoint, r.status])).toEqual([
			['GET', '/v2/voices', 'voices', 200],
			['GET', '/v2/voices', 'voices', 401]
		]);
	});

	it('waitFor rejects after its timeout', async () => {
		await expect(sim.waitFor(() => false, 50)).rejects.toThrow(/within 50 ms/);
	});
});
