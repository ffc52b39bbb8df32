// Videos that follow their content, in SQL (migration 0025): the out-of-date mark, scheduling with
// a debounce, the scheduled run (content_auto_generate_run, which the worker calls when the
// schedule is due; called directly here), re-translation of an auto video, version pruning
// requests, and the functions for people and services. The worker's side (timing, storage) is
// tests/pipeline/videos-follow-content.test.ts.
import { describe, expect } from 'vitest';
import { asNewRole, inRolledBackTransaction, pgError, README_GRANTS, type TestDatabase } from '../helpers/db.ts';
import { addContent, completedJob, dbTest as test, insertJob, seedBusiness } from '../helpers/fixtures.ts';

const NOWHERE = '00000000-0000-0000-0000-000000000000';

const content = async (db: TestDatabase, id: string) =>
	(await db.sql(`select body, video_is_stale, video_scheduled_at, auto_generate_error from content where id = $1`, [id])).rows[0];
const avatarJobs = async (db: TestDatabase, contentId: string) =>
	(await db.sql(`select * from video_jobs where content_id = $1 and kind = 'avatar' order by created_at, id`, [contentId])).rows;
const scheduledRuns = async (db: TestDatabase, contentId: string) =>
	(
		await db.sql<{ state: string; start_after: Date; data: unknown }>(
			`select state, start_after, data from pgboss.job where name = 'content.auto_generate' and singleton_key = $1 order by created_on`,
			[contentId]
		)
	).rows;
const removals = async (db: TestDatabase, jobIds: string[]) =>
	(
		await db.sql<{ key: string; data: { jobId: string; reason: string } }>(
			`select singleton_key as key, data from pgboss.job where name = 'video.remove_files' and singleton_key = any($1::text[]) order by singleton_key`,
			[jobIds]
		)
	).rows;

/** Takes an existing job to completed by SQL, as the worker leaves it. */
async function complete(db: TestDatabase, id: string): Promise<void> {
	await db.sql(`update video_jobs set status = 'submitting' where id = $1`, [id]);
	await db.sql(`update video_jobs set status = 'rendering', heygen_video_id = $2 where id = $1`, [id, `v-${id.slice(0, 8)}`]);
	await db.sql(`update video_jobs set status = 'transferring' where id = $1`, [id]);
	await db.sql(`update video_jobs set status = 'completed', storage_path = $2, video_url = 'https://s/x.mp4' where id = $1`, [
		id,
		`videos/${id}.mp4`
	]);
}

/** A business with auto-generate on, and a content inserted after (so its insert scheduled a run). */
async function autoBusiness(db: TestDatabase, name: string, opts: { avatar?: string | null; delay?: number } = {}) {
	const { businessId } = await seedBusiness(db, { name, ...(opts.avatar !== undefined && { avatar: opts.avatar }) });
	await db.sql(`update businesses set auto_generate = true, auto_generate_delay_seconds = $2 where id = $1`, [
		businessId,
		opts.delay ?? 60
	]);
	return { businessId, contentId: await addContent(db, businessId, 'First words.') };
}

/** The scheduled run, due now: what the worker does when the content's auto-generate job comes up. */
async function runNow(db: TestDatabase, contentId: string): Promise<string> {
	await db.sql(`select generate_scheduled_video_now($1)`, [contentId]);
	return (await db.sql(`select content_auto_generate_run($1) as outcome`, [contentId])).rows[0].outcome;
}

