/**
 * The job page in Chromium (issue 24, defects 3, 6 and 7): it follows the job live (rendering to
 * completed without a reload), Cancel and Retry answer with one message each, styled by kind
 * ("Video canceled." is information, not an error), the message goes once the job moved on, and
 * focus stays on the page (never dropped to <body>) after an enhanced submit. The Approvals page
 * shows the same shared behaviour. axe-core finds no serious or moderate violation on the job page
 * (desktop and phone); screenshots at 1280 and 390 px go to test-results/screenshots (job-page-*).
 */
import axe from 'axe-core';
import type { Page } from 'playwright-core';
import { describe, expect } from 'vitest';
import type { TestDatabase } from '../helpers/db.ts';
import { insertJob } from '../helpers/fixtures.ts';
import { heldJob, type Owner } from '../helpers/web-fixtures.ts';
import { configureHeyGen, createContent } from '../web/harness.ts';
import { browserTest as test, open, screenshot, signedInContext } from './browser.ts';

// Jobs move only when a test moves them (SQL, as the worker would), so each step can be watched.
test.override({ appOptions: { worker: false } });

// Generous: the machine running these may be busy.
const T = { timeout: 30_000 };
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

async function renderingJob(db: TestDatabase, owner: Owner, title = 'Live job'): Promise<string> {
	await configureHeyGen(owner.client, owner.businessId);
	const contentId = await createContent(owner.client, owner.businessId, `A script for ${title}. `.repeat(6), title);
	const jobId = await insertJob(db, contentId, { options: JSON.stringify({ aspect_ratio: '16:9', resolution: '1080p', captions: true }) });
	await db.sql(`update video_jobs set status = 'submitting' where id = $1`, [jobId]);
	await db.sql(`update video_jobs set status = 'rendering', heygen_video_id = $2 where id = $1`, [jobId, `v-${jobId.slice(0, 8)}`]);
	return jobId;
}

/** What the worker does after HeyGen finished: transfer, then complete. */
async function finish(db: TestDatabase, jobId: string): Promise<void> {
	const { rows } = await db.sql(`select status from video_jobs where id = $1`, [jobId]);
	if (rows[0].status === 'queued') {
		await db.sql(`update video_jobs set status = 'submitting' where id = $1`, [jobId]);
		await db.sql(`update video_jobs set status = 'rendering', heygen_video_id = coalesce(heygen_video_id, 'v-again') where id = $1`, [
			jobId
		]);
	}
	await db.sql(`update video_jobs set status = 'transferring' where id = $1`, [jobId]);
	await db.sql(`update video_jobs set status = 'completed', storage_path = 'videos/x.mp4', video_url = 'https://s/x.mp4' where id = $1`, [
		jobId
	]);
}

const status = (p: Page) => p.getByTestId('job-status').locator('[data-status]').getAttribute('data-status');
/** The focused element, as a short description ("BODY" when focus was dropped). */
const focused = (p: Page) =>
	p.evaluate(() => {
		const el = document.activeElement;
		return !el || el === document.body
			? 'BODY'
			: `${el.tagName}${el.getAttribute('data-testid') ? `[${el.getAttribute('data-testid')}]` : ''}`;
	});
/** How often a text is visible on the page (toast and inline together). */
const shownTimes = (p: Page, text: string) => p.getByText(text, { exact: false }).filter({ visible: true }).count();

/** axe-core's serious and moderate violations on the page as it is now. */
async function axeViolations(p: Page): Promise<string[]> {
	// Evaluated, not a <script> tag: the app's Content-Security-Policy allows only its own scripts.
	await p.evaluate(axe.source);
	return p.evaluate(async () => {
		const injected = (window as unknown as { axe: { run: (ctx: Document) => Promise<{ violations: any[] }> } }).axe;
		const r = await injected.run(document);
		return r.violations
			.filter((v) => v.impact === 'serious' || v.impact === 'moderate')
			.map((v) => `${v.impact} ${v.id}: ${v.nodes.map((n: { target: string[] }) => n.target.join(' ')).join(', ')}`);
	});
}

