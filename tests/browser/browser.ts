import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const SCREENSHOT_DIR = path.resolve(import.meta.dirname, '../../test-results/screenshots');

/** Debian's Chromium (apt-get install chromium), driven by playwright-core; never a downloaded browser. */
export async function launchChromium(): Promise<Browser> {
	const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
	if (!existsSync(executablePath)) {
		throw new Error(`The browser tests need Chromium at ${executablePath}: run \`apt-get install -y chromium\` (Debian/Ubuntu) or set CHROMIUM_PATH.`);
	}
	return chromium.launch({
		executablePath,
		headless: true,
		args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--autoplay-policy=no-user-gesture-required']
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
