import { sql } from 'kysely';
import type { VideoJobStatus } from '$db/types.ts';
import { db } from './db.ts';
import { requesterLabel } from './jobs.ts';

/** One row of video_job_events as the job page lists it. */
export interface AuditEvent {
	id: number;
	at: string;
	from: VideoJobStatus | null;
	to: VideoJobStatus;
	/** Who made the change: a member's name and email, "worker", or the SQL role. */
	actor: string;
	detail: Record<string, unknown>;
}

/** The job's audit trail, oldest first (video_job_events holds no secrets by design). */
export async function jobEvents(businessId: string, jobId: string): Promise<AuditEvent[]> {
	const { rows } = await sql<{
		id: number;
		at: Date;
		from_status: VideoJobStatus | null;
		to_status: VideoJobStatus;
		actor: string;
		detail: Record<string, unknown> | null;
		name: string | null;
		email: string | null;
	}>`
		select e.id, e.at, e.from_status, e.to_status, e.actor, e.detail, u.name, u.email
		from video_job_events e
		left join auth_users u on u.id = case when e.actor like 'user:%' then substr(e.actor, 6) end
		where e.job_id = ${jobId} and e.business_id = ${businessId}
		order by e.id`.execute(db());
	return rows.map((r) => ({
		id: r.id,
		at: r.at.toISOString(),
		from: r.from_status,
		to: r.to_status,
		actor: r.actor.startsWith('user:') || r.name ? requesterLabel({ requested_by: r.actor, requester_name: r.name, requester_email: r.email }) : r.actor,
		detail: r.detail ?? {}
	}));
}
