/**
 * Accounts and the form actions, over HTTP against the built app: every bad input gets a clear
 * message and changes nothing; the API key is checked with HeyGen before it is stored and never
 * comes back in a response or a log line.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { waitForStatus } from '../helpers/pipeline.ts';
import {
	Client,
	configureHeyGen,
	createBusiness,
	createContent,
	GENERATE_DEFAULTS,
	generateFormKey,
	inviteAndAccept,
	signUp,
	startTestApp,
	type TestApp
} from './harness.ts';

let db: TestDatabase;
let app: TestApp;

beforeAll(async () => {
	db = await createTestDatabase();
	app = await startTestApp(db, { renderMs: 200 });
}, 120_000);
afterAll(async () => {
	await app?.stop();
	await db?.drop();
});

const count = async (sql: string, params: unknown[] = []) => (await db.sql(sql, params)).rows[0].n as number;

describe('accounts', () => {
	test('sign-up validates each field and keeps what was typed (never the password)', async () => {
		const c = new Client(app.url);
		const r = await c.action('/signup', { name: '', email: 'not-an-email', password: 'short' });
		expect(r.type).toBe('failure');
		expect(r.status).toBe(400);
		expect(r.data.errors).toEqual({
			name: 'Enter your name.',
			email: 'Enter a valid email address, like name@example.com.',
			password: 'Use at least 12 characters.'
		});
		expect(r.data.values).toEqual({ name: '', email: 'not-an-email' });
		expect(await count('select count(*)::int as n from auth_users')).toBe(0);
	});

	test('sign-up, then the same email again changes nothing (answered like a new email: tests/web/signup-enumeration.test.ts)', async () => {
		const { email } = await signUp(app, 'Ann');
		const again = await new Client(app.url).action('/signup', { name: 'Ann 2', email: email.toUpperCase(), password: 'another password' });
		expect(again).toMatchObject({ type: 'redirect', location: '/login?signedUp=1' });
		expect((await db.sql('select name from auth_users where email = $1', [email])).rows).toEqual([{ name: 'Ann' }]);
	});

	test('sessions are httpOnly cookies; log out ends the session', async () => {
		const c = new Client(app.url);
		const email = `cookie${Date.now()}@example.com`;
		expect((await c.post('/signup', { name: 'Cookie', email, password: 'long enough pw' })).status).toBe(303);
		const res = await c.post('/login', { email, password: 'long enough pw' });
		expect(res.status).toBe(303);
		const setCookie = res.headers.getSetCookie().find((s) => s.includes('session_token='))!;
		expect(setCookie).toMatch(/HttpOnly/i);
		expect(setCookie).toMatch(/SameSite=Lax/i);
		expect((await c.get('/b')).status).toBe(200);
		expect(
			await count('select count(*)::int as n from auth_sessions s join auth_users u on u.id = s.user_id where u.email = $1', [email])
		).toBe(1);

		const out = await c.action('/logout', {});
		expect(out.type).toBe('redirect');
		expect(
			await count('select count(*)::int as n from auth_sessions s join auth_users u on u.id = s.user_id where u.email = $1', [email])
		).toBe(0);
		const after = await c.get('/b');
		expect(after.status).toBe(303);
		expect(after.headers.get('location')).toBe('/login?next=%2Fb');
	});

	test('log in: wrong password, then right one; `next` only goes to this site', async () => {
		const { email, password } = await signUp(app, 'Lou');
		const c = new Client(app.url);
		const bad = await c.action('/login', { email, password: 'wrong password' });
		expect(bad.type).toBe('failure');
		expect(bad.data.message).toBe('Wrong email or password.');
		const evil = await c.action('/login?next=//evil.example/x', { email, password });
		expect(evil).toMatchObject({ type: 'redirect', location: '/b' });
		const c2 = new Client(app.url);
		const ok = await c2.action('/login?next=/b%3Fx%3D1', { email, password });
		expect(ok).toMatchObject({ type: 'redirect', location: '/b?x=1' });
	});

	test('a form posted from another site is refused (CSRF) and changes nothing', async () => {
		const { client } = await signUp(app);
		const res = await client.post('/b?/create', { name: 'Evil Corp' }, { origin: 'http://evil.example' });
		expect(res.status).toBe(403);
		expect(await count(`select count(*)::int as n from businesses where name = 'Evil Corp'`)).toBe(0);
	});

	test('pages need a session', async () => {
		const res = await new Client(app.url).get('/b/00000000-0000-4000-8000-000000000000/settings');
		expect(res.status).toBe(303);
		expect(res.headers.get('location')).toMatch(/^\/login\?next=/);
	});
});

describe('HeyGen settings', () => {
	let c: Client;
	let b: string;
	beforeAll(async () => {
		({ client: c } = await signUp(app, 'Settings Owner'));
		b = await createBusiness(c, 'Settings Co');
	});
	const hasKey = async () => (await db.sql('select has_heygen_key($1) as k', [b])).rows[0].k as boolean;

	test('a bad key is refused with a clear message; nothing is stored; the key is never echoed', async () => {
		const r = await c.action(`/b/${b}/settings?/saveKey`, { apiKey: 'not-the-right-key-123' });
		expect(r.type).toBe('failure');
		expect(r.data.errors.apiKey).toMatch(/HeyGen rejected this API key/);
		expect(r.data.message).toMatch(/^The key was not saved\./);
		expect(JSON.stringify(r)).not.toContain('not-the-right-key-123');
		expect(r.data.values).not.toHaveProperty('apiKey');
		expect(await hasKey()).toBe(false);
		// Without JavaScript: back on the page (303), which, like the redirect, does not carry it either.
		const plain = await c.post(`/b/${b}/settings?/saveKey`, { apiKey: 'not-the-right-key-123' });
		expect(plain.status).toBe(303);
		expect(plain.headers.getSetCookie().join('\n')).not.toContain('not-the-right-key-123');
		const text = (await c.html(`/b/${b}/settings`)).text;
		expect(text).toContain('HeyGen rejected this API key');
		expect(text).not.toContain('not-the-right-key-123');
	});

	test('HeyGen unreachable or slow: a clear message, nothing stored', async () => {
		app.sim.setFaults({ serverError: { status: 503, endpoint: 'account', times: 1 } });
		const r = await c.action(`/b/${b}/settings?/saveKey`, { apiKey: 'sim-test-key' });
		expect(r.type).toBe('failure');
		expect(r.data.errors.apiKey).toMatch(/HeyGen is having trouble right now/);
		app.sim.setFaults({ slow: { ms: 3000, endpoint: 'account', times: 1 } });
		const slow = await c.action(`/b/${b}/settings?/saveKey`, { apiKey: 'sim-test-key' });
		expect(slow.type).toBe('failure');
		expect(slow.data.errors.apiKey).toMatch(/did not answer in time/);
		expect(await hasKey()).toBe(false);
		app.sim.clearFaults();
	});

	test('malformed keys are refused before HeyGen is asked', async () => {
		const before = app.sim.requests.length;
		for (const [apiKey, msg] of [
			['', /Paste your HeyGen API key/],
			['has a space', /cannot contain spaces/],
			['x'.repeat(501), /too long/]
		] as const) {
			const r = await c.action(`/b/${b}/settings?/saveKey`, { apiKey });
			expect(r.type).toBe('failure');
			expect(r.data.errors.apiKey).toMatch(msg);
		}
		expect(app.sim.requests.length).toBe(before);
	});

	test('missing avatar and voice: both fields say so, nothing changes', async () => {
		const r = await c.action(`/b/${b}/settings?/saveVoice`, {});
		expect(r.type).toBe('failure');
		expect(r.data.errors).toEqual({
			avatarId: 'Choose an avatar from the list or enter its ID.',
			voiceId: 'Choose a voice from the list or enter its ID.'
		});
		const bad = await c.action(`/b/${b}/settings?/saveVoice`, { avatarIdManual: 'drop table;', voiceId: 'sim-voice-en-1' });
		expect(bad.type).toBe('failure');
		expect(bad.data.errors.avatarId).toMatch(/does not look like a HeyGen avatar ID/);
		expect(bad.data.values).toMatchObject({ avatarIdManual: 'drop table;', voiceId: 'sim-voice-en-1' });
		const { rows } = await db.sql('select heygen_avatar_id, heygen_voice_id from businesses where id = $1', [b]);
		expect(rows[0]).toEqual({ heygen_avatar_id: null, heygen_voice_id: null });
	});

	test('a good key is checked, stored only in the vault, and never shown again', async () => {
		const r = await c.action(`/b/${b}/settings?/saveKey`, { apiKey: 'sim-test-key' });
		expect(r.type).toBe('success');
		expect(r.data.message).toBe('HeyGen accepted the key and it is saved. Credits left: $120.5 in the wallet.');
		expect(app.sim.requests.some((q) => q.path === '/v3/users/me' && q.status === 200)).toBe(true);
		expect(await hasKey()).toBe(true);
		const { rows } = await db.sql(`select count(*)::int as n from businesses where id = $1 and heygen_secret_id is not null`, [b]);
		expect(rows[0].n).toBe(1);
		// The plaintext is nowhere in the tables the app owns.
		const dump = await db.sql(
			`select row_to_json(b)::text as t from businesses b union all select row_to_json(s)::text from vault.secrets s`
		);
		expect(dump.rows.map((x) => x.t).join('\n')).not.toContain('sim-test-key');
		for (const path of [`/b/${b}/settings`, `/b/${b}/settings/__data.json`]) {
			const text = await (await c.get(path)).text();
			expect(text).not.toContain('sim-test-key');
		}
		// A second, bad key leaves the good one in place.
		await c.action(`/b/${b}/settings?/saveKey`, { apiKey: 'wrong-again' });
		expect((await db.sql('select get_heygen_key($1) as k', [b])).rows[0].k).toBe('sim-test-key');
	});

	test('the settings page and its data carry no 4-character piece of a saved key', async () => {
		const keyed = await createBusiness(c, 'Key Shown Co');
		// Set directly (HeyGen would reject it): every 4-character window holds a ~, | or ^, which
		// nothing else on the page contains, so any piece of the key that leaks is found.
		const key = 'Qx9~Zj7|Wv4^Kp2~Yb';
		await db.sql('select set_heygen_key($1, $2)', [keyed, key]);
		for (const path of [`/b/${keyed}/settings`, `/b/${keyed}/settings/__data.json`]) {
			const res = await c.get(path);
			expect(res.status, path).toBe(200);
			const text = await res.text();
			if (path.endsWith('/settings')) expect(text).toContain('An API key is saved');
			for (let i = 0; i + 4 <= key.length; i++)
				expect(text, `${path} contains "${key.slice(i, i + 4)}"`).not.toContain(key.slice(i, i + 4));
		}
	});

	test('avatar and voice from the lists or typed by hand', async () => {
		const picked = await c.action(`/b/${b}/settings?/saveVoice`, { avatarId: 'sim-avatar-josh', voiceId: 'sim-voice-en-2' });
		expect(picked.type).toBe('success');
		const manual = await c.action(`/b/${b}/settings?/saveVoice`, {
			avatarId: 'sim-avatar-josh',
			avatarIdManual: 'sim-avatar-anna',
			voiceIdManual: 'sim-voice-en-1'
		});
		expect(manual.type).toBe('success');
		const { rows } = await db.sql('select heygen_avatar_id, heygen_voice_id from businesses where id = $1', [b]);
		expect(rows[0]).toEqual({ heygen_avatar_id: 'sim-avatar-anna', heygen_voice_id: 'sim-voice-en-1' });
	});

	test('with a key, made-up avatar and voice ids are refused by name and nothing is saved', async () => {
		const before = (await db.sql('select heygen_avatar_id, heygen_voice_id from businesses where id = $1', [b])).rows[0];
		const r = await c.action(`/b/${b}/settings?/saveVoice`, { avatarIdManual: 'made-up-look', voiceIdManual: 'sim-voice-en-2' });
		expect(r.type).toBe('failure');
		expect(r.status).toBe(400);
		expect(r.data.errors).toEqual({
			avatarId: 'This HeyGen account has no avatar look with the ID "made-up-look". Choose one from the list.'
		});
		expect(r.data.message).toBe('Nothing was saved: the avatar is not in your HeyGen account.');
		const both = await c.action(`/b/${b}/settings?/saveVoice`, {
			avatarId: 'sim-avatar-josh',
			avatarIdManual: 'nope-1',
			voiceIdManual: 'nope-2'
		});
		expect(Object.keys(both.data.errors).sort()).toEqual(['avatarId', 'voiceId']);
		expect(both.data.errors.voiceId).toMatch(/no voice with the ID "nope-2"/);
		expect((await db.sql('select heygen_avatar_id, heygen_voice_id from businesses where id = $1', [b])).rows[0]).toEqual(before);
		// The account's own ids still save.
		const ok = await c.action(`/b/${b}/settings?/saveVoice`, { avatarIdManual: 'sim-avatar-lena', voiceIdManual: 'sim-voice-de-1' });
		expect(ok.type).toBe('success');
		expect((await db.sql('select heygen_avatar_id, heygen_voice_id from businesses where id = $1', [b])).rows[0]).toEqual({
			heygen_avatar_id: 'sim-avatar-lena',
			heygen_voice_id: 'sim-voice-de-1'
		});
		await c.action(
			`/b/${b}/settings?/saveVoice`,
			before.heygen_avatar_id ? { avatarId: before.heygen_avatar_id, voiceId: before.heygen_voice_id } : {}
		);
	});

	test('members who are not owners or admins cannot change the settings (403)', async () => {
		const { client: m, email } = await signUp(app, 'Plain Member');
		await inviteAndAccept(c, b, m, email);
		const page = await m.html(`/b/${b}/settings`);
		expect(page.status).toBe(200);
		expect(page.text).toContain('Only owners and admins');
		for (const [action, fields] of [
			['saveKey', { apiKey: 'sim-test-key' }],
			['removeKey', {}],
			['saveVoice', { avatarId: 'sim-avatar-josh', voiceId: 'sim-voice-en-2' }]
		] as const) {
			const r = await m.action(`/b/${b}/settings?/${action}`, fields);
			expect(r.type, action).toBe('error');
			expect(r.status, action).toBe(403);
		}
		expect(await hasKey()).toBe(true);
	});
});

describe('content and Generate', () => {
	let c: Client;
	let b: string;
	beforeAll(async () => {
		({ client: c } = await signUp(app, 'Writer'));
		b = await createBusiness(c, 'Writers Inc');
	});
	const jobs = async (contentId: string) =>
		(await db.sql('select * from video_jobs where content_id = $1 order by created_at', [contentId])).rows;

	test('an over-long script is refused with its length; nothing is saved', async () => {
		const r = await c.action(`/b/${b}/content/new`, { title: 'Too long', body: 'a'.repeat(6000) });
		expect(r.type).toBe('failure');
		expect(r.data.errors.body).toBe('The script is 6,000 characters; HeyGen accepts at most 5,000 per video. Shorten it by 1,000.');
		expect(r.data.values.body).toHaveLength(6000);
		const empty = await c.action(`/b/${b}/content/new`, { title: '  ', body: '' });
		expect(empty.data.errors).toEqual({ title: 'Give the content a title.', body: 'Write the script the avatar should say.' });
		expect(await count('select count(*)::int as n from content where business_id = $1', [b])).toBe(0);
	});

	test('Generate without settings: the button says why, the action refuses, no job', async () => {
		const content = await createContent(c, b, 'Short script.');
		const page = await c.html(`/b/${b}/content/${content}`);
		expect(page.text).toContain('Add your HeyGen API key in HeyGen settings first.');
		expect(page.text).toMatch(/data-testid="generate"[^>]*disabled|disabled[^>]*data-testid="generate"/);
		const key = await generateFormKey(c, b, content);
		const r = await c.action(`/b/${b}/content/${content}?/generate`, { ...GENERATE_DEFAULTS, idempotencyKey: key });
		expect(r.type).toBe('failure');
		// The database checks the avatar first; the page lists every missing setting.
		expect(r.data.message).toBe('Choose an avatar in Settings first.');
		expect(await jobs(content)).toHaveLength(0);
	});

	test('a script made too long outside the app: Generate shows the database message, no job', async () => {
		await configureHeyGen(c, b);
		const { rows } = await db.sql(`insert into content (business_id, title, body) values ($1, 'From SQL', $2) returning id`, [
			b,
			'b'.repeat(5200)
		]);
		const content = rows[0].id;
		const page = await c.html(`/b/${b}/content/${content}`);
		expect(page.text).toContain('The script is 5,200 characters; HeyGen accepts at most 5,000. Shorten it first (Edit).');
		const r = await c.action(`/b/${b}/content/${content}?/generate`, {
			...GENERATE_DEFAULTS,
			idempotencyKey: await generateFormKey(c, b, content)
		});
		expect(r.type).toBe('failure');
		expect(r.data.message).toBe('The script is 5,200 characters; HeyGen accepts at most 5,000 per video. Shorten it and try again.');
		expect(await jobs(content)).toHaveLength(0);
	});

	test('bad options are field errors', async () => {
		const content = await createContent(c, b);
		const r = await c.action(`/b/${b}/content/${content}?/generate`, { aspect: 'cinema', resolution: '8k', idempotencyKey: 'nope' });
		expect(r.type).toBe('failure');
		expect(Object.keys(r.data.errors).sort()).toEqual(['aspect', 'idempotencyKey', 'resolution']);
		expect(await jobs(content)).toHaveLength(0);
	});

	test('double submit makes one job; a second Generate while it runs is refused', async () => {
		const content = await createContent(c, b, 'Double submit script.', 'Double [sim renderMs=3000]');
		const key = await generateFormKey(c, b, content);
		const fields = { ...GENERATE_DEFAULTS, aspect: '9:16', captions: 'on', idempotencyKey: key };
		const [r1, r2] = await Promise.all([
			c.action(`/b/${b}/content/${content}?/generate`, fields),
			c.action(`/b/${b}/content/${content}?/generate`, fields)
		]);
		expect([r1.type, r2.type], JSON.stringify([r1.data, r2.data])).toEqual(['success', 'success']);
		expect(r1.data.jobId).toBe(r2.data.jobId);
		expect([r1.data.message, r2.data.message].sort()).toEqual([
			'This video was already started; showing its progress.',
			'Video queued. Watch its progress below.'
		]);
		const list = await jobs(content);
		expect(list).toHaveLength(1);
		expect(list[0].options).toEqual({ aspect_ratio: '9:16', resolution: '720p', captions: true, title: 'Double [sim renderMs=3000]' });
		expect(list[0].avatar_id).toBe('sim-avatar-anna');

		const other = await c.action(`/b/${b}/content/${content}?/generate`, {
			...GENERATE_DEFAULTS,
			idempotencyKey: await generateFormKey(c, b, content)
		});
		expect(other.type).toBe('failure');
		expect(other.data.message).toBe('A video for this content is already in progress. Wait for it to finish or cancel it first.');
		expect(await jobs(content)).toHaveLength(1);

		// Who did it is in the audit trail.
		const me = (await db.sql(`select id from auth_users where name = 'Writer'`)).rows[0].id;
		const ev = await db.sql(`select actor from video_job_events where job_id = $1 and to_status = 'queued'`, [list[0].id]);
		expect(ev.rows[0].actor).toBe(`user:${me}`);
		expect(list[0].requested_by).toBe(`user:${me}`);
	});

	test('cancel and retry, recorded as the user', async () => {
		const content = await createContent(c, b, 'Cancel me.', 'Slow one [sim renderMs=30000]');
		const r = await c.action(`/b/${b}/content/${content}?/generate`, {
			...GENERATE_DEFAULTS,
			idempotencyKey: await generateFormKey(c, b, content)
		});
		const jobId = r.data.jobId as string;
		await waitForStatus(db, jobId, 'rendering');
		const cancel = await c.action(`/b/${b}/content/${content}?/cancel`, { jobId });
		expect(cancel).toMatchObject({ type: 'success', data: { message: 'Video canceled.' } });
		const twice = await c.action(`/b/${b}/content/${content}?/cancel`, { jobId });
		expect(twice.type).toBe('failure');
		expect(twice.data.message).toMatch(/already canceled/);
		const retry = await c.action(`/b/${b}/content/${content}?/retry`, { jobId });
		expect(retry.type).toBe('success');
		const { rows } = await db.sql(`select status, attempt from video_jobs where id = $1`, [jobId]);
		expect(rows[0].attempt).toBe(2);
		const me = (await db.sql(`select id from auth_users where name = 'Writer'`)).rows[0].id;
		const ev = await db.sql(
			`select to_status, actor from video_job_events where job_id = $1 and to_status in ('canceled', 'queued') order by id`,
			[jobId]
		);
		expect(ev.rows).toEqual([
			{ to_status: 'queued', actor: `user:${me}` },
			{ to_status: 'canceled', actor: `user:${me}` },
			{ to_status: 'queued', actor: `user:${me}` }
		]);
		await c.action(`/b/${b}/content/${content}?/cancel`, { jobId });
	});

	test('a HeyGen failure is shown in words on the content page', async () => {
		const content = await createContent(c, b, 'This one fails.', 'Fails [sim failWith=avatar_not_found]');
		const r = await c.action(`/b/${b}/content/${content}?/generate`, {
			...GENERATE_DEFAULTS,
			idempotencyKey: await generateFormKey(c, b, content)
		});
		const row = await waitForStatus(db, r.data.jobId, 'failed');
		const page = await c.html(`/b/${b}/content/${content}`);
		expect(page.text).toContain('The video failed.');
		expect(page.text).toContain(row.error_message.replace(/&/g, '&amp;').replace(/"/g, '&quot;').slice(0, 40));
	});

	test('the key never appears in a log line of the app or the worker', () => {
		expect(app.logs.join('\n')).not.toContain('sim-test-key');
		expect(app.pipeline!.logs.join('\n')).not.toContain('sim-test-key');
	});
});
