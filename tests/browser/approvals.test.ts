/**
 * The Approvals page in Chromium (issue 22): a job a CRM inserts by SQL while approval is on
 * appears on the open page without a reload, Approve sends it on (the worker renders it), and the
 * page, the settings (normal and paused) fit a 390 px phone. Screenshots of each go to
 * test-results/screenshots (approvals-*, settings-spend-*).
 */
import type { Page } from 'playwright-core';
import { describe, expect, vi } from 'vitest';
import type { TestDatabase } from '../helpers/db.ts';
import { waitForStatus } from '../helpers/pipeline.ts';
import { heldJob, type Owner } from '../helpers/web-fixtures.ts';
import { configureHeyGen } from '../web/harness.ts';
import { browserTest as test, hydrated, open, screenshot, signedInContext, unlabelledControls } from './browser.ts';
import { expectAccessible } from './axe.ts';

// Waits on events, not time: generous so that a busy machine (CI beside another run) only slows them.
const T = { timeout: 30_000 };
vi.setConfig({ testTimeout: 120_000 });
const PHONE = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true };

async function withApproval(db: TestDatabase, owner: Owner): Promise<void> {
	await configureHeyGen(owner.client, owner.businessId);
	await db.sql(`update businesses set require_approval = true, monthly_video_seconds_limit = 600 where id = $1`, [owner.businessId]);
}

/** HeyGen's answer (streamed) has replaced "checking…". */
const creditsShown = (p: Page) => p.getByTestId('credits-left').filter({ hasNotText: 'checking' }).waitFor(T);
const pageWidth = (p: Page) => p.evaluate(() => document.documentElement.scrollWidth);

describe('approvals page', () => {
	test('a job inserted by SQL appears live; Approve sends it to HeyGen and it completes', async ({ app, db, owner, ownerPage: page }) => {
		await withApproval(db, owner);
		await open(page, `${app.url}/b/${owner.businessId}/approvals`);
		await page.getByTestId('approvals-empty').waitFor(T);

		const jobId = await heldJob(db, owner, 'Inserted by the CRM');
		const card = page.locator(`[data-testid="approval"][data-job-id="${jobId}"]`);
		await card.waitFor(T);
		await expect(card.getByTestId('hold-reason').innerText()).resolves.toBe('Approval is required for every video');
		await expect(card.getByTestId('estimate').innerText()).resolves.toMatch(/^about \d+ s of video$/);
		expect(await unlabelledControls(page)).toEqual([]);
		await screenshot(page, 'approvals-desktop');

		await card.getByTestId('approve').click();
		await card.waitFor({ state: 'detached', ...T });
		await page.getByTestId('approvals-empty').waitFor(T);
		await waitForStatus(db, jobId, 'completed');
		const { rows } = await db.sql(`select count(*)::int as n from video_job_events where job_id = $1 and to_status = 'queued'`, [jobId]);
		expect(rows[0].n).toBe(1);
	});

	test('approvals and spending settings (normal and paused) fit a 390 px phone', async ({ app, browser, db, owner }) => {
		await withApproval(db, owner);
		await heldJob(db, owner, `A long title ${'withoutanyspaces'.repeat(8)}`);
		await heldJob(db, owner, 'Second held video');
		const context = await signedInContext(browser, app, owner.client, PHONE);
		try {
			const phone = await context.newPage();
			const base = `${app.url}/b/${owner.businessId}`;
			await open(phone, `${base}/approvals`);
			await phone.getByTestId('approval').first().waitFor(T);
			expect(await pageWidth(phone)).toBeLessThanOrEqual(390);
			await screenshot(phone, 'approvals-phone');

			await open(phone, `${base}/settings`);
			await phone.getByTestId('spend-section').waitFor(T);
			await creditsShown(phone);
			expect(await pageWidth(phone)).toBeLessThanOrEqual(390);
			await screenshot(phone, 'settings-spend-phone');

			await db.sql(`update businesses set heygen_paused_reason = 'insufficient_credit', heygen_paused_at = now() where id = $1`, [
				owner.businessId
			]);
			await open(phone, `${base}/settings`);
			await phone.getByTestId('paused-banner').waitFor(T);
			expect(await pageWidth(phone)).toBeLessThanOrEqual(390);
			await screenshot(phone, 'settings-spend-paused-phone');

			// Resume from the banner, with JavaScript: the banner goes.
			await phone.getByTestId('resume-heygen').click();
			await phone.getByTestId('paused-banner').waitFor({ state: 'detached', ...T });
			await hydrated(phone);
			const { rows } = await db.sql(`select heygen_paused_reason from businesses where id = $1`, [owner.businessId]);
			expect(rows[0].heygen_paused_reason).toBeNull();
		} finally {
			await context.close();
		}
	});

	test('desktop screenshots of the spending settings, normal and paused', async ({ app, db, owner, ownerPage: page }) => {
		await withApproval(db, owner);
		const base = `${app.url}/b/${owner.businessId}`;
		await open(page, `${base}/settings`);
		await creditsShown(page);
		expect(await unlabelledControls(page)).toEqual([]);
		await screenshot(page, 'settings-spend-desktop');
		await db.sql(`update businesses set heygen_paused_reason = 'key_rejected', heygen_paused_at = now() where id = $1`, [owner.businessId]);
		await open(page, `${base}/settings`);
		await page.getByTestId('paused-banner').waitFor(T);
		await screenshot(page, 'settings-spend-paused-desktop');
		await expectAccessible(page, 'settings of a paused business');
	});
});