describe('out of date', () => {
	test('without a video nothing is stale; a body change marks the video stale, makes no job, and its new video clears it', async ({
		db,
		business
	}) => {
		const { contentId } = business;
		await db.sql(`update content set body = 'Changed before any video.' where id = $1`, [contentId]);
		expect((await content(db, contentId)).video_is_stale).toBe(false);

		const first = await completedJob(db, contentId);
		expect((await content(db, contentId)).video_is_stale).toBe(false);
		// Only surrounding whitespace or Windows line ends: the same script, not stale.
		await db.sql(`update content set body = E'  Changed before any video.\\r\\n' where id = $1`, [contentId]);
		expect((await content(db, contentId)).video_is_stale).toBe(false);

		await db.sql(`update content set body = 'Open until nine now.' where id = $1`, [contentId]);
		expect((await content(db, contentId)).video_is_stale).toBe(true);
		expect((await avatarJobs(db, contentId)).map((j) => j.id)).toEqual([first]); // auto is off: no job
		expect((await content(db, contentId)).video_scheduled_at).toBeNull();

		// Regenerate: the mark stays while the new video renders, and goes when it completes.
		const again = await insertJob(db, contentId);
		expect((await content(db, contentId)).video_is_stale).toBe(true);
		await complete(db, again);
		expect((await content(db, contentId)).video_is_stale).toBe(false);

		// Back to the words of the older video: stale against the current one.
		await db.sql(`update content set body = 'Changed before any video.' where id = $1`, [contentId]);
		expect((await content(db, contentId)).video_is_stale).toBe(true);
	});

	test('a failed or canceled new video leaves the mark', async ({ db, business }) => {
		const { contentId } = business;
		await completedJob(db, contentId);
		await db.sql(`update content set body = 'New words.' where id = $1`, [contentId]);
		const id = await insertJob(db, contentId);
		await db.sql(`select cancel_video_job($1)`, [id]);
		expect((await content(db, contentId)).video_is_stale).toBe(true);
	});

	test('the mark, the schedule and the refusal cannot be written directly', async ({ db, business }) => {
		for (const set of [`video_is_stale = true`, `video_scheduled_at = now()`, `auto_generate_error = 'x'`]) {
			const err = await pgError(db.sql(`update content set ${set} where id = $1`, [business.contentId]));
			expect(err.code, set).toBe('42501');
			expect(err.message).toContain('kept by trigger');
		}
		const err = await pgError(
			db.sql(`insert into content (business_id, title, body, video_is_stale) values ($1, 'T', 'B', true)`, [business.businessId])
		);
		expect(err.code).toBe('42501');
	});
});

describe('scheduling', () => {
	test('with auto on, an insert with a body and each body change schedule one run, pushed back each time', async ({ db }) => {
		const { businessId, contentId } = await autoBusiness(db, 'Auto Co');
		// The seeded content's insert scheduled one run, delay seconds out.
		let [c] = [await content(db, contentId)];
		expect(c.video_scheduled_at).not.toBeNull();
		let runs = await scheduledRuns(db, contentId);
		expect(runs).toHaveLength(1);
		expect(runs[0]).toMatchObject({ state: 'created', data: { contentId } });
		expect(runs[0]!.start_after.getTime()).toBe(c.video_scheduled_at.getTime());
		const { rows } = await db.sql(`select extract(epoch from video_scheduled_at - now())::float8 as s from content where id = $1`, [
			contentId
		]);
		expect(rows[0].s).toBeGreaterThan(55);
		expect(rows[0].s).toBeLessThanOrEqual(60);

		for (let i = 1; i <= 5; i++) await db.sql(`update content set body = $2 where id = $1`, [contentId, `Edit ${i}.`]);
		c = await content(db, contentId);
		runs = await scheduledRuns(db, contentId);
		expect(runs).toHaveLength(1); // still one pending run, moved to the last change's time
		expect(runs[0]!.start_after.getTime()).toBe(c.video_scheduled_at.getTime());

		// A title change, or a body whose script is the same, is not a change of the video.
		const before = c.video_scheduled_at.getTime();
		await db.sql(`update content set title = 'New title', body = E'Edit 5.\\n' where id = $1`, [contentId]);
		expect((await content(db, contentId)).video_scheduled_at.getTime()).toBe(before);

		// Empty bodies schedule nothing.
		const empty = await addContent(db, businessId, '   ');
		expect((await content(db, empty)).video_scheduled_at).toBeNull();
		expect(await scheduledRuns(db, empty)).toEqual([]);
	});

	test('with auto off nothing is scheduled; turning it off drops what was', async ({ db }) => {
		const { businessId, contentId } = await autoBusiness(db, 'Switch Co');
		expect((await content(db, contentId)).video_scheduled_at).not.toBeNull();
		await db.sql(`update businesses set auto_generate = false where id = $1`, [businessId]);
		expect((await content(db, contentId)).video_scheduled_at).toBeNull();
		expect(await runNow(db, contentId)).toBe('nothing');
		expect(await avatarJobs(db, contentId)).toEqual([]);
	});

	test('the delay and the number of versions are checked', async ({ db, business }) => {
		for (const [col, v] of [
			['auto_generate_delay_seconds', 0],
			['auto_generate_delay_seconds', 86_401],
			['keep_video_versions', 0]
		] as const) {
			const err = await pgError(db.sql(`update businesses set ${col} = $2 where id = $1`, [business.businessId, v]));
			expect(err.code, `${col} = ${v}`).toBe('23514');
		}
		await db.sql(`update businesses set auto_generate_delay_seconds = 86400, keep_video_versions = 1 where id = $1`, [business.businessId]);
		const { rows } = await db.sql(`select auto_generate, auto_generate_delay_seconds, keep_video_versions from businesses where id = $1`, [
			business.businessId
		]);
		expect(rows[0]).toEqual({ auto_generate: false, auto_generate_delay_seconds: 86400, keep_video_versions: 1 });
	});
});

