/**
 * axe-core on every page of the app, in light, dark (prefers-color-scheme: dark) and at a phone's
 * width (390 px): no serious or moderate violation anywhere. The business it looks at is seeded once
 * for the file (a second member, a finished video, a failed job, a video waiting for approval), so
 * tables, players and the approval card are on the pages axe checks. A failure lists every page's
 * violations with the elements concerned, not only the first.
 */
import type { BrowserContextOptions, Page } from 'playwright-core';
import { describe, expect, vi } from 'vitest';
import { contentWithVideo, heldJob, type Owner } from '../helpers/web-fixtures.ts';
import { configureHeyGen, createBusiness, signUp } from '../web/harness.ts';
import { axeViolations, describeViolations } from './axe.ts';
import { browserTest, DESKTOP, open, signedInContext } from './browser.ts';

// Waits on events, not time: generous so that a busy machine (CI beside another run) only slows them.
const T = { timeout: 30_000 };
vi.setConfig({ testTimeout: 120_000 });

interface Seeded {
	owner: Owner;
	content: string;
	failedJob: string;
}

const test = browserTest.extend<{ seeded: Seeded }>({
	seeded: [
		async ({ app, db }, use) => {
			const { client, email, password } = await signUp(app, 'Alex Axe');
			const businessId = await createBusiness(client, 'Accessible Videos');
			const owner: Owner = { client, email, password, name: 'Alex Axe', businessId };
			const { email: mateEmail } = await signUp(app, 'Morgan Member');
			await client.action(`/b/${businessId}/members?/add`, { email: mateEmail, role: 'admin' });
			await configureHeyGen(client, businessId);
			const { contentId: content } = await contentWithVideo(db, owner, {
				body: 'Hello from the accessibility check. '.repeat(5),
				title: 'A video to check'
			});
			const { jobId: failedJob } = await contentWithVideo(db, owner, {
				body: 'This avatar does not exist.',
				title: 'Broken avatar [sim failWith=avatar_not_found]',
				until: 'failed'
			});
			await db.sql(`update businesses set require_approval = true where id = $1`, [businessId]);
			await heldJob(db, owner, 'Waiting for approval');
			await use({ owner, content, failedJob });
		},
		{ scope: 'file' }
	]
});

const MODES: Record<string, BrowserContextOptions> = {
	light: { viewport: DESKTOP, colorScheme: 'light' },
	dark: { viewport: DESKTOP, colorScheme: 'dark' },
	phone: { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, colorScheme: 'light' }
};

/** Each page: its path under the app and what shows that its live parts have arrived. */
function signedInPages(s: Seeded): [string, string, ((p: Page) => Promise<unknown>)?][] {
	const base = `/b/${s.owner.businessId}`;
	return [
		['business list', '/b'],
		['content list', base],
		['content new', `${base}/content/new`],
		['content page with a video', `${base}/content/${s.content}`, (p) => p.getByTestId('player').waitFor(T)],
		['content edit', `${base}/content/${s.content}/edit`],
		['jobs list', `${base}/jobs`, (p) => p.getByTestId('jobs-table').waitFor(T)],
		['job page', `${base}/jobs/${s.failedJob}`, (p) => p.getByTestId('job-events').waitFor(T)],
		['approvals', `${base}/approvals`, (p) => p.getByTestId('approval').first().waitFor(T)],
		['members', `${base}/members`],
		['settings', `${base}/settings`, (p) => p.getByTestId('current-avatar').filter({ hasText: 'Anna (simulated)' }).waitFor(T)],
		['account', '/account']
	];
}

const LOGGED_OUT: [string, string][] = [
	['home', '/'],
	['log in', '/login'],
	['sign up', '/signup']
];

describe('axe-core: no serious or moderate violation on any page', () => {
	for (const [mode, options] of Object.entries(MODES)) {
		test(`${mode}`, { timeout: 180_000 }, async ({ app, browser, seeded }) => {
			const found: string[] = [];
			const check = async (page: Page, name: string, path: string, ready?: (p: Page) => Promise<unknown>) => {
				await open(page, `${app.url}${path}`);
				if (ready) await ready(page);
				const violations = await axeViolations(page);
				if (violations.length) found.push(`${name} (${path}):\n${describeViolations(violations).replace(/^/gm, '  ')}`);
			};
			const out = await browser.newContext(options);
			try {
				const page = await out.newPage();
				for (const [name, path] of LOGGED_OUT) await check(page, name, path);
			} finally {
				await out.close();
			}
			const context = await signedInContext(browser, app, seeded.owner.client, options);
			try {
				const page = await context.newPage();
				for (const [name, path, ready] of signedInPages(seeded)) await check(page, name, path, ready);
				// The Jobs filter's active button is where dark mode lost contrast: check it pressed too.
				await open(page, `${app.url}/b/${seeded.owner.businessId}/jobs?status=failed`);
				const violations = await axeViolations(page);
				if (violations.length) found.push(`jobs list, filtered:\n${describeViolations(violations).replace(/^/gm, '  ')}`);
			} finally {
				await context.close();
			}
			if (found.length) expect.fail(`axe found serious or moderate violations in ${mode}:\n${found.join('\n')}`);
		});
	}
});
