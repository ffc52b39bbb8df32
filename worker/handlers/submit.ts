import type { PipelineContext } from '../context.ts';
import { QUEUES } from '../queues.ts';
import { handleStepError } from './errors.ts';
import { ensureWebhook } from '../webhook-registration.ts';
import type { VideoOptions } from '../../heygen/index.ts';

/**
 * queued → submitting → rendering. The video id and the move to rendering are saved in one
 * transaction with the first poll, so a job with a video id is never submitted again. The only
 * window for a second submit is a crash between HeyGen's reply and that commit.
 */
export async function submitVideo(ctx: PipelineContext, jobId: string): Promise<void> {
	// Two deliveries at once (a redelivery while the first still waits on HeyGen) would both see
	// no video id yet and both create a video; the second waits and then finds it rendering.
	await ctx.store.exclusive(jobId, () => submitOnce(ctx, jobId));
}

async function submitOnce(ctx: PipelineContext, jobId: string): Promise<void> {
	const job = await ctx.store.update(jobId, ['queued', 'submitting'], (j) => ({
		status: 'submitting',
		submit_count: j.submit_count + 1
	}));
	if (!job) return; // canceled, or a duplicate delivery of a step already done
	if (job.heygen_video_id) return;
	if (job.submit_count > ctx.settings.maxSubmits) {
		await ctx.store.fail(jobId, ['submitting'], 'submit_failed', `Gave up after ${job.submit_count - 1} attempts to submit to HeyGen. ${job.last_error ?? ''}`.trim());
		return;
	}
	const key = await ctx.store.apiKey(job.business_id);
	if (!key) {
		await ctx.store.fail(jobId, ['submitting'], 'missing_api_key', 'The business has no HeyGen API key. Save one in the HeyGen settings, then retry the job.');
		return;
	}
	await ensureWebhook(ctx, job.business_id, key); // [webhooks] a key set from SQL gets its endpoint first
	let videoId: string;
	try {
		({ videoId } = await ctx.heygen(key).generateVideo({
			script: job.script,
			avatarId: job.avatar_id,
			voiceId: job.voice_id,
			options: job.options as VideoOptions,
			callbackId: job.id,
			...(ctx.settings.callbackUrl && { callbackUrl: ctx.settings.callbackUrl })
		}));
	} catch (err) {
		await handleStepError(ctx, QUEUES.submit, job, err, ctx.settings.maxSubmits);
		return;
	}
	const saved = await ctx.store.update(
		jobId,
		['submitting'],
		{ status: 'rendering', heygen_video_id: videoId, last_heygen_status: 'pending', last_error: null },
		{ queue: QUEUES.poll, delayMs: ctx.settings.pollInitialMs }
	);
	if (!saved) ctx.log.warn({ jobId, videoId }, 'job was canceled while HeyGen accepted it; the HeyGen video is left alone');
	else ctx.log.info({ jobId, videoId }, 'submitted to HeyGen');
}