describe('the scheduled run', () => {
	test('makes one job with the current body, requested by and acting as auto, its event naming the change', async ({ db }) => {
		const { contentId } = await autoBusiness(db, 'Maker Co');
		const previous = await completedJob(db, contentId);
		await db.sql(`update content set body = 'Prices went up.' where id = $1`, [contentId]);
		// Not due yet: it only makes sure one run is waiting for the time.
		expect((await db.sql(`select content_auto_generate_run($1) as o`, [contentId])).rows[0].o).toBe('rescheduled');
		expect(await avatarJobs(db, contentId)).toHaveLength(1);

		expect(await runNow(db, contentId)).toBe('made');
		const jobs = await avatarJobs(db, contentId);
		expect(jobs).toHaveLength(2);
		expect(jobs[1]).toMatchObject({ script: 'Prices went up.', requested_by: 'auto', status: 'queued' });
		const { rows: events } = await db.sql(`select actor, detail from video_job_events where job_id = $1 order by id`, [jobs[1].id]);
		expect(events[0].actor).toBe('auto');
		expect(events[0].detail.auto_generate).toMatchObject({ change: 'body', previous_job_id: previous });
		expect(await content(db, contentId)).toMatchObject({ video_scheduled_at: null, auto_generate_error: null, video_is_stale: true });
		// Done: a second run finds nothing to do.
		expect((await db.sql(`select content_auto_generate_run($1) as o`, [contentId])).rows[0].o).toBe('nothing');
		// The setting that carried the detail is gone: a later job's event has no auto detail.
		const manual = await addContent(db, (await db.sql(`select business_id from content where id = $1`, [contentId])).rows[0].business_id);
		await db.sql(`select cancel_scheduled_video($1)`, [manual]);
		const m = await insertJob(db, manual);
		const { rows: mev } = await db.sql(`select detail from video_job_events where job_id = $1`, [m]);
		expect(mev[0].detail.auto_generate).toBeUndefined();
	});

	test('waits for an active job with an older script, and that job’s end wakes it', async ({ db }) => {
		const { contentId } = await autoBusiness(db, 'Waiter Co');
		await db.sql(`select cancel_scheduled_video($1)`, [contentId]);
		const active = await insertJob(db, contentId);
		await db.sql(`update content set body = 'Edited while rendering.' where id = $1`, [contentId]);
		expect(await runNow(db, contentId)).toBe('waiting');
		expect(await avatarJobs(db, contentId)).toHaveLength(1);
		// The run is over (the worker completes its pg-boss job); nothing is pending until the job ends.
		await db.sql(`update pgboss.job set state = 'completed' where name = 'content.auto_generate' and singleton_key = $1`, [contentId]);
		await complete(db, active);
		const runs = (await scheduledRuns(db, contentId)).filter((r) => r.state === 'created');
		expect(runs).toHaveLength(1);
		expect(runs[0]!.start_after.getTime()).toBeLessThanOrEqual(Date.now() + 1000);
		expect((await db.sql(`select content_auto_generate_run($1) as o`, [contentId])).rows[0].o).toBe('made');
		expect((await avatarJobs(db, contentId)).map((j) => j.script)).toEqual(['First words.', 'Edited while rendering.']);
	});

	test('makes nothing when the active or current video already says the body', async ({ db }) => {
		const { contentId } = await autoBusiness(db, 'Same Co');
		await db.sql(`select cancel_scheduled_video($1)`, [contentId]);
		const done = await completedJob(db, contentId);
		await db.sql(`update content set body = 'Typo.' where id = $1`, [contentId]);
		await db.sql(`update content set body = 'First words.' where id = $1`, [contentId]);
		expect(await runNow(db, contentId)).toBe('unchanged');
		await db.sql(`update content set body = 'Clicked Generate by hand too.' where id = $1`, [contentId]);
		const manual = await insertJob(db, contentId);
		expect(await runNow(db, contentId)).toBe('in_progress');
		expect((await avatarJobs(db, contentId)).map((j) => j.id)).toEqual([done, manual]);
		expect((await content(db, contentId)).video_scheduled_at).toBeNull();
	});

	test('a refused insert (no avatar) never fails the content write; the reason is on the content', async ({ db }) => {
		const { contentId } = await autoBusiness(db, 'No Avatar Co', { avatar: null });
		const { rows } = await db.sql(`update content set body = 'Still saved.' where id = $1 returning body`, [contentId]);
		expect(rows).toEqual([{ body: 'Still saved.' }]);
		expect(await runNow(db, contentId)).toBe('refused');
		const c = await content(db, contentId);
		expect(c).toMatchObject({ body: 'Still saved.', video_scheduled_at: null });
		expect(c.auto_generate_error).toMatch(/has no HeyGen avatar configured/);
		expect(await avatarJobs(db, contentId)).toEqual([]);
		// Once the business is fixed, the next auto job clears it.
		await db.sql(`update businesses set heygen_avatar_id = 'sim-avatar-anna' where id = (select business_id from content where id = $1)`, [
			contentId
		]);
		await db.sql(`update content set body = 'Now with an avatar.' where id = $1`, [contentId]);
		expect(await runNow(db, contentId)).toBe('made');
		expect((await content(db, contentId)).auto_generate_error).toBeNull();
	});

	test('approval holds an auto job like any other; a newer auto job replaces a held one, not a person’s', async ({ db }) => {
		const { businessId, contentId } = await autoBusiness(db, 'Careful Co');
		await db.sql(`update businesses set require_approval = true where id = $1`, [businessId]);
		expect(await runNow(db, contentId)).toBe('made');
		const [held] = await avatarJobs(db, contentId);
		expect(held).toMatchObject({ status: 'awaiting_approval', requested_by: 'auto', hold_reason: 'approval_required' });
		const byHand = await insertJob(db, contentId, { requested_by: 'user:anna' });
		await db.sql(`update content set body = 'Second thoughts.' where id = $1`, [contentId]);
		expect(await runNow(db, contentId)).toBe('made');
		const jobs = await avatarJobs(db, contentId);
		expect(jobs.map((j) => [j.id === held.id ? 'held' : j.id === byHand ? 'byHand' : 'new', j.status, j.error_code])).toEqual([
			['held', 'canceled', 'superseded'],
			['byHand', 'awaiting_approval', null],
			['new', 'awaiting_approval', null]
		]);
	});

	test('the sweep gives a due schedule that lost its run a new one', async ({ db }) => {
		const { contentId } = await autoBusiness(db, 'Lost Co');
		await db.sql(`select generate_scheduled_video_now($1)`, [contentId]);
		await db.sql(`delete from pgboss.job where name = 'content.auto_generate' and singleton_key = $1`, [contentId]);
		expect((await db.sql(`select content_auto_generate_sweep() as n`)).rows[0].n).toBe(0); // not a minute late yet
		expect((await db.sql(`select content_auto_generate_sweep('0 seconds') as n`)).rows[0].n).toBe(1);
		expect((await scheduledRuns(db, contentId)).map((r) => r.state)).toEqual(['created']);
		expect((await db.sql(`select content_auto_generate_sweep('0 seconds') as n`)).rows[0].n).toBe(0);
	});
});

