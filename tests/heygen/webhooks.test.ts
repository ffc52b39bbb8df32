/**
 * heygen/webhooks.ts against the simulator's webhook endpoints (heygen/simulator/webhooks.ts):
 * create/list/delete per account with zod-parsed replies and v3 errors, and signed deliveries
 * (normal, duplicate, late, forged) to a receiver when a render finishes.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isHeyGenError } from '../../heygen/errors.ts';
import { createWebhookApi, verifyWebhookSignature, WEBHOOK_EVENTS, webhookTimestampFresh } from '../../heygen/webhooks.ts';
import { startHeyGenSimulator, type HeyGenSimulator } from '../../heygen/simulator/server.ts';

let sim: HeyGenSimulator;
let receiver: Server;
let receiverUrl: string;
const received: { headers: Record<string, string>; body: Buffer }[] = [];

beforeAll(async () => {
	sim = await startHeyGenSimulator({ renderMs: 0, validKeys: ['key-a', 'key-b'] });
	receiver = createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('end', () => {
			received.push({ headers: req.headers as Record<string, string>, body: Buffer.concat(chunks) });
			res.writeHead(204).end();
		});
	});
	await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
	const a = receiver.address();
	receiverUrl = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/hook`;
});
afterAll(async () => {
	await sim?.close();
	receiver?.closeAllConnections();
	await new Promise<void>((r) => receiver.close(() => r()));
});

const apiA = () => createWebhookApi({ baseUrl: sim.url, apiKey: 'key-a', timeoutMs: 2000 });
const apiB = () => createWebhookApi({ baseUrl: sim.url, apiKey: 'key-b', timeoutMs: 2000 });

async function heygenError(p: Promise<unknown>) {
	try {
		await p;
	} catch (err) {
		if (isHeyGenError(err)) return err;
		throw err;
	}
	throw new Error('expected a HeyGenError');
}

describe('endpoint API', () => {
	test('create returns a whsec_ secret once; list shows it without; each account sees only its own', async () => {
		const ep = await apiA().createEndpoint(receiverUrl);
		expect(ep).toMatchObject({ url: receiverUrl, events: [...WEBHOOK_EVENTS], status: 'enabled' });
		expect(WEBHOOK_EVENTS).toEqual(expect.arrayContaining(['avatar_video.success', 'avatar_video.fail', 'video_translate.success']));
		expect(ep.secret).toMatch(/^whsec_/);
		const listed = await apiA().listEndpoints();
		expect(listed.map((e) => e.id)).toContain(ep.id);
		expect(JSON.stringify(listed)).not.toContain(ep.secret);
		expect((await apiB().listEndpoints()).map((e) => e.id)).not.toContain(ep.id);
		// Another account cannot delete it (404 counts as gone for the caller, the endpoint stays).
		await apiB().deleteEndpoint(ep.id);
		expect(sim.webhookEndpoints.endpoints.has(ep.id)).toBe(true);
		await apiA().deleteEndpoint(ep.id);
		expect(sim.webhookEndpoints.endpoints.has(ep.id)).toBe(false);
		await apiA().deleteEndpoint(ep.id); // already gone: no error
	});

	test('errors: bad key, bad URL, bad events — v3 envelope, never the key', async () => {
		const bad = await heygenError(createWebhookApi({ baseUrl: sim.url, apiKey: 'nope-key' }).createEndpoint(receiverUrl));
		expect(bad).toMatchObject({ code: 'invalid_api_key', kind: 'permanent', httpStatus: 401 });
		expect(bad.message).not.toContain('nope-key');
		const url = await heygenError(apiA().createEndpoint('ftp://x'));
		expect(url).toMatchObject({ code: 'invalid_parameter', kind: 'permanent', httpStatus: 400 });
		expect(url.message).toContain('(url)');
		const ev = await heygenError(apiA().createEndpoint(receiverUrl, ['avatar_video.nope']));
		expect(ev.message).toContain('(events)');
		sim.webhookEndpoints.requireHttps = true;
		try {
			// A known code's message is ours, not HeyGen's (heygen/heygen-said.ts); the field is named.
			expect((await heygenError(apiA().createEndpoint(receiverUrl))).message).toBe(
				'HeyGen refused the request POST /v3/webhooks/endpoints (url). A setting has a value HeyGen does not accept.'
			);
		} finally {
			sim.webhookEndpoints.requireHttps = false;
		}
	});

	test('a reply of the wrong shape is a retryable bad_response naming the field', async () => {
		const fake: typeof fetch = async () =>
			new Response(JSON.stringify({ data: { endpoint_id: 'ep1', url: 'https://x' } }), { status: 200 });
		const err = await heygenError(createWebhookApi({ baseUrl: 'http://unused', apiKey: 'k', fetch: fake }).createEndpoint('https://x'));
		expect(err).toMatchObject({ code: 'bad_response', kind: 'retryable' });
		expect(err.message).toContain('data.secret');
	});
});

describe('signed deliveries when a render finishes', () => {
	async function render(key: string, callbackId: string): Promise<string> {
		const r = await fetch(`${sim.url}/v3/videos`, {
			method: 'POST',
			headers: { 'x-api-key': key, 'content-type': 'application/json' },
			body: JSON.stringify({
				type: 'avatar',
				avatar_id: 'sim-avatar-anna',
				voice_id: 'sim-voice-en-1',
				script: 'Hi',
				callback_id: callbackId
			})
		});
		return ((await r.json()) as { data: { video_id: string } }).data.video_id;
	}

	test("the submitting account's endpoints get a v3-signed event; duplicates, late and forged on request", async () => {
		const ep = await apiA().createEndpoint(receiverUrl);
		const other = await apiB().createEndpoint(receiverUrl);
		received.length = 0;
		const videoId = await render('key-a', 'job-1');
		await sim.waitFor((s) => s.webhookEndpoints.deliveries.some((d) => d.videoId === videoId));
		expect(received).toHaveLength(1);
		const d = received[0]!;
		expect(verifyWebhookSignature(d.body, d.headers['heygen-signature'], ep.secret)).toBe(true);
		expect(verifyWebhookSignature(d.body, d.headers['heygen-signature'], other.secret)).toBe(false);
		expect(webhookTimestampFresh(d.headers['heygen-timestamp'])).toBe(true);
		const payload = JSON.parse(d.body.toString());
		expect(payload).toMatchObject({
			event_type: 'avatar_video.success',
			event_id: d.headers['heygen-event-id'],
			event_data: { video_id: videoId, callback_id: 'job-1' }
		});
		expect(payload.event_data.url).toMatch(/^http/);

		received.length = 0;
		sim.webhookEndpoints.setDeliveryOptions({ duplicates: 2 });
		const v2 = await render('key-a', 'job-2');
		await sim.waitFor((s) => s.webhookEndpoints.deliveries.filter((x) => x.videoId === v2).length === 3);
		expect(new Set(received.map((r) => r.headers['heygen-event-id'])).size).toBe(1);
		expect(received.every((r) => verifyWebhookSignature(r.body, r.headers['heygen-signature'], ep.secret))).toBe(true);

		received.length = 0;
		sim.webhookEndpoints.setDeliveryOptions({ lateSeconds: 600 });
		const v3 = await render('key-a', 'job-3');
		await sim.waitFor((s) => s.webhookEndpoints.deliveries.some((x) => x.videoId === v3));
		expect(webhookTimestampFresh(received[0]!.headers['heygen-timestamp'])).toBe(false);

		received.length = 0;
		sim.webhookEndpoints.setDeliveryOptions({ forged: true });
		const v4 = await render('key-a', 'job-4');
		await sim.waitFor((s) => s.webhookEndpoints.deliveries.some((x) => x.videoId === v4));
		expect(verifyWebhookSignature(received[0]!.body, received[0]!.headers['heygen-signature'], ep.secret)).toBe(false);
		sim.webhookEndpoints.setDeliveryOptions({});
	});

	test('a failed render sends avatar_video.fail with msg', async () => {
		await apiA().createEndpoint(receiverUrl);
		sim.setFaults({ renderFails: { times: 1, message: 'Blocked words' } });
		received.length = 0;
		const videoId = await render('key-a', 'job-fail');
		await sim.waitFor((s) => s.webhookEndpoints.deliveries.some((d) => d.videoId === videoId));
		const body = JSON.parse(received[0]!.body.toString());
		expect(body).toMatchObject({ event_type: 'avatar_video.fail', event_data: { video_id: videoId, msg: 'Blocked words' } });
	});
});
