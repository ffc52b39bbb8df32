import { STEP_STATUS } from '../../db/job-states.ts';
import type { PipelineContext } from '../context.ts';
import { QUEUES } from '../queues.ts';
import { handleStepError } from './errors.ts';
import { ensureWebhook } from '../webhook-registration.ts';
import { kindOf } from '../kinds/index.ts';
import { pauseOnAccountRefusal } from '../heygen-pause.ts';

/** The status a job holds while this step works on it (SQL: video_jobs_step_queue). */
const AT = STEP_STATUS[QUEUES.submit];

const PAUSED_PAST_DEADLINE = {
	insufficient_credit:
		'The video waited past its deadline while HeyGen had no credits left on the account. Add credits in HeyGen, then retry it.',
	key_rejected:
		'The video waited past its deadline while HeyGen rejected the API key. Save a valid key in the HeyGen settings, then retry it.'
} as const;

/** HeyGen keeps an Idempotency-Key for 24 hours; past this, a resubmit could make a second video. */
const KEY_SAFE_FOR_MS = 23 * 3600_000;

/**
 * queued → submitting → rendering, making at most one HeyGen video (or translation: the job's kind,
 * worker/kinds/) per attempt of the job.
 *
 * The attempt's Idempotency-Key is saved with the move to `submitting`, and that transaction
 * commits before HeyGen is called. Whatever happens next — the reply is lost, the worker is
 * killed, Postgres goes away before the video id is saved — the step runs again from
 * `submitting` and sends the same key, so HeyGen replays the video it made (or answers 409 while
 * the first request is still in flight, which is retried) instead of making another.
 */
export async function submitVideo(ctx: PipelineContext, jobId: string): Promise<void> {
	// Two deliveries at once (a redelivery while the first still waits on HeyGen) would both send
	// the attempt's key; the second waits here and then finds the job rendering.
	await ctx.store.exclusive(jobId, () => submitOnce(ctx, jobId));
}

async function submitOnce(ctx: PipelineContext, jobId: string): Promise<void> {
	const waitMs = Math.round(ctx.settings.slotWaitMs * (0.8 + Math.random() * 0.4));
	const claim = await ctx.store.claimSubmit(jobId, waitMs);
	if (claim.outcome === 'gone') return; // canceled, or a duplicate delivery of a step already done
	if (claim.outcome === 'wait') {
		const j = claim.job;
		if (j.deadline && Date.now() + waitMs > j.deadline.getTime()) {
			await ctx.store.fail(
				jobId,
				['queued'],
				'deadline_exceeded',
				`The video waited for a free HeyGen render slot until its deadline (this business renders at most ${claim.limit} videos at once).`
			);
			return;
		}
		ctx.log.debug({ jobId, inFlight: claim.inFlight, limit: claim.limit }, 'waiting for a HeyGen render slot');
		return;
	}
	if (claim.outcome === 'paused') {
		// Held back until the business is resumed (worker/heygen-pause.ts); the deadline still ends it.
		const j = claim.job;
		if (j.deadline && Date.now() + waitMs > j.deadline.getTime()) {
			await ctx.store.fail(jobId, ['queued'], 'deadline_exceeded', PAUSED_PAST_DEADLINE[claim.reason]);
		}
		return;
	}
	const job = claim.job;
	if (job.heygen_video_id) return;
	if (job.submit_count > ctx.settings.maxSubmits) {
		await ctx.store.fail(
			jobId,
			[AT],
			'submit_failed',
			`Gave up after ${job.submit_count - 1} attempts to submit to HeyGen. ${job.last_error ?? ''}`.trim()
		);
		return;
	}
	if (claim.outcome === 'resumed' && job.heygen_submitted_at && Date.now() - job.heygen_submitted_at.getTime() > KEY_SAFE_FOR_MS) {
		await ctx.store.fail(
			jobId,
			[AT],
			'submit_failed',
			'The first submit to HeyGen is more than 23 hours old and its outcome is unknown; it is not repeated, so HeyGen cannot make a second video. Check HeyGen for the video, or retry the job to make a new one.'
		);
		return;
	}
	const key = await ctx.store.apiKey(job.business_id);
	if (!key) {
		await ctx.store.fail(
			jobId,
			[AT],
			'missing_api_key',
			'The business has no HeyGen API key. Save one in the HeyGen settings, then retry the job.'
		);
		return;
	}
	// A key set from SQL gets its webhook endpoint before its first video.
	await ensureWebhook(ctx, job.business_id, key);
	let videoId: string;
	try {
		videoId = await kindOf(job).create(ctx, job, ctx.heygen(key));
	} catch (err) {
		if (await pauseOnAccountRefusal(ctx, job, err, key)) return;
		await handleStepError(ctx, QUEUES.submit, job, err, ctx.settings.maxSubmits);
		return;
	}
	const saved = await ctx.store.update(
		jobId,
		[AT],
		{ status: 'rendering', heygen_video_id: videoId, last_heygen_status: 'pending', last_error: null },
		{ queue: QUEUES.poll, delayMs: ctx.settings.pollInitialMs }
	);
	if (!saved) ctx.log.warn({ jobId, videoId }, 'job was canceled while HeyGen accepted it; the HeyGen video is left alone');
	else ctx.log.info({ jobId, videoId }, 'submitted to HeyGen');
}
