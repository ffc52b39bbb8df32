/**
 * delete_content (migration 0026) as a DBA or another service calls it: refused with a clear error
 * while a job is active, the content and its jobs gone afterwards, every job's history kept with a
 * content_deleted event that /metrics does not count, and the stored files' paths returned.
 */
import { describe, expect } from 'vitest';
import { completedJob, dbTest as test, insertJob } from '../helpers/fixtures.ts';
import { pgError } from '../helpers/db.ts';

describe('delete_content', () => {
	test('is refused while a job is active, naming it', async ({ db, business }) => {
		const job = await insertJob(db, business.contentId);
		const err = await pgError(db.sql('select * from delete_content($1)', [business.contentId]));
		expect(err.code).toBe('23514');
		expect(err.detail).toBe('content_has_active_job');
		expect(err.message).toContain(`job ${job}, queued`);
		expect((await db.sql('select 1 from content where id = $1', [business.contentId])).rowCount).toBe(1);
		expect(
			(await db.sql(`select 1 from video_job_events where job_id = $1 and detail->>'event' = 'content_deleted'`, [job])).rowCount
		).toBe(0);
	});

	test('refuses an unknown content', async ({ db }) => {
		const err = await pgError(db.sql('select * from delete_content(gen_random_uuid())'));
		expect([err.code, err.detail]).toEqual(['P0002', 'content_not_found']);
	});

	test('deletes content and jobs, returns their files, keeps the history and counts nothing', async ({ db, business }) => {
		const done = await completedJob(db, business.contentId);
		const failed = await insertJob(db, business.contentId);
		await db.sql(`update video_jobs set status = 'failed', error_code = 'delete_test', error_message = 'Broke' where id = $1`, [failed]);
		const failures = async () =>
			(
				await db.sql<{ n: number }>(
					`select coalesce(sum(failures), 0)::int as n from video_job_failure_counts where error_code = 'delete_test'`
				)
			).rows[0]!.n;
		expect(await failures()).toBe(1);

		const { rows } = await db.sql<{ storage_path: string }>('select storage_path from delete_content($1)', [business.contentId]);
		expect(rows.map((r) => r.storage_path)).toEqual(['videos/x.mp4']);
		expect((await db.sql('select 1 from content where id = $1', [business.contentId])).rowCount).toBe(0);
		expect((await db.sql('select 1 from video_jobs where content_id = $1', [business.contentId])).rowCount).toBe(0);
		const events = await db.sql<{ job_id: string; from_status: string; to_status: string; detail: Record<string, unknown> }>(
			`select job_id, from_status, to_status, detail from video_job_events where content_id = $1 and detail->>'event' = 'content_deleted' order by id`,
			[business.contentId]
		);
		expect(events.rows.map((e) => [e.job_id, e.from_status, e.to_status, e.detail['title'], e.detail['storage_path'] ?? null])).toEqual([
			[done, 'completed', 'completed', 'A post', 'videos/x.mp4'],
			[failed, 'failed', 'failed', 'A post', null]
		]);
		expect((await db.sql('select 1 from video_job_events where job_id = $1', [done])).rowCount).toBe(6);
		// The deletion's event of the failed job is a note, not a second failure.
		expect(await failures()).toBe(1);
	});
});
