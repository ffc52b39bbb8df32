/**
 * The job page as the server renders it (issue 24, defects 1, 3 and 6): the exact inputs the job
 * sends, times to the second with how long each step took, the actions the job's state allows
 * (Cancel, Retry, Approve/Reject) reaching SQL as the signed-in person, and their messages: one
 * each, styled by kind ("Video canceled." is information, not an error), also without JavaScript.
 * Live updates and focus: tests/browser/job-page.test.ts.
 */
import { describe, expect } from 'vitest';
import type { TestDatabase } from '../helpers/db.ts';
import { insertJob } from '../helpers/fixtures.ts';
import { heldJob, type Owner, webTest as test } from '../helpers/web-fixtures.ts';
import { configureHeyGen, createContent, inviteAndAccept, signUp } from './harness.ts';

// The jobs move only when a test moves them (by SQL or through the page's actions).
test.override({ appOptions: { worker: false } });

const SCRIPT = 'Hello from the job page test.\nSecond line, with “quotes” & <angle> brackets.';

/** A job of `owner`'s business inserted by SQL (the trigger freezes script, avatar and voice), moved to `to`. */
async function jobAt(db: TestDatabase, owner: Owner, to: 'queued' | 'rendering' | 'failed'): Promise<{ jobId: string; contentId: string }> {
	await configureHeyGen(owner.client, owner.businessId);
	const contentId = await createContent(owner.client, owner.businessId, SCRIPT, 'Job page');
	const jobId = await insertJob(db, contentId, { options: JSON.stringify({ aspect_ratio: '9:16', resolution: '720p', captions: true }) });
	if (to === 'queued') return { jobId, contentId };
	await db.sql(`update video_jobs set status = 'submitting' where id = $1`, [jobId]);
	await db.sql(`update video_jobs set status = 'rendering', heygen_video_id = 'v-job-page' where id = $1`, [jobId]);
	if (to === 'failed')
		await db.sql(
			`update video_jobs set status = 'failed', error_code = 'avatar_not_found', error_message = 'No such avatar.' where id = $1`,
			[jobId]
		);
	return { jobId, contentId };
}

const statusOf = async (db: TestDatabase, id: string) =>
	(await db.sql(`select status, attempt from video_jobs where id = $1`, [id])).rows[0] as { status: string; attempt: number };

