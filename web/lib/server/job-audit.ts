import type { JsonObject, VideoJobStatus } from '$db/types.ts';
import { db } from './db.ts';
import { jsonObject, requesterLabel, userOfActor } from './jobs.ts';

/** One row of video_job_events as the job page lists it. */
export interface AuditEvent {
	id: number;
	at: string;
	from: VideoJobStatus | null;
	to: VideoJobStatus;
	/** Who made the change: a member's name and email, "worker", or the SQL role. */
	actor: string;
	detail: JsonObject;
}

/** The job's audit trail, oldest first (video_job_events holds no secrets by design). */
export async function jobEvents(businessId: string, jobId: string): Promise<AuditEvent[]> {
	const rows = await db()
		.selectFrom('video_job_events as e')
		.leftJoin('auth_users as u', (join) => join.on((eb) => eb('u.id', '=', userOfActor(eb.ref('e.actor')))))
		.select(['e.id', 'e.at', 'e.from_status', 'e.to_status', 'e.actor', 'e.detail', 'u.name', 'u.email'])
		.where('e.job_id', '=', jobId)
		.where('e.business_id', '=', businessId)
		.orderBy('e.id')
		.execute();
	return rows.map((r) => ({
		id: r.id,
		at: r.at.toISOString(),
		from: r.from_status,
		to: r.to_status,
		actor:
			r.actor.startsWith('user:') || r.name
				? requesterLabel({ requested_by: r.actor, requester_name: r.name, requester_email: r.email })
				: r.actor,
		detail: jsonObject(r.detail)
	}));
}
