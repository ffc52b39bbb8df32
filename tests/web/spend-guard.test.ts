/**
 * The spend guard's pages (issue 22): the spending settings (approval switch, monthly limit in
 * minutes, validated), the pause banner and its Resume button, and the Approvals page's Approve and
 * Reject, which only owners and admins may post. The rules themselves are SQL's (migration 0024);
 * these tests check the forms reach them as the signed-in person and refuse bad input cleanly.
 */
import { describe, expect } from 'vitest';
import type { TestDatabase } from '../helpers/db.ts';
import { heldJob, type Owner, webTest as test } from '../helpers/web-fixtures.ts';
import { configureHeyGen, createContent, GENERATE_DEFAULTS, generateFormKey, inviteAndAccept, signUp, type TestApp } from './harness.ts';

// Approving only has to reach queued here (the trigger enqueues it); the browser test runs the worker.
test.override({ appOptions: { worker: false } });

const spendOf = async (db: TestDatabase, b: string) =>
	(await db.sql(`select require_approval, monthly_video_seconds_limit, heygen_paused_reason from businesses where id = $1`, [b])).rows[0];
const userIdOf = async (db: TestDatabase, email: string) =>
	(await db.sql(`select id from auth_users where email = $1`, [email])).rows[0].id as string;
const jobOf = async (db: TestDatabase, id: string) =>
	(await db.sql(`select status, hold_reason, error_code, error_message from video_jobs where id = $1`, [id])).rows[0];
/** The event that took the job to `status`, with its actor. */
const eventTo = async (db: TestDatabase, id: string, status: string) =>
	(await db.sql(`select actor from video_job_events where job_id = $1 and to_status = $2`, [id, status])).rows;

async function ownerWithApproval(db: TestDatabase, owner: Owner): Promise<Owner> {
	await configureHeyGen(owner.client, owner.businessId);
	await db.sql(`update businesses set require_approval = true where id = $1`, [owner.businessId]);
	return owner;
}

async function plainMember(app: TestApp, owner: Owner) {
	const { client, email } = await signUp(app, 'Mike Member');
	await inviteAndAccept(owner.client, owner.businessId, client, email);
	return client;
}

describe('spending settings', () => {
	test('the approval switch and the limit in minutes are saved (as seconds); empty is no limit', async ({ db, owner }) => {
		const b = owner.businessId;
		const r = await owner.client.action(`/b/${b}/settings?/saveSpend`, { requireApproval: 'on', limitMinutes: ' 90 ' });
		expect(r).toMatchObject({ type: 'success', data: { form: 'spend' } });
		expect(await spendOf(db, b)).toMatchObject({ require_approval: true, monthly_video_seconds_limit: 5400 });
		const page = await owner.client.html(`/b/${b}/settings`);
		expect(page.text).toMatch(/name="limitMinutes"[^>]*value="90"|value="90"[^>]*name="limitMinutes"/);

		const off = await owner.client.action(`/b/${b}/settings?/saveSpend`, { limitMinutes: '' });
		expect(off.type).toBe('success');
		expect(await spendOf(db, b)).toMatchObject({ require_approval: false, monthly_video_seconds_limit: null });
	});

	test('bad minutes are a form error naming the field, and nothing changes', async ({ db, owner }) => {
		const b = owner.businessId;
		await owner.client.action(`/b/${b}/settings?/saveSpend`, { limitMinutes: '30' });
		const before = await spendOf(db, b);
		for (const [limitMinutes, message] of [
			['1.5', 'whole minutes'],
			['ninety', 'whole minutes'],
			['-5', 'whole minutes'],
			['0', 'at least 1 minute'],
			['99999999', 'at most 1,000,000 minutes']
		] as const) {
			const r = await owner.client.action(`/b/${b}/settings?/saveSpend`, { requireApproval: 'on', limitMinutes });
			expect(r.type, limitMinutes).toBe('failure');
			expect(r.status).toBe(400);
			expect(r.data.errors.limitMinutes).toContain(message);
			expect(await spendOf(db, b)).toEqual(before);
		}
		// Without JavaScript the page (after the redirect back to it) shows the error by the field and keeps what was typed.
		const res = await owner.client.post(`/b/${b}/settings?/saveSpend`, { limitMinutes: 'ninety' });
		expect(res.status).toBe(303);
		const html = (await owner.client.html(`/b/${b}/settings`)).text;
		expect(html).toContain('Enter the limit in whole minutes');
		expect(html).toContain('value="ninety"');
	});

	test('a paused business shows why and what to do; Resume clears the pause as the person', async ({ db, owner }) => {
		const b = owner.businessId;
		await db.sql(`update businesses set heygen_paused_reason = 'insufficient_credit', heygen_paused_at = now() where id = $1`, [b]);
		const page = await owner.client.html(`/b/${b}/settings`);
		expect(page.text).toContain('data-testid="paused-banner"');
		expect(page.text).toContain('no credits left');
		expect(page.text).toContain('data-testid="resume-heygen"');
		// Every page of the business says so too, with the way to the settings.
		expect((await owner.client.html(`/b/${b}/jobs`)).text).toContain('data-reason="insufficient_credit"');

		const r = await owner.client.action(`/b/${b}/settings?/resume`, {});
		expect(r).toMatchObject({ type: 'success', data: { form: 'resume' } });
		expect((await spendOf(db, b)).heygen_paused_reason).toBeNull();
		const { rows } = await db.sql(`select event, reason, actor from business_heygen_events where business_id = $1 order by id`, [b]);
		expect(rows).toEqual([{ event: 'resumed', reason: 'by_hand', actor: `user:${await userIdOf(db, owner.email)}` }]);
		expect((await owner.client.html(`/b/${b}/settings`)).text).not.toContain('data-testid="paused-banner"');
	});

	test("a plain member's spending change and Resume are refused with 403 and change nothing", async ({ app, db, owner }) => {
		const b = owner.businessId;
		const mike = await plainMember(app, owner);
		await db.sql(`update businesses set heygen_paused_reason = 'key_rejected', heygen_paused_at = now() where id = $1`, [b]);
		const before = await spendOf(db, b);
		expect(await mike.action(`/b/${b}/settings?/saveSpend`, { requireApproval: 'on', limitMinutes: '1' })).toMatchObject({
			type: 'error',
			status: 403
		});
		expect(await mike.action(`/b/${b}/settings?/resume`, {})).toMatchObject({ type: 'error', status: 403 });
		expect(await spendOf(db, b)).toEqual(before);
		const page = await mike.html(`/b/${b}/settings`);
		expect(page.text).toContain('rejected the API key');
		expect(page.text).not.toContain('data-testid="resume-heygen"');
	});
});

