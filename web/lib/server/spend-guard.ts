/**
 * The spend guard as the web sees it (issue 22): a business's approval switch, monthly limit,
 * this month's usage, HeyGen pause, and the jobs held for approval. The rules (holding a job,
 * approving, rejecting, resuming) live in SQL; this module only reads them and calls its functions
 * as the signed-in user, so the events name them as the actor.
 */
import { sql, type Selectable } from 'kysely';
import type { Businesses, Json, VideoJobs } from '$db/types.ts';
import { videoLength } from '../format.ts';
import { asUser, db } from './db.ts';
import { knownCredits } from './heygen.ts';
import { asPausedReason, type PausedReason } from './paused-reason.ts';
import { jsonObject, requesterLabel, userOfActor } from './jobs.ts';
import type { Membership } from './tenancy.ts';

type BusinessId = Selectable<Businesses>['id'];
type JobId = Selectable<VideoJobs>['id'];
export interface SpendSettings {
	requireApproval: boolean;
	/** Seconds of video per calendar month (UTC); null = no limit. */
	limitSeconds: number | null;
	pausedReason: PausedReason | null;
	pausedAt: Date | null;
	/** This month's seconds: actual once known, else the estimate (the view's numbers). */
	usedSeconds: number;
	jobsThisMonth: number;
}

/** The first of this month (UTC) as the view keys its rows (a date, so no time zone enters). */
function thisMonth(): string {
	return new Date().toISOString().slice(0, 8) + '01';
}

/** This month's usage of a business from business_video_usage (0 when it has no jobs yet). */
export async function monthUsage(businessId: BusinessId): Promise<{ usedSeconds: number; jobs: number }> {
	const row = await db()
		.selectFrom('business_video_usage')
		.select(['used_seconds', 'jobs'])
		.where('business_id', '=', businessId)
		.where('month', '=', sql<Date>`${thisMonth()}::date`)
		.executeTakeFirst();
	return { usedSeconds: Number(row?.used_seconds ?? 0), jobs: Number(row?.jobs ?? 0) };
}

export async function spendSettings(businessId: BusinessId): Promise<SpendSettings> {
	const [b, usage] = await Promise.all([
		db()
			.selectFrom('businesses')
			.select(['require_approval', 'monthly_video_seconds_limit', 'heygen_paused_reason', 'heygen_paused_at'])
			.where('id', '=', businessId)
			.executeTakeFirstOrThrow(),
		monthUsage(businessId)
	]);
	return {
		requireApproval: b.require_approval,
		limitSeconds: b.monthly_video_seconds_limit,
		pausedReason: asPausedReason(b.heygen_paused_reason),
		pausedAt: b.heygen_paused_at === null ? null : new Date(b.heygen_paused_at),
		usedSeconds: usage.usedSeconds,
		jobsThisMonth: usage.jobs
	};
}

export async function saveSpendSettings(
	userId: string,
	businessId: BusinessId,
	s: { requireApproval: boolean; limitSeconds: number | null }
): Promise<void> {
	await asUser(userId, (trx) =>
		trx
			.updateTable('businesses')
			.set({ require_approval: s.requireApproval, monthly_video_seconds_limit: s.limitSeconds })
			.where('id', '=', businessId)
			.execute()
	);
}

export async function resumeHeyGen(userId: string, businessId: BusinessId): Promise<void> {
	await asUser(userId, (trx) => sql`select resume_heygen(${businessId}::uuid)`.execute(trx));
}