describe('generate now and cancel', () => {
	test('generate now makes the pending run due at once; cancel drops it and its pg-boss job', async ({ db }) => {
		const { contentId } = await autoBusiness(db, 'Now Co');
		await db.sql(`select generate_scheduled_video_now($1)`, [contentId]);
		const runs = await scheduledRuns(db, contentId);
		expect(runs).toHaveLength(1);
		expect(runs[0]!.start_after.getTime()).toBeLessThanOrEqual(Date.now() + 1000);

		await db.sql(`update content set body = 'Schedule again.' where id = $1`, [contentId]);
		await db.sql(`select cancel_scheduled_video($1)`, [contentId]);
		expect((await content(db, contentId)).video_scheduled_at).toBeNull();
		expect((await scheduledRuns(db, contentId)).map((r) => r.state)).toEqual(['cancelled']);
		expect(await avatarJobs(db, contentId)).toEqual([]);
		// Nothing pending: both do nothing.
		await db.sql(`select generate_scheduled_video_now($1), cancel_scheduled_video($1)`, [contentId]);
		expect((await content(db, contentId)).video_scheduled_at).toBeNull();
	});

	test('an unknown content is an error', async ({ db }) => {
		for (const fn of ['generate_scheduled_video_now', 'cancel_scheduled_video']) {
			const err = await pgError(db.sql(`select ${fn}($1)`, [NOWHERE]));
			expect(err.code, fn).toBe('P0002');
			expect(err.detail).toBe('content_not_found');
		}
	});
});

