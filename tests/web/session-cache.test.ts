/**
 * The per-process memory of Better Auth's session answers (web/lib/server/session-cache.ts): an
 * entry is found only with the exact same auth cookies, and never outlives the cookie cache that
 * Better Auth itself trusts without a query. Plus, over HTTP, the /account page (the trivial
 * page bench:web compares with) showing each session its own user.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { COOKIE_CACHE_SECONDS } from '../../web/lib/server/auth-options.ts';
import { forgetSession, rememberedSession, rememberSession, sessionCookieKey } from '../../web/lib/server/session-cache.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { Client, signUp, startTestApp, type TestApp } from './harness.ts';

const NOW = 1_800_000_000_000;
const sessionData = (expiresAt: unknown) => Buffer.from(JSON.stringify({ session: {}, expiresAt, signature: 'x' })).toString('base64url');
const session = (id: string, expiresInMs = 86_400_000) => ({
	user: { id: `u-${id}`, name: id, email: `${id}@example.com` },
	session: { id, expiresAt: new Date(NOW + expiresInMs) }
});
const cookies = (token: string, data?: string) => [
	{ name: 'theme', value: 'dark' },
	{ name: 'avatarvideos.session_token', value: token },
	...(data ? [{ name: 'avatarvideos.session_data', value: data }] : [])
];

describe('session cache', () => {
	test('keyed by the auth cookies only; no session token, no key', () => {
		const a = sessionCookieKey(cookies('tok-a', 'data'));
		expect(a).not.toBeNull();
		expect(sessionCookieKey([{ name: 'theme', value: 'light' }, ...cookies('tok-a', 'data').slice(1)])).toBe(a);
		expect(sessionCookieKey(cookies('tok-b', 'data'))).not.toBe(a);
		expect(sessionCookieKey(cookies('tok-a', 'other data'))).not.toBe(a);
		expect(sessionCookieKey([{ name: '__Secure-avatarvideos.session_token', value: 'tok-a' }])).not.toBeNull();
		expect(sessionCookieKey([{ name: 'avatarvideos.session_data', value: 'data' }])).toBeNull();
		expect(sessionCookieKey([])).toBeNull();
	});

	test("remembered until the session-data cookie's own expiry, and no longer", () => {
		const c = cookies('tok-1', sessionData(NOW + 10_000));
		const key = sessionCookieKey(c)!;
		rememberSession(key, c, session('s1'), NOW);
		expect(rememberedSession(key, NOW + 9_999)?.user.name).toBe('s1');
		expect(rememberedSession(key, NOW + 10_000)).toBeNull();
		// Gone for good once expired.
		expect(rememberedSession(key, NOW)).toBeNull();
	});

	test('a claimed expiry far ahead is capped at the cookie cache age; a session ending sooner ends it sooner', () => {
		const far = cookies('tok-2', sessionData(NOW + 365 * 86_400_000));
		rememberSession(sessionCookieKey(far)!, far, session('s2'), NOW);
		expect(rememberedSession(sessionCookieKey(far)!, NOW + COOKIE_CACHE_SECONDS * 1000 - 1)).not.toBeNull();
		expect(rememberedSession(sessionCookieKey(far)!, NOW + COOKIE_CACHE_SECONDS * 1000)).toBeNull();

		const ending = cookies('tok-3', sessionData(NOW + 20_000));
		rememberSession(sessionCookieKey(ending)!, ending, session('s3', 5_000), NOW);
		expect(rememberedSession(sessionCookieKey(ending)!, NOW + 5_000)).toBeNull();
	});

	test('nothing is remembered without a readable, unexpired session-data cookie', () => {
		for (const [token, data] of [
			['tok-4', undefined],
			['tok-5', 'not base64 json'],
			['tok-6', sessionData('tomorrow')],
			['tok-7', sessionData(NOW - 1)]
		] as const) {
			const c = cookies(token, data);
			rememberSession(sessionCookieKey(c)!, c, session(token), NOW);
			expect(rememberedSession(sessionCookieKey(c)!, NOW), token).toBeNull();
		}
	});

	test('logging out forgets every entry of that session', () => {
		const a = cookies('tok-8', sessionData(NOW + 10_000));
		const b = cookies('tok-8', sessionData(NOW + 20_000));
		const other = cookies('tok-9', sessionData(NOW + 10_000));
		rememberSession(sessionCookieKey(a)!, a, session('s8'), NOW);
		rememberSession(sessionCookieKey(b)!, b, session('s8'), NOW);
		rememberSession(sessionCookieKey(other)!, other, session('s9'), NOW);
		forgetSession('s8');
		expect(rememberedSession(sessionCookieKey(a)!, NOW)).toBeNull();
		expect(rememberedSession(sessionCookieKey(b)!, NOW)).toBeNull();
		expect(rememberedSession(sessionCookieKey(other)!, NOW)?.session.id).toBe('s9');
	});
});

describe('/account over HTTP', () => {
	let db: TestDatabase;
	let app: TestApp;
	beforeAll(async () => {
		db = await createTestDatabase();
		app = await startTestApp(db, { worker: false });
	}, 120_000);
	afterAll(async () => {
		await app?.stop();
		await db?.drop();
	});

	test('each session sees its own user, again and again; signed out goes to the login page', async () => {
		const ann = await signUp(app, 'Ann Example');
		const bob = await signUp(app, 'Bob Example');
		for (let i = 0; i < 3; i++) {
			for (const [who, name] of [
				[ann, 'Ann Example'],
				[bob, 'Bob Example']
			] as const) {
				const page = await who.client.html('/account');
				expect(page.status).toBe(200);
				expect(page.text).toContain(`<strong data-testid="account-name">${name}</strong>`);
				expect(page.text).toContain(who.email);
			}
		}
		// Only the session token, without the cached session data: Better Auth asks the database.
		const tokenOnly = new Client(app.url);
		for (const [k, v] of ann.client.cookies) if (k.endsWith('session_token')) tokenOnly.cookies.set(k, v);
		expect((await tokenOnly.html('/account')).text).toContain('Ann Example');

		const anonymous = await new Client(app.url).get('/account');
		expect(anonymous.status).toBe(303);
		expect(anonymous.headers.get('location')).toBe('/login?next=%2Faccount');

		expect((await bob.client.action('/logout', {})).type).toBe('redirect');
		const after = await bob.client.get('/account');
		expect(after.status).toBe(303);
	});
});
