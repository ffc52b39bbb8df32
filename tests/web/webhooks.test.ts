/**
 * HeyGen webhooks per account, end to end through the built app, the worker and the simulator:
 * registration on saving a key (and by the worker for a key set from SQL), completion seen within a
 * second with polling set slow, every refusal answered alike with no HeyGen call and no state
 * change, key replacement/removal, and no endpoint secret outside Vault.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect } from 'vitest';
import { signWebhookBody } from '../helpers/webhook-signature.ts';
import type { TestDatabase } from '../helpers/db.ts';
import { waitForStatus } from '../helpers/pipeline.ts';
import { webTest as test } from '../helpers/web-fixtures.ts';
import { createBusiness, createContent, generateVideo, type TestApp } from './harness.ts';

const KEY = 'sim-test-key';
const OTHER_KEY = 'sim-other-key';

// Polling slow on purpose: only a webhook can make the transfer start within a second.
test.override({
	appOptions: {
		renderMs: 300,
		sim: { validKeys: [KEY, OTHER_KEY, 'sim-third-key'] },
		settings: { pollInitialMs: 60_000, pollMaxMs: 60_000 }
	},
	studioKey: KEY
});

/** Re-checks a database condition until it holds (the poll step sends no NOTIFY of its own). */
async function until(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
		await new Promise((r) => setTimeout(r, 25));
	}
}

const endpointOf = (app: TestApp, key: string) => app.sim.webhookEndpoints.endpointsFor(key);
const statusCalls = (app: TestApp) => app.sim.requests.filter((r) => r.endpoint === 'status').length;