describe('generate', () => {
	test('shows the estimate before the click, and warns when the video would go over the monthly limit', async ({ db, owner }) => {
		const b = owner.businessId;
		await configureHeyGen(owner.client, b);
		// 25 words: 10 s at 2.5 words a second, as SQL estimates it at insert.
		const contentId = await createContent(owner.client, b, Array.from({ length: 25 }, (_, i) => `word${i}`).join(' '), 'Estimated');
		let html = (await owner.client.html(`/b/${b}/content/${contentId}`)).text;
		expect(html).toMatch(/data-testid="generate-estimate"[^>]*>About 10 s of video from \d+ characters/);
		expect(html).not.toContain('data-testid="generate-spend-warning"');

		await db.sql(`update businesses set monthly_video_seconds_limit = 5 where id = $1`, [b]);
		html = (await owner.client.html(`/b/${b}/content/${contentId}`)).text;
		expect(html).toContain('This would go over the monthly limit (0 s of 5 s used)');
		// And SQL agrees: the job it makes is held for the budget, with the same estimate.
		const r = await owner.client.action(`/b/${b}/content/${contentId}?/generate`, {
			...GENERATE_DEFAULTS,
			idempotencyKey: await generateFormKey(owner.client, b, contentId)
		});
		expect(r.data.message).toContain('waits for an owner or admin to approve it');
		expect((await owner.client.html(`/b/${b}/approvals`)).text).toContain('(0 s of 5 s used when it was asked for)');
		const jobId = r.data.jobId as string;
		expect((await owner.client.html(`/b/${b}/content/${contentId}`)).text).toContain('data-testid="job-held"');
		expect(
			(await db.sql(`select status, hold_reason, estimated_seconds::float as s from video_jobs where id = $1`, [jobId])).rows[0]
		).toEqual({ status: 'awaiting_approval', hold_reason: 'over_budget', s: 10 });
	});
});

describe('HeyGen credits', () => {
	test('out of credit at HeyGen: the settings show it and Generate warns (from the last answer, without asking HeyGen)', async ({
		app,
		owner
	}) => {
		const b = owner.businessId;
		app.sim.setAccount({ outOfCredit: true });
		try {
			// Saving the key and the avatar asks HeyGen for the account's lists and credits.
			await configureHeyGen(owner.client, b);
			const contentId = await createContent(owner.client, b, 'A short script.', 'No credit');
			// The settings page asks HeyGen (GET /v3/users/me); its answer is what the content page reads.
			expect((await owner.client.html(`/b/${b}/settings`)).text).toContain('$0 in the wallet');
			const html = (await owner.client.html(`/b/${b}/content/${contentId}`)).text;
			expect(html).toContain('HeyGen reports no credits left ($0 in the wallet)');
		} finally {
			app.sim.setAccount(null);
		}
	});
});

