// The simulator's per-key account switches (sim.setAccount), which the spend-guard tests flip while
// jobs are queued: out of credit (402 on every create, nothing left at /v3/users/me) and revoked
// (401 on every call), for one key only, until restored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHeyGenClient } from '../../heygen/index.ts';
import { startHeyGenSimulator, type HeyGenSimulator } from '../../heygen/simulator/server.ts';

const DRY = 'sim-key-dry';
const FUNDED = 'sim-key-funded';

describe('simulator accounts', () => {
	let sim: HeyGenSimulator;
	beforeAll(async () => {
		sim = await startHeyGenSimulator({ validKeys: [DRY, FUNDED] });
	});
	afterAll(() => sim?.close());

	const client = (key: string) => createHeyGenClient({ baseUrl: sim.url, apiKey: key, timeoutMs: 2000 });
	const generate = (key: string) =>
		fetch(`${sim.url}/v3/videos`, {
			method: 'POST',
			headers: { 'x-api-key': key, 'content-type': 'application/json' },
			body: JSON.stringify({ type: 'avatar', avatar_id: 'sim-avatar-anna', voice_id: 'sim-voice-en-1', script: 'Hello' })
		});

	it('out of credit: 402 insufficient_credit for that key only, and /v3/users/me shows nothing left; null restores it', async () => {
		sim.setAccount({ outOfCredit: true }, DRY);
		const refused = await generate(DRY);
		expect(refused.status).toBe(402);
		expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('insufficient_credit');
		expect((await generate(FUNDED)).status).toBe(200);
		expect((await client(DRY).account()).credits.remaining).toBe(0);
		expect((await client(FUNDED).account()).credits.remaining).toBe(120.5);
		sim.setAccount(null, DRY);
		expect((await generate(DRY)).status).toBe(200);
		expect((await client(DRY).account()).credits.remaining).toBe(120.5);
	});

	it('revoked: every call with that key answers 401 until restored', async () => {
		sim.setAccount({ revoked: true }, FUNDED);
		expect((await generate(FUNDED)).status).toBe(401);
		await expect(client(FUNDED).account()).rejects.toMatchObject({ code: 'invalid_api_key', httpStatus: 401 });
		expect((await generate(DRY)).status).toBe(200);
		sim.reset();
		expect((await client(FUNDED).account()).credits.remaining).toBe(120.5);
	});
});
