/**
 * The account page (issue 24 "Account") and the membership rules behind it, over HTTP against the
 * built app: change name and password (the current password required), list and end one's own
 * sessions, leave a business — the last owner cannot, also not by plain SQL (db/migrations/0028) —
 * and invitations for oneself or an existing member are refused with the reason. Plus the login
 * page saying why it came up (`?next=`) and the header's way to the account.
 */
import { describe, expect, vi } from 'vitest';
import type { TestDatabase } from '../helpers/db.ts';
import { webTest as test } from '../helpers/web-fixtures.ts';
import { Client, createBusiness, inviteAndAccept, signUp } from './harness.ts';

test.override({ appOptions: { worker: false } });
// The first test also starts the file's app (a file-scoped fixture), which on a busy machine takes a while.
vi.setConfig({ testTimeout: 90_000 });

const LAST_OWNER =
	'The last owner of a business cannot leave it or stop being an owner. Make another member an owner first, or delete the business.';
const NEW_PASSWORD = 'violet tractor sings at dawn';

async function logIn(base: string, email: string, password: string): Promise<Client> {
	const c = new Client(base);
	const r = await c.action('/login', { email, password });
	if (r.type !== 'redirect') throw new Error(`log-in failed: ${JSON.stringify(r)}`);
	return c;
}
const sessionCount = async (db: TestDatabase, email: string) =>
	(await db.sql('select count(*)::int as n from auth_sessions s join auth_users u on u.id = s.user_id where u.email = $1', [email])).rows[0]
		.n as number;
const signedIn = async (c: Client) => (await c.get('/account')).status === 200;

describe('name and password', () => {
	test('the name is changed; an empty one is refused', async ({ db, owner }) => {
		const c = owner.client;
		const empty = await c.action('/account?/rename', { name: '   ' });
		expect(empty).toMatchObject({ type: 'failure', status: 400 });
		expect(empty.data.errors).toEqual({ name: 'Enter your name.' });
		const r = await c.action('/account?/rename', { name: 'Olivia Owner' });
		expect(r.type).toBe('success');
		expect((await db.sql('select name from auth_users where email = $1', [owner.email])).rows[0].name).toBe('Olivia Owner');
		expect((await c.html('/account')).text).toContain('data-testid="account-name">Olivia Owner<');
		// Without JavaScript: back on /account, no ?/rename left in the address.
		const plain = await c.post('/account?/rename', { name: 'Olivia O.' });
		expect(plain.status).toBe(303);
		expect(plain.headers.get('location')).toBe('/account');
		expect((await c.html('/account')).text).toContain('Your name is saved.');
	});

	test('the password needs the current one; the change can sign out the other sessions', async ({ app, db, owner }) => {
		const c = owner.client;
		const other = await logIn(app.url, owner.email, owner.password);
		expect(await sessionCount(db, owner.email)).toBe(2);

		const wrong = await c.action('/account?/changePassword', {
			currentPassword: 'not my password',
			newPassword: NEW_PASSWORD,
			endOthers: 'on'
		});
		expect(wrong).toMatchObject({ type: 'failure', status: 400 });
		expect(wrong.data.errors).toEqual({ currentPassword: 'That is not your current password.' });
		expect(JSON.stringify(wrong.data)).not.toContain('not my password');
		const weak = await c.action('/account?/changePassword', { currentPassword: owner.password, newPassword: 'password1234' });
		expect(weak.data.errors.newPassword).toBeTruthy();
		// Nothing changed yet: the old password still logs in.
		await logIn(app.url, owner.email, owner.password);

		const ok = await c.action('/account?/changePassword', { currentPassword: owner.password, newPassword: NEW_PASSWORD, endOthers: 'on' });
		expect(ok.type).toBe('success');
		expect(ok.data.message).toBe('Your password is changed, and every other session is signed out.');
		expect(await signedIn(c)).toBe(true);
		expect(await signedIn(other)).toBe(false);
		expect(await sessionCount(db, owner.email)).toBe(1);
		expect((await new Client(app.url).action('/login', { email: owner.email, password: owner.password })).type).toBe('failure');
		await logIn(app.url, owner.email, NEW_PASSWORD);
	});
});

describe('sessions', () => {
	test('lists my sessions, ends one, then all others; never the current one or someone else’s', async ({ app, db, owner }) => {
		const c = owner.client;
		const phone = await logIn(app.url, owner.email, owner.password);
		const tablet = await logIn(app.url, owner.email, owner.password);
		const page = (await c.html('/account')).text;
		expect(page.match(/data-testid="session"/g)).toHaveLength(3);
		expect(page).toContain('This browser');

		const ids = (
			await db.sql('select s.id, s.token from auth_sessions s join auth_users u on u.id = s.user_id where u.email = $1', [owner.email])
		).rows as { id: string; token: string }[];
		const phoneToken = decodeURIComponent(phone.cookies.get('avatarvideos.session_token')!).split('.')[0];
		const phoneId = ids.find((s) => s.token === phoneToken)!.id;
		const ended = await c.action('/account?/endSession', { sessionId: phoneId });
		expect(ended.type).toBe('success');
		expect(await signedIn(phone)).toBe(false);
		expect(await signedIn(tablet)).toBe(true);

		// Someone else's session, or one already ended: refused, nothing ends.
		const stranger = await signUp(app, 'Stranger');
		const theirs = (
			await db.sql('select s.id from auth_sessions s join auth_users u on u.id = s.user_id where u.email = $1', [stranger.email])
		).rows[0].id;
		expect(await c.action('/account?/endSession', { sessionId: theirs })).toMatchObject({ type: 'failure', status: 404 });
		expect(await signedIn(stranger.client)).toBe(true);

		const rest = await c.action('/account?/endOtherSessions', {});
		expect(rest.data.message).toBe('1 other session signed out.');
		expect(await signedIn(tablet)).toBe(false);
		expect(await signedIn(c)).toBe(true);
	});
});

