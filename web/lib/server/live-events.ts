// Live status, part 1: reading job events as the browser sees them (LiveEvent).
import { sql } from 'kysely';
import type { VideoJobStatus } from '$db/types.ts';
import { db } from './db.ts';
import type { LiveEvent } from '../types.ts';

/** Where the web app serves a job's stored files: the MP4, its poster, and its subtitles as WebVTT. */
export function mediaUrl(job: { business_id: string; content_id: string; id: string }, ext: 'mp4' | 'jpg' | 'vtt' = 'mp4'): string {
	return `/media/${job.business_id}/${job.content_id}/${job.id}.${ext}`;
}

interface EventRow {
	id: number;
	job_id: string;
	content_id: string;
	business_id: string;
	from_status: VideoJobStatus | null;
	to_status: VideoJobStatus;
	at: Date;
	detail: Record<string, unknown>;
	job_exists: boolean;
	kind: LiveEvent['kind'];
	output_language: string | null;
	thumbnail_path: string | null;
	subtitles_path: string | null;
	heygen_url: string | null;
}

function toLiveEvent(r: EventRow): LiveEvent {
	const d = r.detail ?? {};
	const str = (v: unknown) => (typeof v === 'string' ? v : null);
	const completed = r.to_status === 'completed' && r.job_exists;
	return {
		id: r.id,
		jobId: r.job_id,
		kind: r.kind,
		outputLanguage: r.output_language,
		contentId: r.content_id,
		businessId: r.business_id,
		from: r.from_status,
		status: r.to_status,
		at: r.at.toISOString(),
		attempt: typeof d['attempt'] === 'number' ? d['attempt'] : null,
		errorCode: str(d['error_code']),
		errorMessage: str(d['error_message']),
		videoUrl: completed ? mediaUrl({ business_id: r.business_id, content_id: r.content_id, id: r.job_id }) : null,
		thumbnailUrl:
			completed && r.thumbnail_path ? mediaUrl({ business_id: r.business_id, content_id: r.content_id, id: r.job_id }, 'jpg') : null,
		captionsUrl:
			completed && r.subtitles_path ? mediaUrl({ business_id: r.business_id, content_id: r.content_id, id: r.job_id }, 'vtt') : null,
		heygenUrl: r.heygen_url
	};
}

const EVENT_COLUMNS = sql`e.id, e.job_id, e.content_id, e.business_id, e.from_status, e.to_status, e.at, e.detail,
	j.id is not null as job_exists, j.kind, j.output_language, j.thumbnail_path,
	coalesce(j.vtt_path, j.subtitles_path) as subtitles_path, j.heygen_url`;

export async function eventsById(ids: number[]): Promise<LiveEvent[]> {
	const { rows } = await sql<EventRow>`
		select ${EVENT_COLUMNS}
		from video_job_events e left join video_jobs j on j.id = e.job_id
		where e.id = any(${ids}::bigint[]) order by e.id`.execute(db());
	return rows.map(toLiveEvent);
}

export const REPLAY_LIMIT = 500;

/** Events of a business after `afterId` (oldest first), for a reconnecting browser. */
export async function eventsAfter(
	businessId: string,
	afterId: number,
	contentId: string | null,
	limit = REPLAY_LIMIT
): Promise<LiveEvent[]> {
	const { rows } = await sql<EventRow>`
		select ${EVENT_COLUMNS}
		from video_job_events e left join video_jobs j on j.id = e.job_id
		where e.business_id = ${businessId} and e.id > ${afterId}
		  and (${contentId}::uuid is null or e.content_id = ${contentId}::uuid)
		order by e.id limit ${limit}`.execute(db());
	return rows.map(toLiveEvent);
}

export async function latestEventId(businessId: string): Promise<number> {
	const { rows } = await sql<{ id: number | null }>`select max(id) as id from video_job_events where business_id = ${businessId}`.execute(
		db()
	);
	return Number(rows[0]?.id ?? 0);
}

const encoder = new TextEncoder();

export function sseFrame(ev: LiveEvent): Uint8Array {
	return encoder.encode(`id: ${ev.id}\nevent: job\ndata: ${JSON.stringify(ev)}\n\n`);
}
