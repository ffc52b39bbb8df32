import { sql } from 'kysely';
import { asUser } from './db.ts';
import { errInfo, log } from './log.ts';
import { videoStorage } from './storage.ts';

/**
 * Deletes a content of this business (SQL delete_content, db/migrations/0026: refused while a job
 * is active; the jobs' history stays in video_job_events with a content_deleted event each), then
 * removes the files its jobs stored. Returns the deleted content's title, or null when the business
 * has no such content. A file
 * that cannot be removed is logged, not raised: the content is gone either way.
 */
export async function deleteContent(userId: string, businessId: string, contentId: string): Promise<string | null> {
	const deleted = await asUser(userId, async (trx) => {
		const own = await trx
			.selectFrom('content')
			.select('title')
			.where('id', '=', contentId)
			.where('business_id', '=', businessId)
			.executeTakeFirst();
		if (!own) return null;
		const { rows } = await sql<{ storage_path: string }>`select storage_path from delete_content(${contentId}::uuid)`.execute(trx);
		return { title: own.title, paths: rows.map((r) => r.storage_path) };
	});
	if (deleted === null) return null;
	const store = await videoStorage();
	await Promise.all(
		deleted.paths.map((p) =>
			// Columns hold `videos/<object path>` (worker/handlers/transfer.ts); the store wants the object path.
			store
				.remove(p.replace(/^videos\//, ''))
				.catch((err: unknown) => log().warn({ err: errInfo(err), path: p }, 'removing a deleted content’s file failed'))
		)
	);
	return deleted.title;
}

/**
 * Deletes a finished video of this business from Storage (SQL remove_video_files, issue 23's
 * contract: the worker removes the video, thumbnail and captions, sets files_removed_at and adds
 * a files_removed event; the job row and its history stay). Returns the content's title, or null
 * when the business has no such video.
 */
export async function removeVideo(userId: string, businessId: string, jobId: string): Promise<string | null> {
	return asUser(userId, async (trx) => {
		const job = await trx
			.selectFrom('video_jobs as j')
			.innerJoin('content as c', 'c.id', 'j.content_id')
			.select(['c.title', 'j.status', 'j.files_removed_at'])
			.where('j.id', '=', jobId)
			.where('j.business_id', '=', businessId)
			.executeTakeFirst();
		if (!job) return null;
		// Already deleted (a second click, or another tab): nothing more to do.
		if (job.files_removed_at) return job.title;
		await sql`select remove_video_files(${jobId}::uuid, 'deleted_by_user')`.execute(trx);
		return job.title;
	});
}