describe('what the job page shows', () => {
	test('the exact inputs sent: script, avatar id, voice id and options', async ({ db, owner }) => {
		const { jobId } = await jobAt(db, owner, 'rendering');
		// Later changes do not reach the job: the page shows what it froze.
		await owner.client.action(`/b/${owner.businessId}/settings?/saveVoice`, { avatarId: 'sim-avatar-ben', voiceId: 'sim-voice-en-2' });
		const { status, text } = await owner.client.html(`/b/${owner.businessId}/jobs/${jobId}`);
		expect(status).toBe(200);
		const inputs = text.slice(text.indexOf('data-testid="job-inputs"'));
		expect(inputs).toMatch(/data-testid="input-avatar"[^>]*>sim-avatar-anna</);
		expect(inputs).toMatch(/data-testid="input-voice"[^>]*>sim-voice-en-1</);
		expect(inputs).toContain('Hello from the job page test.\nSecond line, with “quotes” &amp; &lt;angle> brackets.');
		expect(inputs).toMatch(/data-testid="input-options"[^>]*>\{[^<]*(&quot;|")aspect_ratio(&quot;|"):(&quot;|")9:16/);
	}, 90_000); // the first test also starts the app (a busy machine can take a while)

	test('times to the second, with how long each step took', async ({ db, owner }) => {
		const { jobId } = await jobAt(db, owner, 'failed');
		// Known instants, one step 83 s after the other (this file's own database: the audit trail's
		// append-only guard is lifted for this one rewrite).
		await db.sql(`alter table video_job_events disable trigger video_job_events_no_update`);
		try {
			await db.sql(
				`update video_job_events set at = timestamptz '2026-03-04 10:00:00Z' + (n.rn * interval '83 seconds')
				 from (select id as eid, row_number() over (order by id) as rn from video_job_events where job_id = $1) n
				 where id = n.eid`,
				[jobId]
			);
		} finally {
			await db.sql(`alter table video_job_events enable trigger video_job_events_no_update`);
		}
		const { text } = await owner.client.html(`/b/${owner.businessId}/jobs/${jobId}`);
		const events = text.slice(text.indexOf('data-testid="job-events"'));
		const times = [...events.matchAll(/<time datetime="([^"]+)"[^>]*>([^<]+)<\/time>/g)].map((m) => [m[1], m[2]]);
		expect(times, events.slice(0, 3000)).toHaveLength(4);
		expect(times[0]![1]).toMatch(/^4 Mar 2026, \d\d:01:23$/);
		expect(times[1]![1]).toMatch(/^4 Mar 2026, \d\d:02:46$/);
		const took = [...events.matchAll(/data-testid="event-took"[^>]*>([^<]*)</g)].map((m) => m[1]!.trim());
		expect(took).toEqual(['1 min 23 s', '1 min 23 s', '1 min 23 s', '–']);
	});

	test('the actions the state allows: Cancel while active, Retry (and Generate again) when failed', async ({ db, owner }) => {
		const { jobId, contentId } = await jobAt(db, owner, 'rendering');
		const page = async () => (await owner.client.html(`/b/${owner.businessId}/jobs/${jobId}`)).text;
		let html = await page();
		expect(html).toContain('action="?/cancel"');
		expect(html).not.toContain('action="?/retry"');
		await db.sql(
			`update video_jobs set status = 'failed', error_code = 'avatar_not_found', error_message = 'No such avatar.' where id = $1`,
			[jobId]
		);
		html = await page();
		expect(html).toContain('action="?/retry"');
		expect(html).not.toContain('action="?/cancel"');
		expect(html).toMatch(new RegExp(`href="/b/${owner.businessId}/content/${contentId}" data-testid="generate-again"`));
	});
});

describe('the job page actions', () => {
	test('Cancel, then Retry: each reaches SQL and answers with one message of kind info; a stale one is refused', async ({ db, owner }) => {
		const { jobId } = await jobAt(db, owner, 'rendering');
		const url = `/b/${owner.businessId}/jobs/${jobId}`;
		const cancel = await owner.client.action(`${url}?/cancel`, { jobId });
		expect(cancel).toMatchObject({
			type: 'success',
			data: { form: 'cancel', kind: 'info', message: 'Video canceled.', about: 'canceled' }
		});
		expect(await statusOf(db, jobId)).toEqual({ status: 'canceled', attempt: 1 });

		// The job moved on: a second Cancel is refused with SQL's reason, nothing changes.
		const again = await owner.client.action(`${url}?/cancel`, { jobId });
		expect(again.type).toBe('failure');
		expect(again.status).toBe(409);
		expect(again.data.form).toBe('cancel');
		expect(await statusOf(db, jobId)).toEqual({ status: 'canceled', attempt: 1 });

		const retry = await owner.client.action(`${url}?/retry`, { jobId });
		expect(retry).toMatchObject({ type: 'success', data: { form: 'retry', kind: 'info', about: 'active' } });
		expect(retry.data.message).toMatch(/^Retrying/);
		expect(await statusOf(db, jobId)).toEqual({ status: 'queued', attempt: 2 });
		expect((await owner.client.action(`${url}?/retry`, { jobId })).status).toBe(409);
	});

	test('bad input: no job id is a 400, another job or business is a 404', async ({ app, db, owner }) => {
		const { jobId } = await jobAt(db, owner, 'rendering');
		const url = `/b/${owner.businessId}/jobs/${jobId}`;
		expect(await owner.client.action(`${url}?/cancel`, { jobId: 'nope' })).toMatchObject({ type: 'failure', status: 400 });
		// The form must name the page's job.
		const other = await jobAt(db, owner, 'failed');
		expect((await owner.client.action(`${url}?/cancel`, { jobId: other.jobId })).status).toBe(404);
		// A stranger cannot act on it.
		const { client: stranger } = await signUp(app, 'Stranger');
		expect((await stranger.action(`${url}?/cancel`, { jobId })).status).toBe(404);
		expect(await statusOf(db, jobId)).toEqual({ status: 'rendering', attempt: 1 });
	});

	test('a held job: Approve and Reject for owners (a reason required), not for plain members', async ({ app, db, owner }) => {
		await configureHeyGen(owner.client, owner.businessId);
		await db.sql(`update businesses set require_approval = true where id = $1`, [owner.businessId]);
		const held = await heldJob(db, owner, 'Held on the job page');
		const url = `/b/${owner.businessId}/jobs/${held}`;
		const html = (await owner.client.html(url)).text;
		expect(html).toContain('action="?/approve"');
		expect(html).toContain('action="?/reject"');

		const { client: member, email } = await signUp(app, 'Mia Member');
		await inviteAndAccept(owner.client, owner.businessId, member, email);
		expect((await member.html(url)).text).not.toContain('action="?/approve"');
		expect((await member.action(`${url}?/approve`, { jobId: held })).status).toBe(403);

		const noReason = await owner.client.action(`${url}?/reject`, { jobId: held, reason: '  ' });
		expect(noReason).toMatchObject({ type: 'failure', status: 400 });
		expect(noReason.data.errors.reason).toMatch(/Say why/);
		const approve = await owner.client.action(`${url}?/approve`, { jobId: held });
		expect(approve).toMatchObject({ type: 'success', data: { kind: 'success', about: 'active' } });
		expect((await statusOf(db, held)).status).toBe('queued');
	});

	test('without JavaScript: Cancel answers with the page showing its message once, as information', async ({ db, owner }) => {
		const { jobId } = await jobAt(db, owner, 'rendering');
		const page = `/b/${owner.businessId}/jobs/${jobId}`;
		// Answered with a redirect back to the page (no `?/cancel` address left behind), which shows the result.
		const res = await owner.client.post(`${page}?/cancel`, { jobId });
		expect(res.status).toBe(303);
		expect(res.headers.get('location')).toBe(page);
		// What the page shows, not the data it hydrates from.
		const html = (await owner.client.html(page)).text.replace(/<script[\s\S]*?<\/script>/g, '');
		expect(html.match(/Video canceled\./g)).toHaveLength(1);
		expect(html).toMatch(/<div class="toast info[^"]*"[^>]*data-kind="info"/);
		expect(html).not.toMatch(/class="[^"]*error[^"]*"[^>]*>[^<]*Video canceled/);
		expect((await statusOf(db, jobId)).status).toBe('canceled');
	});

	test('the content page too (shared helpers): "Video canceled." once, as information, not in red', async ({ db, owner }) => {
		const { jobId, contentId } = await jobAt(db, owner, 'rendering');
		const page = `/b/${owner.businessId}/content/${contentId}`;
		// Without JavaScript the post is answered with a redirect back to the page, which shows the result.
		const res = await owner.client.post(`${page}?/cancel`, { jobId });
		expect(res.status).toBe(303);
		expect(res.headers.get('location')).toBe(page);
		const html = (await owner.client.html(page)).text.replace(/<script[\s\S]*?<\/script>/g, '');
		expect(html.match(/Video canceled\./g)).toHaveLength(1);
		expect(html).toMatch(/<div class="toast info[^"]*"[^>]*data-kind="info"/);
		expect(html).not.toMatch(/class="[^"]*error[^"]*"[^>]*>[^<]*Video canceled/);
		expect((await statusOf(db, jobId)).status).toBe('canceled');
	});
});
