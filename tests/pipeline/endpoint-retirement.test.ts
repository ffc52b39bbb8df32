// A HeyGen key replaced or removed from SQL (set_heygen_key / delete_heygen_key) used to leave the
// old account's webhook endpoint registered at HeyGen. Now the worker deletes it with the old key,
// records the outcome in heygen_endpoint_retirements, and only then does the old key leave Vault.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerWebhook } from '../../heygen/webhook-registration.ts';
import { createWebhookApi } from '../../heygen/webhooks.ts';
import { startHeyGenSimulator, type HeyGenSimulator } from '../../heygen/simulator/server.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { seedBusiness, TEST_KEY } from '../helpers/fixtures.ts';
import { startPipeline, type Pipeline } from '../helpers/pipeline.ts';

const NEW_KEY = 'sim-retire-new-key';
const REVOKED_KEY = 'sim-retire-revoked-key';
// The simulator checks keys against the array it was given: removing one revokes it at "HeyGen".
const simKeys = [TEST_KEY, NEW_KEY, REVOKED_KEY];

let db: TestDatabase;
let sim: HeyGenSimulator;
let pipeline: Pipeline;
let listener: pg.Client;
/** `<business id>:<outcome>` of every heygen_endpoint_retired NOTIFY so far. */
const retired: string[] = [];
let heard: () => void = () => {};
// While true the worker's HeyGen webhook calls go to a closed port: a network error, which is transient.
let heygenUnreachable = false;

beforeAll(async () => {
	db = await createTestDatabase();
	sim = await startHeyGenSimulator({ validKeys: simKeys });
	pipeline = await startPipeline(db, {
		sim,
		worker: {
			webhooks: (apiKey) => createWebhookApi({ baseUrl: heygenUnreachable ? 'http://127.0.0.1:1' : sim.url, apiKey, timeoutMs: 5_000 })
		}
	});
	listener = new pg.Client(db.url);
	await listener.connect();
	listener.on('notification', (n) => {
		const p = JSON.parse(n.payload ?? '{}') as { business_id: string; outcome: string };
		retired.push(`${p.business_id}:${p.outcome}`);
		heard();
	});
	await listener.query('listen heygen_endpoint_retired');
});
afterAll(async () => {
	await listener?.end();
	await pipeline?.stop();
	await sim?.close();
	await db?.drop();
});

/** Resolves when heygen_endpoint_retirement_finish has announced this business (NOTIFY), finished unless `outcome` says. */
function retirementOf(businessId: string, outcome?: string, timeoutMs = 10_000): Promise<void> {
	const done = (e: string) => (outcome ? e === `${businessId}:${outcome}` : e.startsWith(`${businessId}:`) && !e.endsWith(':pending'));
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`no heygen_endpoint_retired for ${businessId} within ${timeoutMs} ms`)), timeoutMs);
		const check = () => {
			if (!retired.some(done)) return;
			clearTimeout(timer);
			resolve();
		};
		const before = heard;
		heard = () => {
			before();
			check();
		};
		check();
	});
}

/** A business whose key has a webhook endpoint registered at the simulator, as the app registers it. */
async function businessWithEndpoint(key: string): Promise<{ businessId: string; endpointId: string; secretId: string }> {
	const { businessId } = await seedBusiness(db, { key });
	const r = await registerWebhook(db.db, { baseUrl: sim.url, businessId, apiKey: key, origin: 'http://127.0.0.1:9' });
	if (!r.ok) throw new Error(`registration failed: ${r.message}`);
	expect(sim.webhookEndpoints.endpoints.get(r.endpointId)?.apiKey).toBe(key);
	const { rows } = await db.sql<{ id: string }>('select heygen_secret_id as id from businesses where id = $1', [businessId]);
	return { businessId, endpointId: r.endpointId, secretId: rows[0]!.id };
}

async function retirementRow(businessId: string) {
	const { rows } = await db.sql(
		`select endpoint_id, reason, outcome, error, key_secret_id, attempts, finished_at
		 from heygen_endpoint_retirements where business_id = $1`,
		[businessId]
	);
	return rows;
}

async function secretExists(id: string): Promise<boolean> {
	const { rows } = await db.sql('select 1 from vault.secrets where id = $1', [id]);
	return rows.length === 1;
}

