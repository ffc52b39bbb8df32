import { STEP_STATUS } from '../../db/job-states.ts';
import type { PipelineContext } from '../context.ts';
import { backoffMs, QUEUES } from '../queues.ts';
import { DownloadError, handleStepError } from './errors.ts';
import { BULK_STATUS_MAX_IDS, isHeyGenError, type BulkVideoStatus, type VideoStatus } from '../../heygen/index.ts';
import type { JobPatch, NextStep, PollJob } from '../job-store.ts';
import { kindOf } from '../kinds/index.ts';

/** The status a job holds while this step works on it (SQL: video_jobs_step_queue). */
const AT = STEP_STATUS[QUEUES.poll];

const IN_PROGRESS = new Set(['pending', 'processing']);

/** rendering → (rendering again later | transferring | failed) for one job. */
export async function pollVideo(ctx: PipelineContext, jobId: string): Promise<void> {
	const [outcome] = await pollVideos(ctx, [jobId]);
	if (outcome?.status === 'rejected') throw outcome.reason;
}

/**
 * A batch of due polls: one bulk status call (`GET /v3/videos/statuses`) per account and 100
 * videos instead of one call per video. Each job still changes state on its own (row lock,
 * status check, one event per transition) through the job store. A completed video is fetched
 * once more on its own, because the transfer needs its fresh video_url, thumbnail and duration;
 * an id the bulk call does not know is looked up on its own too, so it ends exactly as a lone
 * poll of an unknown video does. When the bulk call itself fails for a reason that is not about the
 * account, every video is asked on its own instead. Returns one outcome per job id, in order.
 */
export async function pollVideos(ctx: PipelineContext, jobIds: readonly string[]): Promise<PromiseSettledResult<void>[]> {
	const rows = new Map((await ctx.store.getForPoll(jobIds)).map((j) => [j.id, j]));
	const outcomes = new Map<string, Promise<void>>();
	const byBusiness = new Map<string, PollJob[]>();
	for (const id of new Set(jobIds)) {
		const current = rows.get(id);
		if (!current || current.status !== AT || !current.heygen_video_id) continue;
		if (current.deadline && Date.now() > current.deadline.getTime()) {
			const minutes = Math.round((current.deadline.getTime() - current.created_at.getTime()) / 60_000);
			outcomes.set(
				id,
				ctx.store
					.fail(
						id,
						[AT],
						'deadline_exceeded',
						`HeyGen had not finished rendering after ${minutes} minutes (last status: ${current.last_heygen_status ?? 'unknown'}).`
					)
					.then(() => {})
			);
			continue;
		}
		// Counted before the call so that errors count as attempts too; the increment rides on the
		// update that records the outcome.
		const job = { ...current, poll_count: current.poll_count + 1 };
		// One bulk call per account and kind (videos and translations have their own status routes).
		const groupKey = `${job.business_id} ${job.kind}`;
		let group = byBusiness.get(groupKey);
		if (!group) byBusiness.set(groupKey, (group = []));
		group.push(job);
	}
	// Every account is asked first; then the whole batch's state changes are written in one
	// statement (jobs of many accounts are usually due together, a few of each).
	const checked = await Promise.all([...byBusiness.values()].map((jobs) => checkAccount(ctx, jobs[0]!.business_id, jobs)));
	const decisions = checked.flatMap((c) => c.decisions);
	const written = ctx.store
		.updateMany(decisions.map((d) => ({ jobId: d.jobId, from: [AT] as const, patch: d.patch, ...(d.next && { next: d.next }) })))
		.then((rows) => {
			for (const d of decisions) if (rows.has(d.jobId)) d.done?.();
		});
	for (const c of checked) for (const [id, outcome] of c.handled) outcomes.set(id, outcome);
	for (const d of decisions) outcomes.set(d.jobId, written);
	return Promise.allSettled(jobIds.map((id) => outcomes.get(id) ?? Promise.resolve()));
}

/** Bulk failures that would be the same for every video of the account, so not worth a call per video. */
const ACCOUNT_WIDE = new Set(['invalid_api_key', 'forbidden', 'insufficient_credit', 'rate_limited', 'request_in_progress']);

function accountWide(err: unknown): boolean {
	return isHeyGenError(err) && ACCOUNT_WIDE.has(err.code);
}

/** A job's next state, settled together with the rest of its batch (JobStore.updateMany). */
interface Decision {
	jobId: string;
	patch: JobPatch;
	next?: NextStep;
	/** Logged once the change is written. */
	done?: () => void;
}

/** One account's jobs: the changes to write with the batch, and the jobs whose outcome was settled on its own. */
interface Checked {
	decisions: Decision[];
	handled: Map<string, Promise<void>>;
}

/**
 * One account's due jobs: a bulk call per 100 videos; then the completed ones (and ids HeyGen did
 * not list) are fetched on their own. Errors are recorded per job here; the other outcomes are
 * returned as decisions, written by the caller with the rest of the batch.
 */
