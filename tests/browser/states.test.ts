/**
 * The other states a person meets, in the browser: form errors next to their fields, a failed
 * video explained in words, the 404 for someone else's business, the members page, a phone-sized
 * screen — and every form control has a label. Screenshots of each go to test-results/screenshots.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { waitForStatus } from '../helpers/pipeline.ts';
import { configureHeyGen, createBusiness, createContent, GENERATE_DEFAULTS, generateFormKey, signUp, startTestApp, type Client, type TestApp } from '../web/harness.ts';
import { launchChromium, open, screenshot } from './browser.ts';

const T = { timeout: 15_000 };
let db: TestDatabase;
let app: TestApp;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let owner: Client;
let ownerEmail: string;
let ownerPassword: string;
let biz: string;

/** Every visible form control is labelled (label[for], wrapping label or aria-label). */
async function unlabelledControls(p: Page): Promise<string[]> {
	return p.evaluate(() =>
		[...document.querySelectorAll<HTMLElement>('input:not([type=hidden]), select, textarea, button')]
			.filter((el) => el.offsetParent !== null)
			.filter((el) => {
				if (el.tagName === 'BUTTON') return !(el.textContent?.trim() || el.getAttribute('aria-label'));
				const id = el.id;
				return !(el.closest('label') || (id && document.querySelector(`label[for="${id}"]`)) || el.getAttribute('aria-label'));
			})
			.map((el) => el.outerHTML.slice(0, 120))
	);
}

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

beforeAll(async () => {
	db = await createTestDatabase();
	[app, browser] = await Promise.all([startTestApp(db, { renderMs: 400 }), launchChromium()]);
	({ client: owner, email: ownerEmail, password: ownerPassword } = await signUp(app, 'Olga Owner'));
	biz = await createBusiness(owner, 'Olga Films');
	context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
	page = await context.newPage();
	page.on('dialog', (d) => void d.accept());
	// Log in through the page, like a person.
	await open(page, `${app.url}/login`);
	await page.getByLabel('Email').fill(ownerEmail);
	await page.getByLabel('Password').fill('not my password');
	await page.getByRole('button', { name: 'Log in' }).click();
	await page.getByText('Wrong email or password.').first().waitFor(T);
	await screenshot(page, '20-login-error');
	await page.getByLabel('Password').fill(ownerPassword);
	await page.getByRole('button', { name: 'Log in' }).click();
	await page.waitForURL(`${app.url}/b`, T);
}, 120_000);

afterAll(async () => {
	await context?.close();
	await browser?.close();
	await app?.stop();
	await db?.drop();
});

describe('form errors in the browser', () => {
	test('settings: a bad key and a missing avatar/voice are explained next to the fields; nothing changes', async () => {
		await open(page, `${app.url}/b/${biz}/settings`);
		await page.getByLabel('HeyGen API key').fill('definitely-wrong');
		await page.getByTestId('save-key').click();
		// Said once, by the field: no banner repeating it, no toast.
		await page.getByTestId('field-error').filter({ hasText: /HeyGen rejected this API key/ }).waitFor(T);
		expect(await page.getByText(/HeyGen rejected this API key/).count()).toBe(1);
		expect(await page.getByTestId('key-error').count()).toBe(0);
		expect(await page.getByTestId('toast').count()).toBe(0);
		expect(await page.getByLabel('HeyGen API key').getAttribute('aria-invalid')).toBe('true');
		await page.getByText('No API key is set').waitFor(T);

		await page.getByTestId('save-voice').click();
		await page.getByTestId('field-error').filter({ hasText: 'Choose a voice' }).waitFor(T);
		expect(await page.getByTestId('voice-error').count()).toBe(0);
		const errors = await page.getByTestId('field-error').allInnerTexts();
		expect(errors).toEqual(expect.arrayContaining(['Choose an avatar from the list or enter its ID.', 'Choose a voice from the list or enter its ID.']));
		await screenshot(page, '21-settings-errors');
		expect(await unlabelledControls(page)).toEqual([]);
		const { rows } = await db.sql('select heygen_avatar_id, heygen_voice_id, has_heygen_key(id) as k from businesses where id = $1', [biz]);
		expect(rows[0]).toEqual({ heygen_avatar_id: null, heygen_voice_id: null, k: false });
	});

	test('content: an over-long script turns the counter red and is refused', async () => {
		await open(page, `${app.url}/b/${biz}/content/new`);
		await page.getByLabel('Title').fill('Too much to say');
		await page.getByLabel('Script').fill('word '.repeat(1100));
		await page.getByTestId('char-count').filter({ hasText: 'too many' }).waitFor(T);
		await page.getByRole('button', { name: 'Create content' }).click();
		await page.getByText(/The script is 5,499 characters; HeyGen accepts at most 5,000/).first().waitFor(T);
		expect(await page.getByLabel('Script').inputValue()).toHaveLength(5500);
		await screenshot(page, '22-content-too-long');
		expect(await unlabelledControls(page)).toEqual([]);
		expect((await db.sql('select count(*)::int as n from content where business_id = $1', [biz])).rows[0].n).toBe(0);
	});
});

