import { sql, type Expression, type ExpressionBuilder, type InferResult, type Kysely, type Selectable } from 'kysely';
import { jsonArrayFrom, jsonObjectFrom } from 'kysely/helpers/postgres';
import pg from 'pg';
import type { AuthUsers, DB, Json, JsonObject, VideoJobEvents, VideoJobs, VideoJobStatus } from '$db/types.ts';
import type { VideoOptions } from '$heygen/index.ts';
import { asUser, db } from './db.ts';
import { ONE_ACTIVE_INDEX } from './errors.ts';
import { mediaUrl } from './live.ts';
import type { MembershipRider } from './tenancy.ts';
import type { JobKind, JobSummary, JobView, LanguageVersion, PlayableVideo, StepSummary } from '../types.ts';

export type { JobView };

type Time = Date | string | null;
type JobId = Selectable<VideoJobs>['id'];

const toDate = (t: Time): Date | null => (t === null ? null : t instanceof Date ? t : new Date(t));

function secondsBetween(a: Time, b: Time): number | null {
	const x = toDate(a);
	const y = toDate(b);
	return x && y ? Math.max(0, (y.getTime() - x.getTime()) / 1000) : null;
}

/** A jsonb column that holds an object (a job's options: v3's, or a pre-v3 job's retired keys; an event's detail). */
export const jsonObject = (o: Json): JsonObject => (typeof o === 'object' && o !== null && !Array.isArray(o) ? o : {});

export function requesterLabel(r: { requested_by: string | null; requester_name: string | null; requester_email: string | null }): string {
	if (r.requester_name || r.requester_email) return r.requester_name ? `${r.requester_name} (${r.requester_email})` : r.requester_email!;
	if (!r.requested_by) return 'unknown';
	// Made by the content's auto-generate (issue 23), not by a person or an SQL role.
	if (r.requested_by === 'auto') return 'Auto';
	if (r.requested_by.startsWith('user:')) return 'a former member';
	return `${r.requested_by} (SQL)`;
}

/** The auth_users id in an actor ('user:<id>', see asUser), null for the worker or an SQL role. */
export function userOfActor(actor: Expression<string | null>) {
	return sql<Selectable<AuthUsers>['id'] | null>`case when ${actor} like 'user:%' then substr(${actor}, 6) end`;
}

/** An event of the job's attempt (the attempt is in the event's detail; events before retries existed have none). */
function ofAttempt(detail: Expression<Json>, attempt: Expression<Selectable<VideoJobs>['attempt']>) {
	return sql<boolean>`coalesce((${detail}->>'attempt')::int, 1) = ${attempt}`;
}

/**
 * Jobs (j), newest first, with who asked for each (requester_*) and when its current attempt
 * reached each step (from video_job_events): what toView and toSummary need besides the job's
 * own columns, which the caller selects.
 */
function jobsWithSteps() {
	return db()
		.selectFrom('video_jobs as j')
		.leftJoin('auth_users as u', (join) => join.on((eb) => eb('u.id', '=', userOfActor(eb.ref('j.requested_by')))))
		.leftJoinLateral(
			(eb) =>
				eb
					.selectFrom('video_job_events as e')
					.select((eb) => {
						// Literals, as the statuses are fixed: a parameter would only hide them from the planner.
						const at = (...statuses: VideoJobStatus[]) =>
							eb.fn.max<Selectable<VideoJobEvents>['at'] | null>('e.at').filterWhere(
								'e.to_status',
								'in',
								statuses.map((s) => sql.lit(s))
							);
						return [
							at('queued').as('queued_at'),
							at('rendering').as('rendering_at'),
							at('transferring').as('transferring_at'),
							at('completed', 'failed', 'canceled').as('finished_at')
						];
					})
					.whereRef('e.job_id', '=', 'j.id')
					.where((eb) => ofAttempt(eb.ref('e.detail'), eb.ref('j.attempt')))
					.as('ev'),
			(join) => join.onTrue()
		)
		.select([
			'j.id',
			'j.kind',
			'j.output_language',
			'j.source_job_id',
			'j.status',
			'j.attempt',
			'j.options',
			'j.error_code',
			'j.error_message',
			'j.last_error',
			'j.heygen_url',
			'j.duration_seconds',
			'j.size_bytes',
			'j.created_at',
			'j.requested_by',
			'u.name as requester_name',
			'u.email as requester_email',
			'ev.queued_at',
			'ev.rendering_at',
			'ev.transferring_at',
			'ev.finished_at'
		])
		.orderBy('j.created_at', 'desc')
		.orderBy('j.id', 'desc');
}

