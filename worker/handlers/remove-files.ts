import type { PipelineContext } from '../context.ts';

/**
 * Deletes a completed job's files (video, thumbnail, captions) from storage, then records it
 * (video_jobs_files_removed: files_removed_at and an event, once). Removing a missing file is not
 * an error, so a crash between the deletes and the record is made good by pg-boss's retry.
 */
export async function removeVideoFiles(ctx: PipelineContext, jobId: string, reason: 'version_limit' | 'deleted_by_user'): Promise<void> {
	const job = await ctx.store.get(jobId);
	if (!job || job.status !== 'completed' || job.files_removed_at) return;
	// The columns hold `videos/<object path>` (worker/handlers/transfer.ts); storage wants the object path.
	const paths = [job.storage_path, job.thumbnail_path, job.subtitles_path, job.vtt_path].filter((p): p is string => !!p);
	for (const p of paths) await ctx.storage.remove(p.replace(/^videos\//, ''));
	if (await ctx.store.filesRemoved(jobId, reason)) ctx.log.info({ jobId, reason, files: paths.length }, 'video files removed');
}
