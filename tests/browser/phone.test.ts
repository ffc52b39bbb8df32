/**
 * Every page at a phone's width (390 px, Chromium): a screenshot of each, and nothing may make the
 * page scroll sideways, even with a 200-character business name without spaces, long tables and
 * the tab bar. Also: each message is shown once, toasts are successes only, one at a time, gone
 * after navigating, and never cover a button on a phone. And the job page lists its events.
 * The business they look at is made once for the file (`seeded`, which no test changes); each test
 * gets a phone tab of its own, so any order works.
 */
import type { Page } from 'playwright-core';
import { describe, expect, vi } from 'vitest';
import { contentWithVideo } from '../helpers/web-fixtures.ts';
import { type Client, configureHeyGen, createBusiness, signUp } from '../web/harness.ts';
import { browserTest, open, screenshot, signedInContext } from './browser.ts';

// Waits on events, not time: generous so that a busy machine (CI beside another run) only slows them.
const T = { timeout: 30_000 };
vi.setConfig({ testTimeout: 120_000 });
const WIDTH = 390;
const PHONE = { viewport: { width: WIDTH, height: 844 }, isMobile: true, hasTouch: true };
const LONG_NAME = `Acme${'Videoproductions'.repeat(12)}GmbH`.slice(0, 200);

interface Seeded {
	owner: Client;
	email: string;
	password: string;
	biz: string;
	content: string;
	completedJob: string;
	failedJob: string;
}

const test = browserTest.extend<{ seeded: Seeded; phonePage: Page; loggedOutPhonePage: Page }>({
	seeded: [
		async ({ app, db }, use) => {
			const { client: owner, email, password } = await signUp(app, 'Pat Phone-Owner-With-A-Rather-Long-Name');
			const biz = await createBusiness(owner, LONG_NAME);
			await createBusiness(owner, 'Second business');
			const { email: mateEmail } = await signUp(app, 'Maximiliane Mitarbeiterin');
			await owner.action(`/b/${biz}/members?/add`, { email: mateEmail, role: 'admin' });
			await configureHeyGen(owner, biz);
			const ownerOf = { client: owner, businessId: biz };
			const { contentId: content, jobId: completedJob } = await contentWithVideo(db, ownerOf, {
				body: 'Hello from a phone. '.repeat(20),
				title: `A title that goes on ${'andon'.repeat(30)}`
			});
			const { jobId: failedJob } = await contentWithVideo(db, ownerOf, {
				body: 'This avatar does not exist.',
				title: 'Broken avatar [sim failWith=avatar_not_found]',
				until: 'failed'
			});
			await use({ owner, email, password, biz, content, completedJob, failedJob });
		},
		{ scope: 'file' }
	],
	phonePage: async ({ browser, app, seeded }, use) => {
		const context = await signedInContext(browser, app, seeded.owner, PHONE);
		const page = await context.newPage();
		page.on('dialog', (d) => void d.accept());
		try {
			await use(page);
		} finally {
			await context.close();
		}
	},
	loggedOutPhonePage: async ({ browser }, use) => {
		const context = await browser.newContext(PHONE);
		try {
			await use(await context.newPage());
		} finally {
			await context.close();
		}
	}
});

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

async function check(page: Page, name: string, url: string, ready?: (p: Page) => Promise<unknown>): Promise<void> {
	await open(page, url);
	if (ready) await ready(page);
	await screenshot(page, `phone-${name}`);
	const width = await pageWidth(page);
	expect(width, `${name} (${url}) scrolls sideways: ${(await wideElements(page)).join(', ')}`).toBeLessThanOrEqual(WIDTH);
}