describe('regenerate all stale', () => {
	test('one job per stale content without a job on its way, in one statement', async ({ db }) => {
		const { businessId, contentId: a } = await seedBusiness(db, { name: 'Stale Co' });
		const b = await addContent(db, businessId, 'Second.');
		const fresh = await addContent(db, businessId, 'Third.');
		const busy = await addContent(db, businessId, 'Fourth.');
		for (const c of [a, b, fresh, busy]) await completedJob(db, c);
		for (const c of [a, b, busy]) await db.sql(`update content set body = body || ' Changed.' where id = $1`, [c]);
		await insertJob(db, busy);
		const other = await seedBusiness(db, { name: 'Other Co' });
		await completedJob(db, other.contentId);
		await db.sql(`update content set body = 'Other change.' where id = $1`, [other.contentId]);

		expect((await db.sql(`select regenerate_stale_videos($1) as n`, [businessId])).rows[0].n).toBe(2);
		for (const c of [a, b])
			expect((await avatarJobs(db, c)).at(-1)).toMatchObject({ status: 'queued', script: expect.stringMatching(/Changed\.$/) });
		expect(await avatarJobs(db, fresh)).toHaveLength(1);
		expect(await avatarJobs(db, busy)).toHaveLength(2);
		expect(await avatarJobs(db, other.contentId)).toHaveLength(1);
		// Again: every stale content has its job on the way.
		expect((await db.sql(`select regenerate_stale_videos($1) as n`, [businessId])).rows[0].n).toBe(0);
	});

	test('an unknown business is an error', async ({ db }) => {
		const err = await pgError(db.sql(`select regenerate_stale_videos($1)`, [NOWHERE]));
		expect(err.code).toBe('P0002');
		expect(err.detail).toBe('business_not_found');
	});
});

