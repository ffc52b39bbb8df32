import { sql, type Kysely, type RawBuilder } from 'kysely';
import pg from 'pg';
import type { DB, VideoJobStatus } from '$db/types.ts';
import type { VideoOptions } from '$heygen/index.ts';
import { asUser, db } from './db.ts';
import { mediaUrl } from './live.ts';
import type { MembershipRider } from './tenancy.ts';
import type { JobSummary, JobView, PlayableVideo, StepEvent, StepSummary } from '../types.ts';

export type { JobView, StepEvent };

type Time = Date | string | null;

export interface JobRow {
	id: string;
	content_id: string;
	content_title: string;
	status: VideoJobStatus;
	attempt: number;
	options: VideoOptions;
	avatar_id: string;
	voice_id: string;
	error_code: string | null;
	error_message: string | null;
	last_error: string | null;
	heygen_video_id: string | null;
	heygen_url: string | null;
	thumbnail_path: string | null;
	subtitles_path: string | null;
	heygen_completed_at: Date | string | null;
	duration_seconds: string | number | null;
	size_bytes: number | null;
	created_at: Date | string;
	completed_at: Date | string | null;
	requested_by: string | null;
	requester_name: string | null;
	requester_email: string | null;
	queued_at: Time;
	rendering_at: Time;
	transferring_at: Time;
	finished_at: Time;
	business_id: string;
}


const toDate = (t: Time): Date | null => (t === null ? null : t instanceof Date ? t : new Date(t));

function secondsBetween(a: Time, b: Time): number | null {
	const x = toDate(a);
	const y = toDate(b);
	return x && y ? Math.max(0, (y.getTime() - x.getTime()) / 1000) : null;
}

export function requesterLabel(r: { requested_by: string | null; requester_name: string | null; requester_email: string | null }): string {
	if (r.requester_name || r.requester_email) return r.requester_name ? `${r.requester_name} (${r.requester_email})` : r.requester_email!;
	if (!r.requested_by) return 'unknown';
	if (r.requested_by.startsWith('user:')) return 'a former member';
	return `${r.requested_by} (SQL)`;
}

function toView(r: JobRow): JobView {
	return {
		id: r.id,
		contentId: r.content_id,
		contentTitle: r.content_title,
		status: r.status,
		attempt: r.attempt,
		options: r.options ?? {},
		avatarId: r.avatar_id,
		voiceId: r.voice_id,
		errorCode: r.error_code,
		errorMessage: r.error_message,
		lastError: r.last_error,
		heygenVideoId: r.heygen_video_id,
		heygenUrl: r.heygen_url,
		thumbnailUrl: r.status === 'completed' && r.thumbnail_path ? mediaUrl({ business_id: r.business_id, content_id: r.content_id, id: r.id }, 'jpg') : null,
		captionsUrl: r.status === 'completed' && r.subtitles_path ? mediaUrl({ business_id: r.business_id, content_id: r.content_id, id: r.id }, 'vtt') : null,
		renderedAt: r.heygen_completed_at ? toDate(r.heygen_completed_at)!.toISOString() : null,
		videoUrl: r.status === 'completed' ? mediaUrl({ business_id: r.business_id, content_id: r.content_id, id: r.id }) : null,
		durationSeconds: r.duration_seconds === null ? null : Number(r.duration_seconds),
		sizeBytes: r.size_bytes,
		createdAt: toDate(r.created_at)!.toISOString(),
		completedAt: r.completed_at ? toDate(r.completed_at)!.toISOString() : null,
		requestedBy: requesterLabel(r),
		renderSeconds: secondsBetween(r.rendering_at, r.transferring_at),
		transferSeconds: r.status === 'completed' ? secondsBetween(r.transferring_at, r.finished_at) : null,
		totalSeconds: secondsBetween(r.queued_at ?? r.created_at, r.finished_at)
	};
}

/** The columns of a job as the jobs pages show it (toView). */
const JOB_COLUMNS = sql`j.id, j.business_id, j.content_id, c.title as content_title, j.status, j.attempt, j.options, j.avatar_id, j.voice_id,
	j.error_code, j.error_message, j.last_error, j.heygen_video_id, j.heygen_url, j.thumbnail_path, j.subtitles_path, j.heygen_completed_at,
	j.duration_seconds, j.size_bytes, j.created_at, j.completed_at, j.requested_by`;

/** Only what a content page's history and player use (toSummary); no join to content for its title. */
const SUMMARY_COLUMNS = sql`j.id, j.status, j.attempt, j.options, j.error_code, j.error_message, j.last_error, j.heygen_url,
	j.thumbnail_path is not null as has_thumbnail, j.subtitles_path is not null as has_subtitles, j.duration_seconds, j.size_bytes,
	j.created_at, j.requested_by`;

