/** /metrics with METRICS_TOKEN set (finding 10 of issue 11): only the bearer token opens it, loopback included. */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { startTestApp, type TestApp } from './harness.ts';

const TOKEN = 'metrics-token-0123456789abcdef';
let db: TestDatabase;
let app: TestApp;

beforeAll(async () => {
	db = await createTestDatabase();
	app = await startTestApp(db, { worker: false, env: { METRICS_TOKEN: TOKEN } });
}, 120_000);
afterAll(async () => {
	await app?.stop();
	await db?.drop();
});

test.each([
	['no authorization', {}],
	['a wrong token', { authorization: `Bearer ${TOKEN}x` }],
	['the token without the Bearer scheme', { authorization: TOKEN }],
	['basic auth', { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` }]
])('%s from loopback is 401', async (_what, headers) => {
	const r = await fetch(`${app.url}/metrics`, { headers });
	expect(r.status).toBe(401);
	expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
	const text = await r.text();
	expect(text).not.toMatch(/video_jobs/);
	expect(text).not.toContain(TOKEN);
});

test('the bearer token is answered, also through a proxy', async () => {
	const variants: Record<string, string>[] = [
		{ authorization: `Bearer ${TOKEN}` },
		{ authorization: `bearer ${TOKEN}`, 'x-forwarded-for': '203.0.113.9' }
	];
	for (const headers of variants) {
		const r = await fetch(`${app.url}/metrics`, { headers });
		expect(r.status).toBe(200);
		expect(await r.text()).toMatch(/^video_jobs\{status="queued"\} \d+$/m);
	}
});
