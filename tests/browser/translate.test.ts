/**
 * Issue 21 in the browser: a finished video is translated from its content page (search HeyGen's
 * languages, tick two, Translate), each language's status moves live without a reload, and the
 * language switcher plays the Spanish version with its captions track. Runs against the built
 * app, the worker and the HeyGen simulator; screenshots at 1280 px and 390 px, where nothing may
 * scroll sideways.
 */
import path from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, vi } from 'vitest';
import type { TestDatabase } from '../helpers/db.ts';
import { waitForStatus } from '../helpers/pipeline.ts';
import { contentWithVideo } from '../helpers/web-fixtures.ts';
import { configureHeyGen } from '../web/harness.ts';
import { browserTest as test, open, playUntilMoved, SCREENSHOT_DIR, screenshot, signedInContext, unlabelledControls } from './browser.ts';

const T = { timeout: 20_000 };
const SPANISH = 'Spanish (Spain)';
const GERMAN = 'German';

/** Waits for HeyGen's language list, which the worker reads when a key is saved, to hold `want` (polls the table). */
async function languagesLoaded(db: TestDatabase, want: string[]): Promise<void> {
	await vi.waitFor(
		async () => {
			const { rows } = await db.sql('select count(*)::int as n from heygen_languages where name = any($1::text[])', [want]);
			if (rows[0].n !== want.length) throw new Error(`HeyGen's languages (${want.join(', ')}) are not in heygen_languages yet`);
		},
		{ timeout: T.timeout, interval: 100 }
	);
}

/** Elements that stick out past the right edge of the screen (sideways scrolling on a phone). */
const overflowing = (p: Page) =>
	p.evaluate(() => {
		const w = document.documentElement.clientWidth;
		return [...document.querySelectorAll<HTMLElement>('body *')]
			.filter((el) => el.getBoundingClientRect().right > w + 1 && !el.closest('.table-wrap'))
			.map((el) => `${el.tagName.toLowerCase()}.${el.className}`)
			.slice(0, 10);
	});

/** Plays the video until its position moves; what it played, and its captions track. */
const playAndDescribe = async (p: Page) => {
	await playUntilMoved(p);
	return p.evaluate(async () => {
		const v = document.querySelector<HTMLVideoElement>('[data-testid="player"]')!;
		const track = v.querySelector('track');
		return {
			src: v.currentSrc,
			currentTime: v.currentTime,
			track: track ? { kind: track.kind, src: track.src, label: track.label } : null,
			cues: track ? await fetch(track.src).then((r) => r.text()) : null
		};
	});
};

