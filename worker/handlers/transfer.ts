import type { PipelineContext } from '../context.ts';
import { openDownload } from '../download.ts';
import { QUEUES } from '../queues.ts';
import { handleStepError } from './errors.ts';

/** Where a job's video lives in storage, relative to the videos bucket/folder. */
export function objectPathFor(job: { business_id: string; content_id: string; id: string }): string {
	return `${job.business_id}/${job.content_id}/${job.id}.mp4`;
}

/**
 * transferring → completed: streams HeyGen's file into storage. Each retry asks HeyGen for a fresh
 * signed URL first, since the one saved at completion may have expired.
 */
export async function transferVideo(ctx: PipelineContext, jobId: string): Promise<void> {
	const job = await ctx.store.update(jobId, ['transferring'], (j) => ({ transfer_count: j.transfer_count + 1 }));
	if (!job) return;
	if (job.transfer_count > ctx.settings.maxTransfers) {
		await ctx.store.fail(jobId, ['transferring'], 'transfer_failed', `Gave up downloading the video after ${job.transfer_count - 1} attempts. ${job.last_error ?? ''}`.trim());
		return;
	}
	const objectPath = objectPathFor(job);
	try {
		let url = job.heygen_url;
		if (job.transfer_count > 1 || !url) {
			const key = await ctx.store.apiKey(job.business_id);
			if (!key) {
				await ctx.store.fail(jobId, ['transferring'], 'missing_api_key', 'The HeyGen API key was removed before the video was downloaded. Save one and retry the job.');
				return;
			}
			const status = await ctx.heygen(key).getVideoStatus(job.heygen_video_id!);
			if (status.videoUrl && status.videoUrl !== url) {
				url = status.videoUrl;
				await ctx.store.update(jobId, ['transferring'], { heygen_url: url });
			}
		}
		if (!url) throw new Error('no video URL');
		const download = await openDownload(url, { stallMs: ctx.settings.downloadStallMs });
		const stored = await ctx.storage.put(objectPath, download.body, {
			contentType: 'video/mp4',
			...(download.bytes !== undefined && { expectedBytes: download.bytes })
		});
		const done = await ctx.store.update(jobId, ['transferring'], {
			status: 'completed',
			storage_path: `videos/${objectPath}`,
			video_url: stored.url,
			size_bytes: stored.bytes,
			last_error: null
		});
		if (!done) await ctx.storage.remove(objectPath).catch(() => {});
		else ctx.log.info({ jobId, bytes: stored.bytes }, 'video stored');
	} catch (err) {
		await handleStepError(ctx, QUEUES.transfer, job, err, ctx.settings.maxTransfers);
	}
}
