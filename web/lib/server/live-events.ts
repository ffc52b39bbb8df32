// Live status, part 1: reading job events as the browser sees them (LiveEvent).
import type { InferResult } from 'kysely';
import { db } from './db.ts';
import type { LiveEvent } from '../types.ts';

/** Where the web app serves a job's stored files: the MP4, its poster, and its subtitles as WebVTT. */
export function mediaUrl(job: { business_id: string; content_id: string; id: string }, ext: 'mp4' | 'jpg' | 'vtt' = 'mp4'): string {
	return `/media/${job.business_id}/${job.content_id}/${job.id}.${ext}`;
}

/** A job event with what its job (if it still exists) adds to it. */
function eventRows() {
	return db()
		.selectFrom('video_job_events as e')
		.leftJoin('video_jobs as j', 'j.id', 'e.job_id')
		.selectAll('e')
		.select((eb) => [
			eb('j.id', 'is not', null).as('job_exists'),
			'j.kind',
			'j.output_language',
			'j.thumbnail_path',
			// Captions as WebVTT when stored (translations), else HeyGen's SRT.
			eb.fn.coalesce('j.vtt_path', 'j.subtitles_path').as('subtitles_path'),
			'j.heygen_url'
		]);
}
type EventRow = InferResult<ReturnType<typeof eventRows>>[number];

function toLiveEvent(r: EventRow): LiveEvent {
	const d = r.detail !== null && typeof r.detail === 'object' && !Array.isArray(r.detail) ? r.detail : {};
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

export async function eventsById(ids: number[]): Promise<LiveEvent[]> {
	const rows = await eventRows()
		.where('e.id', '=', (eb) => eb.fn.any(eb.val(ids)))
		.orderBy('e.id')
		.execute();
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
	const rows = await eventRows()
		.where('e.business_id', '=', businessId)
		.where('e.id', '>', afterId)
		.$if(contentId !== null, (q) => q.where('e.content_id', '=', contentId!))
		.orderBy('e.id')
		.limit(limit)
		.execute();
	return rows.map(toLiveEvent);
}

export async function latestEventId(businessId: string): Promise<number> {
	const row = await db()
		.selectFrom('video_job_events')
		.where('business_id', '=', businessId)
		.select((eb) => eb.fn.max('id').as('id'))
		.executeTakeFirst();
	return Number(row?.id ?? 0);
}

const encoder = new TextEncoder();

export function sseFrame(ev: LiveEvent): Uint8Array {
	return encoder.encode(`id: ${ev.id}\nevent: job\ndata: ${JSON.stringify(ev)}\n\n`);
}
