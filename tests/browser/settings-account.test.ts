/**
 * Settings, account and the header in Chromium (issue 24, defect 7 and "Progress on navigation"):
 * screenshots of settings and account at 1280 and 390 px with nothing scrolling sideways; a
 * compact logged-out phone header; the voice filter's label and the voice names on one line each on
 * a phone; table edge shadows only on a table that overflows; and a progress bar while a page
 * loads, over the page rather than pushing it down. Screenshots: test-results/screenshots/ui3-*.
 */
import type { Page } from 'playwright-core';
import { describe, expect, vi } from 'vitest';
import { configureHeyGen, inviteAndAccept, signUp } from '../web/harness.ts';
import { browserTest as test, hydrated, open, screenshot, signedInContext } from './browser.ts';

// Chromium and the file's app start inside the first test; the machine is shared.
vi.setConfig({ testTimeout: 120_000 });

const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

const sideways = (p: Page) => p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

describe('settings and account pages', () => {
	test('at 1280 and 390 px: screenshots, and nothing scrolls sideways', async ({ app, browser, owner }) => {
		await configureHeyGen(owner.client, owner.businessId);
		for (const [label, options] of [
			['desktop', { viewport: { width: 1280, height: 900 } }],
			['phone', PHONE]
		] as const) {
			const context = await signedInContext(browser, app, owner.client, options);
			try {
				const page = await context.newPage();
				for (const [name, path] of [
					['settings', `/b/${owner.businessId}/settings`],
					['account', '/account']
				] as const) {
					await open(page, app.url + path);
					expect(await sideways(page), `${name} at ${label}`).toBe(0);
					await screenshot(page, `ui3-${name}-${label}`);
				}
			} finally {
				await context.close();
			}
		}
	});

	test('on a phone the voice filter label and each voice name stay on one line', async ({ app, browser, owner }) => {
		await configureHeyGen(owner.client, owner.businessId);
		const context = await signedInContext(browser, app, owner.client, PHONE);
		try {
			const page = await context.newPage();
			await open(page, `${app.url}/b/${owner.businessId}/settings`);
			const lines = await page.evaluate(() => {
				const linesOf = (el: Element) => {
					const style = getComputedStyle(el);
					const lineHeight = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.5;
					return Math.round(el.getBoundingClientRect().height / lineHeight);
				};
				return {
					label: linesOf(document.querySelector('.lang-label') ?? document.querySelector('label:has([data-testid="voice-language"])')!),
					names: [...document.querySelectorAll('fieldset:has([name="voiceId"]) .name')].map(linesOf)
				};
			});
			expect(lines.label).toBe(1);
			expect(lines.names.length).toBeGreaterThan(0);
			for (const n of lines.names) expect(n).toBe(1);
		} finally {
			await context.close();
		}
	});
});

describe('header', () => {
	test('logged out on a phone, the header is one compact row', async ({ app, browser }) => {
		const context = await browser.newContext(PHONE);
		try {
			const page = await context.newPage();
			await open(page, app.url + '/');
			const height = await page.locator('header.topbar').evaluate((el) => el.getBoundingClientRect().height);
			expect(height).toBeLessThanOrEqual(60);
			await screenshot(page, 'ui3-header-logged-out-phone');
		} finally {
			await context.close();
		}
	});

	test('a progress bar shows while the next page loads, without moving the page', async ({ app, owner, ownerPage: page }) => {
		await open(page, `${app.url}/b/${owner.businessId}`);
		const mainTop = () => page.locator('main').evaluate((el) => el.getBoundingClientRect().top);
		const before = await mainTop();
		// Hold the account page's data until the bar has been seen.
		let release!: () => void;
		const held = new Promise<void>((resolve) => (release = resolve));
		await page.route('**/account/__data.json**', async (route) => {
			await held;
			await route.continue();
		});
		await page.getByTestId('account-link').click();
		const bar = page.locator('[role="progressbar"][aria-label="Loading the page"]');
		await bar.waitFor({ state: 'visible', timeout: 5_000 });
		await expect.poll(() => bar.evaluate((el) => getComputedStyle(el).opacity)).toBe('1');
		expect(await bar.evaluate((el) => getComputedStyle(el).position)).toBe('fixed');
		expect(await mainTop()).toBe(before);
		release();
		await page.waitForURL('**/account');
		await hydrated(page);
		await bar.waitFor({ state: 'detached', timeout: 5_000 });
		await expect(page.getByTestId('account-name').textContent()).resolves.toBe(owner.name);
	});
});

describe('tables', () => {
	test('edge shadows only when a table overflows its box', async ({ app, browser, owner }) => {
		const mate = await signUp(app, 'Maximiliane Mitarbeiterin-Langname');
		await inviteAndAccept(owner.client, owner.businessId, mate.client, mate.email);
		const shadowSizes = (p: Page) =>
			p.locator('[role="region"][aria-label="Members"]').evaluate((el) => ({
				size: getComputedStyle(el).backgroundSize,
				overflows: el.scrollWidth > el.clientWidth
			}));
		for (const [label, options, overflows] of [
			['desktop', { viewport: { width: 1280, height: 900 } }, false],
			['phone', PHONE, true]
		] as const) {
			const context = await signedInContext(browser, app, owner.client, options);
			try {
				const page = await context.newPage();
				await open(page, `${app.url}/b/${owner.businessId}/members`);
				const s = await shadowSizes(page);
				expect(s.overflows, label).toBe(overflows);
				// Left shadow none at the start; right shadow only when there is more to the right.
				expect(s.size, label).toBe(overflows ? '0px 100%, 12px 100%' : '0px 100%, 0px 100%');
			} finally {
				await context.close();
			}
		}
	});
});
