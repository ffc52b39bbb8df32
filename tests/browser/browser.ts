import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { webTest } from '../helpers/web-fixtures.ts';
import type { Client, TestApp } from '../web/harness.ts';

export const SCREENSHOT_DIR = path.resolve(import.meta.dirname, '../../test-results/screenshots');

/** Debian's Chromium (apt-get install chromium), driven by playwright-core; never a downloaded browser. */
export async function launchChromium(): Promise<Browser> {
	const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
	if (!existsSync(executablePath)) {
		throw new Error(
			`The browser tests need Chromium at ${executablePath}: run \`apt-get install -y chromium\` (Debian/Ubuntu) or set CHROMIUM_PATH.`
		);
	}
	return chromium.launch({
		executablePath,
		headless: true,
		args: [
			'--no-sandbox',
			'--disable-gpu',
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
			'--autoplay-policy=no-user-gesture-required'
		]
	});
}

export async function screenshot(page: Page, name: string): Promise<void> {
	mkdirSync(SCREENSHOT_DIR, { recursive: true });
	await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

/** page.goto, then wait until the app has hydrated (typing before that can be lost). */
export async function open(page: Page, url: string): Promise<void> {
	await page.goto(url);
	await hydrated(page);
}

export async function hydrated(page: Page): Promise<void> {
	await page.waitForSelector('html[data-hydrated]', { state: 'attached', timeout: 15_000 });
}

/**
 * Browser tests' fixtures, on top of webTest's `db`, `app` and `owner`:
 * - `browser`: Chromium for this file (file scope);
 * - `page`: a logged-out desktop tab of its own (test scope);
 * - `ownerPage`: a desktop tab signed in as this test's `owner`, whose business it can open at once.
 * `responses` records, for `page`/`ownerPage`, every HTML and data response and every console
 * error, to prove the key never reached the browser.
 */
export interface Recorded {
	bodies: { url: string; body: string }[];
	consoleErrors: string[];
}

export const DESKTOP = { width: 1280, height: 900 };

export function recordResponses(page: Page, rec: Recorded): void {
	page.on('console', (m) => {
		// Failed loads are recorded with their URL by the response handler below.
		if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) rec.consoleErrors.push(m.text());
	});
	page.on('response', async (res) => {
		if (res.status() >= 400) rec.consoleErrors.push(`${res.status()} ${res.url()}`);
		const type = res.request().resourceType();
		if (type !== 'document' && type !== 'fetch' && type !== 'xhr') return;
		if (res.headers()['content-type']?.startsWith('text/event-stream')) return;
		try {
			rec.bodies.push({ url: res.url(), body: await res.text() });
		} catch {
			// redirects have no body
		}
	});
}

/** A new browser context signed in with `client`'s session cookies. */
export async function signedInContext(
	browser: Browser,
	app: TestApp,
	client: Client,
	options: BrowserContextOptions = {}
): Promise<BrowserContext> {
	const context = await browser.newContext({ viewport: DESKTOP, ...options });
	await context.addCookies([...client.cookies].map(([name, value]) => ({ name, value, url: app.url })));
	return context;
}

async function tabIn(context: BrowserContext, rec: Recorded): Promise<Page> {
	const page = await context.newPage();
	page.on('dialog', (d) => void d.accept());
	recordResponses(page, rec);
	return page;
}

export const browserTest = webTest
	// eslint-disable-next-line no-empty-pattern
	.extend('browser', { scope: 'file' }, async ({}, { onCleanup }) => {
		const browser = await launchChromium();
		onCleanup(() => browser.close());
		return browser;
	})
	.extend('responses', (): Recorded => ({ bodies: [], consoleErrors: [] }))
	.extend('page', async ({ browser, responses }, { onCleanup }) => {
		const context = await browser.newContext({ viewport: DESKTOP });
		onCleanup(() => context.close());
		return tabIn(context, responses);
	})
	.extend('ownerPage', async ({ browser, app, owner, responses }, { onCleanup }) => {
		const context = await signedInContext(browser, app, owner.client);
		onCleanup(() => context.close());
		return tabIn(context, responses);
	});

/** Every visible form control is labelled (label[for], wrapping label or aria-label). */
export async function unlabelledControls(p: Page): Promise<string[]> {
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

/** Plays the page's player, muted, until its position moves (the timeupdate event, not a fixed wait), then pauses it. */
export function playUntilMoved(p: Page): Promise<void> {
	return p.evaluate(async () => {
		const v = document.querySelector<HTMLVideoElement>('[data-testid="player"]')!;
		v.muted = true;
		await new Promise<void>((resolve, reject) => {
			v.addEventListener('error', () => reject(new Error(`video error ${v.error?.code}`)), { once: true });
			const moved = () => {
				if (v.currentTime <= 0) return;
				v.removeEventListener('timeupdate', moved);
				resolve();
			};
			v.addEventListener('timeupdate', moved);
			void v.play();
		});
		v.pause();
	});
}
