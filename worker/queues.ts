import { z } from 'zod';
import { STEP_QUEUE, type StepQueue } from '../db/job-states.ts';

/**
 * The pg-boss queues of the pipeline, by step, for handlers naming their next step; which status
 * each serves is SQL's video_jobs_step_queue (db/job-states.ts). Everything else about a step
 * (handler, payload, retry/expiry, work options) is its entry in worker/steps/registry.ts.
 */
export const QUEUES = {
	submit: STEP_QUEUE.queued,
	poll: STEP_QUEUE.rendering,
	transfer: STEP_QUEUE.transferring
} as const;
export type QueueName = StepQueue;

/** Every pipeline job carries only the video job's id: never a key, never the script. */
export const jobPayload = z.object({ jobId: z.uuid() }).strict();

/** Exponential backoff: base, 2·base, 4·base … capped. `attempt` starts at 1. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
	return Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(30, attempt - 1)));
}
