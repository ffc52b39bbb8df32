/**
 * The whole product in a real browser (Debian's Chromium): sign up → business → HeyGen key, avatar
 * and voice → content → Generate → live status steps → the stored video plays → remove the key.
 * Runs against the built app, the test database, the HeyGen simulator and the worker. Each step is
 * a test of its own: it gets a fresh owner and business (fixtures in ./browser.ts) and sets up what
 * the earlier steps would have left, so the steps pass in any order.
 */
import type { Page } from 'playwright-core';
import { describe, expect, vi } from 'vitest';
import { finishRender, holdRenders } from '../helpers/heygen-sim.ts';
import { waitForStatus } from '../helpers/pipeline.ts';
import { configureHeyGen, createContent, generateVideo, type TestApp } from '../web/harness.ts';
import { browserTest as test, hydrated, open, playUntilMoved, type Recorded, screenshot } from './browser.ts';
import { expectAccessible } from './axe.ts';

const KEY = 'sim-test-key';
// Waits on events, not time: generous so that a busy machine (CI beside another run) only slows them.
const T = { timeout: 30_000 };
vi.setConfig({ testTimeout: 120_000 });
const TITLE = 'Fresh bread on Fridays';
const SCRIPT = 'Hi! From this week on, our sourdough comes out of the oven every Friday at seven. See you there!';
const tab = (page: Page, name: string) => page.getByRole('navigation', { name: 'Business' }).getByRole('link', { name, exact: true });

/** No response the browser received contained the key, the app logged no key, the page logged no error. */
function expectKeyNeverSent(responses: Recorded, app: TestApp): void {
	expect(responses.bodies.length).toBeGreaterThan(0);
	for (const b of responses.bodies) expect(b.body, b.url).not.toContain(KEY);
	expect(app.logs.join('\n')).not.toContain(KEY);
	expect(responses.consoleErrors).toEqual([]);
}