describe('leaving a business', () => {
	test('a member leaves; the last owner cannot (also not by SQL); with a second owner the first can', async ({ app, db, owner }) => {
		const b = owner.businessId;
		const mate = await signUp(app, 'Mia Member');
		await inviteAndAccept(owner.client, b, mate.client, mate.email, 'admin');
		expect((await mate.client.html('/account')).text).toContain(`${owner.name}'s business`);

		const left = await mate.client.action('/account?/leave', { businessId: b });
		expect(left).toMatchObject({ type: 'success' });
		expect(left.data.message).toBe(`You left ${owner.name}'s business.`);
		expect((await mate.client.get(`/b/${b}`)).status).toBe(404);

		const refused = await owner.client.action('/account?/leave', { businessId: b });
		expect(refused).toMatchObject({ type: 'failure', status: 409 });
		expect(refused.data.message).toBe(LAST_OWNER);
		expect((await owner.client.get(`/b/${b}`)).status).toBe(200);
		// The rule is SQL's: a plain DELETE or a demotion is refused the same way.
		const ownerId = (await db.sql('select id from auth_users where email = $1', [owner.email])).rows[0].id;
		await expect(db.sql('delete from business_members where business_id = $1 and user_id = $2', [b, ownerId])).rejects.toMatchObject({
			detail: 'last_owner',
			message: LAST_OWNER
		});
		await expect(
			db.sql(`update business_members set role = 'admin' where business_id = $1 and user_id = $2`, [b, ownerId])
		).rejects.toMatchObject({
			detail: 'last_owner'
		});

		// A second owner: now the first may go. Deleting the business takes its last owner with it.
		await inviteAndAccept(owner.client, b, mate.client, mate.email);
		await db.sql(
			`update business_members set role = 'owner' where business_id = $1 and user_id = (select id from auth_users where email = $2)`,
			[b, mate.email]
		);
		expect((await owner.client.action('/account?/leave', { businessId: b })).type).toBe('success');
		await db.sql('delete from businesses where id = $1', [b]);
		expect((await db.sql('select count(*)::int as n from business_members where business_id = $1', [b])).rows[0].n).toBe(0);
	});

	test('leaving a business one is not in is a 404', async ({ app, owner }) => {
		const other = await signUp(app, 'Other Owner');
		const theirs = await createBusiness(other.client, 'Not Yours Ltd');
		expect(await owner.client.action('/account?/leave', { businessId: theirs })).toMatchObject({ type: 'error', status: 404 });
	});
});

describe('invitations', () => {
	test('inviting oneself or an existing member is refused with the reason; nothing is saved', async ({ app, db, owner }) => {
		const b = owner.businessId;
		const self = await owner.client.action(`/b/${b}/members?/invite`, { email: owner.email.toUpperCase(), role: 'admin' });
		expect(self).toMatchObject({ type: 'failure', status: 409 });
		expect(self.data.errors.email).toBe(`You cannot invite yourself: ${owner.email} is your own email, and you are already a member.`);
		const mate = await signUp(app, 'Max Member');
		await inviteAndAccept(owner.client, b, mate.client, mate.email);
		const again = await owner.client.action(`/b/${b}/members?/invite`, { email: mate.email, role: 'member' });
		expect(again).toMatchObject({ type: 'failure', status: 409 });
		expect(again.data.errors.email).toBe(`${mate.email} is already a member of this business.`);
		expect((await db.sql('select count(*)::int as n from business_invitations where business_id = $1', [b])).rows[0].n).toBe(0);
		// A new email is still invited.
		expect((await owner.client.action(`/b/${b}/members?/invite`, { email: 'new.person@example.com', role: 'member' })).type).toBe(
			'success'
		);
	});
});

describe('getting there', () => {
	test('every signed-in page links to the account from the header', async ({ owner }) => {
		for (const path of ['/b', `/b/${owner.businessId}`, `/b/${owner.businessId}/settings`])
			expect((await owner.client.html(path)).text).toMatch(/<a[^>]*href="\/account"[^>]*data-testid="account-link"/);
	});

	test('the login page says why it came up, and sign-up keeps the destination', async ({ app, owner }) => {
		const anon = new Client(app.url);
		const res = await anon.get(`/b/${owner.businessId}/settings`);
		expect(res.status).toBe(303);
		const location = res.headers.get('location')!;
		const login = (await anon.html(location)).text;
		expect(login).toContain('Log in to continue to the HeyGen settings.');
		expect(login).toContain(`href="/signup?next=${encodeURIComponent(`/b/${owner.businessId}/settings`)}"`);
		expect((await anon.html('/login')).text).not.toContain('Log in to continue to');
		// A crafted next cannot put its own words on the page.
		const crafted = (await anon.html(`/login?next=${encodeURIComponent('/<b>Pay here</b>')}`)).text;
		expect(crafted).toContain('Log in to continue to the page you asked for.');
		expect(crafted).not.toContain('Pay here</b>');
		const signup = (await anon.html(`/signup?next=${encodeURIComponent('/account')}`)).text;
		expect(signup).toContain('href="/login?next=%2Faccount"');
	});
});