describe('the job page', () => {
	test('moves from rendering to completed live, without a reload', async ({ app, db, owner, ownerPage: page }) => {
		const jobId = await renderingJob(db, owner);
		await open(page, `${app.url}/b/${owner.businessId}/jobs/${jobId}`);
		await page.getByTestId('live').filter({ hasText: 'Live' }).waitFor(T);
		expect(await status(page)).toBe('rendering');
		await page.getByTestId('cancel').waitFor(T);
		// A reload would lose this mark.
		await page.evaluate(() => ((window as unknown as { stayed: boolean }).stayed = true));

		await finish(db, jobId);
		await page.locator('[data-testid="job-status"] [data-status="completed"]').waitFor(T);
		await page
			.getByTestId('job-events')
			.getByText(/Transferring\s*→\s*Completed/)
			.waitFor(T);
		expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
		// The finished job has no Cancel, and every step says how long it took, to the second.
		expect(await page.getByTestId('cancel').count()).toBe(0);
		const took = await page.getByTestId('event-took').allInnerTexts();
		expect(
			took.slice(0, -1).every((t) => /^\d+(\.\d)? s$|min/.test(t.trim())),
			took.join(' | ')
		).toBe(true);
		expect(await page.getByTestId('job-events').locator('tbody tr').first().innerText()).toMatch(/\d\d:\d\d:\d\d/);
		expect(await axeViolations(page)).toEqual([]);
		await screenshot(page, 'job-page-desktop');
	}, 120_000);

	test('Cancel, then Retry: one message each, by kind, gone once the job moved on; focus stays', async ({
		app,
		db,
		owner,
		ownerPage: page
	}) => {
		const jobId = await renderingJob(db, owner, 'Cancel and retry');
		await open(page, `${app.url}/b/${owner.businessId}/jobs/${jobId}`);
		await page.getByTestId('live').filter({ hasText: 'Live' }).waitFor(T);

		await page.getByTestId('cancel').click();
		const canceled = page.getByTestId('toast').filter({ hasText: 'Video canceled.' });
		await canceled.waitFor(T);
		expect(await canceled.getAttribute('data-kind')).toBe('info');
		expect(await shownTimes(page, 'Video canceled.')).toBe(1);
		expect(await page.locator('.notice.error, .field-error').count()).toBe(0);
		await page.getByTestId('retry').waitFor(T);
		// The Cancel button is gone: focus went to the message, not to <body>.
		expect(await focused(page)).not.toBe('BODY');

		await page.getByTestId('retry').click();
		const retrying = page.getByTestId('toast').filter({ hasText: 'Retrying' });
		await retrying.waitFor(T);
		expect(await retrying.getAttribute('data-kind')).toBe('info');
		// Another action ran: the previous message is gone, only this one is shown.
		expect(await shownTimes(page, 'Video canceled.')).toBe(0);
		expect(await page.getByTestId('toast').count()).toBe(1);
		expect(await focused(page)).not.toBe('BODY');
		await screenshot(page, 'job-page-retrying');

		// The job finishes: "Retrying…" no longer describes it and goes, with the status change (not
		// later, by its timer): the page notes the job's status at the moment the message left.
		await page.evaluate(() => {
			const w = window as unknown as { statusWhenGone?: string | null };
			new MutationObserver((_, obs) => {
				if (document.querySelector('[data-testid="toast"]')) return;
				w.statusWhenGone = document.querySelector('[data-testid="job-status"] [data-status]')?.getAttribute('data-status') ?? null;
				obs.disconnect();
			}).observe(document.body, { childList: true, subtree: true });
		});
		await finish(db, jobId);
		await page.locator('[data-testid="job-status"] [data-status="completed"]').waitFor(T);
		await retrying.waitFor({ state: 'detached', ...T });
		expect(await page.evaluate(() => (window as unknown as { statusWhenGone?: string }).statusWhenGone)).toBe('completed');
	}, 120_000);

	test('fits a 390 px phone; axe finds nothing serious or moderate', async ({ app, browser, db, owner }) => {
		const jobId = await renderingJob(db, owner, `A long title ${'withoutanyspaces'.repeat(10)}`);
		await db.sql(`update video_jobs set status = 'failed', error_code = 'avatar_not_found', error_message = $2 where id = $1`, [
			jobId,
			'HeyGen has no avatar with this ID. Choose another avatar in HeyGen settings, then generate again.'
		]);
		const context = await signedInContext(browser, app, owner.client, PHONE);
		try {
			const phone = await context.newPage();
			await open(phone, `${app.url}/b/${owner.businessId}/jobs/${jobId}`);
			await phone.getByTestId('retry').waitFor(T);
			expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
			expect(await axeViolations(phone)).toEqual([]);
			await screenshot(phone, 'job-page-phone');
		} finally {
			await context.close();
		}
	}, 120_000);
});

describe('shared form feedback (Approvals page)', () => {
	test('Approve: the confirmation is shown once, and focus is not dropped to <body>', async ({ app, db, owner, ownerPage: page }) => {
		await configureHeyGen(owner.client, owner.businessId);
		await db.sql(`update businesses set require_approval = true where id = $1`, [owner.businessId]);
		const held = await heldJob(db, owner, 'Approve me');
		await open(page, `${app.url}/b/${owner.businessId}/approvals`);
		const card = page.locator(`[data-testid="approval"][data-job-id="${held}"]`);
		await card.getByTestId('approve').click();
		await card.waitFor({ state: 'detached', ...T });
		await page.getByTestId('toast').filter({ hasText: 'Approved' }).waitFor(T);
		expect(await focused(page)).not.toBe('BODY');
		expect(await shownTimes(page, 'Approved: the video is queued')).toBe(1);
	}, 120_000);
});