function jobSelect(where: RawBuilder<unknown>, limit: number, columns: 'view' | 'summary' = 'view') {
	return sql`
		select ${columns === 'view' ? JOB_COLUMNS : SUMMARY_COLUMNS},
			u.name as requester_name, u.email as requester_email,
			ev.queued_at, ev.rendering_at, ev.transferring_at, ev.finished_at
		from video_jobs j
		${columns === 'view' ? sql`join content c on c.id = j.content_id` : sql``}
		left join auth_users u on u.id = case when j.requested_by like 'user:%' then substr(j.requested_by, 6) end
		left join lateral (
			select max(e.at) filter (where e.to_status = 'queued') as queued_at,
			       max(e.at) filter (where e.to_status = 'rendering') as rendering_at,
			       max(e.at) filter (where e.to_status = 'transferring') as transferring_at,
			       max(e.at) filter (where e.to_status in ('completed', 'failed', 'canceled')) as finished_at
			from video_job_events e
			where e.job_id = j.id and coalesce((e.detail->>'attempt')::int, 1) = j.attempt
		) ev on true
		where ${where}
		order by j.created_at desc, j.id desc
		limit ${limit}`;
}

function jobQuery(where: RawBuilder<unknown>, limit: number) {
	return sql<JobRow>`${jobSelect(where, limit)}`;
}

export async function businessJobs(
	businessId: string,
	opts: { status?: VideoJobStatus | 'active' | null; before?: Date | null; limit?: number } = {}
): Promise<JobView[]> {
	const conds = [sql`j.business_id = ${businessId}`];
	if (opts.status === 'active') conds.push(sql`video_jobs_is_active(j.status)`);
	else if (opts.status) conds.push(sql`j.status = ${opts.status}::video_job_status`);
	if (opts.before) conds.push(sql`j.created_at < ${opts.before}`);
	const { rows } = await jobQuery(sql.join(conds, sql` and `), opts.limit ?? 100).execute(db());
	return rows.map(toView);
}

/** One job of this business with its durations, or null (also for another business's job). */
export async function businessJob(businessId: string, jobId: string): Promise<JobView | null> {
	const { rows } = await jobQuery(sql`j.business_id = ${businessId} and j.id = ${jobId}`, 1).execute(db());
	return rows[0] ? toView(rows[0]) : null;
}

export interface ContentPageData {
	content: { id: string; title: string; body: string; updatedAt: string };
	lastEventId: number;
	jobs: JobSummary[];
	/** The newest finished video among those jobs, for the player. */
	latestVideo: PlayableVideo | null;
	steps: StepSummary[];
}

/** A row of the content page's history (SUMMARY_COLUMNS), as json_build_object gives it. */
interface SummaryRow
	extends Pick<
		JobRow,
		| 'id' | 'status' | 'attempt' | 'options' | 'error_code' | 'error_message' | 'last_error' | 'heygen_url'
		| 'duration_seconds' | 'size_bytes' | 'requested_by' | 'requester_name' | 'requester_email'
		| 'queued_at' | 'rendering_at' | 'transferring_at' | 'finished_at'
	> {
	has_thumbnail: boolean;
	has_subtitles: boolean;
	created_at: string;
}

interface ContentPageValue {
	id: string;
	business_id: string;
	title: string;
	body: string;
	updated_at: string;
	last_event_id: number;
	jobs: SummaryRow[];
	steps: { id: number; from_status: VideoJobStatus | null; to_status: VideoJobStatus; at: string }[];
}

function toSummary(r: SummaryRow): JobSummary {
	return {
		id: r.id,
		status: r.status,
		attempt: r.attempt,
		options: r.options ?? {},
		errorCode: r.error_code,
		errorMessage: r.error_message,
		lastError: r.last_error,
		videoUrl: null,
		createdAt: toDate(r.created_at)!.toISOString(),
		requestedBy: requesterLabel(r),
		renderSeconds: secondsBetween(r.rendering_at, r.transferring_at),
		transferSeconds: r.status === 'completed' ? secondsBetween(r.transferring_at, r.finished_at) : null,
		totalSeconds: secondsBetween(r.queued_at ?? r.created_at, r.finished_at)
	};
}

/**
 * Everything the content page shows, as a rider of the membership check (one round trip for the
 * whole page, see requireMembershipWith): the content, its newest jobs with durations, the steps
 * of the newest job's current attempt, and the business's latest event id (the live stream
 * continues from there). Null when the content is not in this business. Only the fields the page
 * uses leave the database and go into the page: every byte is parsed, serialized into the page's
 * data, hashed for its ETag and sent, on every view.
 */
