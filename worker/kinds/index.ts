/**
 * What each job kind does at HeyGen, for the shared pipeline steps. Statuses, queues, render slots,
 * retries and deadlines are the same for every kind (video_job_statuses, worker/steps/registry.ts);
 * the step handlers (worker/handlers/) call the job's kind here for the HeyGen side:
 *
 * - `create`: submit (the job holds its attempt's Idempotency-Key): make the video at HeyGen once;
 * - `statuses` / `status`: poll, in bulk per account and one by one;
 * - `files`: transfer: fresh URLs of what to store.
 *
 * A new kind is an entry here (and its file beside this one), its SQL (the kind check of video_jobs,
 * its insert checks, its option specs) and nothing else: tests/worker/job-kinds.test.ts checks that
 * SQL and this list name the same kinds.
 */
import type { BulkVideoStatus, HeyGenClient, VideoStatus } from '../../heygen/index.ts';
import type { PipelineContext } from '../context.ts';
import type { VideoJob } from '../job-store.ts';
import { avatarKind } from './avatar.ts';
import { translationKind } from './translation.ts';

/** Fresh URLs of a finished job's files (each expires). */
export interface JobFiles {
	videoUrl: string | null;
	thumbnailUrl: string | null;
	srtUrl: string | null;
	vttUrl: string | null;
}

export interface JobKind {
	/** Makes the job's video at HeyGen (at most one per attempt); returns the id the job keeps in heygen_video_id. */
	create(ctx: PipelineContext, job: VideoJob, client: HeyGenClient): Promise<string>;
	statuses(client: HeyGenClient, ids: readonly string[]): Promise<Map<string, BulkVideoStatus>>;
	status(client: HeyGenClient, id: string): Promise<VideoStatus>;
	/** The job's error_message for a failure HeyGen reported (`said`: already our words, heygen-said.ts). */
	failed(said: string): string;
	/** Fresh URLs of what transfer stores. */
	files(client: HeyGenClient, job: VideoJob): Promise<JobFiles>;
	/** Whether the job asked for captions (transfer stores them, or warns that HeyGen gave none). */
	captions(job: VideoJob): boolean;
	/** Whether transfer must fetch fresh URLs even on its first try (the saved ones lack the captions). */
	alwaysFreshUrls(job: VideoJob): boolean;
}

export const JOB_KINDS = { avatar: avatarKind, translation: translationKind } as const satisfies Record<string, JobKind>;
export type JobKindName = keyof typeof JOB_KINDS;

export function kindOf(job: Pick<VideoJob, 'kind'>): JobKind {
	const k = JOB_KINDS[job.kind as JobKindName];
	if (!k) throw new Error(`video job kind "${job.kind}" has no entry in worker/kinds/index.ts`);
	return k;
}
