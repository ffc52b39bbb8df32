/**
 * Every step of the pipeline, in one list: its pg-boss queue, handler, payload, retry policy,
 * expiry, metric and what it does. The worker registers its queues from this list
 * (worker/index.ts); tests/worker/step-registry.test.ts checks it against the queues the SQL
 * enqueues to and their settings. A new step is a handler file, an entry here, and its SQL
 * (the queue in pgboss.queue with the settings below, and whatever enqueues to it). Every job kind
 * (avatar, translation) goes through the same steps; what a step does at HeyGen for a kind is that
 * kind's entry in worker/kinds/index.ts, so a new kind needs no new step.
 *
 * Queue names come from db/job-states.ts, which `npm run db:types` generates from SQL; the
 * `satisfies` below makes a queue without an entry (or an entry without a queue) a type error.
 */
import { z } from 'zod';
import { STEP_QUEUES, type StepQueue } from '../../db/job-states.ts';
import { POLL_BATCH_SIZE_DEFAULT } from '../../config/index.ts';
import type { PipelineContext } from '../context.ts';
import { jobPayload } from '../queues.ts';

/** pg-boss's retry settings of the queue (pgboss.queue: retry_limit, retry_delay, retry_backoff, retry_delay_max). */
export interface RetryPolicy {
	limit: number;
	delaySeconds: number;
	backoff: boolean;
	delayMaxSeconds: number;
}

/** Handles a batch of pg-boss jobs by video job id; one settled result per id, in order. */
export type StepHandler = (ctx: PipelineContext, jobIds: readonly string[]) => Promise<PromiseSettledResult<void>[]>;

/** pg-boss work() options of a step. */
export interface WorkOptions {
	pollingIntervalSeconds: number;
	notifyPollingIntervalSeconds: number;
	perJobResults: true;
	burstWhenBatchFull: boolean;
	batchSize: number;
	localConcurrency: number;
}

export interface StepDefinition {
	queue: StepQueue;
	/** One line: what the step does. */
	description: string;
	handler: StepHandler;
	/** The pg-boss job's data; never a key or the script. */
	payload: z.ZodType<{ jobId: string }>;
	/** pg-boss retries a step that crashed (not a HeyGen error: the handler schedules those itself). */
	retry: RetryPolicy;
	/** pg-boss takes a step back after this long without finishing (expire_seconds). */
	expireInSeconds: number;
	/** The video_jobs column that counts this step's tries. */
	triesColumn: 'submit_count' | 'poll_count' | 'transfer_count';
	/** What the step was doing, for "Gave up … after 5 attempts" (worker/handlers/errors.ts). */
	doing: string;
	/**
	 * The /metrics histogram of how long this step's stage took (web/lib/server/metrics.ts), from the
	 * counters SQL keeps per stage (video_job_step_durations.step); null = none.
	 */
	duration: { metric: string; stage: 'render' | 'transfer'; help: string } | null;
	/** How many jobs a worker fetches and runs at once, from WORKER_CONCURRENCY and POLL_BATCH_SIZE. */
	work(concurrency: number, pollBatchSize: number): Pick<WorkOptions, 'batchSize' | 'localConcurrency'>;
}

/** A handler of one job at a time, run for each id of the batch side by side. */
function eachJob(run: (ctx: PipelineContext, jobId: string) => Promise<void>): StepHandler {
	return (ctx, jobIds) => Promise.allSettled(jobIds.map((id) => run(ctx, id)));
}

/**
 * Handlers are loaded on first use, so that /metrics can read this list without pulling the
 * HeyGen, storage and download code into the web server.
 */
function lazy(load: () => Promise<StepHandler>): StepHandler {
	let loaded: Promise<StepHandler> | null = null;
	return async (ctx, jobIds) => (await (loaded ??= load()))(ctx, jobIds);
}

export const STEPS = {
	'video.submit': {
		queue: 'video.submit',
		description:
			'Sends the job to HeyGen once a render slot is free (POST /v3/videos, or a translation batch of one), one Idempotency-Key per attempt.',
		handler: lazy(async () => eachJob((await import('../handlers/submit.ts')).submitVideo)),
		payload: jobPayload,
		retry: { limit: 8, delaySeconds: 5, backoff: true, delayMaxSeconds: 300 },
		expireInSeconds: 120,
		triesColumn: 'submit_count',
		doing: 'submitting to HeyGen',
		duration: null,
		work: (concurrency) => ({ batchSize: Math.max(1, Math.ceil(concurrency / 2)), localConcurrency: 2 })
	},
	'video.poll': {
		queue: 'video.poll',
		description: 'Checks render status at HeyGen, one bulk call per account, kind and 100 videos, until the video is ready or failed.',
		// The whole batch in one call: one bulk status call per account (handlers/poll.ts).
		handler: lazy(async () => (await import('../handlers/poll.ts')).pollVideos),
		payload: jobPayload,
		retry: { limit: 20, delaySeconds: 5, backoff: true, delayMaxSeconds: 120 },
		expireInSeconds: 120,
		triesColumn: 'poll_count',
		doing: 'checking the render status',
		duration: {
			metric: 'video_render_seconds',
			stage: 'render',
			help: 'Time HeyGen took to render a video (rendering to transferring), every job so far.'
		},
		// Large batches: one batch at a time is plenty for thousands of polls a second.
		work: (_concurrency, pollBatchSize) => ({ batchSize: pollBatchSize, localConcurrency: 2 })
	},
	'video.transfer': {
		queue: 'video.transfer',
		description: 'Streams the finished MP4, its thumbnail and captions (SRT, and WebVTT for translations) from HeyGen into storage.',
		handler: lazy(async () => eachJob((await import('../handlers/transfer.ts')).transferVideo)),
		payload: jobPayload,
		retry: { limit: 10, delaySeconds: 10, backoff: true, delayMaxSeconds: 300 },
		expireInSeconds: 3600,
		triesColumn: 'transfer_count',
		doing: 'downloading the video',
		duration: {
			metric: 'video_transfer_seconds',
			stage: 'transfer',
			help: 'Time to copy a finished video into storage (transferring to completed), every job so far.'
		},
		// Transfers are long: small batches, more of them, so one large file holds up few others.
		work: (concurrency) => ({ batchSize: Math.max(1, Math.ceil(concurrency / 8)), localConcurrency: 4 })
	}
} as const satisfies { readonly [Q in StepQueue]: StepDefinition & { queue: Q } };

