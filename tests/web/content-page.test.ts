/**
 * The content page's Generate (issue 24): "Generate again with current settings" beside Retry, so
 * that following a failure's advice works (defect 1); this video's own avatar and voice, checked
 * against the account like settings (defect 5); the estimate before the click; and the page without
 * JavaScript (defect 4): the server renders the status, and a plain form post is answered with a
 * redirect to the page, not a `?/action` URL.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect } from 'vitest';
import type { TestDatabase } from '../helpers/db.ts';
import { waitForStatus, waitUntil } from '../helpers/pipeline.ts';
import { type Owner, webTest as test } from '../helpers/web-fixtures.ts';
import { configureHeyGen, createContent, GENERATE_DEFAULTS, generateFormKey } from './harness.ts';

const SCRIPT = 'Hello! Our spring range is in the shop from Monday, with twenty new colours.';

const jobOf = async (db: TestDatabase, id: string) =>
	(await db.sql(`select status, avatar_id, voice_id, error_code, error_message, options from video_jobs where id = $1`, [id])).rows[0];
const jobCount = async (db: TestDatabase, contentId: string) =>
	(await db.sql(`select count(*)::int as n from video_jobs where content_id = $1`, [contentId])).rows[0].n as number;

async function configured(owner: Owner, title = 'Spring range') {
	await configureHeyGen(owner.client, owner.businessId);
	const contentId = await createContent(owner.client, owner.businessId, SCRIPT, title);
	return { b: owner.businessId, contentId, page: `/b/${owner.businessId}/content/${contentId}` };
}

async function generate(owner: Owner, contentId: string, fields: Record<string, string> = {}) {
	const idempotencyKey = await generateFormKey(owner.client, owner.businessId, contentId);
	return owner.client.action(`/b/${owner.businessId}/content/${contentId}?/generate`, { ...GENERATE_DEFAULTS, idempotencyKey, ...fields });
}

describe('a failed video', () => {
	test('following the advice works: choose another avatar in settings, then Generate again makes a new video with it; the failed job keeps the inputs it was sent', async ({
		db,
		owner
	}) => {
		const { b, contentId, page } = await configured(owner);
		// The saved avatar was deleted at HeyGen since (the simulator does not know it).
		await db.sql(`update businesses set heygen_avatar_id = 'sim-avatar-deleted' where id = $1`, [b]);
		const first = await generate(owner, contentId, { aspect: '9:16', captions: 'on' });
		expect(first).toMatchObject({ type: 'success', data: { form: 'generate' } });
		const failed = await waitForStatus(db, first.data.jobId, 'failed');
		expect(failed.error_code).toBe('avatar_not_found');
		expect(failed.error_message).toMatch(/Choose another avatar in the HeyGen settings, then Generate again/);

		const html = (await owner.client.html(page)).text;
		expect(html).toContain('Generate again with current settings');
		expect(html).toContain('name="jobId"');

		// The advice: another avatar in settings…
		await configureHeyGen(owner.client, b);
		// …then Generate again: a new job with the business's avatar now, the same format choices.
		const again = await owner.client.action(`${page}?/generateAgain`, { jobId: first.data.jobId, idempotencyKey: randomUUID() });
		expect(again).toMatchObject({ type: 'success', data: { form: 'generateAgain', message: 'Video queued. Watch its progress below.' } });
		expect(again.data.jobId).not.toBe(first.data.jobId);
		const made = await waitForStatus(db, again.data.jobId, 'completed');
		expect(made).toMatchObject({ avatar_id: 'sim-avatar-anna', voice_id: 'sim-voice-en-1' });
		expect(made.options).toMatchObject({ aspect_ratio: '9:16', captions: true, title: 'Spring range' });
		// The failed job stays as it was sent (the audit needs it).
		expect(await jobOf(db, first.data.jobId)).toMatchObject({ status: 'failed', avatar_id: 'sim-avatar-deleted' });

		// Only a failed or canceled avatar video is made again; another business's or unknown job is not found.
		const done = await owner.client.action(`${page}?/generateAgain`, { jobId: again.data.jobId, idempotencyKey: randomUUID() });
		expect(done).toMatchObject({ type: 'failure', status: 409, data: { form: 'generateAgain' } });
		expect(done.data.message).toBe('This video already matches the script; there is nothing to regenerate.');
		const unknown = await owner.client.action(`${page}?/generateAgain`, { jobId: randomUUID(), idempotencyKey: randomUUID() });
		expect(unknown).toMatchObject({ type: 'error', status: 404 });
		const bad = await owner.client.action(`${page}?/generateAgain`, { jobId: 'x', idempotencyKey: randomUUID() });
		expect(bad).toMatchObject({ type: 'failure', status: 400 });
		expect(await jobCount(db, contentId)).toBe(2);
	}, 90_000);
});

describe('this video’s avatar and voice', () => {
	test('another look and voice for one video: listed with ?choose, sent with the job, settings unchanged; an id the account lacks is refused with the reason', async ({
		db,
		owner
	}) => {
		const { b, contentId, page } = await configured(owner, 'One-off');
		const plain = (await owner.client.html(page)).text;
		expect(plain).toContain('Choose another for this video');
		expect(plain).not.toContain('Josh (simulated)');
		const choosing = (await owner.client.html(`${page}?choose`)).text;
		expect(choosing).toContain('Josh (simulated)');
		expect(choosing).toContain('Sim English 2');

		const unknown = await generate(owner, contentId, { avatarId: 'sim-avatar-nope', voiceId: 'sim-voice-en-2' });
		expect(unknown).toMatchObject({ type: 'failure', status: 400, data: { form: 'generate' } });
		expect(unknown.data.errors.avatarId).toBe(
			'This HeyGen account has no avatar look with the ID "sim-avatar-nope". Choose one from the list.'
		);
		expect(unknown.data.message).toMatch(/^The video was not started: /);
		const malformed = await generate(owner, contentId, { avatarId: 'drop table;' });
		expect(malformed).toMatchObject({ type: 'failure', status: 400 });
		expect(malformed.data.errors.avatarId).toMatch(/does not look like a HeyGen avatar ID/);
		expect(await jobCount(db, contentId)).toBe(0);

		const ok = await generate(owner, contentId, { avatarId: 'sim-avatar-josh', voiceId: 'sim-voice-en-2' });
		expect(ok).toMatchObject({ type: 'success' });
		expect(await jobOf(db, ok.data.jobId)).toMatchObject({ avatar_id: 'sim-avatar-josh', voice_id: 'sim-voice-en-2' });
		const biz = (await db.sql(`select heygen_avatar_id, heygen_voice_id from businesses where id = $1`, [b])).rows[0];
		expect(biz).toEqual({ heygen_avatar_id: 'sim-avatar-anna', heygen_voice_id: 'sim-voice-en-1' });
		await waitForStatus(db, ok.data.jobId, 'completed');
	});

	test('the estimate before the click: characters, seconds by SQL’s rule, and the credits HeyGen reported', async ({ db, owner }) => {
		const { contentId, page } = await configured(owner, 'Estimate');
		const seconds = (await db.sql(`select video_job_estimate_seconds(body)::float as s from content where id = $1`, [contentId])).rows[0].s;
		const html = (await owner.client.html(page)).text;
		const estimate = /data-testid="generate-estimate"[^>]*>([^<]*(?:<[^>]*>[^<]*)*?)<\/span>/.exec(html)?.[1]?.replace(/\s+/g, ' ');
		expect(estimate).toContain(`About ${Math.round(seconds)} s of video from ${SCRIPT.length} characters`);
		expect(estimate).toContain('HeyGen: $120.5 in the wallet');
	});

	test('without a key, Generate says what is missing and links to settings; the action refuses too', async ({ db, owner }) => {
		const b = owner.businessId;
		const contentId = await createContent(owner.client, b, SCRIPT, 'No key yet');
		const html = (await owner.client.html(`/b/${b}/content/${contentId}`)).text;
		expect(html).toMatch(new RegExp(`<a href="/b/${b}/settings"[^>]*>Add your HeyGen API key in HeyGen settings first\\.</a>`));
		expect(html).toMatch(/data-testid="generate"[^>]*disabled|disabled[^>]*data-testid="generate"/);
		const r = await generate(owner, contentId, { avatarId: 'sim-avatar-josh' });
		expect(r).toMatchObject({ type: 'failure', status: 409 });
		expect(r.data.message).toMatch(/API key/);
		expect(await jobCount(db, contentId)).toBe(0);
	});
});

describe('without JavaScript', () => {
	test('a plain post is answered with a redirect to the page (no ?/action URL), whose next view shows the outcome once; the status is rendered, not "Connecting…"', async ({
		db,
		owner
	}) => {
		const { b, contentId, page } = await configured(owner, 'No script');
		const idempotencyKey = await generateFormKey(owner.client, b, contentId);
		const res = await owner.client.post(`${page}?/generate`, { ...GENERATE_DEFAULTS, idempotencyKey });
		expect(res.status).toBe(303);
		expect(res.headers.get('location')).toBe(page);
		const after = (await owner.client.html(page)).text;
		expect(after).toContain('Video queued. Watch its progress below.');
		expect(after).not.toContain('Connecting…');
		expect(after).toMatch(/data-testid="job-status"/);
		// Shown once: a reload does not say it again.
		expect((await owner.client.html(page)).text).not.toContain('Video queued. Watch its progress below.');

		// A refused post comes back the same way, with its reason.
		const again = await owner.client.post(`${page}?/generate`, { ...GENERATE_DEFAULTS, idempotencyKey: randomUUID(), aspect: '3:1' });
		expect(again.status).toBe(303);
		expect(again.headers.get('location')).toBe(page);
		expect((await owner.client.html(page)).text).toContain('Please fix the highlighted field.');
		const { rows } = await db.sql(`select id from video_jobs where content_id = $1`, [contentId]);
		expect(rows).toHaveLength(1);
		await waitForStatus(db, rows[0].id, 'completed');
	});
});

describe('videos that follow their content (issue 23)', () => {
	const edit = (owner: Owner, contentId: string, body: string, title = 'Opening hours') =>
		owner.client.action(`/b/${owner.businessId}/content/${contentId}/edit`, { title, body });

	test('an edited script marks the video "Out of date"; Regenerate makes the new version; earlier versions stay playable until their file is removed', async ({
		db,
		owner
	}) => {
		const { b, contentId, page } = await configured(owner, 'Opening hours');
		const first = await generate(owner, contentId);
		await waitForStatus(db, first.data.jobId, 'completed');
		expect((await owner.client.html(page)).text).not.toContain('Out of date');

		expect(await edit(owner, contentId, 'We now open at nine, every day of the week.')).toMatchObject({ type: 'redirect' });
		const stale = (await owner.client.html(page)).text;
		expect(stale).toContain('Out of date');
		expect(stale).toContain('data-testid="regenerate"');

		const regen = await owner.client.action(`${page}?/generateAgain`, { jobId: first.data.jobId, idempotencyKey: randomUUID() });
		expect(regen).toMatchObject({ type: 'success', data: { form: 'generateAgain' } });
		const second = await waitForStatus(db, regen.data.jobId, 'completed');
		expect(second.script).toBe('We now open at nine, every day of the week.');
		const fresh = (await owner.client.html(page)).text;
		expect(fresh).not.toContain('Out of date');
		// Once fresh, there is nothing to regenerate.
		const twice = await owner.client.action(`${page}?/generateAgain`, { jobId: regen.data.jobId, idempotencyKey: randomUUID() });
		expect(twice).toMatchObject({ type: 'failure', status: 409 });
		expect(twice.data.message).toBe('This video already matches the script; there is nothing to regenerate.');

		// Versions, newest first: the current one and the earlier one, both playable.
		const versions = [...fresh.matchAll(/data-testid="version"[\s\S]*?<\/li>/g)].map((m) => m[0]);
		expect(versions).toHaveLength(2);
		expect(versions[0]).toContain('Current');
		expect(versions[0]).toContain(`?play=${regen.data.jobId}`);
		expect(versions[1]).toContain(`?play=${first.data.jobId}`);
		// The earlier version's MP4 still plays after the new one completed.
		const oldMp4 = `/media/${b}/${contentId}/${first.data.jobId}.mp4`;
		expect((await owner.client.get(oldMp4)).status).toBe(200);

		// Its file removed (version limit or Delete video): the row stays, the page says so.
		await db.sql(`select remove_video_files($1, 'deleted_by_user')`, [first.data.jobId]);
		await waitForStatus(db, first.data.jobId, 'completed');
		await waitUntil(
			db,
			async () =>
				(await db.sql(`select files_removed_at from video_jobs where id = $1`, [first.data.jobId])).rows[0].files_removed_at !== null
		);
		const after = [...(await owner.client.html(page)).text.matchAll(/data-testid="version"[\s\S]*?<\/li>/g)].map((m) => m[0]);
		expect(after[1]).toContain('File removed');
		expect(after[1]).not.toContain('?play=');
		expect((await owner.client.get(oldMp4)).status).toBe(404);
	}, 90_000);

	test('auto-generate: "Next video in …" with Cancel and Generate now; the auto job says "Auto"', async ({ db, owner }) => {
		const { b, contentId, page } = await configured(owner, 'Menu');
		await db.sql(`update businesses set auto_generate = true, auto_generate_delay_seconds = 3600 where id = $1`, [b]);
		await edit(owner, contentId, 'Soup of the day: tomato.', 'Menu');
		const scheduled = (await owner.client.html(page)).text;
		expect(scheduled).toMatch(/Next video in <span class="countdown[^"]*">(59:\d\d|1:00:00)<\/span>/);

		const cancel = await owner.client.action(`${page}?/cancelScheduled`, {});
		expect(cancel).toMatchObject({ type: 'success', data: { message: 'The scheduled video was canceled.' } });
		expect((await db.sql(`select video_scheduled_at from content where id = $1`, [contentId])).rows[0].video_scheduled_at).toBeNull();
		expect((await owner.client.html(page)).text).not.toContain('Next video in');
		expect(await jobCount(db, contentId)).toBe(0);

		await edit(owner, contentId, 'Soup of the day: pumpkin.', 'Menu');
		const now = await owner.client.action(`${page}?/generateNow`, {});
		expect(now).toMatchObject({ type: 'success', data: { message: 'The video is being made now.' } });
		await waitUntil(db, async () => (await jobCount(db, contentId)) === 1);
		const { rows } = await db.sql(`select id, requested_by, script from video_jobs where content_id = $1`, [contentId]);
		expect(rows[0]).toMatchObject({ requested_by: 'auto', script: 'Soup of the day: pumpkin.' });
		await waitForStatus(db, rows[0].id, 'completed');
		expect((await owner.client.html(page)).text).toMatch(/by Auto/);
	}, 60_000);
});
