/**
 * The other states a person meets, in the browser: form errors next to their fields, a failed
 * video explained in words, the 404 for someone else's business, the members page, a phone-sized
 * screen — and every form control has a label. Screenshots of each go to test-results/screenshots.
 * Each test has an owner and business of its own (fixtures in ./browser.ts), so any order works.
 */
import type { Page } from 'playwright-core';
import { describe, expect, vi } from 'vitest';
import { waitForStatus } from '../helpers/pipeline.ts';
import { contentWithVideo } from '../helpers/web-fixtures.ts';
import { configureHeyGen, createBusiness, createContent, generateVideo, signUp } from '../web/harness.ts';
import { browserTest as test, open, screenshot, signedInContext, unlabelledControls } from './browser.ts';
import { expectAccessible } from './axe.ts';

// Waits on events, not time: generous so that a busy machine (CI beside another run) only slows them.
const T = { timeout: 30_000 };
vi.setConfig({ testTimeout: 120_000 });

/** Elements that stick out past the right edge of the screen (horizontal scrolling on a phone). */
async function overflowing(p: Page): Promise<string[]> {
	return p.evaluate(() => {
		const w = document.documentElement.clientWidth;
		const out: string[] = [];
		const scrolls = (el: HTMLElement) => {
			for (let a = el.parentElement; a; a = a.parentElement) {
				const o = getComputedStyle(a).overflowX;
				if (o === 'auto' || o === 'scroll' || o === 'hidden') return true;
			}
			return false;
		};
		for (const el of document.querySelectorAll<HTMLElement>('body *')) {
			if (scrolls(el)) continue; // inside its own scrolling box (tables, the tab strip)
			const r = el.getBoundingClientRect();
			if (r.width && r.right > w + 1) out.push(`${el.tagName.toLowerCase()}.${el.className} → ${Math.round(r.right)}px`);
		}
		return out.slice(0, 10);
	});
}

describe('logging in', () => {
	test('a wrong password is explained; the right one gets in', async ({ app, owner, page }) => {
		await open(page, `${app.url}/login`);
		await page.getByLabel('Email').fill(owner.email);
		await page.getByLabel('Password').fill('not my password');
		await page.getByRole('button', { name: 'Log in' }).click();
		await page.getByText('Wrong email or password.').first().waitFor(T);
		await screenshot(page, '20-login-error');
		await expectAccessible(page, 'log in with an error');
		await page.getByLabel('Password').fill(owner.password);
		await page.getByRole('button', { name: 'Log in' }).click();
		await page.waitForURL(`${app.url}/b`, T);
	});
});

describe('form errors in the browser', () => {
	test('settings: a bad key and a missing avatar/voice are explained next to the fields; nothing changes', async ({
		app,
		db,
		owner,
		ownerPage: page,
		browser
	}) => {
		await open(page, `${app.url}/b/${owner.businessId}/settings`);
		await page.getByLabel('HeyGen API key').fill('definitely-wrong');
		await page.getByTestId('save-key').click();
		// Said once, by the field: no banner repeating it, no toast.
		await page
			.getByTestId('field-error')
			.filter({ hasText: /HeyGen rejected this API key/ })
			.waitFor(T);
		expect(await page.getByText(/HeyGen rejected this API key/).count()).toBe(1);
		expect(await page.getByTestId('key-error').count()).toBe(0);
		expect(await page.getByTestId('toast').count()).toBe(0);
		expect(await page.getByLabel('HeyGen API key').getAttribute('aria-invalid')).toBe('true');
		await page.getByText('No API key is set').waitFor(T);

		await page.getByTestId('save-voice').click();
		await page.getByTestId('field-error').filter({ hasText: 'Choose a voice' }).waitFor(T);
		expect(await page.getByTestId('voice-error').count()).toBe(0);
		const errors = await page.getByTestId('field-error').allInnerTexts();
		expect(errors).toEqual(
			expect.arrayContaining(['Choose an avatar from the list or enter its ID.', 'Choose a voice from the list or enter its ID.'])
		);
		await screenshot(page, '21-settings-errors');
		await expectAccessible(page, 'settings with field errors');
		expect(await unlabelledControls(page)).toEqual([]);
		const { rows } = await db.sql('select heygen_avatar_id, heygen_voice_id, has_heygen_key(id) as k from businesses where id = $1', [
			owner.businessId
		]);
		expect(rows[0]).toEqual({ heygen_avatar_id: null, heygen_voice_id: null, k: false });
	});

	test('content: an over-long script turns the counter red and is refused', async ({ app, db, owner, ownerPage: page, browser }) => {
		await open(page, `${app.url}/b/${owner.businessId}/content/new`);
		await page.getByLabel('Title', { exact: true }).fill('Too much to say');
		await page.getByLabel('Script').fill('word '.repeat(1100));
		await page.getByTestId('char-count').filter({ hasText: 'too many' }).waitFor(T);
		await page.getByRole('button', { name: 'Create content' }).click();
		await page
			.getByText(/The script is 5,499 characters; HeyGen accepts at most 5,000/)
			.first()
			.waitFor(T);
		expect(await page.getByLabel('Script').inputValue()).toHaveLength(5500);
		await screenshot(page, '22-content-too-long');
		expect(await unlabelledControls(page)).toEqual([]);
		expect((await db.sql('select count(*)::int as n from content where business_id = $1', [owner.businessId])).rows[0].n).toBe(0);
	});
});