describe('versions', () => {
	test('an auto video whose previous version had translations is translated again into the same languages', async ({ db }) => {
		const { contentId } = await autoBusiness(db, 'Polyglot Co');
		await db.sql(`select cancel_scheduled_video($1)`, [contentId]);
		const first = await completedJob(db, contentId);
		const { rows: tr } = await db.sql(
			`insert into video_jobs (kind, source_job_id, output_language, options) select 'translation', $1, l, o
			 from (values ('German', '{"mode": "precision"}'::jsonb), ('Japanese', '{}'::jsonb)) v (l, o) returning id`,
			[first]
		);
		for (const t of tr) await complete(db, t.id);
		await db.sql(`update content set body = 'New menu.' where id = $1`, [contentId]);
		expect(await runNow(db, contentId)).toBe('made');
		const auto = (await avatarJobs(db, contentId)).at(-1)!;
		await complete(db, auto.id);

		const { rows } = await db.sql(
			`select output_language, options, requested_by, status from video_jobs where source_job_id = $1 order by output_language`,
			[auto.id]
		);
		expect(rows).toEqual([
			{ output_language: 'German', options: { captions: true, mode: 'precision' }, requested_by: 'auto', status: 'queued' },
			{ output_language: 'Japanese', options: { captions: true }, requested_by: 'auto', status: 'queued' }
		]);
		const { rows: ev } = await db.sql(
			`select e.detail from video_job_events e join video_jobs v on v.id = e.job_id where v.source_job_id = $1 and e.from_status is null`,
			[auto.id]
		);
		expect(ev.map((e) => e.detail.auto_generate)).toEqual([0, 1].map(() => ({ change: 'new_version', previous_job_id: first })));

		// A video asked for by a person is not translated by itself.
		await db.sql(`update content set body = 'By hand.' where id = $1`, [contentId]);
		await db.sql(`select cancel_scheduled_video($1)`, [contentId]);
		for (const t of (await db.sql(`select id from video_jobs where source_job_id = $1`, [auto.id])).rows) await complete(db, t.id);
		const manual = await insertJob(db, contentId);
		await complete(db, manual);
		expect((await db.sql(`select count(*)::int as n from video_jobs where source_job_id = $1`, [manual])).rows[0].n).toBe(0);
	});

	test('beyond keep_video_versions, older versions and their translations are handed to the worker to remove', async ({ db }) => {
		const { businessId, contentId } = await seedBusiness(db, { name: 'Keep Two Co' });
		await db.sql(`update businesses set keep_video_versions = 2 where id = $1`, [businessId]);
		const v1 = await completedJob(db, contentId);
		const t1 = (
			await db.sql(`insert into video_jobs (kind, source_job_id, output_language) values ('translation', $1, 'German') returning id`, [v1])
		).rows[0].id;
		await complete(db, t1);
		const v2 = await completedJob(db, contentId);
		expect(await removals(db, [v1, t1, v2])).toEqual([]); // two versions: both kept
		const v3 = await completedJob(db, contentId);
		expect((await removals(db, [v1, t1, v2, v3])).map((r) => [r.key, r.data.reason])).toEqual(
			[
				[v1, 'version_limit'],
				[t1, 'version_limit']
			].sort()
		);
		// A translation of a pruned version that finishes late goes too.
		const late = (
			await db.sql(`insert into video_jobs (kind, source_job_id, output_language) values ('translation', $1, 'Japanese') returning id`, [
				v1
			])
		).rows[0].id;
		expect(await removals(db, [late])).toEqual([]);
		await complete(db, late);
		expect((await removals(db, [late])).map((r) => r.data)).toEqual([{ jobId: late, reason: 'version_limit' }]);
		// Another completion asks again only for what is not already asked.
		await completedJob(db, contentId);
		expect((await removals(db, [v1, t1, v2, late])).map((r) => r.key).sort()).toEqual([v1, t1, v2, late].sort());
	});

	test('remove_video_files: checks, one request per job, and the worker’s record', async ({ db, business }) => {
		const done = await completedJob(db, business.contentId);
		const bad = await pgError(db.sql(`select remove_video_files($1, 'tidy')`, [done]));
		expect([bad.code, bad.detail]).toEqual(['23514', 'reason_invalid']);
		const unknown = await pgError(db.sql(`select remove_video_files($1, 'deleted_by_user')`, [NOWHERE]));
		expect([unknown.code, unknown.detail]).toEqual(['P0002', 'job_not_found']);
		await db.sql(`update content set body = 'Next.' where id = $1`, [business.contentId]);
		const active = await insertJob(db, business.contentId);
		const notDone = await pgError(db.sql(`select remove_video_files($1, 'deleted_by_user')`, [active]));
		expect([notDone.code, notDone.detail]).toEqual(['23514', 'job_not_completed']);

		await db.sql(`select remove_video_files($1, 'deleted_by_user')`, [done]);
		await db.sql(`select remove_video_files($1, 'deleted_by_user')`, [done]);
		expect((await removals(db, [done])).map((r) => r.data)).toEqual([{ jobId: done, reason: 'deleted_by_user' }]);

		// The worker's record: once, with an event; the column cannot be set otherwise.
		const direct = await pgError(db.sql(`update video_jobs set files_removed_at = now() where id = $1`, [active]));
		expect(direct.code).toBe('23514');
		expect((await db.sql(`select video_jobs_files_removed($1, 'deleted_by_user') as ok`, [done])).rows[0].ok).toBe(true);
		expect((await db.sql(`select video_jobs_files_removed($1, 'deleted_by_user') as ok`, [done])).rows[0].ok).toBe(false);
		const back = await pgError(db.sql(`update video_jobs set files_removed_at = null where id = $1`, [done]));
		expect(back.code).toBe('23514');
		const { rows } = await db.sql(
			`select from_status, to_status, detail from video_job_events where job_id = $1 order by id desc limit 1`,
			[done]
		);
		expect(rows[0]).toEqual({
			from_status: 'completed',
			to_status: 'completed',
			detail: { event: 'files_removed', reason: 'deleted_by_user' }
		});
		expect((await db.sql(`select files_removed_at is not null as gone from video_jobs where id = $1`, [done])).rows[0].gone).toBe(true);
	});
});