async function metric(app: TestApp, outcome: string): Promise<number> {
	const text = await (await fetch(`${app.url}/metrics`)).text();
	const m = new RegExp(`^heygen_webhook_deliveries_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm').exec(text);
	if (!m) throw new Error(`no heygen_webhook_deliveries_total{outcome="${outcome}"} in /metrics`);
	return Number(m[1]);
}

describe('registration when a key is saved', () => {
	test('one endpoint on that account, pointing at this business, secret only in Vault; settings shows it', async ({ db, app, studio }) => {
		const { client: c, businessId: b } = studio;
		const eps = endpointOf(app, KEY);
		expect(eps).toHaveLength(1);
		expect(eps[0]!.url).toBe(`${app.url}/api/heygen/webhook/${b}`);
		expect(eps[0]!.events).toEqual([
			'avatar_video.success',
			'avatar_video.fail',
			'video_translate.success',
			'video_translate.fail',
			'video_translate.preflight.download_failed',
			'video_translate.preflight.validation_failed'
		]);
		const { rows } = await db.sql(
			`select b.heygen_webhook_endpoint_id as id, d.decrypted_secret as secret, d.name
			 from businesses b join vault.decrypted_secrets d on d.id = b.heygen_webhook_secret_id where b.id = $1`,
			[b]
		);
		expect(rows[0]).toEqual({ id: eps[0]!.id, secret: eps[0]!.secret, name: `heygen_webhook_secret:${b}` });
		const page = await c.html(`/b/${b}/settings`);
		expect(page.text).toContain('Webhooks are active for this HeyGen account.');
		// The harness serves http, which HeyGen would refuse: the page says so.
		expect(page.text).toContain('HeyGen only delivers webhooks to');
		expect(page.text).not.toContain(eps[0]!.secret);
	});
});

describe('completion by webhook', () => {
	test('the transfer starts once the simulator finishes the render, long before the 60 s poll would', async ({ db, app, studio }) => {
		const { client: c, businessId: b } = studio;
		const content = await createContent(c, b, 'Fast by webhook.', 'Hooked [sim renderMs=2500]');
		const before = statusCalls(app);
		const jobId = await generateVideo(c, b, content);
		const rendering = await waitForStatus(db, jobId, 'rendering');
		const done = await waitForStatus(db, jobId, 'completed', 20_000);
		const video = app.sim.videos.get(rendering.heygen_video_id)!;
		const { rows } = await db.sql(`select at from video_job_events where job_id = $1 and to_status = 'transferring'`, [jobId]);
		const lagMs = (rows[0].at as Date).getTime() - video.completedAt!;
		expect(lagMs).toBeGreaterThanOrEqual(0);
		// Woken by the webhook, not by the next scheduled poll (60 s away); a bound well under that
		// interval, rather than a latency figure, so a loaded machine does not fail it.
		expect(lagMs).toBeLessThan(30_000);
		// The woken poll confirmed the status with HeyGen: one status call, not a stream of them.
		expect(statusCalls(app) - before).toBe(1);
		// The file this job stored, not just any URL (a completed row always has one).
		expect(done.video_url).toMatch(new RegExp(`/${b}/${content}/${jobId}\\.mp4$`));
		expect(done.heygen_video_id).toBe(video.id);
		const delivery = app.sim.webhookEndpoints.deliveries.find((d) => d.videoId === video.id)!;
		expect(delivery.status).toBe(204);
		const page = await c.html(`/b/${b}/settings`);
		expect(page.text).not.toMatch(/data-testid="webhook-last-delivery">none yet/);
	}, 30_000);

	test('duplicates delivered by the simulator change nothing the second time', async ({ db, app, studio }) => {
		const { client: c, businessId: b } = studio;
		app.sim.webhookEndpoints.setDeliveryOptions({ duplicates: 2 });
		try {
			const dupBefore = await metric(app, 'duplicate');
			const content = await createContent(c, b, 'Delivered thrice.', 'Thrice [sim renderMs=500]');
			const jobId = await generateVideo(c, b, content);
			const job = await waitForStatus(db, jobId, 'completed', 20_000);
			await app.sim.waitFor((s) => s.webhookEndpoints.deliveries.filter((d) => d.videoId === job.heygen_video_id).length === 3, 5000);
			expect(await metric(app, 'duplicate')).toBe(dupBefore + 2);
			const { rows } = await db.sql(`select count(*)::int as n from heygen_webhook_events where job_id = $1`, [jobId]);
			expect(rows[0].n).toBe(1);
		} finally {
			app.sim.webhookEndpoints.setDeliveryOptions({});
		}
	}, 30_000);
});

describe('refused or ignored deliveries', () => {
	let jobId: string;
	let videoId: string;
	let secret: string;
	// The helpers below build on them, so this block keeps the fixtures it needs.
	let db: TestDatabase;
	let app: TestApp;
	let b: string;

	test.beforeAll(async ({ db: database, app: testApp, studio: { client: c, businessId } }) => {
		[db, app, b] = [database, testApp, businessId];
		const content = await createContent(c, b, 'Stays rendering.', 'Long [sim renderMs=600000]');
		jobId = await generateVideo(c, b, content);
		videoId = (await waitForStatus(db, jobId, 'rendering')).heygen_video_id;
		secret = endpointOf(app, KEY)[0]!.secret;
	});

	const body = (over: Record<string, unknown> = {}) =>
		JSON.stringify({
			event_type: 'avatar_video.success',
			event_id: null,
			event_data: { video_id: videoId, callback_id: jobId, url: 'https://x.invalid/v.mp4' },
			...over
		});
	const headers = (raw: string, o: { secret?: string; ts?: number; eventId?: string } = {}) => ({
		'content-type': 'application/json',
		'Heygen-Signature': signWebhookBody(raw, o.secret ?? secret),
		'Heygen-Timestamp': String(o.ts ?? Math.floor(Date.now() / 1000)),
		'Heygen-Event-Id': o.eventId ?? `evt_${randomUUID()}`
	});
	const post = (raw: string, h: Record<string, string>, businessId = b) =>
		fetch(`${app.url}/api/heygen/webhook/${businessId}`, { method: 'POST', headers: h, body: raw });

	/** Everything a delivery could change, plus HeyGen traffic. */
	async function state() {
		const { rows } = await db.sql(
			`select (select status::text from video_jobs where id = $1) as status,
			        (select array_agg(start_after::text order by id) from pgboss.job where name = 'video.poll' and singleton_key = $1::text and state < 'active') as polls,
			        (select count(*)::int from heygen_webhook_events) as events,
			        (select heygen_webhook_last_delivery_at::text from businesses where id = $2) as last_delivery`,
			[jobId, b]
		);
		return { ...rows[0], heygenRequests: app.sim.requests.length };
	}

	async function expectRefused(outcome: string, send: () => Promise<Response>) {
		const before = await state();
		const counted = await metric(app, outcome);
		const r = await send();
		expect(r.status).toBe(204);
		expect(await r.text()).toBe('');
		expect(await state()).toEqual(before);
		expect(await metric(app, outcome)).toBe(counted + 1);
	}

	test('bad signature', async () => {
		const raw = body();
		await expectRefused('bad_signature', () => post(raw, headers(raw, { secret: 'whsec_not_the_secret' })));
		await expectRefused('bad_signature', () => post(raw, { ...headers(raw), 'Heygen-Signature': 'sha256=abc' }));
		await expectRefused('bad_signature', () => post(raw + ' ', headers(raw)));
		const { 'Heygen-Signature': _, ...unsigned } = headers(raw);
		await expectRefused('bad_signature', () => post(raw, unsigned));
	});

	test('old timestamp (and one from the future)', async () => {
		const raw = body();
		await expectRefused('stale_timestamp', () => post(raw, headers(raw, { ts: Math.floor(Date.now() / 1000) - 301 })));
		await expectRefused('stale_timestamp', () => post(raw, headers(raw, { ts: Math.floor(Date.now() / 1000) + 3600 })));
	});

	test('unknown business', async () => {
		const raw = body();
		await expectRefused('unknown_business', () => post(raw, headers(raw), randomUUID()));
	});

	test('unknown video', async () => {
		const raw = body({ event_data: { video_id: 'no-such-video', callback_id: jobId } });
		await expectRefused('unknown_video', () => post(raw, headers(raw)));
	});

	test('body over the size limit', async () => {
		const raw = body({ padding: 'x'.repeat(20_000) });
		await expectRefused('too_large', () => post(raw, headers(raw)));
	});

	test('malformed JSON or payload, even when signed', async () => {
		await expectRefused('malformed', () => post('not json', headers('not json')));
		const raw = JSON.stringify({ event_type: 'avatar_video.success', event_data: {} });
		await expectRefused('malformed', () => post(raw, headers(raw)));
	});

	test('replayed event id: the first delivery wakes the poll, the replay changes nothing', async () => {
		const raw = body();
		const h = headers(raw);
		const before = await state();
		const r1 = await post(raw, h);
		expect(r1.status).toBe(204);
		const after = await state();
		expect(after.events).toBe(before.events + 1);
		expect(after.last_delivery).not.toBe(before.last_delivery);
		// The woken poll asks HeyGen once, finds it still rendering, and schedules the next one.
		await until(async () => (await db.sql(`select poll_count from video_jobs where id = $1`, [jobId])).rows[0].poll_count >= 1);
		const settled = await state();
		await expectRefused('duplicate', () => post(raw, { ...h, 'Heygen-Timestamp': String(Math.floor(Date.now() / 1000)) }));
		expect(settled.status).toBe('rendering');
	});

	test("the simulator's forged and late deliveries are refused", async () => {
		const e = endpointOf(app, KEY)[0]!;
		const payload = JSON.parse(body());
		app.sim.webhookEndpoints.setDeliveryOptions({ lateSeconds: 900 });
		try {
			const before = await state();
			const forged = await app.sim.webhookEndpoints.deliver(e, payload, 'forged');
			const late = await app.sim.webhookEndpoints.deliver(e, payload, 'late');
			expect([forged.status, late.status]).toEqual([204, 204]);
			expect(await state()).toEqual(before);
		} finally {
			app.sim.webhookEndpoints.setDeliveryOptions({});
		}
	});
});

describe('key set from SQL', () => {
	test('the worker registers the account before the next submit; completion then arrives by webhook', async ({ db, app, studio }) => {
		const { client: c } = studio;
		// The harness's worker starts before the app's URL is known; give it the URL now.
		app.pipeline!.worker.ctx.settings.publicUrl = app.url;
		const b2 = await createBusiness(c, 'SQL Keyed');
		await db.sql(`select set_heygen_key($1, 'sim-third-key')`, [b2]);
		await db.sql(`update businesses set heygen_avatar_id = 'sim-avatar-anna', heygen_voice_id = 'sim-voice-en-1' where id = $1`, [b2]);
		expect(endpointOf(app, 'sim-third-key')).toHaveLength(0);
		const content = await createContent(c, b2, 'From SQL key.', 'SQL keyed [sim renderMs=1500]');
		const { rows } = await db.sql(`insert into video_jobs (content_id) values ($1) returning id`, [content]);
		const job = await waitForStatus(db, rows[0].id, 'completed', 15_000);
		const eps = endpointOf(app, 'sim-third-key');
		expect(eps.map((e) => e.url)).toEqual([`${app.url}/api/heygen/webhook/${b2}`]);
		expect(app.sim.webhookEndpoints.deliveries.some((d) => d.videoId === job.heygen_video_id && d.status === 204)).toBe(true);
		const r = await db.sql(`select heygen_webhook_endpoint_id, heygen_webhook_last_delivery_at from businesses where id = $1`, [b2]);
		expect(r.rows[0].heygen_webhook_endpoint_id).toBe(eps[0]!.id);
		expect(r.rows[0].heygen_webhook_last_delivery_at).not.toBeNull();
	}, 30_000);
});

describe('replacing and removing the key', () => {
	test('re-register keeps one endpoint (the old one is deleted after the new one is saved)', async ({ app, studio }) => {
		const { client: c, businessId: b } = studio;
		const old = endpointOf(app, KEY)[0]!.id;
		const r = await c.action(`/b/${b}/settings?/registerWebhook`, {});
		expect(r.type).toBe('success');
		const eps = endpointOf(app, KEY);
		expect(eps).toHaveLength(1);
		expect(eps[0]!.id).not.toBe(old);
	});

	test('replaced: old endpoint deleted at HeyGen, new one registered; removed: endpoint and both secrets gone', async ({
		db,
		app,
		studio
	}) => {
		const { client: c, businessId: b } = studio;
		const oldSecretId = (await db.sql(`select heygen_webhook_secret_id as id from businesses where id = $1`, [b])).rows[0].id;
		const k = await c.action(`/b/${b}/settings?/saveKey`, { apiKey: OTHER_KEY });
		expect(k.type).toBe('success');
		expect(endpointOf(app, KEY)).toHaveLength(0);
		const eps = endpointOf(app, OTHER_KEY);
		expect(eps).toHaveLength(1);
		expect(eps[0]!.url).toBe(`${app.url}/api/heygen/webhook/${b}`);
		const now = await db.sql(
			`select d.decrypted_secret as secret, (select count(*)::int from vault.secrets where id = $2) as old_left
			 from businesses b join vault.decrypted_secrets d on d.id = b.heygen_webhook_secret_id where b.id = $1`,
			[b, oldSecretId]
		);
		expect(now.rows[0]).toEqual({ secret: eps[0]!.secret, old_left: 0 });

		const rm = await c.action(`/b/${b}/settings?/removeKey`, {});
		expect(rm.type).toBe('success');
		expect(endpointOf(app, OTHER_KEY)).toHaveLength(0);
		const left = await db.sql(
			`select (select count(*)::int from vault.secrets where name in ($2, $3)) as secrets,
			        heygen_secret_id, heygen_webhook_secret_id, heygen_webhook_endpoint_id
			 from businesses where id = $1`,
			[b, `heygen_api_key:${b}`, `heygen_webhook_secret:${b}`]
		);
		expect(left.rows[0]).toEqual({ secrets: 0, heygen_secret_id: null, heygen_webhook_secret_id: null, heygen_webhook_endpoint_id: null });
		const page = await c.html(`/b/${b}/settings`);
		expect(page.text).not.toContain('Webhooks are active');
	});

	test("no whsec_ value anywhere outside Vault's encrypted column, nor in logs", async ({ db, app }) => {
		// A full pg_dump is not possible here (the system pg_dump is older than the server), so every
		// text-like column of every table is scanned instead; vault.secrets.secret is ciphertext.
		expect(app.sim.webhookEndpoints.deliveries.length).toBeGreaterThan(0);
		const { rows: cols } = await db.sql(
			`select table_schema, table_name, column_name from information_schema.columns c
			 join pg_class k on k.relname = c.table_name join pg_namespace n on n.oid = k.relnamespace and n.nspname = c.table_schema
			 where k.relkind in ('r', 'p') and table_schema not in ('pg_catalog', 'information_schema')
			   and data_type in ('text', 'character varying', 'json', 'jsonb', 'ARRAY', 'USER-DEFINED', 'bytea')
			   and not (table_schema = 'vault' and table_name = 'secrets' and column_name = 'secret')`
		);
		expect(cols.length).toBeGreaterThan(20);
		const hits: string[] = [];
		for (const col of cols) {
			const q = `select count(*)::int as n from ${JSON.stringify(col.table_schema)}.${JSON.stringify(col.table_name)} where ${JSON.stringify(col.column_name)}::text like '%whsec%'`;
			const { rows } = await db.sql(q);
			if (rows[0].n > 0) hits.push(`${col.table_schema}.${col.table_name}.${col.column_name}`);
		}
		expect(hits).toEqual([]);
		const logs = [...app.logs, ...app.pipeline!.logs].join('\n');
		expect(logs).not.toContain('whsec_');
	});
});
