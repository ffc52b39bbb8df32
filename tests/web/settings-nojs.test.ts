/**
 * The HeyGen settings page as a browser without JavaScript gets it (issue 24, defects 4, 5 and 7):
 * the avatar and voice pickers are in the server's HTML (no "Loading…" that only JavaScript could
 * end), every form posted plainly comes back to the page's own URL (no `?/action` left behind) with
 * its message shown once, an avatar or voice the account lacks is refused with the reason, and
 * without a key the page says what is missing. Deployment warnings are for owners and admins only.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, vi } from 'vitest';
import { webTest as test } from '../helpers/web-fixtures.ts';
import { configureHeyGen, inviteAndAccept, signUp } from './harness.ts';

test.override({ appOptions: { worker: false } });
// The first test also starts the file's app (a file-scoped fixture), which on a busy machine takes a while.
vi.setConfig({ testTimeout: 90_000 });

const ids = async (db: { sql: (q: string, p: unknown[]) => Promise<{ rows: any[] }> }, b: string) =>
	(await db.sql('select heygen_avatar_id, heygen_voice_id from businesses where id = $1', [b])).rows[0];

describe('settings without JavaScript', () => {
	test('the pickers are rendered by the server, with the saved choice checked', async ({ owner }) => {
		const { client: c, businessId: b } = owner;
		await configureHeyGen(c, b);
		const { status, text } = await c.html(`/b/${b}/settings`);
		expect(status).toBe(200);
		expect(text).not.toContain('Loading your avatars and voices');
		for (const id of ['sim-avatar-anna', 'sim-avatar-josh', 'sim-avatar-lena'])
			expect(text).toMatch(new RegExp(`name="avatarId" value="${id}"`));
		expect(text).toMatch(/name="avatarId" value="sim-avatar-anna"[^>]*checked/);
		expect(text).toMatch(/name="voiceId" value="sim-voice-en-1"[^>]*checked/);
		expect(text).toContain('Credits left: <strong>$120.5 in the wallet</strong>');
	});

	test('a plain post goes back to the page (303, no ?/action URL) and its message shows once', async ({ db, owner }) => {
		const { client: c, businessId: b } = owner;
		await configureHeyGen(c, b);
		const res = await c.post(`/b/${b}/settings?/saveVoice`, { avatarId: 'sim-avatar-josh', voiceId: 'sim-voice-en-2' });
		expect(res.status).toBe(303);
		expect(res.headers.get('location')).toBe(`/b/${b}/settings`);
		expect(await ids(db, b)).toEqual({ heygen_avatar_id: 'sim-avatar-josh', heygen_voice_id: 'sim-voice-en-2' });
		const after = await c.html(`/b/${b}/settings`);
		expect(after.text).toContain('Avatar and voice saved. New videos will use them.');
		expect((await c.html(`/b/${b}/settings`)).text).not.toContain('Avatar and voice saved.');

		// A refusal comes back the same way, with the reason by the field and what was typed.
		const bad = await c.post(`/b/${b}/settings?/saveVoice`, { avatarIdManual: 'made-up-look', voiceId: 'sim-voice-en-2' });
		expect(bad.status).toBe(303);
		expect(bad.headers.get('location')).toBe(`/b/${b}/settings`);
		const refused = (await c.html(`/b/${b}/settings`)).text;
		expect(refused).toContain('This HeyGen account has no avatar look with the ID "made-up-look". Choose one from the list.');
		expect(refused).toMatch(/name="avatarIdManual"[^>]*value="made-up-look"|value="made-up-look"[^>]*name="avatarIdManual"/);
		expect(await ids(db, b)).toEqual({ heygen_avatar_id: 'sim-avatar-josh', heygen_voice_id: 'sim-voice-en-2' });

		// The other forms too: the spending settings.
		const spend = await c.post(`/b/${b}/settings?/saveSpend`, { limitMinutes: '90' });
		expect(spend.status).toBe(303);
		expect((await c.html(`/b/${b}/settings`)).text).toContain('Spending settings saved.');
	});

	test('an enhanced post still gets its result in place (no redirect)', async ({ owner }) => {
		const { client: c, businessId: b } = owner;
		await configureHeyGen(c, b);
		const r = await c.action(`/b/${b}/settings?/saveVoice`, { avatarIdManual: 'nope', voiceId: 'sim-voice-en-1' });
		expect(r).toMatchObject({ type: 'failure', status: 400 });
	});

	test('without a key: the page and the saved message say what is missing', async ({ db, owner }) => {
		const { client: c, businessId: b } = owner;
		const page = (await c.html(`/b/${b}/settings`)).text;
		expect(page).toContain('No API key is saved, so there is no list to choose from');
		const r = await c.action(`/b/${b}/settings?/saveVoice`, { avatarIdManual: 'made-up-look', voiceIdManual: 'made-up-voice' });
		expect(r.type).toBe('success');
		expect(r.data.message).toBe(
			'Avatar and voice saved, but not checked: no HeyGen API key is saved. Save the key to check them; videos cannot be generated until then.'
		);
		// Saving the key then says which of them the account does not have.
		const k = await c.action(`/b/${b}/settings?/saveKey`, { apiKey: 'sim-test-key' });
		expect(k.type).toBe('success');
		expect(k.data.message).toContain(
			'The saved avatar "made-up-look" and voice "made-up-voice" are not in this HeyGen account: choose another below before generating.'
		);
		expect(await ids(db, b)).toEqual({ heygen_avatar_id: 'made-up-look', heygen_voice_id: 'made-up-voice' });
	});

	test('the ORIGIN / http warnings are for owners and admins, not plain members', async ({ app, owner }) => {
		const { client: c, businessId: b } = owner;
		await configureHeyGen(c, b);
		// The test app is served over http: owners are told webhooks need https.
		expect((await c.html(`/b/${b}/settings`)).text).toContain('data-testid="webhook-http-warning"');
		const { client: m, email } = await signUp(app, 'Plain Member');
		await inviteAndAccept(c, b, m, email);
		const seen = (await m.html(`/b/${b}/settings`)).text;
		expect(seen).toContain('Only owners and admins');
		expect(seen).not.toContain('webhook-http-warning');
		expect(seen).not.toContain('<code>ORIGIN</code>');
	});
});

describe('automatic videos (issue 23)', () => {
	const auto = async (db: { sql: (q: string, p: unknown[]) => Promise<{ rows: any[] }> }, b: string) =>
		(await db.sql('select auto_generate, auto_generate_delay_seconds, keep_video_versions from businesses where id = $1', [b])).rows[0];

	test('switch, delay (minutes and seconds) and versions to keep are saved; bad values are refused by field', async ({
		app,
		db,
		owner
	}) => {
		const { client: c, businessId: b } = owner;
		const page = (await c.html(`/b/${b}/settings`)).text;
		expect(page).toMatch(/name="delayMinutes"[^>]*value="5"/);
		expect(page).toMatch(/name="delaySeconds"[^>]*value="0"/);
		expect(page).toMatch(/name="keepVersions"[^>]*value="5"/);

		const ok = await c.action(`/b/${b}/settings?/saveAuto`, {
			autoGenerate: 'on',
			delayMinutes: '2',
			delaySeconds: '30',
			keepVersions: '3'
		});
		expect(ok.type).toBe('success');
		expect(ok.data.message).toBe('Automatic videos are on: a changed script makes a new video 2 min 30 s after the last change.');
		expect(await auto(db, b)).toEqual({ auto_generate: true, auto_generate_delay_seconds: 150, keep_video_versions: 3 });
		expect((await c.html(`/b/${b}/settings`)).text).toMatch(/name="autoGenerate"[^>]*checked/);

		for (const [fields, field, message] of [
			[{ delayMinutes: '0', delaySeconds: '0', keepVersions: '1' }, 'delayMinutes', 'The delay must be at least 1 second.'],
			[
				{ delayMinutes: '1440', delaySeconds: '1', keepVersions: '1' },
				'delayMinutes',
				'The delay can be at most 24 hours (1,440 minutes).'
			],
			[{ delayMinutes: '1', delaySeconds: '60', keepVersions: '1' }, 'delaySeconds', 'Enter at most 59 seconds.'],
			[{ delayMinutes: 'five', delaySeconds: '0', keepVersions: '1' }, 'delayMinutes', 'Enter minutes as a whole number.'],
			[{ delayMinutes: '1', delaySeconds: '0', keepVersions: '0' }, 'keepVersions', 'Keep at least 1 version: the current video.'],
			[{ delayMinutes: '1', delaySeconds: '0', keepVersions: '' }, 'keepVersions', 'Enter how many versions to keep as a whole number.']
		] as const) {
			const r = await c.action(`/b/${b}/settings?/saveAuto`, fields);
			expect(r.type, JSON.stringify(fields)).toBe('failure');
			expect(r.data.errors[field]).toBe(message);
			expect(r.data.values).toMatchObject(fields);
		}
		expect(await auto(db, b)).toEqual({ auto_generate: true, auto_generate_delay_seconds: 150, keep_video_versions: 3 });

		// Off, without JavaScript: back on the page with the message; 24 h exactly is allowed.
		const plain = await c.post(`/b/${b}/settings?/saveAuto`, { delayMinutes: '1440', delaySeconds: '0', keepVersions: '1' });
		expect(plain.status).toBe(303);
		expect((await c.html(`/b/${b}/settings`)).text).toContain('Automatic videos are off');
		expect(await auto(db, b)).toEqual({ auto_generate: false, auto_generate_delay_seconds: 86_400, keep_video_versions: 1 });

		// A plain member sees the settings but cannot change them.
		const { client: m, email } = await signUp(app, 'Plain Member');
		await inviteAndAccept(c, b, m, email);
		expect(
			await m.action(`/b/${b}/settings?/saveAuto`, { autoGenerate: 'on', delayMinutes: '1', delaySeconds: '0', keepVersions: '2' })
		).toMatchObject({
			type: 'error',
			status: 403
		});
		expect((await auto(db, b)).auto_generate).toBe(false);
	});
});

describe('one date format', () => {
	test('dates are formatted only by web/lib/format.ts', () => {
		const root = path.resolve(import.meta.dirname, '../../web');
		const offenders: string[] = [];
		const walk = (dir: string) => {
			for (const name of readdirSync(dir)) {
				const p = path.join(dir, name);
				if (statSync(p).isDirectory()) walk(p);
				else if (/\.(ts|svelte)$/.test(name) && !p.endsWith(path.join('lib', 'format.ts'))) {
					const text = readFileSync(p, 'utf8');
					if (
						/DateTimeFormat|toLocale(Date|Time)?String\([^)]*(dateStyle|timeStyle|month|hour)/.test(text) ||
						/toLocaleDateString|toLocaleTimeString/.test(text)
					)
						offenders.push(path.relative(root, p));
				}
			}
		};
		walk(root);
		expect(offenders).toEqual([]);
	});
});