/** Jobs as the jobs pages show them (toView): with their content's title. */
function jobViews() {
	return jobsWithSteps()
		.innerJoin('content as c', 'c.id', 'j.content_id')
		.select([
			'j.business_id',
			'j.content_id',
			'c.title as content_title',
			'j.avatar_id',
			'j.voice_id',
			'j.heygen_video_id',
			'j.thumbnail_path',
			'j.subtitles_path',
			'j.vtt_path',
			'j.heygen_completed_at',
			'j.completed_at'
		]);
}

type JobViewRow = InferResult<ReturnType<typeof jobViews>>[number];

/** The steps of a job's current attempt shared by both row shapes (a view row has Dates, a JSON one strings). */
type StepTimes = Pick<JobViewRow | SummaryRow, 'status' | 'created_at' | 'queued_at' | 'rendering_at' | 'transferring_at' | 'finished_at'>;

function durations(r: StepTimes) {
	return {
		renderSeconds: secondsBetween(r.rendering_at, r.transferring_at),
		transferSeconds: r.status === 'completed' ? secondsBetween(r.transferring_at, r.finished_at) : null,
		totalSeconds: secondsBetween(r.queued_at ?? r.created_at, r.finished_at)
	};
}

function toView(r: JobViewRow): JobView {
	const job = { business_id: r.business_id, content_id: r.content_id, id: r.id };
	return {
		id: r.id,
		kind: r.kind,
		outputLanguage: r.output_language,
		sourceJobId: r.source_job_id,
		contentId: r.content_id,
		contentTitle: r.content_title,
		status: r.status,
		attempt: r.attempt,
		options: jsonObject(r.options),
		avatarId: r.avatar_id,
		voiceId: r.voice_id,
		errorCode: r.error_code,
		errorMessage: r.error_message,
		lastError: r.last_error,
		heygenVideoId: r.heygen_video_id,
		heygenUrl: r.heygen_url,
		thumbnailUrl: r.status === 'completed' && r.thumbnail_path ? mediaUrl(job, 'jpg') : null,
		captionsUrl: r.status === 'completed' && (r.vtt_path || r.subtitles_path) ? mediaUrl(job, 'vtt') : null,
		renderedAt: r.heygen_completed_at ? r.heygen_completed_at.toISOString() : null,
		videoUrl: r.status === 'completed' ? mediaUrl(job) : null,
		durationSeconds: r.duration_seconds === null ? null : Number(r.duration_seconds),
		sizeBytes: r.size_bytes,
		createdAt: r.created_at.toISOString(),
		completedAt: r.completed_at ? r.completed_at.toISOString() : null,
		requestedBy: requesterLabel(r),
		...durations(r)
	};
}

export async function businessJobs(
	businessId: string,
	opts: { status?: VideoJobStatus | 'active' | null; before?: Date | null; limit?: number } = {}
): Promise<JobView[]> {
	let q = jobViews().where('j.business_id', '=', businessId);
	if (opts.status === 'active') q = q.where((eb) => eb.fn<boolean>('video_jobs_is_active', ['j.status']));
	else if (opts.status) q = q.where('j.status', '=', opts.status);
	if (opts.before) q = q.where('j.created_at', '<', opts.before);
	const rows = await q.limit(opts.limit ?? 100).execute();
	return rows.map(toView);
}

/** One job of this business with its durations, or null (also for another business's job). */
export async function businessJob(businessId: string, jobId: string): Promise<JobView | null> {
	const row = await jobViews().where('j.business_id', '=', businessId).where('j.id', '=', jobId).limit(1).executeTakeFirst();
	return row ? toView(row) : null;
}

