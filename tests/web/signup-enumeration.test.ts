/**
 * Sign-up tells no one which emails have accounts: a taken email gets the same status, the same
 * reply and the same kind of work (the password is hashed either way) as a new one, and the account
 * behind it is left exactly as it was. The outside attack read "This email already has an account".
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { Client, signUp, startTestApp, type TestApp } from './harness.ts';

let db: TestDatabase;
let app: TestApp;
let taken: { email: string; password: string };

beforeAll(async () => {
	db = await createTestDatabase();
	app = await startTestApp(db, { worker: false });
	taken = await signUp(app, 'Taken Tom');
}, 120_000);
afterAll(async () => {
	await app?.stop();
	await db?.drop();
});

let seq = 0;
const freshEmail = () => `fresh${Date.now().toString(36)}${seq++}@example.com`;
const PASSWORD = 'sixteen tangerine orbits';

async function timed<T>(run: () => Promise<T>): Promise<{ ms: number; value: T }> {
	const start = performance.now();
	const value = await run();
	return { ms: performance.now() - start, value };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describe('sign-up with a new or a taken email', () => {
	test('the same reply, the same status, the same kind of work', async () => {
		const fresh: number[] = [];
		const used: number[] = [];
		for (let i = 0; i < 4; i++) {
			const a = await timed(() => new Client(app.url).action('/signup', { name: 'Nora New', email: freshEmail(), password: PASSWORD }));
			const b = await timed(() => new Client(app.url).action('/signup', { name: 'Nora New', email: taken.email, password: PASSWORD }));
			expect(b.value).toEqual(a.value);
			expect(a.value).toEqual({ type: 'redirect', status: 303, location: '/login?signedUp=1', data: undefined, error: undefined });
			fresh.push(a.ms);
			used.push(b.ms);
		}
		// Both paths hash the password (the costly part); refusing a taken email before hashing made
		// that path an order of magnitude faster. A generous bound: no flaky threshold.
		expect(median(used)).toBeGreaterThan(median(fresh) / 3);
	});

	test('the raw response of a plain form post is the same too (no cookie, same Location)', async () => {
		const next = encodeURIComponent('/b?x=1');
		const post = (email: string) => new Client(app.url).post(`/signup?next=${next}`, { name: 'Nora New', email, password: PASSWORD });
		const a = await post(freshEmail());
		const b = await post(taken.email.toUpperCase());
		for (const res of [a, b]) {
			expect(res.status).toBe(303);
			expect(res.headers.get('location')).toBe(`/login?signedUp=1&next=${encodeURIComponent('/b?x=1')}`);
			expect(res.headers.getSetCookie()).toEqual([]);
		}
		expect(await b.text()).toBe(await a.text());
	});

	test('the login page it leads to says the same for both, and the taken account is unchanged', async () => {
		const query = 'select u.name, a.password from auth_users u join auth_accounts a on a.user_id = u.id where u.email = $1';
		const account = async () => (await db.sql(query, [taken.email])).rows;
		const before = await account();
		const page = await new Client(app.url).html('/login?signedUp=1');
		expect(page.status).toBe(200);
		expect(page.text).toContain('If that email was new, its account is ready; if it already had one, nothing about it changed.');

		const after = await account();
		expect(after).toEqual(before);
		expect(after[0].name).toBe('Taken Tom');
		const withNewPassword = await new Client(app.url).action('/login', { email: taken.email, password: PASSWORD });
		expect(withNewPassword.data.message).toBe('Wrong email or password.');
		expect((await new Client(app.url).action('/login', { email: taken.email, password: taken.password })).type).toBe('redirect');
	});

	test('a new email gets its account and logs in with it', async () => {
		const email = freshEmail();
		const c = new Client(app.url);
		expect((await c.action('/signup', { name: 'Nina New', email, password: PASSWORD })).type).toBe('redirect');
		expect((await db.sql('select name from auth_users where email = $1', [email])).rows).toEqual([{ name: 'Nina New' }]);
		expect(await c.action('/login', { email, password: PASSWORD })).toMatchObject({ type: 'redirect', location: '/b' });
		expect((await c.get('/b')).status).toBe(200);
	});
});
