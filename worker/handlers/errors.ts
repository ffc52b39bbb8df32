import { isHeyGenError, redact } from '../../heygen/index.ts';
import { isStorageError } from '../../storage/index.ts';
import type { PipelineContext } from '../context.ts';
import type { VideoJob } from '../job-store.ts';
import { backoffMs, type QueueName } from '../queues.ts';
import { STEPS } from '../steps/registry.ts';
import { STEP_STATUS } from '../../db/job-states.ts';

/** A download problem: the signed URL is not ready, expired, or the transfer broke off. */
export class DownloadError extends Error {
	override name = 'DownloadError';
	readonly code: string;
	readonly httpStatus?: number;
	/** A refusal that a new URL will not fix (not https, a private address, too many redirects). */
	readonly permanent: boolean;
	constructor(code: string, message: string, httpStatus?: number, permanent = false) {
		super(message);
		this.code = code;
		this.permanent = permanent;
		if (httpStatus !== undefined) this.httpStatus = httpStatus;
	}
}

export interface Classified {
	retryable: boolean;
	code: string;
	message: string;
	retryAfterMs?: number;
}

/** Sorts any failure into "fail the job with this reason" or "try again later". */
export function classify(err: unknown): Classified | null {
	if (isHeyGenError(err)) {
		return {
			retryable: err.retryable,
			code: err.code,
			message: err.message,
			...(err.retryAfterMs !== undefined && { retryAfterMs: err.retryAfterMs })
		};
	}
	if (err instanceof DownloadError) return { retryable: !err.permanent, code: err.code, message: redact(err.message) };
	// A download that failed while storage was reading it: the download's reason is the one to tell.
	if (isStorageError(err) && err.cause instanceof DownloadError) return classify(err.cause);
	if (isStorageError(err)) {
		return { retryable: err.code !== 'bad_path', code: `storage_${err.code}`, message: err.message };
	}
	return null; // unexpected (a bug, the database is down): let pg-boss retry the whole step
}

/**
 * Either fails the job (permanent error, attempts used up, deadline passed) or records the
 * transient error and schedules the same step again with backoff, honouring Retry-After.
 */
export async function handleStepError(
	ctx: PipelineContext,
	queue: QueueName,
	job: Pick<VideoJob, 'id' | 'deadline' | 'submit_count' | 'poll_count' | 'transfer_count'>,
	err: unknown,
	maxAttempts: number
): Promise<void> {
	const c = classify(err);
	if (!c) throw err;
	const { triesColumn, doing } = STEPS[queue];
	const status = STEP_STATUS[queue];
	const attempts = job[triesColumn];
	// HeyGen still working on our own earlier request with the same Idempotency-Key: not a failure
	// of this attempt, so it does not use one up (the deadline still bounds it).
	if (c.code === 'request_in_progress') maxAttempts = Number.POSITIVE_INFINITY;
	// The caller's count of this attempt (a poll saves it only with its outcome).
	// A 409 for our own in-flight request is not an attempt: it is given back.
	const counted = { [triesColumn]: c.code === 'request_in_progress' ? Math.max(0, attempts - 1) : attempts };
	const log = ctx.log.child({ jobId: job.id, step: queue, code: c.code });
	if (!c.retryable) {
		log.warn({ msg: c.message }, 'job failed permanently');
		await ctx.store.update(job.id, [status], {
			...counted,
			status: 'failed',
			error_code: c.code,
			error_message: c.message.slice(0, 2000)
		});
		return;
	}
	const delay = Math.max(c.retryAfterMs ?? 0, backoffMs(attempts, ctx.settings.retryBaseMs, ctx.settings.retryMaxMs));
	const pastDeadline = job.deadline !== null && Date.now() + delay > job.deadline.getTime();
	if (attempts >= maxAttempts || pastDeadline) {
		const why = pastDeadline ? 'the job reached its deadline' : `${attempts} attempts`;
		log.warn({ msg: c.message }, 'job failed after retries');
		await ctx.store.update(job.id, [status], {
			...counted,
			status: 'failed',
			error_code: c.code,
			error_message: `Gave up ${doing} after ${why}. Last error: ${c.message}`.slice(0, 2000)
		});
		return;
	}
	log.info({ msg: c.message, delayMs: delay, attempts }, 'transient error; retrying later');
	await ctx.store.update(job.id, [status], { ...counted, last_error: `${c.code}: ${c.message}`.slice(0, 1000) }, { queue, delayMs: delay });
}
