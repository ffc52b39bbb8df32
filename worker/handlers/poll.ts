import { STEP_STATUS } from '../../db/job-states.ts';
import type { PipelineContext } from '../context.ts';
import { backoffMs, QUEUES } from '../queues.ts';
import { DownloadError, handleStepError } from './errors.ts';
import { redact } from '../../heygen/index.ts';

/** The status a job holds while this step works on it (SQL: video_jobs_step_queue). */
const AT = STEP_STATUS[QUEUES.poll];

const IN_PROGRESS = new Set(['pending', 'processing']);

/** rendering → (rendering again later | transferring | failed), one HeyGen status call per run. */
export async function pollVideo(ctx: PipelineContext, jobId: string): Promise<void> {
	const current = await ctx.store.get(jobId);
	if (!current || current.status !== AT || !current.heygen_video_id) return;
	if (current.deadline && Date.now() > current.deadline.getTime()) {
		const minutes = Math.round((current.deadline.getTime() - current.created_at.getTime()) / 60_000);
		await ctx.store.fail(jobId, [AT], 'deadline_exceeded',
			`HeyGen had not finished rendering after ${minutes} minutes (last status: ${current.last_heygen_status ?? 'unknown'}).`);
		return;
	}
	// Counted before the call so that errors count as attempts too; the increment rides on the
	// update that records the outcome.
	const job = { ...current, poll_count: current.poll_count + 1 };
	const counted = { poll_count: job.poll_count };
	const key = await ctx.store.apiKey(job.business_id);
	if (!key) {
		await ctx.store.fail(jobId, [AT], 'missing_api_key', 'The HeyGen API key was removed while the video was rendering. Save one and retry the job.');
		return;
	}
	let status;
	try {
		status = await ctx.heygen(key).getVideoStatus(job.heygen_video_id!);
	} catch (err) {
		await handleStepError(ctx, QUEUES.poll, job, err, Number.POSITIVE_INFINITY);
		return;
	}
	if (IN_PROGRESS.has(status.status)) {
		const delayMs = backoffMs(job.poll_count, ctx.settings.pollInitialMs, ctx.settings.pollMaxMs);
		await ctx.store.update(jobId, [AT], { ...counted, last_heygen_status: status.status, last_error: null }, { queue: QUEUES.poll, delayMs });
		return;
	}
	if (status.status === 'completed') {
		if (!status.videoUrl) {
			const err = new DownloadError('no_video_url', 'HeyGen reported the video completed but gave no video_url yet');
			await handleStepError(ctx, QUEUES.poll, job, err, Number.POSITIVE_INFINITY);
			return;
		}
		await ctx.store.update(
			jobId,
			[AT],
			{
				...counted,
				status: 'transferring',
				last_heygen_status: 'completed',
				last_error: null,
				heygen_url: status.videoUrl,
				thumbnail_url: status.thumbnailUrl,
				duration_seconds: status.duration === null ? null : String(status.duration),
				heygen_completed_at: status.completedAt
			},
			{ queue: QUEUES.transfer }
		);
		ctx.log.info({ jobId }, 'render completed; transferring');
		return;
	}
	// The client has already redacted the key from HeyGen's code and message; redact() again here
	// also removes anything else that looks like a credential, before the text is clipped and stored.
	const e = status.error;
	const said = e?.message ? redact(e.message, key).replace(/\s+/g, ' ').trim().slice(0, 1500) : '';
	await ctx.store.update(jobId, [AT], {
		...counted,
		status: 'failed',
		last_heygen_status: 'failed',
		error_code: e?.code ? redact(e.code, key).slice(0, 100) : 'render_failed',
		error_message: said ? `HeyGen could not render the video: ${said}` : 'HeyGen reported the render as failed without giving a reason.'
	});
	ctx.log.warn({ jobId, code: e?.code }, 'render failed at HeyGen');
}
