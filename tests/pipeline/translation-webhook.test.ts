/**
 * A `video_translate.success` delivery wakes the translation's poll: with polling set to a minute,
 * the job moves on to its transfer within about a second of HeyGen finishing. The delivery goes
 * through the app's own webhook handler (web/lib/server/webhook.ts), signed by the simulator with
 * the endpoint's secret, as HeyGen would send it.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, provideConfig } from '../../config/index.ts';
import { startHeyGenSimulator, type HeyGenSimulator, type SimVideo } from '../../heygen/simulator/server.ts';
import { webhookUrl } from '../../heygen/webhook-registration.ts';
import { createWebhookApi, WEBHOOK_EVENTS } from '../../heygen/webhooks.ts';
import { closeDatabase } from '../../web/lib/server/db.ts';
import { handleWebhook } from '../../web/lib/server/webhook.ts';
import { createTestDatabase, vaultEnv, type TestDatabase } from '../helpers/db.ts';
import { insertJob, seedBusiness, TEST_KEY } from '../helpers/fixtures.ts';
import { FAST_SETTINGS, startPipeline, waitForStatus, type Pipeline } from '../helpers/pipeline.ts';
import { translate, translationsFor } from '../helpers/translations.ts';

let db: TestDatabase;
let sim: HeyGenSimulator;
let p: Pipeline;
let receiver: Server;
let dataDir: string;
let origin: string;

beforeAll(async () => {
	db = await createTestDatabase();
	dataDir = mkdtempSync(path.join(tmpdir(), 'hvj-hook-'));
	provideConfig(loadConfig({ DATABASE_URL: db.url, DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...vaultEnv() }));
	sim = await startHeyGenSimulator({ renderMs: 300 });
	// The app's webhook route, without the rest of the app.
	receiver = createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('end', () => {
			const businessId = req.url!.split('/').at(-1)!;
			const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]));
			void handleWebhook(businessId, new Request(`http://app${req.url}`, { method: 'POST', headers, body: Buffer.concat(chunks) })).then(
				(r) => res.writeHead(r.status).end()
			);
		});
	});
	receiver.listen(0, '127.0.0.1');
	await once(receiver, 'listening');
	// Polling slow on purpose: only the webhook can make the transfer start within a second.
	origin = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
	p = await startPipeline(db, {
		sim,
		worker: { settings: { ...FAST_SETTINGS, pollInitialMs: 60_000, pollMaxMs: 60_000, publicUrl: origin } }
	});
}, 60_000);
afterAll(async () => {
	await p?.stop();
	await sim?.close();
	receiver?.close();
	await closeDatabase();
	await db?.drop();
	if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('webhooks for translations', () => {
	it('video_translate.success moves the job to its transfer within about a second, polling set to a minute', async () => {
		const { businessId, contentId } = await seedBusiness(db, { name: 'Hooked' });
		const url = webhookUrl(origin, businessId);
		const endpoint = await createWebhookApi({ baseUrl: sim.url, apiKey: TEST_KEY }).createEndpoint(url);
		expect(endpoint.events).toEqual(expect.arrayContaining(['video_translate.success', 'video_translate.fail']));
		await db.sql('select * from save_heygen_webhook($1, $2, $3, $4, $5)', [businessId, TEST_KEY, endpoint.id, url, endpoint.secret]);

		// The source renders and is woken by avatar_video.success the same way.
		const source = await waitForStatus(db, await insertJob(db, contentId), 'completed', 10_000);
		const [id] = await translate(db, source.id, ['German']);
		await waitForStatus(db, id!, 'rendering');
		const [made] = translationsFor(sim, id!);
		const finishedAt = await new Promise<number>((resolve) => {
			const seen = (v: SimVideo) => {
				if (v.id !== made!.id) return;
				sim.events.off('videoFinished', seen);
				resolve(Date.now());
			};
			sim.events.on('videoFinished', seen);
			if (made!.completedAt) resolve(made!.completedAt);
		});
		await waitForStatus(db, id!, ['transferring', 'completed'], 5_000);
		expect(Date.now() - finishedAt).toBeLessThan(1_500);
		const job = await waitForStatus(db, id!, ['completed', 'failed'], 10_000);
		expect(job.status).toBe('completed');
		const delivery = sim.webhookEndpoints.deliveries.find((d) => d.videoId === made!.id);
		expect([delivery?.eventType, delivery?.status]).toEqual(['video_translate.success', 204]);
		expect(JSON.parse(delivery!.body).event_data).toMatchObject({ video_translate_id: made!.id, output_language: 'German' });
	});

	it('an endpoint registered before translations (avatar events only) is registered again with every event', async () => {
		const { businessId, contentId } = await seedBusiness(db, { name: 'Old endpoint' });
		const url = webhookUrl(origin, businessId);
		const old = await createWebhookApi({ baseUrl: sim.url, apiKey: TEST_KEY }).createEndpoint(url, [
			'avatar_video.success',
			'avatar_video.fail'
		]);
		await db.sql('select * from save_heygen_webhook($1, $2, $3, $4, $5)', [businessId, TEST_KEY, old.id, url, old.secret]);
		const ours = () => sim.webhookEndpoints.endpointsFor(TEST_KEY).filter((e) => e.url === url);
		// Before the business's next submit, the worker notices and registers again.
		const job = await waitForStatus(db, await insertJob(db, contentId), 'completed', 10_000);
		const [now] = ours();
		expect(ours()).toHaveLength(1);
		expect([now!.id === old.id, now!.events]).toEqual([false, [...WEBHOOK_EVENTS]]);
		const { rows } = await db.sql('select heygen_webhook_endpoint_id as id from businesses where id = $1', [businessId]);
		expect(rows[0].id).toBe(now!.id);
		expect(job.status).toBe('completed');
	});
});
