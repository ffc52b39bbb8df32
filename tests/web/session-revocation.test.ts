/**
 * A session ends at once: a cookie copied before logging out (or before its owner was removed from
 * the business) opens no page and writes nothing on the very next request. The outside attack found
 * both still working for about 30 s while Better Auth's cookie cache trusted the signed cookie.
 */
import { describe, expect } from 'vitest';
import type { TestDatabase } from '../helpers/db.ts';
import { webTest as test } from '../helpers/web-fixtures.ts';
import { Client, createBusiness, createContent, inviteAndAccept, signUp, type TestApp } from './harness.ts';

test.override({ appOptions: { worker: false } });

/** A second client holding a copy of another client's cookies (what an attacker captured). */
function copyOf(app: TestApp, client: Client): Client {
	const copy = new Client(app.url);
	for (const [k, v] of client.cookies) copy.cookies.set(k, v);
	return copy;
}

const contentTitled = async (db: TestDatabase, businessId: string, title: string) =>
	(await db.sql('select count(*)::int as n from content where business_id = $1 and title = $2', [businessId, title])).rows[0].n as number;

describe('a copied session cookie', () => {
	test('each session sees its own user, again and again', async ({ app }) => {
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
		const anonymous = await new Client(app.url).get('/account');
		expect(anonymous.status).toBe(303);
		expect(anonymous.headers.get('location')).toBe('/login?next=%2Faccount');
	});

	test('opens no page and creates nothing right after logout', async ({ db, app }) => {
		const { client } = await signUp(app, 'Leaving Lena');
		const b = await createBusiness(client, 'Lena Co');
		await createContent(client, b, 'Written before logging out.', 'Before');
		// Pages were served from this session (what a cookie cache would have remembered).
		expect((await client.get(`/b/${b}`)).status).toBe(200);
		expect((await client.get('/account')).status).toBe(200);
		const captured = copyOf(app, client);

		expect(await client.action('/logout', {})).toMatchObject({ type: 'redirect', location: '/login' });

		const page = await captured.get(`/b/${b}`);
		expect(page.status).toBe(303);
		expect(page.headers.get('location')).toBe(`/login?next=${encodeURIComponent(`/b/${b}`)}`);
		expect((await captured.get('/account')).status).toBe(303);
		const data = await captured.fetch(`/b/${b}/__data.json`);
		expect(await data.text()).toContain('"type":"redirect"');

		const write = await captured.action(`/b/${b}/content/new`, { title: 'After logout', body: 'Should never be saved.' });
		expect(write).toMatchObject({ type: 'redirect', location: expect.stringMatching(/^\/login\?next=/) });
		const create = await captured.action('/b?/create', { name: 'Ghost Co' });
		expect(create).toMatchObject({ type: 'redirect', location: expect.stringMatching(/^\/login/) });
		expect(await contentTitled(db, b, 'After logout')).toBe(0);
		expect((await db.sql(`select count(*)::int as n from businesses where name = 'Ghost Co'`)).rows[0].n).toBe(0);
	});

	test('opens no page of the business and writes nothing there once the member is removed', async ({ db, app }) => {
		const owner = await signUp(app, 'Owner Olga');
		const member = await signUp(app, 'Removed Rick');
		const b = await createBusiness(owner.client, 'Olga Co');
		await inviteAndAccept(owner.client, b, member.client, member.email);
		expect((await member.client.get(`/b/${b}`)).status).toBe(200);
		await createContent(member.client, b, 'Written while a member.', 'While member');

		const removal = 'delete from business_members where business_id = $1 and user_id = (select id from auth_users where email = $2)';
		await db.sql(removal, [b, member.email]);

		expect((await member.client.get(`/b/${b}`)).status).toBe(404);
		expect((await member.client.get(`/b/${b}/content/new`)).status).toBe(404);
		const write = await member.client.action(`/b/${b}/content/new`, { title: 'After removal', body: 'Should never be saved.' });
		expect(write.status).toBe(404);
		expect(await contentTitled(db, b, 'After removal')).toBe(0);
		// Still signed in: only that business is closed to them.
		expect((await member.client.get('/account')).status).toBe(200);
	});
});