describe('translating a video', () => {
	test('from the content page into Spanish and German; the Spanish version plays with its captions', async ({
		app,
		browser,
		db,
		owner,
		ownerPage: page,
		responses
	}) => {
		await configureHeyGen(owner.client, owner.businessId);
		const { contentId, jobId } = await contentWithVideo(db, owner, { title: 'Fresh bread on Fridays' });
		await languagesLoaded(db, [SPANISH, GERMAN]);
		const url = `${app.url}/b/${owner.businessId}/content/${contentId}`;
		await open(page, url);
		await page.evaluate(() => ((window as unknown as { __noReload: number }).__noReload = 42));

		await page.getByText('Translate…').click();
		const search = page.getByLabel('Search languages');
		await search.fill('span');
		await page.getByRole('checkbox', { name: SPANISH }).check();
		// The search narrows the list; a ticked language stays ticked when the search changes.
		expect(await page.getByRole('checkbox', { name: GERMAN }).isVisible()).toBe(false);
		await search.fill('germ');
		await page.getByRole('checkbox', { name: GERMAN }).check();
		expect(await page.getByRole('checkbox', { name: /Captions — subtitles in the new language/ }).isChecked()).toBe(true);
		await page.getByRole('list', { name: 'Chosen languages' }).getByText(SPANISH).waitFor(T);
		await screenshot(page, '40-translate-form');
		expect(await unlabelledControls(page)).toEqual([]);
		await page.getByTestId('translate-submit').click();
		await page
			.getByTestId('toast')
			.filter({ hasText: `Translating into ${GERMAN}, ${SPANISH}` })
			.waitFor(T);
		// Done with the form: it closes, nothing ticked, ready for the next time.
		await page.waitForFunction(() => !document.querySelector<HTMLDetailsElement>('[data-testid="translate"]')!.open, null, T);
		expect(await page.getByRole('list', { name: 'Chosen languages' }).count()).toBe(0);

		const { rows } = await db.sql(
			`select id, output_language from video_jobs where source_job_id = $1 and kind = 'translation' order by output_language`,
			[jobId]
		);
		expect(rows.map((r) => r.output_language)).toEqual([GERMAN, SPANISH]);
		const spanishJob = rows.find((r) => r.output_language === SPANISH)!.id as string;

		// Each language's row moves to completed live (no reload), by the same stream as the video's steps.
		const row = (lang: string) => page.locator(`[data-testid="language-versions"] li[data-language="${lang}"]`);
		await row(SPANISH).waitFor(T);
		await waitForStatus(db, spanishJob, 'completed', 60_000);
		await page.locator(`li[data-language="${SPANISH}"][data-status="completed"]`).waitFor(T);
		await page.locator(`li[data-language="${GERMAN}"][data-status="completed"]`).waitFor({ timeout: 60_000 });
		expect(await page.evaluate(() => (window as unknown as { __noReload?: number }).__noReload)).toBe(42);

		// The switcher plays the Spanish version, with its captions track from our storage.
		const switcher = page.getByRole('navigation', { name: 'Language of the video' });
		await switcher.getByRole('link', { name: SPANISH }).click();
		expect(await switcher.getByRole('link', { name: SPANISH }).getAttribute('aria-current')).toBe('true');
		expect(new URL(page.url()).searchParams.get('play')).toBe(spanishJob);
		const played = await playAndDescribe(page);
		expect(played.src).toBe(`${app.url}/media/${owner.businessId}/${contentId}/${spanishJob}.mp4`);
		expect(played.currentTime).toBeGreaterThan(0);
		expect(played.track).toEqual({
			kind: 'captions',
			src: `${app.url}/media/${owner.businessId}/${contentId}/${spanishJob}.vtt`,
			label: `${SPANISH} captions`
		});
		expect(played.cues).toMatch(/^WEBVTT/);
		await screenshot(page, '41-translated-desktop');

		// Back to the original.
		await switcher.getByRole('link', { name: 'Original' }).click();
		await page.waitForFunction(
			(id) => document.querySelector<HTMLVideoElement>('[data-testid="player"]')?.src.endsWith(`/${id}.mp4`),
			jobId,
			T
		);

		// The history and the job's audit page say what each job is.
		await open(page, `${app.url}/b/${owner.businessId}/jobs`);
		await page
			.getByTestId('job-kind')
			.filter({ hasText: `Translation into ${SPANISH}` })
			.waitFor(T);
		await open(page, `${app.url}/b/${owner.businessId}/jobs/${spanishJob}`);
		await page.getByRole('heading', { name: `Translation into ${SPANISH}` }).waitFor(T);
		expect(await page.getByTestId('job-events').locator('tbody tr').count()).toBeGreaterThanOrEqual(5);
		expect(responses.consoleErrors).toEqual([]);

		// On a 390 px phone: the same page (Spanish playing, the form open) does not scroll sideways.
		const phone = await signedInContext(browser, app, owner.client, {
			viewport: { width: 390, height: 844 },
			isMobile: true,
			hasTouch: true
		});
		try {
			const p = await phone.newPage();
			await open(p, `${url}?play=${spanishJob}`);
			await p.getByText('Translate…').click();
			await p.getByLabel('Search languages').waitFor(T);
			expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
			expect(await overflowing(p)).toEqual([]);
			expect(await p.locator('[data-testid="player"]').getAttribute('src')).toBe(
				`/media/${owner.businessId}/${contentId}/${spanishJob}.mp4`
			);
			await screenshot(p, '42-translated-phone');
			// The whole page at 390 px is too long to read in one picture: the video card on its own too.
			await p.getByTestId('video-panel').screenshot({ path: path.join(SCREENSHOT_DIR, '43-translated-phone-video.png') });
			// The history and the translation's audit page fit too (their tables scroll inside their own box).
			for (const [page2, shot] of [
				[`/b/${owner.businessId}/jobs`, '44-jobs-phone'],
				[`/b/${owner.businessId}/jobs/${spanishJob}`, '45-translation-job-phone']
			] as const) {
				await open(p, `${app.url}${page2}`);
				await p.getByTestId('job-kind').first().waitFor(T);
				expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
				expect(await overflowing(p)).toEqual([]);
				await screenshot(p, shot);
			}
		} finally {
			await phone.close();
		}
	}, 90_000);
});