describe('a failed video', () => {
	test('the step where it failed, and HeyGen’s reason in words', async ({ app, db, owner, ownerPage: page, browser }) => {
		await configureHeyGen(owner.client, owner.businessId);
		const content = await createContent(
			owner.client,
			owner.businessId,
			'This avatar does not exist.',
			'Broken avatar [sim failWith=avatar_not_found]'
		);
		const jobId = await generateVideo(owner.client, owner.businessId, content);
		await open(page, `${app.url}/b/${owner.businessId}/content/${content}`);
		await waitForStatus(db, jobId, 'failed');
		await page.getByTestId('job-error').waitFor(T);
		expect(await page.getByTestId('job-error').innerText()).toMatch(/The video failed\..*avatar_not_found/s);
		await page.locator('[data-step="rendering"][data-state="failed"]').waitFor(T);
		await page.getByRole('button', { name: 'Retry' }).waitFor(T);
		await screenshot(page, '23-content-failed');
		await expectAccessible(page, 'content page with a failed video');
		expect(await unlabelledControls(page)).toEqual([]);
	});
});

describe('other people and other screens', () => {
	test("someone else's business is a plain 404 page", async ({ app, db, owner, ownerPage: page, browser }) => {
		const { client: stranger } = await signUp(app, 'Stranger');
		const other = await createBusiness(stranger, 'Not Yours');
		const res = await page.goto(`${app.url}/b/${other}/settings`);
		expect(res!.status()).toBe(404);
		await page.getByRole('heading', { name: 'Not found' }).waitFor(T);
		expect(await page.content()).not.toContain('Not Yours');
		await screenshot(page, '24-not-found');
	});

	test('members page: invite a teammate by email; they join once they accept', async ({ app, db, owner, ownerPage: page, browser }) => {
		const { client: tim, email } = await signUp(app, 'Tim Teammate');
		await open(page, `${app.url}/b/${owner.businessId}/members`);
		// The same answer whether or not an account uses the email.
		await page.getByLabel('Email').fill('nobody@example.com');
		await page.getByRole('button', { name: 'Send invitation' }).click();
		await page.getByText('Invitation saved for nobody@example.com.').first().waitFor(T);
		await page.getByLabel('Email').fill(email);
		await page.getByLabel('Role').selectOption('admin');
		await page.getByRole('button', { name: 'Send invitation' }).click();
		await page.getByRole('cell', { name: email, exact: true }).waitFor(T);
		expect(await page.getByRole('cell', { name: 'Tim Teammate', exact: true }).count()).toBe(0);
		const { text } = await tim.html('/b');
		const invitationId = /name="invitationId" value="([0-9a-f-]{36})"/.exec(text)![1]!;
		expect((await tim.action('/b?/accept', { invitationId })).location).toBe(`/b/${owner.businessId}`);
		await open(page, `${app.url}/b/${owner.businessId}/members`);
		await page.getByRole('cell', { name: 'Tim Teammate', exact: true }).waitFor(T);
		await screenshot(page, '25-members');
		expect(await unlabelledControls(page)).toEqual([]);
	});

	test('keyboard: the skip link and the Generate button are reachable with Tab', async ({ app, db, owner, ownerPage: page, browser }) => {
		await configureHeyGen(owner.client, owner.businessId);
		const content = await createContent(owner.client, owner.businessId, 'Keyboard script.', 'Keyboard');
		await open(page, `${app.url}/b/${owner.businessId}/content/${content}`);
		await page.keyboard.press('Tab');
		expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
		let reached = false;
		for (let i = 0; i < 40 && !reached; i++) {
			await page.keyboard.press('Tab');
			reached = await page.evaluate(() => document.activeElement?.getAttribute('data-testid') === 'generate');
		}
		expect(reached).toBe(true);
		await page.keyboard.press('Enter');
		await page.locator('[data-step="completed"][data-state="done"]').waitFor({ timeout: 20_000 });
	});

	test('phone-sized screen', async ({ app, db, owner, ownerPage: page, browser }) => {
		await configureHeyGen(owner.client, owner.businessId);
		const { contentId } = await contentWithVideo(db, owner);
		const phone = await signedInContext(browser, app, owner.client, {
			viewport: { width: 390, height: 844 },
			isMobile: true,
			hasTouch: true
		});
		const p = await phone.newPage();
		await open(p, `${app.url}/b/${owner.businessId}/content/${contentId}`);
		await p.getByTestId('player').waitFor(T);
		await screenshot(p, '26-phone-content');
		// Nothing wider than the screen.
		expect(await overflowing(p)).toEqual([]);
		await open(p, `${app.url}/b/${owner.businessId}/settings`);
		await p.getByTestId('current-avatar').filter({ hasText: 'Anna (simulated)' }).waitFor(T);
		await screenshot(p, '27-phone-settings');
		expect(await overflowing(p)).toEqual([]);
		await phone.close();
	});

	test('dark mode follows the system setting', async ({ app, db, owner, ownerPage: page, browser }) => {
		await configureHeyGen(owner.client, owner.businessId);
		const { contentId } = await contentWithVideo(db, owner);
		const dark = await signedInContext(browser, app, owner.client, { colorScheme: 'dark' });
		const p = await dark.newPage();
		await open(p, `${app.url}/b/${owner.businessId}/content/${contentId}`);
		await p.getByTestId('player').waitFor(T);
		expect(await p.evaluate(() => getComputedStyle(document.documentElement).backgroundColor)).toBe('rgb(15, 17, 23)');
		await screenshot(p, '28-dark-content');
		await dark.close();
	});
});