describe('a new user makes a video', () => {
	test('signs up and creates a business', async ({ app, page, responses }) => {
		await open(page, app.url);
		await screenshot(page, '01-landing');
		await page.getByRole('link', { name: 'Create an account' }).click();
		await page.getByLabel('Your name').fill('Dana Demo');
		await page.getByLabel('Email').fill('dana@example.com');
		await page.getByLabel('Password').fill('a long enough password');
		await page.getByRole('button', { name: 'Create account' }).click();
		// Sign-up never signs in (a taken email gets the same answer): log in with the new account.
		await page.getByTestId('signed-up').waitFor(T);
		await page.getByLabel('Email').fill('dana@example.com');
		await page.getByLabel('Password').fill('a long enough password');
		await page.getByRole('button', { name: 'Log in' }).click();
		await page.waitForURL(`${app.url}/b`, T);
		await page.getByTestId('empty-businesses').waitFor(T);
		await screenshot(page, '02-businesses-empty');

		await page.getByLabel('Business name').fill('Dana Bakery');
		await page.getByRole('button', { name: 'Create business' }).click();
		await page.waitForURL(/\/b\/[0-9a-f-]{36}$/, T);
		await page.getByTestId('setup-checklist').waitFor(T);
		await page.getByTestId('empty-content').waitFor(T);
		await screenshot(page, '03-content-empty');
		await expectAccessible(page, 'empty content list with the setup checklist');
		expect(responses.consoleErrors).toEqual([]);
	});

	test('saves the HeyGen key, then an avatar and a voice from the pickers', async ({ app, db, owner, ownerPage: page, responses }) => {
		await open(page, `${app.url}/b/${owner.businessId}`);
		await tab(page, 'HeyGen settings').click();
		await page.getByText('No API key is set').waitFor(T);
		await screenshot(page, '04-settings-no-key');
		await expectAccessible(page, 'settings without a key');

		await page.getByLabel('HeyGen API key').fill(KEY);
		await page.getByTestId('save-key').click();
		await page.getByText('An API key is saved').waitFor(T);
		await page.getByTestId('toast').filter({ hasText: 'HeyGen accepted the key' }).waitFor(T);
		// Write-only: the field is empty and says what to do; no masked value that looks editable.
		const keyInput = page.getByLabel('Replace the API key');
		expect(await keyInput.inputValue()).toBe('');
		expect(await keyInput.getAttribute('placeholder')).toBe('Paste a new key');
		await page.getByTestId('credits').filter({ hasText: '$120.5 in the wallet' }).waitFor(T);

		// Looks and voices come from every page of HeyGen's lists (the simulator serves 2 a page).
		await page.getByText('Lena (simulated)').waitFor(T);
		await page.getByText('Sim Español 1').waitFor(T);
		// Picking a look selects its default voice.
		await page.getByText('Lena (simulated)').click();
		expect(await page.getByRole('radio', { name: 'Sim Deutsch 1' }).isChecked()).toBe(true);
		// The language filter narrows the voices.
		await page.getByTestId('voice-language').selectOption('Spanish');
		expect(await page.getByText('Sim English 2').count()).toBe(0);
		await page.getByTestId('voice-language').selectOption('');
		await page.getByText('Anna (simulated)').click();
		expect(await page.getByRole('radio', { name: 'Sim English 1' }).isChecked()).toBe(true);
		await page.getByTestId('save-voice').click();
		await page.getByTestId('toast').filter({ hasText: 'Avatar and voice saved' }).waitFor(T);
		// Names, not raw ids.
		await page.getByTestId('current-avatar').filter({ hasText: 'Anna (simulated)' }).waitFor(T);
		await page.getByTestId('current-voice').filter({ hasText: 'Sim English 1' }).waitFor(T);
		await screenshot(page, '05-settings-saved');

		// A fresh load of the page source has no key either.
		const res = await page.reload();
		await hydrated(page);
		expect(await res!.text()).not.toContain(KEY);
		expect(await page.content()).not.toContain(KEY);
		const { rows } = await db.sql('select heygen_avatar_id, heygen_voice_id, has_heygen_key(id) as has_key from businesses where id = $1', [
			owner.businessId
		]);
		expect(rows[0]).toEqual({ heygen_avatar_id: 'sim-avatar-anna', heygen_voice_id: 'sim-voice-en-1', has_key: true });
		expectKeyNeverSent(responses, app);
	});

	test('writes content', async ({ app, owner, ownerPage: page, responses }) => {
		await configureHeyGen(owner.client, owner.businessId, KEY);
		await open(page, `${app.url}/b/${owner.businessId}`);
		await tab(page, 'Content').click();
		await page.getByRole('link', { name: 'Write your first content' }).click();
		// The list has a "Search titles" box: fill the new page's own field, once it is there.
		await page.waitForURL(/\/content\/new$/, T);
		await page.getByLabel('Title', { exact: true }).fill(TITLE);
		await page.getByLabel('Script').fill(SCRIPT);
		await page.getByTestId('char-count').filter({ hasText: '/ 5,000' }).waitFor(T);
		await screenshot(page, '06-content-new');
		await page.getByRole('button', { name: 'Create content' }).click();
		await page.waitForURL(/\/content\/[0-9a-f-]{36}$/, T);
		await page.getByTestId('generate').waitFor(T);
		expect(await page.getByTestId('generate').isEnabled()).toBe(true);
		await screenshot(page, '07-content-ready');
		expectKeyNeverSent(responses, app);
	});

	test('generates: the steps move live without a reload and the video plays', async ({ app, db, owner, ownerPage, responses }) => {
		const businessId = owner.businessId;
		await configureHeyGen(owner.client, businessId, KEY);
		const contentId = await createContent(owner.client, businessId, SCRIPT, TITLE);
		await open(ownerPage, `${app.url}/b/${businessId}/content/${contentId}`);
		// A full page load would drop this marker; live updates must not need one.
		await ownerPage.evaluate(() => ((window as unknown as { __noReload: number }).__noReload = 42));
		// v3 has no test mode; the form says so. Captions give a subtitles track.
		expect(await ownerPage.getByRole('checkbox', { name: /test mode/i }).count()).toBe(0);
		await ownerPage.getByText('HeyGen has no test mode any more').waitFor(T);
		await ownerPage.getByRole('checkbox', { name: /Captions/ }).check();
		// HeyGen keeps rendering until the page has shown it: no race with a short render.
		const restore = holdRenders(app.sim);
		try {
			await ownerPage.getByTestId('generate').click();
			await ownerPage.getByTestId('toast').filter({ hasText: 'Video queued' }).waitFor(T);
			await ownerPage.locator('[data-step="rendering"][data-state="current"]').waitFor(T);
			await ownerPage.locator('[data-step="queued"][data-state="done"]').waitFor(T);
			await ownerPage.locator('[data-step="submitting"][data-state="done"]').waitFor(T);
			await screenshot(ownerPage, '08-rendering');
			await expectAccessible(ownerPage, 'content page while rendering');
		} finally {
			restore();
		}
		const { rows: rendering } = await db.sql(`select heygen_video_id from video_jobs where business_id = $1`, [businessId]);
		expect(rendering).toHaveLength(1);
		finishRender(app.sim, rendering[0].heygen_video_id);
		await ownerPage.locator('[data-step="completed"][data-state="done"]').waitFor({ timeout: 20_000 });
		await ownerPage.getByTestId('player').waitFor(T);
		expect(await ownerPage.evaluate(() => (window as unknown as { __noReload?: number }).__noReload)).toBe(42);

		// Every step got an elapsed time.
		for (const step of ['queued', 'submitting', 'rendering', 'transferring']) {
			expect(await ownerPage.locator(`[data-step="${step}"] [data-testid="step-time"]`).innerText()).toMatch(/^\d+:\d\d$/);
		}
		// The video loads, plays and seeks (the media route answers Range requests).
		await ownerPage.waitForFunction(
			() => {
				const v = document.querySelector<HTMLVideoElement>('[data-testid="player"]');
				return !!v && v.readyState >= 2 && v.duration > 1;
			},
			null,
			T
		);
		await playUntilMoved(ownerPage);
		const played = await ownerPage.evaluate(async () => {
			const v = document.querySelector<HTMLVideoElement>('[data-testid="player"]')!;
			await new Promise<void>((resolve) => {
				v.addEventListener('seeked', () => resolve(), { once: true });
				v.currentTime = 1.5;
			});
			return { duration: v.duration, currentTime: v.currentTime, readyState: v.readyState, error: v.error?.code ?? null };
		});
		expect(played.error).toBeNull();
		expect(played.duration).toBeGreaterThan(1.5);
		expect(played.currentTime).toBeCloseTo(1.5, 0);
		// The stored thumbnail is the poster, the stored subtitles a captions track the browser loads.
		const media = await ownerPage.evaluate(async () => {
			const v = document.querySelector<HTMLVideoElement>('[data-testid="player"]')!;
			const track = v.querySelector('track')!;
			const poster = await fetch(v.poster);
			const vtt = await fetch(track.src);
			return {
				poster: v.poster,
				posterType: poster.headers.get('content-type'),
				track: track.src,
				kind: track.kind,
				vtt: await vtt.text()
			};
		});
		expect(media.poster).toMatch(/\/media\/[0-9a-f-]+\/[0-9a-f-]+\/[0-9a-f-]+\.jpg$/);
		expect(media.posterType).toBe('image/jpeg');
		expect(media.kind).toBe('captions');
		expect(media.vtt).toMatch(/^WEBVTT\n\n1\n00:00:00\.000 --> /);
		await ownerPage.getByTestId('download').waitFor(T);
		await ownerPage.getByTestId('jobs-table').locator('tbody tr').first().getByText('Completed').waitFor(T);
		await screenshot(ownerPage, '09-completed');
		const { rows } = await db.sql(`select status, requested_by from video_jobs where business_id = $1`, [businessId]);
		expect(rows).toHaveLength(1);
		expect(rows[0].status).toBe('completed');
		expect(rows[0].requested_by).toMatch(/^user:/);
		expectKeyNeverSent(responses, app);
	});

	test('the business jobs page lists the video with its durations and requester', async ({
		app,
		db,
		owner,
		ownerPage: page,
		responses
	}) => {
		await configureHeyGen(owner.client, owner.businessId, KEY);
		const contentId = await createContent(owner.client, owner.businessId, SCRIPT, TITLE);
		await waitForStatus(db, await generateVideo(owner.client, owner.businessId, contentId), 'completed');
		await open(page, `${app.url}/b/${owner.businessId}`);
		await tab(page, 'Jobs').click();
		const row = page.getByTestId('jobs-table').locator('tbody tr').first();
		await row.getByText(TITLE).waitFor(T);
		await row.getByText(owner.name).waitFor(T);
		await screenshot(page, '10-jobs');
		expectKeyNeverSent(responses, app);
	});

	test('removes the key: the secret row is gone and the page says no key is set', async ({
		app,
		db,
		owner,
		ownerPage: page,
		responses
	}) => {
		const businessId = owner.businessId;
		await configureHeyGen(owner.client, businessId, KEY);
		const contentId = await createContent(owner.client, businessId, SCRIPT, TITLE);
		await open(page, `${app.url}/b/${businessId}`);
		await tab(page, 'HeyGen settings').click();
		const { rows: before } = await db.sql('select heygen_secret_id from businesses where id = $1', [businessId]);
		expect(before[0].heygen_secret_id).not.toBeNull();
		await page.getByTestId('remove-key').click();
		await page.getByText('No API key is set').waitFor(T);
		await page.getByTestId('toast').filter({ hasText: 'removed' }).waitFor(T);
		await screenshot(page, '11-settings-key-removed');
		const { rows } = await db.sql('select heygen_secret_id from businesses where id = $1', [businessId]);
		expect(rows[0].heygen_secret_id).toBeNull();
		const secrets = await db.sql('select count(*)::int as n from vault.secrets where id = $1 or name = $2', [
			before[0].heygen_secret_id,
			`heygen_api_key:${businessId}`
		]);
		expect(secrets.rows[0].n).toBe(0);

		// The content page now explains why Generate is off.
		await open(page, `${app.url}/b/${businessId}/content/${contentId}`);
		await page.getByTestId('generate-reason').filter({ hasText: 'API key' }).waitFor(T);
		expect(await page.getByTestId('generate').isDisabled()).toBe(true);
		expectKeyNeverSent(responses, app);
	});
});
