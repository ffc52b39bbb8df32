import { STEP_STATUS } from '../../db/job-states.ts';
import type { PipelineContext } from '../context.ts';
import { openDownload, type Expect } from '../download.ts';
import { QUEUES } from '../queues.ts';
import { handleStepError } from './errors.ts';
import { kindOf } from '../kinds/index.ts';

/** The status a job holds while this step works on it (SQL: video_jobs_step_queue). */
const AT = STEP_STATUS[QUEUES.transfer];

const SIDE_FILE_MAX_BYTES = { image: 20 * 1024 * 1024, srt: 2 * 1024 * 1024, vtt: 2 * 1024 * 1024 } as const;

/** Where a job's video lives in storage, relative to the videos bucket/folder. */
export function objectPathFor(
	job: { business_id: string; content_id: string; id: string },
	ext: 'mp4' | 'jpg' | 'srt' | 'vtt' = 'mp4'
): string {
	return `${job.business_id}/${job.content_id}/${job.id}.${ext}`;
}

/**
 * transferring → completed: streams HeyGen's files into storage: the captions first when they
 * were asked for (small, and a job that asked for them should not end without them: SRT, and for
 * a translation HeyGen's WebVTT too), then the MP4, then the thumbnail (best effort: a video is not
 * failed for its poster). Each retry asks HeyGen for fresh signed URLs first (the job's kind says
 * how, worker/kinds/), since the ones saved at completion may have expired.
 */
export async function transferVideo(ctx: PipelineContext, jobId: string): Promise<void> {
	const job = await ctx.store.countTry(jobId, [AT], 'transfer_count');
	if (!job) return;
	if (job.transfer_count > ctx.settings.maxTransfers) {
		await ctx.store.fail(
			jobId,
			[AT],
			'transfer_failed',
			`Gave up downloading the video after ${job.transfer_count - 1} attempts. ${job.last_error ?? ''}`.trim()
		);
		return;
	}
	const kind = kindOf(job);
	const captions = kind.captions(job);
	const objectPath = objectPathFor(job);
	const stored: string[] = [];
	const download = (url: string, expect: Expect) =>
		openDownload(url, {
			stallMs: ctx.settings.downloadStallMs,
			expect,
			...(ctx.settings.trustedOrigin && { trustedOrigin: ctx.settings.trustedOrigin }),
			...(expect !== 'mp4' && { maxBytes: SIDE_FILE_MAX_BYTES[expect] })
		});
	try {
		let url = job.heygen_url;
		let thumbnailUrl = job.thumbnail_url;
		let subtitleUrl: string | null = null;
		let vttUrl: string | null = null;
		if (job.transfer_count > 1 || !url || kind.alwaysFreshUrls(job)) {
			const key = await ctx.store.apiKey(job.business_id);
			if (!key) {
				await ctx.store.fail(
					jobId,
					[AT],
					'missing_api_key',
					'The HeyGen API key was removed before the video was downloaded. Save one and retry the job.'
				);
				return;
			}
			const status = await kind.files(ctx.heygen(key), job);
			subtitleUrl = status.srtUrl;
			vttUrl = status.vttUrl;
			thumbnailUrl = status.thumbnailUrl ?? thumbnailUrl;
			if (status.videoUrl && status.videoUrl !== url) {
				url = status.videoUrl;
				await ctx.store.update(jobId, [AT], { heygen_url: url, thumbnail_url: thumbnailUrl });
			}
		}
		if (!url) throw new Error('no video URL');

		/** Stores one captions file; returns its storage path. */
		const storeCaptions = async (from: string, ext: 'srt' | 'vtt') => {
			const file = await download(from, 'srt');
			await ctx.storage.put(objectPathFor(job, ext), file.body, {
				contentType: ext === 'srt' ? 'application/x-subrip' : 'text/vtt',
				...(file.bytes !== undefined && { expectedBytes: file.bytes })
			});
			stored.push(objectPathFor(job, ext));
			return `videos/${objectPathFor(job, ext)}`;
		};
		const subtitlesPath = captions && subtitleUrl ? await storeCaptions(subtitleUrl, 'srt') : null;
		const vttPath = captions && vttUrl ? await storeCaptions(vttUrl, 'vtt') : null;
		if (captions && !subtitleUrl && !vttUrl) ctx.log.warn({ jobId }, 'captions were asked for but HeyGen gave no captions URL');

		// The thumbnail is fetched alongside the MP4; it is best effort (a video is not failed for its poster).
		const thumbJob = thumbnailUrl
			? (async () => {
					const thumb = await download(thumbnailUrl, 'image');
					await ctx.storage.put(objectPathFor(job, 'jpg'), thumb.body, {
						contentType: thumb.contentType?.startsWith('image/') ? thumb.contentType : 'image/jpeg',
						...(thumb.bytes !== undefined && { expectedBytes: thumb.bytes })
					});
					stored.push(objectPathFor(job, 'jpg'));
					return `videos/${objectPathFor(job, 'jpg')}`;
				})().catch((err: unknown) => {
					ctx.log.warn({ jobId, err: { message: (err as Error).message } }, 'thumbnail not stored; the video plays without a poster');
					return null;
				})
			: Promise.resolve(null);
		let mp4;
		try {
			const video = await download(url, 'mp4');
			mp4 = await ctx.storage.put(objectPath, video.body, {
				contentType: 'video/mp4',
				...(video.bytes !== undefined && { expectedBytes: video.bytes })
			});
			stored.push(objectPath);
		} finally {
			await thumbJob;
		}
		const thumbnailPath = await thumbJob;

		const done = await ctx.store.update(jobId, [AT], {
			status: 'completed',
			storage_path: `videos/${objectPath}`,
			video_url: mp4.url,
			size_bytes: mp4.bytes,
			thumbnail_path: thumbnailPath,
			subtitles_path: subtitlesPath,
			vtt_path: vttPath,
			last_error: null
		});
		if (!done) for (const p of stored) await ctx.storage.remove(p).catch(() => {});
		else ctx.log.info({ jobId, bytes: mp4.bytes }, 'video stored');
	} catch (err) {
		// Nothing half-written: side files of a transfer that did not finish go too.
		for (const p of stored) await ctx.storage.remove(p).catch(() => {});
		await handleStepError(ctx, QUEUES.transfer, job, err, ctx.settings.maxTransfers);
	}
}
