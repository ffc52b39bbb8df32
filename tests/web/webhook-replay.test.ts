// A captured, correctly signed HeyGen delivery replayed with a fresh (unsigned) Heygen-Event-Id
// header is the same delivery: it is recorded once and wakes the job's poll only the first time.
// The dedupe key is what the signature covers: the body's event_id, else the body's SHA-256.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadConfig, provideConfig } from '../../config/index.ts';
import { signWebhookBody } from '../helpers/webhook-signature.ts';
import { closeDatabase } from '../../web/lib/server/db.ts';
import { receiveWebhook } from '../../web/lib/server/webhook.ts';
import { createTestDatabase, vaultEnv, type TestDatabase } from '../helpers/db.ts';
import { seedBusiness, TEST_KEY } from '../helpers/fixtures.ts';

const SECRET = 'whsec_replay_test_secret_0123456789';
let db: TestDatabase;
let dataDir: string;
let businessId: string;
let jobId: string;
const VIDEO = 'vid-replayed';

beforeAll(async () => {
	db = await createTestDatabase();
	dataDir = mkdtempSync(path.join(tmpdir(), 'hvj-replay-'));
	// The web module under test reads its settings (and the Vault root key) the way the app does.
	provideConfig(loadConfig({ DATABASE_URL: db.url, DATA_DIR: dataDir, LOG_LEVEL: 'silent', ...vaultEnv() }));
	const biz = await seedBusiness(db, { name: 'Replayed Co' });
	businessId = biz.businessId;
	await db.sql(`select * from save_heygen_webhook($1, $2, 'ep_replay', 'https://app.example/api/heygen/webhook/x', $3)`, [
		businessId,
		TEST_KEY,
		SECRET
	]);
	jobId = (await db.sql(`insert into video_jobs (content_id) values ($1) returning id`, [biz.contentId])).rows[0].id;
	await db.sql(`update video_jobs set status = 'submitting' where id = $1`, [jobId]);
	await db.sql(`update video_jobs set status = 'rendering', heygen_video_id = $2 where id = $1`, [jobId, VIDEO]);
});
afterAll(async () => {
	await closeDatabase();
	await db?.drop();
	if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

const deliver = (raw: string, eventIdHeader?: string) =>
	receiveWebhook(
		businessId,
		new Request('http://app.example/api/heygen/webhook/x', {
			method: 'POST',
			body: raw,
			headers: {
				'content-type': 'application/json',
				'Heygen-Signature': signWebhookBody(raw, SECRET),
				'Heygen-Timestamp': String(Math.floor(Date.now() / 1000)),
				...(eventIdHeader && { 'Heygen-Event-Id': eventIdHeader })
			}
		})
	);

/** Everything a delivery can change: recorded events, the job's pending polls, the last-delivery time. */
async function state() {
	const { rows } = await db.sql(
		`select (select count(*)::int from heygen_webhook_events where job_id = $1) as events,
		        (select array_agg(id::text || '@' || start_after::text order by id) from pgboss.job
		          where name = 'video.poll' and singleton_key = $1::text) as polls,
		        (select heygen_webhook_last_delivery_at::text from businesses where id = $2) as last_delivery`,
		[jobId, businessId]
	);
	return rows[0];
}

describe('replayed deliveries', () => {
	test('a body without event_id: the replay with a new header id (or none) is a duplicate and wakes nothing', async () => {
		const raw = JSON.stringify({ event_type: 'avatar_video.success', event_data: { video_id: VIDEO, callback_id: jobId } });
		const before = await state();
		expect(await deliver(raw, 'evt_captured_1')).toBe('accepted');
		const afterFirst = await state();
		expect(afterFirst.events).toBe(before.events + 1);
		expect(afterFirst.polls).not.toEqual(before.polls);
		for (const header of ['evt_forged_2', 'evt_forged_3', undefined]) {
			expect(await deliver(raw, header)).toBe('duplicate');
		}
		expect(await state()).toEqual(afterFirst);
		const { rows } = await db.sql(`select event_id from heygen_webhook_events where job_id = $1`, [jobId]);
		expect(rows.map((r) => r.event_id)).toEqual([expect.stringMatching(/^body-sha256:[0-9a-f]{64}$/)]);
	});

	test('a body with its own event_id: that signed id is the key, whatever the header says', async () => {
		const event = {
			event_type: 'avatar_video.fail',
			event_id: 'evt_in_body_7',
			event_data: { video_id: VIDEO, callback_id: jobId, msg: 'x' }
		};
		const raw = JSON.stringify(event);
		const before = await state();
		expect(await deliver(raw, 'evt_header_a')).toBe('accepted');
		const afterFirst = await state();
		expect(afterFirst.events).toBe(before.events + 1);
		expect(await deliver(raw, 'evt_header_b')).toBe('duplicate');
		// Re-signed with other bytes but the same signed event id: still the same event.
		expect(await deliver(JSON.stringify({ ...event, created_at: 1 }), 'evt_header_c')).toBe('duplicate');
		expect(await state()).toEqual(afterFirst);
		const { rows } = await db.sql(`select count(*)::int as n from heygen_webhook_events where event_id = 'evt_in_body_7'`);
		expect(rows[0].n).toBe(1);
	});
});