/** Jobs of the business waiting for an owner's or admin's decision, oldest first. */
export async function awaitingApproval(businessId: BusinessId) {
	const rows = await db()
		.selectFrom('video_jobs as j')
		.innerJoin('content as c', 'c.id', 'j.content_id')
		.leftJoin('auth_users as u', (join) => join.on((eb) => eb('u.id', '=', userOfActor(eb.ref('j.requested_by')))))
		.select([
			'j.id',
			'j.kind',
			'j.output_language',
			'j.estimated_seconds',
			'j.hold_reason',
			'j.created_at',
			'j.requested_by',
			'j.content_id',
			'c.title as content_title',
			'u.name as requester_name',
			'u.email as requester_email',
			// An over-budget hold's first event names the month's use and the limit when it was asked for.
			(eb) =>
				eb
					.selectFrom('video_job_events as e')
					.select('e.detail')
					.whereRef('e.job_id', '=', 'j.id')
					.where('e.from_status', 'is', null)
					.orderBy('e.id')
					.limit(1)
					.as('held_detail')
		])
		.where('j.business_id', '=', businessId)
		.where('j.status', '=', 'awaiting_approval')
		.orderBy('j.created_at')
		.orderBy('j.id')
		.execute();
	return rows.map((r) => ({
		id: r.id,
		kind: r.kind,
		language: r.output_language,
		estimatedSeconds: r.estimated_seconds === null ? null : Number(r.estimated_seconds),
		holdReason: r.hold_reason,
		createdAt: new Date(r.created_at).toISOString(),
		contentId: r.content_id,
		contentTitle: r.content_title,
		requestedBy: requesterLabel(r),
		budget: budgetOf(r.held_detail)
	}));
}

function budgetOf(detail: Json | null): { usedSeconds: number; limitSeconds: number } | null {
	const d = jsonObject(detail);
	const used = Number(d['used_seconds']);
	const limit = Number(d['limit_seconds']);
	return d['used_seconds'] != null && Number.isFinite(used) && Number.isFinite(limit) ? { usedSeconds: used, limitSeconds: limit } : null;
}

export async function approveJob(userId: string, jobId: JobId): Promise<void> {
	await asUser(userId, (trx) => sql`select approve_video_job(${jobId}::uuid)`.execute(trx));
}

export async function rejectJob(userId: string, jobId: JobId, reason: string): Promise<void> {
	await asUser(userId, (trx) => sql`select reject_video_job(${jobId}::uuid, ${reason})`.execute(trx));
}

/**
 * SQL's own numbers for a piece of content: the estimate the insert trigger would give its video
 * (video_job_estimate_seconds, the one estimate rule) and, only when the business has a limit, the
 * month's use. Sent alongside the membership check (it does not wait for it; the caller discards it
 * unless the viewer is a member), so the content page pays no extra round trip.
 */
export async function contentEstimate(businessId: string, contentId: string) {
	const row = await db()
		.selectFrom('content as c')
		.innerJoin('businesses as b', 'b.id', 'c.business_id')
		.select((eb) => [
			eb.fn<string>('video_job_estimate_seconds', ['c.body']).as('estimate'),
			eb
				.case()
				.when('b.monthly_video_seconds_limit', 'is not', null)
				.then(eb.fn<string>('business_video_seconds_used', ['b.id']))
				.end()
				.as('used')
		])
		.where('c.id', '=', contentId)
		.where('c.business_id', '=', businessId)
		.executeTakeFirst();
	return { estimatedSeconds: Number(row?.estimate ?? 0), usedSeconds: row?.used == null ? null : Number(row.used) };
}

export interface GenerateHint {
	estimatedSeconds: number;
	/** Why this video would wait or could fail, in words; empty when nothing stands in the way. */
	warnings: string[];
}

/**
 * What the Generate button says before the click. Light on purpose (the content page is hot): SQL's
 * numbers come from contentEstimate, HeyGen's credits only from what the settings page last
 * fetched, never from HeyGen itself.
 */
export function generateHint(m: Membership, sqlSays: Awaited<ReturnType<typeof contentEstimate>>): GenerateHint {
	const b = m.business;
	const { estimatedSeconds, usedSeconds } = sqlSays;
	const warnings: string[] = [];
	if (b.require_approval) warnings.push('Approval is on: the video waits on the Approvals page until an owner or admin approves it.');
	if (b.heygen_paused_reason !== null) {
		warnings.push('Video generation is paused (see HeyGen settings): the video waits in the queue until it resumes.');
	}
	const limit = b.monthly_video_seconds_limit;
	if (limit !== null && usedSeconds !== null && usedSeconds + estimatedSeconds > limit) {
		warnings.push(
			`This would go over the monthly limit (${videoLength(usedSeconds)} of ${videoLength(limit)} used): the video waits for an owner's or admin's approval.`
		);
	}
	const credits = knownCredits(b.id);
	if (credits && credits.remaining !== null && credits.remaining <= 0) {
		warnings.push(`HeyGen reports no credits left (${credits.summary}): top up at HeyGen or the video waits.`);
	}
	return { estimatedSeconds, warnings };
}
