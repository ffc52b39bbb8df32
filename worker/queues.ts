import { z } from 'zod';

/** The pg-boss queues of the pipeline; their retry/expiry settings live in db/migrations/0003. */
export const QUEUES = {
	submit: 'video.submit',
	poll: 'video.poll',
	transfer: 'video.transfer'
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

/** Every pipeline job carries only the video job's id: never a key, never the script. */
export const jobPayload = z.object({ jobId: z.uuid() }).strict();

/** Exponential backoff: base, 2·base, 4·base … capped. `attempt` starts at 1. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
	return Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(30, attempt - 1)));
}