describe('retiring the old account’s webhook endpoint', () => {
	it('set_heygen_key with a new key: the old endpoint is deleted with the old key, recorded, and the old key leaves Vault', async () => {
		const { businessId, endpointId, secretId } = await businessWithEndpoint(TEST_KEY);
		const done = retirementOf(businessId);
		await db.sql('select set_heygen_key($1, $2)', [businessId, NEW_KEY]);
		await done;
		expect(sim.webhookEndpoints.endpoints.has(endpointId)).toBe(false);
		const rows = await retirementRow(businessId);
		expect(rows).toEqual([
			{
				endpoint_id: endpointId,
				reason: 'key_replaced',
				outcome: 'deleted',
				error: null,
				key_secret_id: null,
				attempts: 1,
				finished_at: expect.any(Date)
			}
		]);
		expect(await secretExists(secretId)).toBe(false);
		const key = await db.sql('select get_heygen_key($1) as key', [businessId]);
		expect(key.rows[0].key).toBe(NEW_KEY);
		const webhook = await db.sql('select heygen_webhook_endpoint_id, heygen_webhook_secret_id from businesses where id = $1', [businessId]);
		expect(webhook.rows[0]).toEqual({ heygen_webhook_endpoint_id: null, heygen_webhook_secret_id: null });
	});

	it('delete_heygen_key: the endpoint is deleted and recorded, and no key is left in Vault', async () => {
		const { businessId, endpointId, secretId } = await businessWithEndpoint(TEST_KEY);
		const done = retirementOf(businessId);
		await db.sql('select delete_heygen_key($1)', [businessId]);
		await done;
		expect(sim.webhookEndpoints.endpoints.has(endpointId)).toBe(false);
		const rows = await retirementRow(businessId);
		expect(rows).toMatchObject([{ endpoint_id: endpointId, reason: 'key_deleted', outcome: 'deleted', key_secret_id: null }]);
		expect(await secretExists(secretId)).toBe(false);
		const left = await db.sql(`select count(*)::int as n from vault.secrets where name like '%' || $1`, [businessId]);
		expect(left.rows[0].n).toBe(0);
	});

	it('HeyGen refuses the delete (old key revoked): recorded as failed, the old key still leaves Vault, the worker carries on', async () => {
		const { businessId, endpointId, secretId } = await businessWithEndpoint(REVOKED_KEY);
		simKeys.splice(simKeys.indexOf(REVOKED_KEY), 1);
		const done = retirementOf(businessId);
		await db.sql('select set_heygen_key($1, $2)', [businessId, NEW_KEY]);
		await done;
		expect(sim.webhookEndpoints.endpoints.has(endpointId)).toBe(true);
		const [row] = await retirementRow(businessId);
		expect(row).toMatchObject({ endpoint_id: endpointId, reason: 'key_replaced', outcome: 'failed', key_secret_id: null, attempts: 1 });
		expect(row.error).toMatch(/^invalid_api_key \(HTTP 401\): HeyGen rejected the API key\./);
		expect(row.error).not.toContain(REVOKED_KEY);
		expect(await secretExists(secretId)).toBe(false);
		expect(pipeline.logs.join('')).not.toContain(REVOKED_KEY);

		// The worker is still there: the next retirement goes through.
		const next = await businessWithEndpoint(TEST_KEY);
		const nextDone = retirementOf(next.businessId);
		await db.sql('select delete_heygen_key($1)', [next.businessId]);
		await nextDone;
		expect(sim.webhookEndpoints.endpoints.has(next.endpointId)).toBe(false);
	});

	it('HeyGen unreachable: the retirement stays pending with the old key, and goes through when HeyGen is back', async () => {
		const { businessId, endpointId, secretId } = await businessWithEndpoint(TEST_KEY);
		heygenUnreachable = true;
		try {
			const pending = retirementOf(businessId, 'pending');
			await db.sql('select set_heygen_key($1, $2)', [businessId, NEW_KEY]);
			await pending;
		} finally {
			heygenUnreachable = false;
		}
		const [row] = await retirementRow(businessId);
		expect(row).toMatchObject({ endpoint_id: endpointId, outcome: null, finished_at: null, key_secret_id: secretId, attempts: 1 });
		expect(row.error).toMatch(/Could not reach HeyGen/);
		expect(await secretExists(secretId)).toBe(true);
		expect(sim.webhookEndpoints.endpoints.has(endpointId)).toBe(true);

		// Due again (instead of waiting the minute): the worker's next sweep takes it.
		const done = retirementOf(businessId, 'deleted');
		await db.sql('update heygen_endpoint_retirements set next_try_at = now() where business_id = $1', [businessId]);
		await done;
		expect(await retirementRow(businessId)).toMatchObject([{ outcome: 'deleted', error: null, key_secret_id: null, attempts: 2 }]);
		expect(sim.webhookEndpoints.endpoints.has(endpointId)).toBe(false);
		expect(await secretExists(secretId)).toBe(false);
	});

	it('re-saving the same key retires nothing; a key without an endpoint leaves Vault at once', async () => {
		const { businessId, endpointId, secretId } = await businessWithEndpoint(TEST_KEY);
		await db.sql('select set_heygen_key($1, $2)', [businessId, TEST_KEY]);
		expect(await retirementRow(businessId)).toEqual([]);
		expect(sim.webhookEndpoints.endpoints.has(endpointId)).toBe(true);

		const plain = await seedBusiness(db, { key: TEST_KEY });
		const { rows } = await db.sql<{ id: string }>('select heygen_secret_id as id from businesses where id = $1', [plain.businessId]);
		await db.sql('select delete_heygen_key($1)', [plain.businessId]);
		expect(await retirementRow(plain.businessId)).toEqual([]);
		expect(await secretExists(rows[0]!.id)).toBe(false);
		expect(await secretExists(secretId)).toBe(true);
	});
});