/** The steps in pipeline order (the order of db/job-states.ts). */
export const STEP_LIST: readonly StepDefinition[] = STEP_QUEUES.map((q) => STEPS[q]);

/**
 * Work beside the pipeline, not a status step: what a content or a finished job needs (migration
 * 0025). Each queue is named once in SQL (content_auto_generate_queue(), video_remove_files_queue()),
 * which also enqueues to it; its pg-boss settings are the entry's.
 */
export interface TaskDefinition<P = unknown> {
	queue: string;
	/** One line: what the task does. */
	description: string;
	/** The pg-boss job's data. */
	payload: z.ZodType<P>;
	/** Runs a batch of payloads; one settled result per payload, in order. */
	handler(ctx: PipelineContext, items: readonly P[]): Promise<PromiseSettledResult<void>[]>;
	retry: RetryPolicy;
	expireInSeconds: number;
	work(concurrency: number): Pick<WorkOptions, 'batchSize' | 'localConcurrency'>;
}

/** A task handler of one payload at a time, run for each of the batch side by side. */
function eachItem<P>(run: (ctx: PipelineContext, item: P) => Promise<void>): TaskDefinition<P>['handler'] {
	return (ctx, items) => Promise.allSettled(items.map((item) => run(ctx, item)));
}

const autoGeneratePayload = z.object({ contentId: z.uuid() }).strict();
const removeFilesPayload = z.object({ jobId: z.uuid(), reason: z.enum(['version_limit', 'deleted_by_user']) }).strict();

const TASKS = {
	'content.auto_generate': {
		queue: 'content.auto_generate',
		description:
			'Makes the auto-generated video of a content once its delay after the last body change is over, or waits for its active job to end (content_auto_generate_run).',
		payload: autoGeneratePayload,
		handler: eachItem(async (ctx, item: z.infer<typeof autoGeneratePayload>) =>
			(await import('../handlers/auto-generate.ts')).autoGenerateVideo(ctx, item.contentId)
		),
		retry: { limit: 10, delaySeconds: 2, backoff: true, delayMaxSeconds: 60 },
		expireInSeconds: 60,
		work: () => ({ batchSize: 4, localConcurrency: 1 })
	} satisfies TaskDefinition<z.infer<typeof autoGeneratePayload>>,
	'video.remove_files': {
		queue: 'video.remove_files',
		description: "Deletes a completed job's video, thumbnail and captions from storage, then records it (video_jobs_files_removed).",
		payload: removeFilesPayload,
		handler: eachItem(async (ctx, item: z.infer<typeof removeFilesPayload>) =>
			(await import('../handlers/remove-files.ts')).removeVideoFiles(ctx, item.jobId, item.reason)
		),
		retry: { limit: 10, delaySeconds: 10, backoff: true, delayMaxSeconds: 600 },
		expireInSeconds: 300,
		work: () => ({ batchSize: 4, localConcurrency: 1 })
	} satisfies TaskDefinition<z.infer<typeof removeFilesPayload>>
} as const;

export const TASK_LIST: readonly TaskDefinition[] = Object.values(TASKS) as readonly TaskDefinition[];

const COMMON_WORK = {
	pollingIntervalSeconds: 0.5,
	notifyPollingIntervalSeconds: 0.5,
	perJobResults: true as const,
	burstWhenBatchFull: true
};

/**
 * pg-boss work() options per queue. Every step runs in batches with burst fetching (batch size 1
 * would wait a polling interval after each job). Benchmarks compare raw pg-boss against exactly these.
 */
export function workOptions(concurrency: number, pollBatchSize = POLL_BATCH_SIZE_DEFAULT): Record<StepQueue, WorkOptions> {
	const entries = STEP_LIST.map((s) => [s.queue, { ...COMMON_WORK, ...s.work(concurrency, pollBatchSize) }]);
	return Object.fromEntries(entries) as Record<StepQueue, WorkOptions>;
}

/** pg-boss work() options of a task: as a step's, with the task's batch size. */
export function taskWorkOptions(task: TaskDefinition, concurrency: number): WorkOptions {
	return { ...COMMON_WORK, ...task.work(concurrency) };
}
