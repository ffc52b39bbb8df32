/**
 * Who may manage a business's members, and what removing a member does: plain members cannot invite
 * or remove anyone (403), the only owner cannot be removed (409), and a removed member's open
 * live-status stream is closed. Each test has an owner and business of its own (webTest fixtures).
 */
import { describe, expect } from 'vitest';
import type { TestDatabase } from '../helpers/db.ts';
import { type Owner, webTest as test } from '../helpers/web-fixtures.ts';
import { type Client, inviteAndAccept, signUp, type TestApp } from './harness.ts';

test.override({ appOptions: { worker: false } });

const members = async (db: TestDatabase, b: string) =>
	(
		await db.sql(
			`select u.email, m.role from business_members m join auth_users u on u.id = m.user_id where m.business_id = $1 order by u.email`,
			[b]
		)
	).rows;
const userId = async (db: TestDatabase, email: string) =>
	(await db.sql(`select id from auth_users where email = $1`, [email])).rows[0].id as string;
const ownerIdOf = async (db: TestDatabase, b: string) =>
	(await db.sql(`select user_id from business_members where business_id = $1 and role = 'owner'`, [b])).rows[0].user_id as string;

/** Adds a freshly signed-up user to the owner's business as a plain member; returns their client and email. */
async function plainMember(app: TestApp, owner: Owner, name: string): Promise<{ client: Client; email: string }> {
	const { client, email } = await signUp(app, name);
	await inviteAndAccept(owner.client, owner.businessId, client, email);
	return { client, email };
}

const LAST_OWNER =
	'The last owner of a business cannot leave it or stop being an owner. Make another member an owner first, or delete the business.';

describe('members page', () => {
	test("a plain member's invite and remove are refused with 403 and change nothing", async ({ app, db, owner }) => {
		const b = owner.businessId;
		const { client: mike } = await plainMember(app, owner, 'Mike Member');
		const { email: newcomer } = await signUp(app, 'Nina Newcomer');
		const before = await members(db, b);
		const invite = await mike.action(`/b/${b}/members?/invite`, { email: newcomer, role: 'admin' });
		expect(invite).toMatchObject({ type: 'error', status: 403 });
		expect((await db.sql(`select count(*)::int as n from business_invitations where business_id = $1`, [b])).rows[0].n).toBe(0);
		const ownerId = await ownerIdOf(db, b);
		const remove = await mike.action(`/b/${b}/members?/remove`, { userId: ownerId });
		expect(remove).toMatchObject({ type: 'error', status: 403 });
		expect(await members(db, b)).toEqual(before);
	});

	test('the only owner cannot be removed (409), and stays', async ({ db, owner: { client: owner, businessId: b } }) => {
		const before = await members(db, b);
		const ownerId = await ownerIdOf(db, b);
		const r = await owner.action(`/b/${b}/members?/remove`, { userId: ownerId });
		expect(r.type).toBe('failure');
		expect(r.status).toBe(409);
		expect(r.data.message).toBe(LAST_OWNER);
		expect(await members(db, b)).toEqual(before);
		// Without JavaScript the page says so too, back on its own URL.
		const plain = await owner.post(`/b/${b}/members?/remove`, { userId: ownerId });
		expect(plain.status).toBe(303);
		expect(plain.headers.get('location')).toBe(`/b/${b}/members`);
		expect((await owner.html(`/b/${b}/members`)).text).toContain(LAST_OWNER);
	});
});

describe('live status after removal', () => {
	test('removing a member while their live stream is open closes the stream', async ({ app, db, owner }) => {
		const b = owner.businessId;
		const { client: leaving, email } = await plainMember(app, owner, 'Lena Leaving');
		const res = await leaving.get(`/b/${b}/events`, { accept: 'text/event-stream' });
		expect(res.status).toBe(200);
		const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
		let text = '';
		while (!text.includes(': live')) {
			const { value, done } = await reader.read();
			if (done) throw new Error(`stream ended before it was live: ${text}`);
			text += value;
		}
		const removed = await owner.client.action(`/b/${b}/members?/remove`, { userId: await userId(db, email) });
		expect(removed.type).toBe('success');
		// Ends (done) within 2 s; a stream left open is cut off by this timeout.
		const ended = await new Promise<boolean>((resolve) => {
			const timer = setTimeout(() => resolve(false), 2_000);
			void (async () => {
				for (;;) {
					const { done } = await reader.read();
					if (done) break;
				}
				clearTimeout(timer);
				resolve(true);
			})().catch(() => resolve(false));
		});
		await reader.cancel().catch(() => {});
		expect(ended).toBe(true);
	});
});
