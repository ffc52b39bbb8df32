/**
 * Issue 24's "Done when" on the content page, as a person does it, without touching SQL: generate
 * one video with another avatar than the business's, see the estimate before the click, have HeyGen
 * refuse it (a simulator fault), follow the advice the page gives, and end with a playable video.
 * Screenshots of the content page at 1280 and 390 px; nothing may scroll sideways on the phone.
 */
import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import { configureHeyGen, createContent } from '../web/harness.ts';
import { browserTest as test, open, playUntilMoved, screenshot, signedInContext } from './browser.ts';

const T = { timeout: 20_000 };

/** How far the page scrolls sideways (0 = not at all). */
const sideways = (p: Page) => p.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);

test('another avatar for one video, the estimate, a refusal, the advice followed, a playable video; at 1280 and 390 px', async ({
	app,
	browser,
	owner,
	ownerPage: page
}) => {
	const b = owner.businessId;
	await configureHeyGen(owner.client, b);
	const contentId = await createContent(owner.client, b, 'Hello! Our spring range is in the shop from Monday.', 'Spring range');
	const url = `${app.url}/b/${b}/content/${contentId}`;
	await open(page, url);

	// The estimate before the click: the script's length, about how long, and HeyGen's credits.
	const estimate = page.getByTestId('generate-estimate');
	await estimate.waitFor(T);
	expect((await estimate.innerText()).replace(/\s+/g, ' ')).toMatch(
		/^About \d+ s of video from 51 characters · HeyGen: \$120\.5 in the wallet\.$/
	);

	// Another avatar for this video only; its default voice comes with it.
	await page.getByTestId('choose-for-video').click();
	await page.getByTestId('video-choices').waitFor(T);
	await page.getByText('Josh (simulated)').click();
	expect(await page.getByRole('radio', { name: /Sim English 2/ }).isChecked()).toBe(true);
	await screenshot(page, '60-content-choose-avatar-1280');

	// HeyGen refuses the next video's settings (on purpose).
	app.sim.setFaults({ invalidParameter: { param: 'avatar_id', message: 'This look cannot be used with this engine', times: 1 } });
	await page.getByTestId('generate').click();
	const failure = page.getByTestId('job-error');
	await failure.waitFor(T);
	expect(await failure.innerText()).toMatch(/Change the script, avatar, voice or format, then Generate again\./);
	expect(await page.getByTestId('again-hint').innerText()).toMatch(/Retry sends this video's own inputs again \(avatar sim-avatar-josh/);
	await screenshot(page, '61-content-failed-1280');

	// The advice: Generate again (with the business's avatar and voice), not Retry.
	await page.getByTestId('generate-again').click();
	await page.locator('[data-testid="job-status"] [data-status="completed"]').waitFor(T);
	await page.getByTestId('player').waitFor(T);
	await playUntilMoved(page);
	// Both videos are in the history; the one that finished is the current version.
	await page.getByTestId('versions').waitFor(T);
	expect(await page.getByTestId('version').count()).toBe(1);
	expect(await sideways(page)).toBe(0);
	await screenshot(page, '62-content-done-1280');

	// The same page on a phone: nothing scrolls sideways.
	const phone = await signedInContext(browser, app, owner.client, {
		viewport: { width: 390, height: 844 },
		isMobile: true,
		hasTouch: true
	});
	try {
		const p = await phone.newPage();
		await open(p, url);
		await p.getByTestId('player').waitFor(T);
		expect(await sideways(p)).toBe(0);
		await screenshot(p, '63-content-done-390');
		await open(p, `${url}?choose`);
		await p.getByTestId('video-choices').waitFor(T);
		expect(await sideways(p)).toBe(0);
		await screenshot(p, '64-content-choose-390');
	} finally {
		await phone.close();
	}
}, 120_000);
