/**
 * Every page at a phone's width (390 px, Chromium): a screenshot of each, and nothing may make the
 * page scroll sideways, even with a 200-character business name without spaces, long tables and
 * the tab bar. Also: each message is shown once, toasts are successes only, one at a time, gone
 * after navigating, and never cover a button on a phone. And the job page lists its events.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { waitForStatus } from '../helpers/pipeline.ts';
import {
	type Client,
	configureHeyGen,
	createBusiness,
	createContent,
	GENERATE_DEFAULTS,
	generateFormKey,
	signUp,
	startTestApp,
	type TestApp
} from '../web/harness.ts';
import { launchChromium, open, screenshot } from './browser.ts';

const T = { timeout: 15_000 };
const WIDTH = 390;
const LONG_NAME = `Acme${'Videoproductions'.repeat(12)}GmbH`.slice(0, 200);

let db: TestDatabase;
let app: TestApp;
let browser: Browser;
let phone: BrowserContext;
let page: Page;
let owner: Client;
let ownerEmail = '';
let ownerPassword = '';
let biz = '';
let content = '';
let completedJob = '';
let failedJob = '';

/** Width of the page's content: more than the viewport means the page scrolls sideways. */
const pageWidth = (p: Page) => p.evaluate(() => document.documentElement.scrollWidth);

/** The elements that stick out to the right, to say what to fix when a page is too wide. */
const wideElements = (p: Page) =>
	p.evaluate((w) => {
		const out: string[] = [];
		for (const el of document.querySelectorAll<HTMLElement>('body *')) {
			const r = el.getBoundingClientRect();
			if (r.right > w + 0.5 && r.width > 0) out.push(`${el.tagName.toLowerCase()}.${el.className} right=${Math.round(r.right)}`);
		}
		return out.slice(0, 15);
	}, WIDTH);

async function check(name: string, url: string, ready?: (p: Page) => Promise<unknown>): Promise<void> {
	await open(page, url);
	if (ready) await ready(page);
	await screenshot(page, `phone-${name}`);
	const width = await pageWidth(page);
	expect(width, `${name} (${url}) scrolls sideways: ${(await wideElements(page)).join(', ')}`).toBeLessThanOrEqual(WIDTH);
}

async function generate(contentId: string): Promise<string> {
	const r = await owner.action(`/b/${biz}/content/${contentId}?/generate`, { ...GENERATE_DEFAULTS, idempotencyKey: await generateFormKey(owner, biz, contentId) });
	if (r.type !== 'success') throw new Error(`generate failed: ${JSON.stringify(r)}`);
	return r.data.jobId as string;
}

beforeAll(async () => {
	db = await createTestDatabase();
	[app, browser] = await Promise.all([startTestApp(db, { renderMs: 300 }), launchChromium()]);
	({ client: owner, email: ownerEmail, password: ownerPassword } = await signUp(app, 'Pat Phone-Owner-With-A-Rather-Long-Name'));
	biz = await createBusiness(owner, LONG_NAME);
	await createBusiness(owner, 'Second business');
	const { email: mateEmail } = await signUp(app, 'Maximiliane Mitarbeiterin');
	await owner.action(`/b/${biz}/members?/add`, { email: mateEmail, role: 'admin' });
	await configureHeyGen(owner, biz);
	content = await createContent(owner, biz, 'Hello from a phone. '.repeat(20), `A title that goes on ${'andon'.repeat(30)}`);
	completedJob = await generate(content);
	await waitForStatus(db, completedJob, 'completed');
	const broken = await createContent(owner, biz, 'This avatar does not exist.', 'Broken avatar [sim failWith=avatar_not_found]');
	failedJob = await generate(broken);
	await waitForStatus(db, failedJob, 'failed');
	phone = await browser.newContext({ viewport: { width: WIDTH, height: 844 }, isMobile: true, hasTouch: true });
	page = await phone.newPage();
	page.on('dialog', (d) => void d.accept());
}, 180_000);

afterAll(async () => {
	await phone?.close();
	await browser?.close();
	await app?.stop();
	await db?.drop();
});

