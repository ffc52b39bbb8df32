import { STEP_STATUS } from '../../db/job-states.ts';
import type { PipelineContext } from '../context.ts';
import { backoffMs, QUEUES } from '../queues.ts';
import { DownloadError, handleStepError } from './errors.ts';
import { BULK_STATUS_MAX_IDS, redact, type BulkVideoStatus, type VideoStatus } from '../../heygen/index.ts';
import type { JobPatch, NextStep, VideoJob } from '../job-store.ts';

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
 * poll of an unknown video does. Returns one outcome per job id, in order.
 */
export async function pollVideos(ctx: PipelineContext, jobIds: readonly string[]): Promise<PromiseSettledResult<void>[]> {
	const rows = new Map((await ctx.store.getMany(jobIds)).map((j) => [j.id, j]));
	const outcomes = new Map<string, Promise<void>>();
	const byBusiness = new Map<string, VideoJob[]>();
	for (const id of new Set(jobIds)) {
		const current = rows.get(id);
		if (!current || current.status !== AT || !current.heygen_video_id) continue;
		if (current.deadline && Date.now() > current.deadline.getTime()) {
			const minutes = Math.round((current.deadline.getTime() - current.created_at.getTime()) / 60_000);
			outcomes.set(id, ctx.store.fail(id, [AT], 'deadline_exceeded',
				`HeyGen had not finished rendering after ${minutes} minutes (last status: ${current.last_heygen_status ?? 'unknown'}).`).then(() => {}));
			continue;
		}
		// Counted before the call so that errors count as attempts too; the increment rides on the
		// update that records the outcome.
		const job = { ...current, poll_count: current.poll_count + 1 };
		let group = byBusiness.get(job.business_id);
		if (!group) byBusiness.set(job.business_id, (group = []));
		group.push(job);
	}
	for (const [businessId, jobs] of byBusiness) {
		const checked = checkAccount(ctx, businessId, jobs);
		jobs.forEach((job, i) => outcomes.set(job.id, checked.then((each) => each[i]!)));
	}
	return Promise.allSettled(jobIds.map((id) => outcomes.get(id) ?? Promise.resolve()));
}

/** A job's next state, settled together with the rest of its batch (JobStore.updateMany). */
interface Decision {
	jobId: string;
	patch: JobPatch;
	next?: NextStep;
	/** Logged once the change is written. */
	done?: () => void;
}

/**
 * One account's due jobs: a bulk call per 100 videos; then the completed ones (and ids HeyGen did
 * not list) are fetched on their own, and the chunk's state changes are written in one statement.
 */
async function checkAccount(ctx: PipelineContext, businessId: string, jobs: VideoJob[]): Promise<Promise<void>[]> {
	const key = await ctx.store.apiKey(businessId);
	if (!key) {
		return jobs.map((job) =>
			ctx.store
				.fail(job.id, [AT], 'missing_api_key', 'The HeyGen API key was removed while the video was rendering. Save one and retry the job.')
				.then(() => {})
		);
	}
	const out: Promise<void>[] = [];
	// Outcomes are collected by the caller only after every chunk has been called: mark them
	// handled now so an early failure is not reported as an unhandled rejection meanwhile.
	const push = (...ps: Promise<void>[]) => {
		for (const p of ps) p.catch(() => {});
		out.push(...ps);
	};
	for (let i = 0; i < jobs.length; i += BULK_STATUS_MAX_IDS) {
		const chunk = jobs.slice(i, i + BULK_STATUS_MAX_IDS);
		let statuses: Map<string, BulkVideoStatus> | null = null;
		// A lone due video: its own GET is as cheap as a bulk call and also carries the URLs a
		// completed render needs (a webhook wake-up is usually this case).
		if (chunk.length > 1) {
			try {
				statuses = await ctx.heygen(key).getVideoStatuses(chunk.map((j) => j.heygen_video_id!));
			} catch (err) {
				// The call as a whole failed (5xx, 429, timeout, a bad reply): every job in it records
				// the error and retries with backoff, as a lone poll would.
				push(...chunk.map((job) => handleStepError(ctx, QUEUES.poll, job, err, Number.POSITIVE_INFINITY)));
				continue;
			}
		}
		const decided = await Promise.allSettled(
			chunk.map(async (job) => {
				const s = statuses?.get(job.heygen_video_id!);
				if (s && s.status !== 'completed' && s.status !== 'not_found') return decide(ctx, job, key, { ...s, status: s.status });
				return pollAlone(ctx, job, key);
			})
		);
		const decisions = decided.flatMap((d) => (d.status === 'fulfilled' && d.value ? [d.value] : []));
		const written = ctx.store
			.updateMany(decisions.map((d) => ({ jobId: d.jobId, from: [AT] as const, patch: d.patch, ...(d.next && { next: d.next }) })))
			.then((rows) => {
				for (const d of decisions) if (rows.has(d.jobId)) d.done?.();
			});
		push(
			...decided.map((d) => {
				if (d.status === 'rejected') return Promise.reject(d.reason);
				return d.value ? written : Promise.resolve();
			})
		);
	}
	return out;
}

/**
 * `GET /v3/videos/{id}` for one job: a completed render's URLs, or an id HeyGen did not list.
 * Returns the change to make, or null when an error was already handled (recorded or failed).
 */
async function pollAlone(ctx: PipelineContext, job: VideoJob, key: string): Promise<Decision | null> {
	let status: VideoStatus;
	try {
		status = await ctx.heygen(key).getVideoStatus(job.heygen_video_id!);
	} catch (err) {
		await handleStepError(ctx, QUEUES.poll, job, err, Number.POSITIVE_INFINITY);
		return null;
	}
	return decide(ctx, job, key, status);
}

async function decide(ctx: PipelineContext, job: VideoJob, key: string, status: VideoStatus | (BulkVideoStatus & { status: VideoStatus['status'] })): Promise<Decision | null> {
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
	// The client has already redacted the key from HeyGen's code and message; redact() again here
	// also removes anything else that looks like a credential, before the text is clipped and stored.
	const e = status.error;
	const said = e?.message ? redact(e.message, key).replace(/\s+/g, ' ').trim().slice(0, 1500) : '';
	return {
		jobId,
		patch: {
			...counted,
			status: 'failed',
			last_heygen_status: 'failed',
			error_code: e?.code ? redact(e.code, key).slice(0, 100) : 'render_failed',
			error_message: said ? `HeyGen could not render the video: ${said}` : 'HeyGen reported the render as failed without giving a reason.'
		},
		done: () => ctx.log.warn({ jobId, code: e?.code }, 'render failed at HeyGen')
	};
}
