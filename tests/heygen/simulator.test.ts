import { readFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SIM_KEY, parseTitleBehaviour, startHeyGenSimulator, type HeyGenSimulator } from '../../heygen/simulator/server.ts';
import { simulatorForFile } from '../helpers/heygen-sim.ts';

const SAMPLE = readFileSync(new URL('../../heygen/simulator/sample.mp4', import.meta.url));

let sim: HeyGenSimulator;

function generateBody(over: Record<string, unknown> = {}): Record<string, unknown> {
	return { type: 'avatar', avatar_id: 'sim-avatar-anna', voice_id: 'sim-voice-en-1', script: 'Hello', callback_id: 'cb-1', ...over };
}

async function api(method: string, path: string, body?: unknown, key: string = DEFAULT_SIM_KEY, headers: Record<string, string> = {}) {
	const res = await fetch(sim.url + path, {
		method,
		headers: { 'x-api-key': key, 'content-type': 'application/json', ...headers },
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
	const r = await api('POST', '/v3/videos', generateBody(over));
	expect(r.status).toBe(200);
	return r.json.data.video_id as string;
}

async function completedUrl(videoId: string): Promise<string> {
	const r = await api('GET', `/v3/videos/${videoId}`);
	expect(r.json.data.status).toBe('completed');
	return r.json.data.video_url as string;
}

/** A raw GET with node:http, resolving with the response and every byte received (or the error). */
function rawGet(url: string, headers: Record<string, string> = {}): Promise<{ res: IncomingMessage; body: Buffer; error: Error | null }> {
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

simulatorForFile((started) => (sim = started));

describe('API shapes and validation', () => {
	it('binds to 127.0.0.1 on a random port', () => {
		expect(sim.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
		expect(sim.url.endsWith(':0')).toBe(false);
	});

	it('POST /v3/videos replies {data:{video_id,status,output_format}} and records the video', async () => {
		const r = await api('POST', '/v3/videos', generateBody());
		expect(r.status).toBe(200);
		expect(r.json).toEqual({ data: { video_id: expect.stringMatching(/^[0-9a-f]{32}$/), status: 'waiting', output_format: 'mp4' } });
		expect(sim.submitsFor('cb-1')).toBe(1);
		expect(sim.submitsFor('other')).toBe(0);
		expect(sim.submits[0]!.videoId).toBe(r.json.data.video_id);
	});

	it('GET /v3/videos/{id} has the v3 shape', async () => {
		const id = await generate({ caption: { file_format: 'srt' } });
		const r = await api('GET', `/v3/videos/${id}`);
		expect(r.status).toBe(200);
		expect(r.json.data).toMatchObject({
			id,
			status: 'completed',
			duration: 2,
			gif_url: null,
			completed_at: expect.any(Number),
			created_at: expect.any(Number)
		});
		expect(r.json.data.video_url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/files\/[0-9a-f]{32}\.mp4\?expires=\d+&sig=[0-9a-f]{64}$/);
		expect(r.json.data.thumbnail_url).toMatch(/\.jpg\?expires=/);
		expect(r.json.data.subtitle_url).toMatch(/\.srt\?expires=/);
		expect(r.json.data.failure_code).toBeUndefined();
	});

	it('401 unauthorized in the v3 envelope for a missing or wrong key', async () => {
		const r1 = await api('POST', '/v3/videos', generateBody(), 'wrong');
		expect(r1.status).toBe(401);
		expect(r1.json).toEqual({ error: { code: 'unauthorized', message: 'Unauthorized', doc_url: expect.any(String) } });
		expect((await api('GET', '/v3/users/me', undefined, 'wrong')).status).toBe(401);
		expect(sim.submits).toHaveLength(0);
	});

	it.each([
		['unknown avatar', generateBody({ avatar_id: 'ghost' }), 404, 'not_found', 'avatar_id'],
		['unknown voice', generateBody({ voice_id: 'v-x' }), 404, 'not_found', 'voice_id'],
		['a v2 body', { video_inputs: [] }, 400, 'invalid_parameter', 'video_inputs'],
		['script too long', generateBody({ script: 'a'.repeat(5001) }), 400, 'invalid_parameter', 'script'],
		['bad speed', generateBody({ voice_settings: { speed: 2 } }), 400, 'invalid_parameter', 'voice_settings.speed'],
		['bad background', generateBody({ background: { type: 'color', value: 'blue' } }), 400, 'invalid_parameter', 'background.value'],
		['bad resolution', generateBody({ resolution: '8k' }), 400, 'invalid_parameter', 'resolution'],
		['not JSON', '{"type":', 400, 'invalid_parameter', 'body']
	])('%s → %i %s naming %s', async (_name, body, status, code, param) => {
		const r = await api('POST', '/v3/videos', body);
		expect(r.status).toBe(status);
		expect(r.json.error).toMatchObject({ code, param });
		expect(sim.submits).toHaveLength(0);
	});

	it('a 5000-character script is accepted', async () => {
		expect((await api('POST', '/v3/videos', generateBody({ script: 'a'.repeat(5000) }))).status).toBe(200);
	});

	it('unknown video id → 404 video_not_found; v1/v2 routes → 410 endpoint_retired; unknown route → 404', async () => {
		const r = await api('GET', '/v3/videos/nope');
		expect(r.status).toBe(404);
		expect(r.json.error.code).toBe('video_not_found');
		for (const path of ['/v1/video_status.get?video_id=x', '/v2/avatars', '/v2/voices', '/v2/user/remaining_quota']) {
			const old = await api('GET', path);
			expect(old.status, path).toBe(410);
			expect(old.json.error.code).toBe('endpoint_retired');
		}
		expect((await api('GET', '/v3/nothing')).status).toBe(404);
	});

	it('looks and voices are paginated with next_token; users/me has the billing object', async () => {
		const p1 = await api('GET', '/v3/avatars/looks');
		expect(p1.json.data.map((x: { id: string }) => x.id)).toEqual(['sim-avatar-anna', 'sim-avatar-josh']);
		expect(p1.json.has_more).toBe(true);
		const p2 = await api('GET', `/v3/avatars/looks?token=${p1.json.next_token}`);
		expect(p2.json).toMatchObject({
			data: [{ id: 'sim-avatar-lena', default_voice_id: 'sim-voice-de-1' }],
			has_more: false,
			next_token: null
		});
		expect((await api('GET', '/v3/avatars/looks?limit=51')).status).toBe(400);
		const v = await api('GET', '/v3/voices?language=Spanish');
		expect(v.json.data.map((x: { voice_id: string }) => x.voice_id)).toEqual(['sim-voice-es-1']);
		const me = await api('GET', '/v3/users/me');
		expect(me.json.data).toMatchObject({
			email: 'sim@example.com',
			billing_type: 'wallet',
			wallet: { currency: 'usd', remaining_balance: 120.5 }
		});
		const preview = await fetch(p1.json.data[0].preview_image_url);
		expect(preview.headers.get('content-type')).toBe('image/jpeg');
		expect((await preview.arrayBuffer()).byteLength).toBeGreaterThan(1000);
	});
});

describe('Idempotency-Key', () => {
	const key = { 'idempotency-key': 'video-job:abc:attempt-1' };

	it('a repeat replays the first reply; no second video', async () => {
		const a = await api('POST', '/v3/videos', generateBody(), DEFAULT_SIM_KEY, key);
		const b = await api('POST', '/v3/videos', generateBody({ title: 'slightly different' }), DEFAULT_SIM_KEY, key);
		expect(b.json).toEqual(a.json);
		expect(b.headers.get('idempotent-replayed')).toBe('true');
		expect(sim.submits).toHaveLength(1);
		expect(sim.generateCallsFor('cb-1')).toBe(2);
	});

	it('a repeat while the first is in flight gets 409 request_in_progress, then the replay', async () => {
		sim.setFaults({ slowReply: { ms: 500, times: 1 } });
		const first = api('POST', '/v3/videos', generateBody(), DEFAULT_SIM_KEY, key);
		await sim.waitFor((s) => s.submits.length === 1);
		const during = await api('POST', '/v3/videos', generateBody(), DEFAULT_SIM_KEY, key);
		expect(during.status).toBe(409);
		expect(during.json.error.code).toBe('request_in_progress');
		const a = await first;
		const after = await api('POST', '/v3/videos', generateBody(), DEFAULT_SIM_KEY, key);
		expect(after.json.data.video_id).toBe(a.json.data.video_id);
		expect(sim.submits).toHaveLength(1);
	});

	it('the video made before a lost reply is replayed to the retry', async () => {
		sim.setFaults({ replyLost: { times: 1 } });
		await expect(api('POST', '/v3/videos', generateBody(), DEFAULT_SIM_KEY, key)).rejects.toThrow();
		const retry = await api('POST', '/v3/videos', generateBody(), DEFAULT_SIM_KEY, key);
		expect(retry.status).toBe(200);
		expect(retry.json.data.video_id).toBe(sim.submits[0]!.videoId);
		expect(sim.submits).toHaveLength(1);
	});

	it('a request that made nothing may be repeated; a malformed key is refused', async () => {
		sim.setFaults({ noCredit: { times: 1 } });
		expect((await api('POST', '/v3/videos', generateBody(), DEFAULT_SIM_KEY, key)).status).toBe(402);
		expect((await api('POST', '/v3/videos', generateBody(), DEFAULT_SIM_KEY, key)).status).toBe(200);
		const bad = await api('POST', '/v3/videos', generateBody(), DEFAULT_SIM_KEY, { 'idempotency-key': 'has space' });
		expect(bad.status).toBe(400);
		expect(bad.json.error.param).toBe('Idempotency-Key');
	});

	it('past concurrencyLimit renders at once, generate answers 429 with Retry-After', async () => {
		sim.renderMs = 60_000;
		sim.concurrencyLimit = 2;
		try {
			await generate();
			await generate();
			const third = await api('POST', '/v3/videos', generateBody());
			expect(third.status).toBe(429);
			expect(third.headers.get('retry-after')).toBe('1');
			expect(sim.maxConcurrentRenders).toBe(2);
		} finally {
			sim.concurrencyLimit = Number.POSITIVE_INFINITY;
		}
	});
});

describe('render progression and webhooks', () => {
	it('pending → processing → completed over renderMs, waited for with waitFor', async () => {
		sim.renderMs = 300;
		const id = await generate();
		const first = await api('GET', `/v3/videos/${id}`);
		expect(['pending', 'processing']).toContain(first.json.data.status);
		expect(first.json.data.video_url).toBeNull();
		// (Under load the first status call may already come after renderMs/4.)
		await sim.waitFor((s) => ['processing', 'completed'].includes(s.videos.get(id)!.status));
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

	it('a render ends in one place: videoFinished fires once per video', async () => {
		const finished: string[] = [];
		const on = (v: { id: string; status: string }) => finished.push(`${v.id}:${v.status}`);
		sim.events.on('videoFinished', on);
		try {
			sim.renderMs = 50;
			const a = await generate();
			sim.setFaults({ renderFails: { times: 1, code: 'boom', message: 'Render exploded' } });
			const b = await generate();
			await sim.waitFor((s) => s.videos.get(a)!.status === 'completed' && s.videos.get(b)!.status === 'failed');
			await api('GET', `/v3/videos/${a}`);
			expect(finished.sort()).toEqual([`${a}:completed`, `${b}:failed`].sort());
		} finally {
			sim.events.off('videoFinished', on);
		}
	});

	it('POSTs a one-off notification to a per-video callback_url', async () => {
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

	it('per-video behaviour from the title and from setVideoBehaviour', async () => {
		expect(parseTitleBehaviour('Intro [sim renderMs=5000 sizeBytes=1048576 failWith=oops] v2')).toEqual({
			renderMs: 5000,
			sizeBytes: 1048576,
			failWith: 'oops'
		});
		const a = await generate({ title: 'x [sim failWith=avatar_crash]' });
		const ra = await api('GET', `/v3/videos/${a}`);
		expect(ra.json.data).toMatchObject({
			status: 'failed',
			failure_code: 'avatar_crash',
			failure_message: expect.stringContaining('avatar_crash')
		});

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
		expect((await api('GET', '/v3/voices')).status).toBe(503);
		expect(sim.faults.serverError?.times).toBe(1);
		expect((await api('GET', '/v3/voices')).status).toBe(503);
		expect(sim.faults.serverError).toBeUndefined();
		expect((await api('GET', '/v3/voices')).status).toBe(200);
	});

	it('Infinity until cleared; clearFaults removes everything', async () => {
		sim.setFaults({ rateLimit: { retryAfter: 9 }, noCredit: {} });
		for (let i = 0; i < 3; i++) {
			const r = await api('GET', '/v3/avatars/looks');
			expect(r.status).toBe(429);
			expect(r.headers.get('retry-after')).toBe('9');
			expect(r.json.error.code).toBe('rate_limit_exceeded');
		}
		sim.clearFaults();
		expect((await api('GET', '/v3/avatars/looks')).status).toBe(200);
		expect((await api('POST', '/v3/videos', generateBody())).status).toBe(200);
	});

	it('502 is an HTML gateway page, 500 a JSON error', async () => {
		sim.setFaults({ serverError: { times: 1, status: 502 } });
		const r = await api('GET', '/v3/voices');
		expect(r.status).toBe(502);
		expect(r.headers.get('content-type')).toBe('text/html');
		sim.setFaults({ serverError: { times: 1 } });
		const r2 = await api('GET', '/v3/voices');
		expect(r2.status).toBe(500);
		expect(r2.json).toEqual({ error: { code: 'internal_error', message: expect.any(String), doc_url: expect.any(String) } });
	});

	it('malformedJson is a 200 that does not parse', async () => {
		sim.setFaults({ malformedJson: { times: 1 } });
		const r = await api('GET', '/v3/users/me');
		expect(r.status).toBe(200);
		expect(r.json).toBeNull();
		expect(() => JSON.parse(r.text)).toThrow();
	});

	it('noCredit → 402, invalidParameter → 400, inProgress → 409, with their codes', async () => {
		sim.setFaults({ noCredit: { times: 1 }, invalidParameter: { times: 1, param: 'voice_settings.locale' }, inProgress: { times: 1 } });
		const c = await api('POST', '/v3/videos', generateBody());
		expect(c.status).toBe(409);
		expect(c.json.error.code).toBe('request_in_progress');
		const b = await api('POST', '/v3/videos', generateBody());
		expect(b.status).toBe(400);
		expect(b.json.error).toMatchObject({ code: 'invalid_parameter', param: 'voice_settings.locale' });
		const a = await api('POST', '/v3/videos', generateBody());
		expect(a.status).toBe(402);
		expect(a.json.error.code).toBe('insufficient_credit');
		expect(sim.submits).toHaveLength(0);
	});

	it('badDownload serves an empty body, an HTML page or random bytes for the MP4', async () => {
		const id = await generate();
		for (const kind of ['empty', 'html', 'notMp4'] as const) {
			sim.setFaults({ badDownload: { kind, times: 1 } });
			const body = Buffer.from(await (await fetch(await completedUrl(id))).arrayBuffer());
			if (kind === 'empty') expect(body.length).toBe(0);
			if (kind === 'html') expect(body.toString()).toMatch(/^<html>/);
			if (kind === 'notMp4') expect(body.subarray(4, 8).toString()).not.toBe('ftyp');
		}
		expect(Buffer.from(await (await fetch(await completedUrl(id))).arrayBuffer()).equals(SAMPLE)).toBe(true);
	});

	it('hugeReply streams a body of the given size', async () => {
		sim.setFaults({ hugeReply: { bytes: 1_000_000, endpoint: 'voices', times: 1 } });
		const r = await fetch(`${sim.url}/v3/voices`, { headers: { 'x-api-key': DEFAULT_SIM_KEY } });
		expect((await r.arrayBuffer()).byteLength).toBe(1_000_000);
	});

	it('slow delays the reply; close() does not wait for it', async () => {
		const local = await startHeyGenSimulator();
		local.setFaults({ slow: { ms: 60_000 } });
		const pending = fetch(`${local.url}/v3/voices`, { headers: { 'x-api-key': DEFAULT_SIM_KEY } }).then(
			(r) => r.status,
			() => 'failed'
		);
		await local.waitFor((s) => s.requests.length === 1);
		await local.close();
		expect(await pending).toBe('failed');
	});

	it('requests are recorded with their endpoint and status', async () => {
		await api('GET', '/v3/voices');
		await api('GET', '/v3/voices', undefined, 'bad');
		await sim.waitFor((s) => s.requests.length === 2 && s.requests.every((r) => r.status !== null));
		expect(sim.requests.map((r) => [r.method, r.path, r.endpoint, r.status])).toEqual([
			['GET', '/v3/voices', 'voices', 200],
			['GET', '/v3/voices', 'voices', 401]
		]);
	});

	it('waitFor rejects after its timeout', async () => {
		await expect(sim.waitFor(() => false, 50)).rejects.toThrow(/within 50 ms/);
	});
});