async function checkAccount(ctx: PipelineContext, businessId: string, jobs: PollJob[]): Promise<Checked> {
	const handled = new Map<string, Promise<void>>();
	// Outcomes are collected by the caller only after every account has been called: mark them
	// handled now so an early failure is not reported as an unhandled rejection meanwhile.
	const settle = (jobId: string, p: Promise<void>) => {
		p.catch(() => {});
		handled.set(jobId, p);
	};
	const key = await ctx.store.apiKey(businessId);
	if (!key) {
		for (const job of jobs) {
			settle(
				job.id,
				ctx.store
					.fail(
						job.id,
						[AT],
						'missing_api_key',
						'The HeyGen API key was removed while the video was rendering. Save one and retry the job.'
					)
					.then(() => {})
			);
		}
		return { decisions: [], handled };
	}
	const decisions: Decision[] = [];
	for (let i = 0; i < jobs.length; i += BULK_STATUS_MAX_IDS) {
		const chunk = jobs.slice(i, i + BULK_STATUS_MAX_IDS);
		let statuses: Map<string, BulkVideoStatus> | null = null;
		// A lone due video: its own GET is as cheap as a bulk call and also carries the URLs a
		// completed render needs (a webhook wake-up is usually this case).
		if (chunk.length > 1) {
			try {
				statuses = await kindOf(chunk[0]!).statuses(
					ctx.heygen(key),
					chunk.map((j) => j.heygen_video_id!)
				);
			} catch (err) {
				if (accountWide(err)) {
					// An answer about the account (its key, its rate limit): every job in the call records
					// it and retries with backoff (or fails on a bad key), as a lone poll would; asking
					// per video would only repeat it up to 100 times.
					for (const job of chunk) settle(job.id, handleStepError(ctx, QUEUES.poll, job, err, Number.POSITIVE_INFINITY));
					continue;
				}
				// The bulk route failed (5xx, a timeout, a bad reply, or a 404 because it moved): it says
				// nothing about the videos, so each is asked on its own; only HeyGen's answer about one
				// video can fail it for good.
				ctx.log.warn(
					{ businessId, videos: chunk.length, code: isHeyGenError(err) ? err.code : 'unexpected' },
					'bulk status call failed; asking per video'
				);
			}
		}
		const decided = await Promise.allSettled(
			chunk.map(async (job) => {
				const s = statuses?.get(job.heygen_video_id!);
				if (s && s.status !== 'completed' && s.status !== 'not_found') return decide(ctx, job, key, { ...s, status: s.status });
				return pollAlone(ctx, job, key);
			})
		);
		decided.forEach((d, j) => {
			if (d.status === 'rejected') settle(chunk[j]!.id, Promise.reject(d.reason));
			else if (d.value) decisions.push(d.value);
		});
	}
	return { decisions, handled };
}

/**
 * `GET /v3/videos/{id}` for one job: a completed render's URLs, or an id HeyGen did not list.
 * Returns the change to make, or null when an error was already handled (recorded or failed).
 */
async function pollAlone(ctx: PipelineContext, job: PollJob, key: string): Promise<Decision | null> {
	let status: VideoStatus;
	try {
		status = await kindOf(job).status(ctx.heygen(key), job.heygen_video_id!);
	} catch (err) {
		await handleStepError(ctx, QUEUES.poll, job, err, Number.POSITIVE_INFINITY);
		return null;
	}
	return decide(ctx, job, key, status);
}

async function decide(
	ctx: PipelineContext,
	job: PollJob,
	key: string,
	status: VideoStatus | (BulkVideoStatus & { status: VideoStatus['status'] })
): Promise<Decision | null> {
	const jobId = job.id;
	const counted = { poll_count: job.poll_count };
	if (IN_PROGRESS.has(status.status)) {
		const delayMs = backoffMs(job.poll_count, ctx.settings.pollInitialMs, ctx.settings.pollMaxMs);
		return { jobId, patch: { ...counted, last_heygen_status: status.status, last_error: null }, next: { queue: QUEUES.poll, delayMs } };
	}
	if (status.status === 'completed' && 'videoUrl' in status) {
		if (!status.videoUrl) {
			const err = new DownloadError('no_video_url', 'HeyGen reported the video completed but gave no video_url yet');
			await handleStepError(ctx, QUEUES.poll, job, err, Number.POSITIVE_INFINITY);
			return null;
		}
		return {
			jobId,
			patch: {
				...counted,
				status: 'transferring',
				last_heygen_status: 'completed',
				last_error: null,
				heygen_url: status.videoUrl,
				thumbnail_url: status.thumbnailUrl,
				duration_seconds: status.duration === null ? null : String(status.duration),
				heygen_completed_at: status.completedAt
			},
			next: { queue: QUEUES.transfer },
			done: () => ctx.log.info({ jobId }, 'render completed; transferring')
		};
	}
	// The client has made HeyGen's code and message safe to store (heygen/heygen-said.ts): a known
	// code comes with our own sentence, and a text that carried any form of the key is dropped.
	const e = status.error;
	const said = e?.message ?? '';
	return {
		jobId,
		patch: {
			...counted,
			status: 'failed',
			last_heygen_status: 'failed',
			error_code: e?.code ?? (job.kind === 'translation' ? 'translation_failed' : 'render_failed'),
			error_message: kindOf(job).failed(said)
		},
		done: () => ctx.log.warn({ jobId, code: e?.code }, 'render failed at HeyGen')
	};
}
