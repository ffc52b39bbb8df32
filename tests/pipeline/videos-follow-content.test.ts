/**
 * Videos that follow their content, with the worker and the HeyGen simulator (issue 23): a burst of
 * edits makes one auto-generated video, after the delay, with the last body; an edit during a
 * render makes exactly one more video after it; earlier versions stay playable until
 * keep_video_versions prunes their files (recorded in the history); a refused auto job leaves the
 * content write alone and its reason on the content; an auto video is translated again.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import type { TestDatabase } from '../helpers/db.ts';
import { addContent, insertJob, seedBusiness } from '../helpers/fixtures.ts';
import { finishRender, holdRenders, videoIdFor } from '../helpers/heygen-sim.ts';
import { waitForStatus, waitUntil } from '../helpers/pipeline.ts';
import { pipelineTest as it } from '../helpers/pipeline-fixtures.ts';

/** Re-checks a database condition until it holds, for changes that send no NOTIFY (content rows, pg-boss jobs). */
async function until(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
		await new Promise((r) => setTimeout(r, 25));
	}
}

const avatarJobs = async (db: TestDatabase, contentId: string) =>
	(await db.sql(`select * from video_jobs where content_id = $1 and kind = 'avatar' order by created_at, id`, [contentId])).rows;
const content = async (db: TestDatabase, id: string) => (await db.sql(`select * from content where id = $1`, [id])).rows[0];
const pendingRuns = async (db: TestDatabase, contentId: string) =>
	(
		await db.sql<{ n: number }>(
			`select count(*)::int as n from pgboss.job where name = 'content.auto_generate' and singleton_key = $1 and state in ('created', 'retry', 'active')`,
			[contentId]
		)
	).rows[0]!.n;