describe('a failed video', () => {
	test('the step where it failed, and HeyGen’s reason in words', async () => {
		await configureHeyGen(owner, biz);
		const content = await createContent(owner, biz, 'This avatar does not exist.', 'Broken avatar [sim failWith=avatar_not_found]');
		const r = await owner.action(`/b/${biz}/content/${content}?/generate`, { ...GENERATE_DEFAULTS, idempotencyKey: await generateFormKey(owner, biz, content) });
		await open(page, `${app.url}/b/${biz}/content/${content}`);
		await waitForStatus(db, r.data.jobId, 'failed');
		await page.getByTestId('job-error').waitFor(T);
		expect(await page.getByTestId('job-error').innerText()).toMatch(/The video failed\..*avatar_not_found/s);
		await page.locator('[data-step="rendering"][data-state="failed"]').waitFor(T);
		await page.getByRole('button', { name: 'Retry' }).waitFor(T);
		await screenshot(page, '23-content-failed');
		expect(await unlabelledControls(page)).toEqual([]);
	});
});

describe('other people and other screens', () => {
	test("someone else's business is a plain 404 page", async () => {
		const { client: stranger } = await signUp(app, 'Stranger');
		const other = await createBusiness(stranger, 'Not Yours');
		const res = await page.goto(`${app.url}/b/${other}/settings`);
		expect(res!.status()).toBe(404);
		await page.getByRole('heading', { name: 'Not found' }).waitFor(T);
		expect(await page.content()).not.toContain('Not Yours');
		await screenshot(page, '24-not-found');
	});

	test('members page: invite a teammate by email; they join once they accept', async () => {
		const { client: tim, email } = await signUp(app, 'Tim Teammate');
		await open(page, `${app.url}/b/${biz}/members`);
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
		expect((await tim.action('/b?/accept', { invitationId })).location).toBe(`/b/${biz}`);
		await open(page, `${app.url}/b/${biz}/members`);
		await page.getByRole('cell', { name: 'Tim Teammate', exact: true }).waitFor(T);
		await screenshot(page, '25-members');
		expect(await unlabelledControls(page)).toEqual([]);
	});

	test('keyboard: the skip link and the Generate button are reachable with Tab', async () => {
		const content = await createContent(owner, biz, 'Keyboard script.', 'Keyboard');
		await open(page, `${app.url}/b/${biz}/content/${content}`);
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

	test('phone-sized screen', async () => {
		const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
		await phone.addCookies((await context.cookies()).map((c) => ({ ...c })));
		const p = await phone.newPage();
		const { rows } = await db.sql(`select id from content where business_id = $1 and title = 'Keyboard'`, [biz]);
		await open(p, `${app.url}/b/${biz}/content/${rows[0].id}`);
		await p.getByTestId('player').waitFor(T);
		await screenshot(p, '26-phone-content');
		// Nothing wider than the screen.
		expect(await overflowing(p)).toEqual([]);
		await open(p, `${app.url}/b/${biz}/settings`);
		await p.getByTestId('current-avatar').filter({ hasText: 'Anna (simulated)' }).waitFor(T);
		await screenshot(p, '27-phone-settings');
		expect(await overflowing(p)).toEqual([]);
		await phone.close();
	});

	test('dark mode follows the system setting', async () => {
		const dark = await browser.newContext({ viewport: { width: 1280, height: 900 }, colorScheme: 'dark' });
		await dark.addCookies(await context.cookies());
		const p = await dark.newPage();
		const { rows } = await db.sql(`select id from content where business_id = $1 and title = 'Keyboard'`, [biz]);
		await open(p, `${app.url}/b/${biz}/content/${rows[0].id}`);
		await p.getByTestId('player').waitFor(T);
		expect(await p.evaluate(() => getComputedStyle(document.documentElement).backgroundColor)).toBe('rgb(15, 17, 23)');
		await screenshot(p, '28-dark-content');
		await dark.close();
	});
});