describe('approvals page', () => {
	test('a held job is listed; Approve queues it and Reject cancels it with the reason, both as the person', async ({ db, owner }) => {
		const b = owner.businessId;
		await ownerWithApproval(db, owner);
		const approved = await heldJob(db, owner, 'Spring launch');
		const rejected = await heldJob(db, owner, 'Autumn teaser');
		const page = await owner.client.html(`/b/${b}/approvals`);
		expect(page.text).toContain('Spring launch');
		expect(page.text).toContain('Autumn teaser');
		expect(page.text).toContain('Approval is required for every video');
		expect(page.text).toMatch(/about \d+ s of video/);
		// The nav's badge counts them.
		expect(page.text).toMatch(/data-testid="approvals-badge"[^>]*>2</);

		const me = `user:${await userIdOf(db, owner.email)}`;
		// Without JavaScript: a plain form post, answered with the page and what happened.
		const plain = await owner.client.post(`/b/${b}/approvals?/approve`, { jobId: approved });
		expect(plain.status).toBe(303);
		expect(plain.headers.get('location')).toBe(`/b/${b}/approvals`);
		expect((await owner.client.html(`/b/${b}/approvals`)).text).toContain('Approved: the video is queued and goes to HeyGen.');
		expect((await jobOf(db, approved)).status).toBe('queued');
		expect(await eventTo(db, approved, 'queued')).toEqual([{ actor: me }]);

		const empty = await owner.client.action(`/b/${b}/approvals?/reject`, { jobId: rejected, reason: '  ' });
		expect(empty).toMatchObject({ type: 'failure', status: 400 });
		expect(empty.data.errors.reason).toContain('Say why');
		expect((await jobOf(db, rejected)).status).toBe('awaiting_approval');

		const r = await owner.client.action(`/b/${b}/approvals?/reject`, { jobId: rejected, reason: 'Wrong season' });
		expect(r).toMatchObject({ type: 'success' });
		expect(await jobOf(db, rejected)).toMatchObject({ status: 'canceled', error_code: 'rejected', error_message: 'Wrong season' });
		expect(await eventTo(db, rejected, 'canceled')).toEqual([{ actor: me }]);

		// A decided job cannot be decided again: SQL's refusal, as a form error (not a 500).
		const again = await owner.client.action(`/b/${b}/approvals?/approve`, { jobId: rejected });
		expect(again).toMatchObject({ type: 'failure', status: 409 });
		expect((await jobOf(db, rejected)).status).toBe('canceled');
		expect((await owner.client.html(`/b/${b}/approvals`)).text).toContain('data-testid="approvals-empty"');
	});

	test('a plain member sees the list read-only and their Approve or Reject is refused (403), nothing changes', async ({
		app,
		db,
		owner
	}) => {
		const b = owner.businessId;
		await ownerWithApproval(db, owner);
		const job = await heldJob(db, owner, 'Members cannot approve');
		const mike = await plainMember(app, owner);
		const page = await mike.html(`/b/${b}/approvals`);
		expect(page.text).toContain('Members cannot approve');
		expect(page.text).toContain('data-testid="approvals-read-only"');
		expect(page.text).not.toContain('data-testid="approve"');
		expect(await mike.action(`/b/${b}/approvals?/approve`, { jobId: job })).toMatchObject({ type: 'error', status: 403 });
		expect(await mike.action(`/b/${b}/approvals?/reject`, { jobId: job, reason: 'no' })).toMatchObject({ type: 'error', status: 403 });
		expect(await jobOf(db, job)).toMatchObject({ status: 'awaiting_approval', hold_reason: 'approval_required' });
		expect(await eventTo(db, job, 'queued')).toEqual([]);
	});

	test("another business's job or a malformed id is refused without touching it", async ({ app, db, owner }) => {
		await ownerWithApproval(db, owner);
		const theirs = await heldJob(db, owner, 'Not yours');
		const other = await signUp(app, 'Olga Other');
		const otherBusiness = (await other.client.action('/b?/create', { name: 'Other Co' })).location!.split('/')[2]!;
		const r = await other.client.action(`/b/${otherBusiness}/approvals?/approve`, { jobId: theirs });
		expect(r).toMatchObject({ type: 'error', status: 404 });
		const bad = await owner.client.action(`/b/${owner.businessId}/approvals?/approve`, { jobId: 'not-a-uuid' });
		expect(bad).toMatchObject({ type: 'failure', status: 400 });
		expect((await jobOf(db, theirs)).status).toBe('awaiting_approval');
	});
});