describe('390 px: no page scrolls sideways', () => {
	test('logged out: home, sign up, log in (with its error shown once, no toast)', async ({ app, seeded, loggedOutPhonePage: page }) => {
		await check(page, 'home', app.url);
		await check(page, 'signup', `${app.url}/signup`);
		await check(page, 'login', `${app.url}/login`);
		await page.getByLabel('Email').fill(seeded.email);
		await page.getByLabel('Password').fill('not the password');
		await page.getByRole('button', { name: 'Log in' }).click();
		await page.getByText('Wrong email or password.').waitFor(T);
		expect(await page.getByText('Wrong email or password.').count()).toBe(1);
		expect(await page.getByTestId('toast').count()).toBe(0);
		await screenshot(page, 'phone-login-error');
		expect(await pageWidth(page)).toBeLessThanOrEqual(WIDTH);
		await page.getByLabel('Password').fill(seeded.password);
		await page.getByRole('button', { name: 'Log in' }).click();
		await page.waitForURL(`${app.url}/b`, T);
	});

	test('every page of a business with a 200-character name', async ({ app, db, seeded, phonePage: page }) => {
		const base = `${app.url}/b/${seeded.biz}`;
		await check(page, 'businesses', `${app.url}/b`);
		await check(page, 'content-list', base);
		await check(page, 'content-new', `${base}/content/new`);
		await check(page, 'content', `${base}/content/${seeded.content}`, (p) => p.getByTestId('player').waitFor(T));
		await check(page, 'content-edit', `${base}/content/${seeded.content}/edit`);
		await check(page, 'jobs', `${base}/jobs`, (p) => p.getByTestId('jobs-table').waitFor(T));
		await check(page, 'job', `${base}/jobs/${seeded.failedJob}`, (p) => p.getByTestId('job-events').waitFor(T));
		await check(page, 'settings', `${base}/settings`, (p) =>
			p.getByTestId('current-avatar').filter({ hasText: 'Anna (simulated)' }).waitFor(T)
		);
		await check(page, 'members', `${base}/members`);
		const res = await page.goto(`${base}/jobs/00000000-0000-4000-8000-000000000000`);
		expect(res!.status()).toBe(404);
		await screenshot(page, 'phone-not-found');
		expect(await pageWidth(page)).toBeLessThanOrEqual(WIDTH);
	});

	test('the tab bar shows every label whole', async ({ app, db, seeded, phonePage: page }) => {
		await open(page, `${app.url}/b/${seeded.biz}/members`);
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
		expect(labels.map((l) => l.trim())).toEqual(['Content', 'Library', 'Jobs', 'Approvals', 'Settings', 'Members']);
	});

	test('wide tables scroll inside their box, with a hint', async ({ app, db, seeded, phonePage: page }) => {
		await open(page, `${app.url}/b/${seeded.biz}/jobs`);
		await page.getByText('Scroll sideways to see every column').first().waitFor(T);
		const box = await page.getByTestId('jobs-table').evaluate((t) => {
			const wrap = t.parentElement!;
			return { scrolls: wrap.scrollWidth > wrap.clientWidth, overflow: getComputedStyle(wrap).overflowX };
		});
		expect(box).toEqual({ scrolls: true, overflow: 'auto' });
	});
});

describe('messages', () => {
	test('a success shows one toast that never covers a button on a phone, and is gone after navigating', async ({
		app,
		db,
		seeded,
		phonePage: page
	}) => {
		await open(page, `${app.url}/b/${seeded.biz}/settings`);
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

	test('a refused form says why once, next to the field, without a toast', async ({ app, db, seeded, phonePage: page }) => {
		await open(page, `${app.url}/b/${seeded.biz}/members`);
		await page.getByLabel('Email').fill('not an email');
		await page.getByRole('button', { name: 'Send invitation' }).click();
		await page
			.getByTestId('field-error')
			.waitFor(T)
			.catch(async (err) => {
				await screenshot(page, 'phone-members-refused-failed');
				throw err;
			});
		expect(await page.getByText('Enter the email address to invite, like name@example.com.').count()).toBe(1);
		expect(await page.locator('.notice.error').count()).toBe(0);
		expect(await page.getByTestId('toast').count()).toBe(0);
	});
});

describe('the job page', () => {
	test('lists every event with time, from → to, actor and detail, linked from the history table', async ({
		app,
		db,
		seeded,
		phonePage: page
	}) => {
		await open(page, `${app.url}/b/${seeded.biz}/content/${seeded.content}`);
		await page.locator(`a[href="/b/${seeded.biz}/jobs/${seeded.completedJob}"]`).first().click();
		await page.waitForURL(`${app.url}/b/${seeded.biz}/jobs/${seeded.completedJob}`, T);
		const rows = await page.getByTestId('job-events').locator('tbody tr').allInnerTexts();
		const { rows: events } = await db.sql(`select to_status from video_job_events where job_id = $1 order by id`, [seeded.completedJob]);
		expect(rows).toHaveLength(events.length);
		expect(rows[0]).toMatch(/—\s*→\s*Queued/);
		expect(rows[0]).toContain('Pat Phone-Owner-With-A-Rather-Long-Name');
		expect(rows.at(-1)).toMatch(/Transferring\s*→\s*Completed/);
		await open(page, `${app.url}/b/${seeded.biz}/jobs/${seeded.failedJob}`);
		const failed = await page.getByTestId('job-events').locator('tbody tr').allInnerTexts();
		expect(failed.at(-1)).toMatch(/→\s*Failed/);
		expect(failed.at(-1)).toContain('avatar_not_found');
	});

	test("another business's job is a 404", async ({ app, db, seeded, phonePage: page }) => {
		const { client: stranger } = await signUp(app, 'Stranger');
		const theirs = await createBusiness(stranger, 'Not yours');
		const res = await page.goto(`${app.url}/b/${theirs}/jobs/${seeded.completedJob}`);
		expect(res!.status()).toBe(404);
		const mine = await page.goto(`${app.url}/b/${seeded.biz}/jobs/${seeded.completedJob}`);
		expect(mine!.status()).toBe(200);
	});
});