const storedFile = (storageDir: string, storagePath: string) => path.join(storageDir, storagePath.replace(/^videos\//, ''));

async function autoOn(db: TestDatabase, businessId: string, delaySeconds: number): Promise<void> {
	await db.sql(`update businesses set auto_generate = true, auto_generate_delay_seconds = $2 where id = $1`, [businessId, delaySeconds]);
}

describe('auto-generate', () => {
	it('five body updates within a second make exactly one job, with the last body, about 2 s after the last update', async ({
		db,
		business,
		pipeline: p
	}) => {
		await autoOn(db, business.businessId, 2);
		const started = Date.now();
		let lastUpdate: Date | undefined;
		for (let i = 1; i <= 5; i++) {
			const { rows } = await db.sql<{ at: Date }>(`update content set body = $2 where id = $1 returning now() as at`, [
				business.contentId,
				`Opening hours, draft ${i}.`
			]);
			lastUpdate = rows[0]!.at;
		}
		expect(Date.now() - started).toBeLessThan(1000);

		await waitUntil(db, async () => (await avatarJobs(db, business.contentId)).length > 0, 20_000);
		const [job] = await avatarJobs(db, business.contentId);
		const afterLast = (job.created_at.getTime() - lastUpdate!.getTime()) / 1000;
		expect(afterLast).toBeGreaterThanOrEqual(2);
		expect(afterLast).toBeLessThan(4.5);
		expect(job).toMatchObject({ script: 'Opening hours, draft 5.', requested_by: 'auto' });

		const done = await waitForStatus(db, job.id, 'completed');
		expect(p.sim.submitsFor(done.id)).toBe(1);
		// One job in all, nothing pending, and the new video matches the body.
		expect(await avatarJobs(db, business.contentId)).toHaveLength(1);
		expect(await pendingRuns(db, business.contentId)).toBe(0);
		expect(await content(db, business.contentId)).toMatchObject({
			video_scheduled_at: null,
			video_is_stale: false,
			auto_generate_error: null
		});
	});

	it('an update during an active job makes exactly one more job, after that job ends', async ({ db, pipeline: p }) => {
		const { businessId, contentId } = await seedBusiness(db, { name: 'Busy Bakery', body: 'Bread at eight.' });
		const release = holdRenders(p.sim);
		const first = await insertJob(db, contentId);
		await waitForStatus(db, first, 'rendering');
		await autoOn(db, businessId, 1);
		await db.sql(`update content set body = 'Bread at seven.' where id = $1`, [contentId]);
		// The run came up, found the render, and waits: its pg-boss job is done, the schedule stays.
		await until(async () => (await pendingRuns(db, contentId)) === 0);
		expect((await content(db, contentId)).video_scheduled_at).not.toBeNull();
		expect(await avatarJobs(db, contentId)).toHaveLength(1);

		release();
		finishRender(p.sim, videoIdFor(p.sim, first)!);
		const ended = await waitForStatus(db, first, 'completed');
		await waitUntil(db, async () => (await avatarJobs(db, contentId)).length > 1);
		const second = (await avatarJobs(db, contentId))[1];
		expect(second.created_at.getTime()).toBeGreaterThanOrEqual(ended.completed_at.getTime());
		expect(second).toMatchObject({ script: 'Bread at seven.', requested_by: 'auto' });
		await waitForStatus(db, second.id, 'completed');
		expect(await avatarJobs(db, contentId)).toHaveLength(2);
		expect(await pendingRuns(db, contentId)).toBe(0);
		expect(await content(db, contentId)).toMatchObject({ video_scheduled_at: null, video_is_stale: false });
	});

	it('a content update succeeds when the job insert is refused (no avatar); the reason is on the content', async ({ db }) => {
		const { businessId, contentId } = await seedBusiness(db, { name: 'No Avatar Cafe', avatar: null });
		await autoOn(db, businessId, 1);
		const { rows } = await db.sql(`update content set body = 'We open at ten.' where id = $1 returning body`, [contentId]);
		expect(rows).toEqual([{ body: 'We open at ten.' }]);
		await until(async () => (await content(db, contentId)).auto_generate_error !== null);
		const c = await content(db, contentId);
		expect(c.auto_generate_error).toMatch(/has no HeyGen avatar configured/);
		expect(c).toMatchObject({ body: 'We open at ten.', video_scheduled_at: null });
		expect(await avatarJobs(db, contentId)).toEqual([]);
	});

	it('an auto video whose previous version had translations is translated again, through translation jobs', async ({ db }) => {
		const { businessId, contentId } = await seedBusiness(db, { name: 'Polyglot Pies', body: 'Apple pie today.' });
		const first = await insertJob(db, contentId);
		await waitForStatus(db, first, 'completed');
		const { rows } = await db.sql(
			`insert into video_jobs (kind, source_job_id, output_language) values ('translation', $1, 'German') returning id`,
			[first]
		);
		await waitForStatus(db, rows[0].id, 'completed');
		await autoOn(db, businessId, 1);
		await db.sql(`update content set body = 'Cherry pie today.' where id = $1`, [contentId]);
		await waitUntil(db, async () => (await avatarJobs(db, contentId)).length > 1);
		const auto = (await avatarJobs(db, contentId))[1];
		await waitForStatus(db, auto.id, 'completed');
		await waitUntil(db, async () => (await db.sql(`select 1 from video_jobs where source_job_id = $1`, [auto.id])).rowCount === 1);
		const { rows: tr } = await db.sql(`select id from video_jobs where source_job_id = $1`, [auto.id]);
		const translated = await waitForStatus(db, tr[0].id, 'completed');
		expect(translated).toMatchObject({ kind: 'translation', output_language: 'German', requested_by: 'auto' });
	});
});

describe('versions', () => {
	it('the earlier version stays playable after the new one completes', async ({ db, pipeline: p }) => {
		const { contentId } = await seedBusiness(db, { name: 'Five Versions', body: 'Version one.' });
		const v1 = await waitForStatus(db, await insertJob(db, contentId), 'completed');
		await db.sql(`update content set body = 'Version two.' where id = $1`, [contentId]);
		const v2 = await waitForStatus(db, await insertJob(db, contentId), 'completed');
		expect(existsSync(storedFile(p.storageDir, v1.storage_path))).toBe(true);
		expect(existsSync(storedFile(p.storageDir, v2.storage_path))).toBe(true);
		expect((await db.sql(`select files_removed_at from video_jobs where id = $1`, [v1.id])).rows[0].files_removed_at).toBeNull();
	});

	it('with keep_video_versions = 1 the earlier version’s files are removed from storage, and the history says so', async ({
		db,
		pipeline: p
	}) => {
		const { businessId, contentId } = await seedBusiness(db, { name: 'One Version', body: 'Version one.' });
		await db.sql(`update businesses set keep_video_versions = 1 where id = $1`, [businessId]);
		const v1 = await waitForStatus(db, await insertJob(db, contentId), 'completed');
		const v1Files = [v1.storage_path, v1.thumbnail_path].filter(Boolean).map((f: string) => storedFile(p.storageDir, f));
		for (const f of v1Files) expect(existsSync(f), f).toBe(true);
		await db.sql(`update content set body = 'Version two.' where id = $1`, [contentId]);
		const v2 = await waitForStatus(db, await insertJob(db, contentId), 'completed');

		await waitUntil(
			db,
			async () => (await db.sql(`select files_removed_at from video_jobs where id = $1`, [v1.id])).rows[0].files_removed_at !== null
		);
		for (const f of v1Files) expect(existsSync(f), f).toBe(false);
		expect(existsSync(storedFile(p.storageDir, v2.storage_path))).toBe(true);
		const { rows } = await db.sql(`select from_status, to_status, detail, actor from video_job_events where job_id = $1 order by id`, [
			v1.id
		]);
		expect(rows.at(-1)).toEqual({
			from_status: 'completed',
			to_status: 'completed',
			detail: { event: 'files_removed', reason: 'version_limit' },
			actor: 'worker'
		});
		// The row and the rest of its history stay.
		expect(rows.map((r) => r.to_status)).toEqual(['queued', 'submitting', 'rendering', 'transferring', 'completed', 'completed']);
		expect((await db.sql(`select files_removed_at from video_jobs where id = $1`, [v2.id])).rows[0].files_removed_at).toBeNull();
	});

	it('remove_video_files by hand (Delete video) removes the files once, even when asked twice', async ({ db, pipeline: p }) => {
		const contentId = await addContent(db, (await seedBusiness(db, { name: 'Deleter' })).businessId, 'Delete me.');
		const v = await waitForStatus(db, await insertJob(db, contentId), 'completed');
		await db.sql(`select remove_video_files($1, 'deleted_by_user'), remove_video_files($1, 'deleted_by_user')`, [v.id]);
		await waitUntil(
			db,
			async () => (await db.sql(`select files_removed_at from video_jobs where id = $1`, [v.id])).rows[0].files_removed_at !== null
		);
		expect(existsSync(storedFile(p.storageDir, v.storage_path))).toBe(false);
		const { rows } = await db.sql(
			`select count(*)::int as n from video_job_events where job_id = $1 and detail->>'event' = 'files_removed'`,
			[v.id]
		);
		expect(rows[0].n).toBe(1);
	});
});