/** A completed avatar video of the content (issue 23's versions), newest first; the first is the current one. */
export interface VideoVersion {
	id: string;
	createdAt: string;
	requestedBy: string;
	/** Null once its files were removed from Storage (version limit or Delete video). */
	videoUrl: string | null;
	thumbnailUrl: string | null;
	captionsUrl: string | null;
	durationSeconds: number | null;
	filesRemovedAt: string | null;
	/** Languages it was translated into (finished translations). */
	languages: string[];
}

export interface ContentPageData {
	content: {
		id: string;
		title: string;
		body: string;
		updatedAt: string;
		/** The body differs from the current video's script (kept by SQL). */
		videoIsStale: boolean;
		/** When auto-generate makes the next video; null when none is pending. */
		videoScheduledAt: string | null;
		/** Why the last auto-generated video could not be made. */
		autoGenerateError: string | null;
	};
	versions: VideoVersion[];
	lastEventId: number;
	/** Avatar videos, newest first. */
	jobs: JobSummary[];
	/** Translations of this content's videos, newest first. */
	translations: LanguageVersion[];
	/** HeyGen's language names (only when there is a video to translate; empty until the worker loaded them). */
	languages: string[];
	/** The newest finished video among those jobs, for the player. */
	latestVideo: PlayableVideo | null;
	/** The avatar look and voice the newest avatar job was sent with (frozen at its insert; Retry sends them again). */
	currentInputs: { avatarId: string | null; voiceId: string | null } | null;
	steps: StepSummary[];
}

/** Translations of one content are many (a language each): the page shows this many, newest first. */
const TRANSLATIONS_SHOWN = 200;

/** The job has captions the media route serves as WebVTT: a translation's VTT, or an avatar video's SRT. */
const hasCaptions = (eb: ExpressionBuilder<DB & { j: VideoJobs }, 'j'>) =>
	eb.or([eb('j.vtt_path', 'is not', null), eb('j.subtitles_path', 'is not', null)]);

/** A content's jobs of one kind, newest first, as the content page's rows (history, player, language versions). */
function contentJobs(businessId: Expression<string>, contentId: string, kind: JobKind) {
	return jobsWithSteps()
		.select((eb) => [
			eb('j.thumbnail_path', 'is not', null).as('has_thumbnail'),
			hasCaptions(eb).as('has_subtitles'),
			'j.avatar_id',
			'j.voice_id',
			'j.files_removed_at'
		])
		.where('j.business_id', '=', businessId)
		.where('j.content_id', '=', contentId)
		.where('j.kind', '=', sql.lit(kind));
}

/**
 * The content page's one value (json): the content, its newest avatar jobs and translations with
 * durations (only what a history row, the player and the language list use: no join to content
 * for its title), the steps of the newest avatar job's current attempt, HeyGen's language names
 * (once there is a finished video to translate), and the business's latest event id.
 */
function contentPageValue(businessId: Expression<string>, contentId: string, limit: number) {
	return jsonObjectFrom(
		db()
			.selectFrom('content as c')
			.select((eb) => [
				'c.id',
				'c.business_id',
				'c.title',
				'c.body',
				'c.updated_at',
				'c.video_is_stale',
				'c.video_scheduled_at',
				'c.auto_generate_error',
				eb
					.selectFrom('video_job_events as e')
					.select((eb) => eb.fn.coalesce(eb.fn.max('e.id'), eb.lit(0)).as('id'))
					.whereRef('e.business_id', '=', 'c.business_id')
					.as('last_event_id'),
				jsonArrayFrom(contentJobs(businessId, contentId, 'avatar').limit(limit)).as('jobs'),
				jsonArrayFrom(contentJobs(businessId, contentId, 'translation').limit(TRANSLATIONS_SHOWN)).as('translations'),
				jsonArrayFrom(
					eb
						.selectFrom('heygen_languages as l')
						.select('l.name')
						// Only a content with a finished avatar video offers Translate, and needs the list.
						.where((eb) =>
							eb.exists(
								eb
									.selectFrom('video_jobs as v')
									.select(eb.lit(1).as('one'))
									.where('v.business_id', '=', businessId)
									.whereRef('v.content_id', '=', 'c.id')
									.where('v.kind', '=', sql.lit('avatar'))
									.where('v.status', '=', sql.lit('completed'))
							)
						)
						.orderBy('l.name')
				).as('languages'),
				jsonArrayFrom(
					eb
						.selectFrom(
							eb
								.selectFrom('video_jobs')
								.select(['id', 'attempt'])
								.whereRef('content_id', '=', 'c.id')
								.where('kind', '=', sql.lit('avatar'))
								.orderBy('created_at', 'desc')
								.orderBy('id', 'desc')
								.limit(eb.lit(1))
								.as('lj')
						)
						.innerJoin('video_job_events as e', (join) =>
							join.onRef('e.job_id', '=', 'lj.id').on((eb) => ofAttempt(eb.ref('e.detail'), eb.ref('lj.attempt')))
						)
						.select(['e.id', 'e.from_status', 'e.to_status', 'e.at'])
						.orderBy('e.id')
				).as('steps')
			])
			.where('c.id', '=', contentId)
			.where('c.business_id', '=', businessId)
	);
}