describe('390 px: no page scrolls sideways', () => {
	test('logged out: home, sign up, log in (with its error shown once, no toast)', async () => {
		await check('home', app.url);
		await check('signup', `${app.url}/signup`);
		await check('login', `${app.url}/login`);
		await page.getByLabel('Email').fill(ownerEmail);
		await page.getByLabel('Password').fill('not the password');
		await page.getByRole('button', { name: 'Log in' }).click();
		await page.getByText('Wrong email or password.').waitFor(T);
		expect(await page.getByText('Wrong email or password.').count()).toBe(1);
		expect(await page.getByTestId('toast').count()).toBe(0);
		await screenshot(page, 'phone-login-error');
		expect(await pageWidth(page)).toBeLessThanOrEqual(WIDTH);
		await page.getByLabel('Password').fill(ownerPassword);
		await page.getByRole('button', { name: 'Log in' }).click();
		await page.waitForURL(`${app.url}/b`, T);
	});

	test('every page of a business with a 200-character name', async () => {
		const base = `${app.url}/b/${biz}`;
		await check('businesses', `${app.url}/b`);
		await check('content-list', base);
		await check('content-new', `${base}/content/new`);
		await check('content', `${base}/content/${content}`, (p) => p.getByTestId('player').waitFor(T));
		await check('content-edit', `${base}/content/${content}/edit`);
		await check('jobs', `${base}/jobs`, (p) => p.getByTestId('jobs-table').waitFor(T));
		await check('job', `${base}/jobs/${failedJob}`, (p) => p.getByTestId('job-events').waitFor(T));
		await check('settings', `${base}/settings`, (p) => p.getByTestId('current-avatar').filter({ hasText: 'Anna (simulated)' }).waitFor(T));
		await check('members', `${base}/members`);
		const res = await page.goto(`${base}/jobs/00000000-0000-4000-8000-000000000000`);
		expect(res!.status()).toBe(404);
		await screenshot(page, 'phone-not-found');
		expect(await pageWidth(page)).toBeLessThanOrEqual(WIDTH);
	});

	test('the tab bar shows every label whole', async () => {
		await open(page, `${app.url}/b/${biz}/members`);
		const cut = await page.evaluate(() =>
			[...document.querySelectorAll<HTMLElement>('nav[aria-label="Business"] a')]
				.filter((a) => {
					const r = a.getBoundingClientRect();
					return !a.innerText.trim() || a.scrollWidth > a.clientWidth || r.left < 0 || r.right > document.documentElement.clientWidth;
				})
				.map((a) => a.getAttribute('href'))
		);
		expect(cut).toEqual([]);
		const labels = await page.getByRole('navigation', { name: 'Business' }).getByRole('link').allInnerTexts();
		expect(labels.map((l) => l.trim())).toEqual(['Content', 'Jobs', 'Settings', 'Members']);
	});

	test('wide tables scroll inside their box, with a hint', async () => {
		await open(page, `${app.url}/b/${biz}/jobs`);
		await page.getByText('Scroll sideways to see every column').first().waitFor(T);
		const box = await page.getByTestId('jobs-table').evaluate((t) => {
			const wrap = t.parentElement!;
			return { scrolls: wrap.scrollWidth > wrap.clientWidth, overflow: getComputedStyle(wrap).overflowX };
		});
		expect(box).toEqual({ scrolls: true, overflow: 'auto' });
	});
});

describe('messages', () => {
	test('a success shows one toast that never covers a button on a phone, and is gone after navigating', async () => {
		await open(page, `${app.url}/b/${biz}/settings`);
		await page.getByTestId('current-avatar').filter({ hasText: 'Anna (simulated)' }).waitFor(T);
		for (let i = 0; i < 2; i++) {
			await page.getByTestId('save-voice').click();
			await page.getByTestId('toast').waitFor(T);
		}
		expect(await page.getByTestId('toast').count()).toBe(1);
		const covered = await page.evaluate(() => {
			const t = document.querySelector('[data-testid="toast"]')!.getBoundingClientRect();
			return [...document.querySelectorAll<HTMLElement>('button, a.btn, input, select')]
				.filter((b) => b.closest('[data-testid="toast"]') === null && b.offsetParent !== null)
				.filter((b) => {
					const r = b.getBoundingClientRect();
					return r.left < t.right && r.right > t.left && r.top < t.bottom && r.bottom > t.top;
				})
				.map((b) => b.outerHTML.slice(0, 80));
		});
		expect(covered).toEqual([]);
		await screenshot(page, 'phone-settings-toast');
		await page.getByRole('navigation', { name: 'Business' }).getByRole('link', { name: 'Jobs', exact: true }).click();
		await page.waitForURL(/\/jobs$/, T);
		expect(await page.getByTestId('toast').count()).toBe(0);
	});

	test('a refused form says why once, next to the field, without a toast', async () => {
		await open(page, `${app.url}/b/${biz}/members`);
		await page.getByLabel('Email').fill('not an email');
		await page.getByRole('button', { name: 'Send invitation' }).click();
		await page.getByTestId('field-error').waitFor(T).catch(async (err) => {
			await screenshot(page, 'phone-members-refused-failed');
			throw err;
		});
		expect(await page.getByText('Enter the email address to invite, like name@example.com.').count()).toBe(1);
		expect(await page.locator('.notice.error').count()).toBe(0);
		expect(await page.getByTestId('toast').count()).toBe(0);
	});
});

describe('the job page', () => {
	test('lists every event with time, from → to, actor and detail, linked from the history table', async () => {
		await open(page, `${app.url}/b/${biz}/content/${content}`);
		await page.locator(`a[href="/b/${biz}/jobs/${completedJob}"]`).first().click();
		await page.waitForURL(`${app.url}/b/${biz}/jobs/${completedJob}`, T);
		const rows = await page.getByTestId('job-events').locator('tbody tr').allInnerTexts();
		const { rows: events } = await db.sql(`select to_status from video_job_events where job_id = $1 order by id`, [completedJob]);
		expect(rows).toHaveLength(events.length);
		expect(rows[0]).toMatch(/—\s*→\s*Queued/);
		expect(rows[0]).toContain('Pat Phone-Owner-With-A-Rather-Long-Name');
		expect(rows.at(-1)).toMatch(/Transferring\s*→\s*Completed/);
		await open(page, `${app.url}/b/${biz}/jobs/${failedJob}`);
		const failed = await page.getByTestId('job-events').locator('tbody tr').allInnerTexts();
		expect(failed.at(-1)).toMatch(/→\s*Failed/);
		expect(failed.at(-1)).toContain('avatar_not_found');
	});

	test("another business's job is a 404", async () => {
		const { client: stranger } = await signUp(app, 'Stranger');
		const theirs = await createBusiness(stranger, 'Not yours');
		const res = await page.goto(`${app.url}/b/${theirs}/jobs/${completedJob}`);
		expect(res!.status()).toBe(404);
		const mine = await page.goto(`${app.url}/b/${biz}/jobs/${completedJob}`);
		expect(mine!.status()).toBe(200);
	});
});