export function contentPageQuery(contentId: string, limit = 30): MembershipRider<ContentPageData | null> {
	return {
		name: 'content-page',
		expression: sql`
			select json_build_object(
				'id', c.id, 'business_id', c.business_id, 'title', c.title, 'body', c.body, 'updated_at', c.updated_at,
				'last_event_id', (select coalesce(max(e.id), 0) from video_job_events e where e.business_id = c.business_id),
				'jobs', (select coalesce(json_agg(x order by x.created_at desc, x.id desc), '[]') from (${jobSelect(sql`j.business_id = b.id and j.content_id = ${contentId}`, limit, 'summary')}) x),
				'steps', (select coalesce(json_agg(s order by s.id), '[]') from (
					select e.id, e.from_status, e.to_status, e.at
					from (select id, attempt from video_jobs where content_id = c.id order by created_at desc, id desc limit 1) lj
					join video_job_events e on e.job_id = lj.id and coalesce((e.detail->>'attempt')::int, 1) = lj.attempt
				) s))
			from content c
			where c.id = ${contentId} and c.business_id = b.id`,
		parse(value) {
			if (value === null) return null;
			const r = value as ContentPageValue;
			const job = (j: { id: string }) => ({ business_id: r.business_id, content_id: r.id, id: j.id });
			let latestVideo: PlayableVideo | null = null;
			const jobs = r.jobs.map((row) => {
				const summary = toSummary(row);
				if (row.status !== 'completed') return summary;
				summary.videoUrl = mediaUrl(job(row));
				latestVideo ??= {
					id: row.id,
					videoUrl: summary.videoUrl,
					thumbnailUrl: row.has_thumbnail ? mediaUrl(job(row), 'jpg') : null,
					captionsUrl: row.has_subtitles ? mediaUrl(job(row), 'vtt') : null,
					heygenUrl: row.heygen_url,
					durationSeconds: row.duration_seconds === null ? null : Number(row.duration_seconds),
					sizeBytes: row.size_bytes
				};
				return summary;
			});
			return {
				content: { id: r.id, title: r.title, body: r.body, updatedAt: new Date(r.updated_at).toISOString() },
				lastEventId: Number(r.last_event_id),
				jobs,
				latestVideo,
				steps: r.steps.map((x) => ({ id: x.id, from: x.from_status, status: x.to_status, at: new Date(x.at).toISOString() }))
			};
		}
	};
}

/** The idempotency key of a form came back with another content or business. */
export class FormReusedError extends Error {
	constructor() {
		super('This form was already used for another video. Reload the page and try again.');
		this.name = 'FormReusedError';
	}
}

/** The unique index that allows one active job per content (db/migrations/0016). */
const ONE_ACTIVE_INDEX = 'video_jobs_one_active_per_content';

/**
 * Inserts a job as this user (the trigger fills script, avatar and voice from the content and the
 * business, validates, records the event and enqueues the work). A repeated submit of the same
 * form (same idempotency key) returns the job it already made instead of a second one.
 */
export async function createJob(args: {
	userId: string;
	businessId: string;
	contentId: string;
	options: VideoOptions;
	idempotencyKey: string;
}): Promise<{ jobId: string; duplicate: boolean }> {
	try {
		return await asUser(args.userId, async (trx) => {
			const { rows } = await sql<{ id: string }>`
				insert into video_jobs (content_id, business_id, options, idempotency_key)
				values (${args.contentId}, ${args.businessId}, ${JSON.stringify(args.options)}::jsonb, ${args.idempotencyKey})
				on conflict (idempotency_key) do nothing
				returning id`.execute(trx);
			if (rows[0]) return { jobId: rows[0].id, duplicate: false };
			const existing = await jobOfForm(trx, args);
			if (!existing) throw new FormReusedError();
			return { jobId: existing.id, duplicate: true };
		});
	} catch (err) {
		// A double click whose second insert checked the idempotency key before the first one's row had
		// its key entry trips over the first one's active-job entry instead (once that commits): the
		// same form, so the same job. Another form's active job keeps the error ("already in progress").
		if (!(err instanceof pg.DatabaseError && err.code === '23505' && err.constraint === ONE_ACTIVE_INDEX)) throw err;
		const existing = await jobOfForm(db(), args);
		if (!existing) throw err;
		return { jobId: existing.id, duplicate: true };
	}
}

/** The job a Generate form (its idempotency key) made for this content, if any. */
function jobOfForm(q: Kysely<DB>, args: { businessId: string; contentId: string; idempotencyKey: string }) {
	return q
		.selectFrom('video_jobs')
		.select('id')
		.where('idempotency_key', '=', args.idempotencyKey)
		.where('business_id', '=', args.businessId)
		.where('content_id', '=', args.contentId)
		.executeTakeFirst();
}

/** The job if it belongs to this business (and content, when given); the tenancy check for job ids. */
export async function findJob(businessId: string, jobId: string, contentId?: string) {
	let q = db().selectFrom('video_jobs').select(['id', 'status', 'content_id']).where('id', '=', jobId).where('business_id', '=', businessId);
	if (contentId) q = q.where('content_id', '=', contentId);
	return q.executeTakeFirst();
}

export async function cancelJob(userId: string, jobId: string, reason: string): Promise<void> {
	await asUser(userId, (trx) => sql`select (cancel_video_job(${jobId}::uuid, ${reason})).id`.execute(trx));
}

export async function retryJob(userId: string, jobId: string): Promise<void> {
	await asUser(userId, (trx) => sql`select (retry_video_job(${jobId}::uuid)).id`.execute(trx));
}