/** The value an expression evaluates to (here: the JSON that json_agg / to_json build, Dates as strings). */
type ValueOf<E> = E extends Expression<infer V> ? V : never;
type ContentPageValue = NonNullable<ValueOf<ReturnType<typeof contentPageValue>>>;
type SummaryRow = ContentPageValue['jobs'][number];

function toSummary(r: SummaryRow): JobSummary {
	return {
		id: r.id,
		kind: r.kind,
		outputLanguage: r.output_language,
		sourceJobId: r.source_job_id,
		status: r.status,
		attempt: r.attempt,
		options: jsonObject(r.options),
		errorCode: r.error_code,
		errorMessage: r.error_message,
		lastError: r.last_error,
		videoUrl: null,
		createdAt: new Date(r.created_at).toISOString(),
		requestedBy: requesterLabel(r),
		...durations(r)
	};
}

/**
 * Everything the content page shows, as a rider of the membership check (one round trip for the
 * whole page, see requireMembershipWith); null when the content is not in this business (the
 * live stream continues from lastEventId). Only the fields the page uses leave the database and
 * go into the page: every byte is parsed, serialized into the page's data, hashed for its ETag and
 * sent, on every view.
 */
export function contentPageQuery(contentId: string, limit = 30): MembershipRider<ContentPageValue | null, ContentPageData | null> {
	return {
		name: 'content-page',
		expression: (businessId) => contentPageValue(businessId, contentId, limit),
		parse(r) {
			if (r === null) return null;
			const job = (j: { id: JobId }) => ({ business_id: r.business_id, content_id: r.id, id: j.id });
			let latestVideo: PlayableVideo | null = null;
			const versions: VideoVersion[] = [];
			const jobs = r.jobs.map((row) => {
				const summary = toSummary(row);
				if (row.status !== 'completed') return summary;
				const removed = row.files_removed_at !== null;
				versions.push({
					id: row.id,
					createdAt: summary.createdAt,
					requestedBy: summary.requestedBy,
					videoUrl: removed ? null : mediaUrl(job(row)),
					thumbnailUrl: !removed && row.has_thumbnail ? mediaUrl(job(row), 'jpg') : null,
					captionsUrl: !removed && row.has_subtitles ? mediaUrl(job(row), 'vtt') : null,
					durationSeconds: row.duration_seconds === null ? null : Number(row.duration_seconds),
					filesRemovedAt: row.files_removed_at === null ? null : new Date(row.files_removed_at).toISOString(),
					languages: [
						...new Set(
							r.translations
								.filter((t) => t.source_job_id === row.id && t.status === 'completed' && t.output_language)
								.map((t) => t.output_language!)
						)
					].sort()
				});
				if (removed) return summary;
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
			const translations = r.translations.map((row): LanguageVersion => {
				const completed = row.status === 'completed';
				return {
					...toSummary(row),
					outputLanguage: row.output_language ?? '',
					videoUrl: completed ? mediaUrl(job(row)) : null,
					captionsUrl: completed && row.has_subtitles ? mediaUrl(job(row), 'vtt') : null
				};
			});
			return {
				content: {
					id: r.id,
					title: r.title,
					body: r.body,
					updatedAt: new Date(r.updated_at).toISOString(),
					videoIsStale: r.video_is_stale,
					videoScheduledAt: r.video_scheduled_at === null ? null : new Date(r.video_scheduled_at).toISOString(),
					autoGenerateError: r.auto_generate_error
				},
				versions,
				lastEventId: Number(r.last_event_id),
				jobs,
				translations,
				languages: r.languages.map((l) => l.name),
				latestVideo,
				currentInputs: r.jobs[0] ? { avatarId: r.jobs[0].avatar_id, voiceId: r.jobs[0].voice_id } : null,
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
	/** This video's avatar look and voice; null = the business's (the trigger fills them in). */
	avatarId?: string | null;
	voiceId?: string | null;
}): Promise<{ jobId: string; duplicate: boolean; status: VideoJobStatus }> {
	try {
		return await asUser(args.userId, async (trx) => {
			// Raw: script, avatar_id and voice_id are NOT NULL but filled by the before-insert trigger,
			// which the insert type of db/types.ts cannot know.
			const { rows } = await sql<Pick<Selectable<VideoJobs>, 'id' | 'status'>>`
				insert into video_jobs (content_id, business_id, options, idempotency_key, avatar_id, voice_id)
				values (${args.contentId}, ${args.businessId}, ${JSON.stringify(args.options)}::jsonb, ${args.idempotencyKey},
				        ${args.avatarId ?? null}, ${args.voiceId ?? null})
				on conflict (idempotency_key) do nothing
				returning id, status`.execute(trx);
			if (rows[0]) return { jobId: rows[0].id, duplicate: false, status: rows[0].status };
			const existing = await jobOfForm(trx, args);
			if (!existing) throw new FormReusedError();
			return { jobId: existing.id, duplicate: true, status: existing.status };
		});
	} catch (err) {
		// A double click whose second insert checked the idempotency key before the first one's row had
		// its key entry trips over the first one's active-job entry instead (once that commits): the
		// same form, so the same job. Another form's active job keeps the error ("already in progress").
		if (!(err instanceof pg.DatabaseError && err.code === '23505' && err.constraint === ONE_ACTIVE_INDEX)) throw err;
		const existing = await jobOfForm(db(), args);
		if (!existing) throw err;
		return { jobId: existing.id, duplicate: true, status: existing.status };
	}
}

/** The job a Generate form (its idempotency key) made for this content, if any. */
function jobOfForm(q: Kysely<DB>, args: { businessId: string; contentId: string; idempotencyKey: string }) {
	return q
		.selectFrom('video_jobs')
		.select(['id', 'status'])
		.where('idempotency_key', '=', args.idempotencyKey)
		.where('business_id', '=', args.businessId)
		.where('content_id', '=', args.contentId)
		.executeTakeFirst();
}

/** The job if it belongs to this business (and content, when given); the tenancy check for job ids. */
export async function findJob(businessId: string, jobId: string, contentId?: string) {
	let q = db()
		.selectFrom('video_jobs')
		.select(['id', 'status', 'content_id', 'kind', 'options'])
		.where('id', '=', jobId)
		.where('business_id', '=', businessId);
	if (contentId) q = q.where('content_id', '=', contentId);
	return q.executeTakeFirst();
}

export async function cancelJob(userId: string, jobId: string, reason: string): Promise<void> {
	await asUser(userId, (trx) => sql`select (cancel_video_job(${jobId}::uuid, ${reason})).id`.execute(trx));
}

/** Auto-generate's pending video of a content (issue 23): made now, or dropped (SQL checks the role). */
export async function scheduledVideo(userId: string, contentId: string, what: 'now' | 'cancel'): Promise<void> {
	await asUser(userId, (trx) =>
		what === 'now'
			? sql`select generate_scheduled_video_now(${contentId}::uuid)`.execute(trx)
			: sql`select cancel_scheduled_video(${contentId}::uuid)`.execute(trx)
	);
}

export async function retryJob(userId: string, jobId: string): Promise<void> {
	await asUser(userId, (trx) => sql`select (retry_video_job(${jobId}::uuid)).id`.execute(trx));
}