describe('another service', () => {
	test('with the documented grants it writes content (scheduled by trigger) and calls the functions, not the worker’s', async ({ db }) => {
		const { businessId, contentId } = await autoBusiness(db, 'Service Co');
		const done = await completedJob(db, contentId);
		await inRolledBackTransaction(db, async (c) => {
			await asNewRole(c, README_GRANTS);
			const { rows } = await c.query(
				`update content set body = 'From the CMS.' where id = $1 returning video_is_stale, video_scheduled_at`,
				[contentId]
			);
			expect(rows[0].video_is_stale).toBe(true);
			expect(rows[0].video_scheduled_at).not.toBeNull();
			await c.query(`insert into content (business_id, title, body) values ($1, 'New', 'A new post.')`, [businessId]);
			await c.query(`select cancel_scheduled_video($1), generate_scheduled_video_now($1)`, [contentId]);
			expect((await c.query(`select regenerate_stale_videos($1) as n`, [businessId])).rows[0].n).toBe(1);
			await c.query(`select remove_video_files($1, 'deleted_by_user')`, [done]);
			for (const fn of [
				`content_auto_generate_run('${contentId}')`,
				`video_jobs_files_removed('${done}', 'deleted_by_user')`,
				`content_auto_generate_wake('${contentId}', now())`,
				`video_jobs_request_file_removal(array['${done}'::uuid], 'version_limit')`,
				`content_auto_generate_sweep()`
			]) {
				await c.query('savepoint s');
				const err = await pgError(c.query(`select ${fn}`));
				await c.query('rollback to savepoint s');
				expect(err.code, fn).toBe('42501');
			}
		});
	});
});
