import { error } from '@sveltejs/kit';
import { sql } from 'kysely';
import { ACTIVE_STATUSES } from '$db/job-states.ts';
import type { VideoJobStatus } from '$db/types.ts';
import { db } from './db.ts';
import { containsPattern, CURSOR_TIMESTAMP_FORMAT, decodeCursor, encodeCursor, searchText, type Cursor } from './keyset.ts';
import { mediaUrl } from './live-events.ts';
import { runPrepared } from './prepared.ts';

/**
 * The video library (/b/<id>/videos): a business's videos newest first, as a grid. By default the
 * finished ones and those on their way (with a status badge); a filter narrows it to one group.
 * Keyset-paged on (created_at, id) by video_jobs_business_idx (db/migrations/0026_library.sql).
 */
export const LIBRARY_FILTERS = {
	all: 'Finished and in progress',
	completed: 'Finished',
	in_progress: 'In progress',
	failed: 'Failed'
} as const;
export type LibraryFilter = keyof typeof LIBRARY_FILTERS;

export const LIBRARY_PAGE_SIZE = 24;

/** Statuses each filter shows: in progress is every active status and a job awaiting approval. */
const IN_PROGRESS: VideoJobStatus[] = ['awaiting_approval', ...ACTIVE_STATUSES];
const STATUSES: Record<LibraryFilter, VideoJobStatus[]> = {
	all: ['completed', ...IN_PROGRESS],
	completed: ['completed'],
	in_progress: IN_PROGRESS,
	failed: ['failed']
};

export interface LibraryQuery {
	q: string;
	status: LibraryFilter;
	after: string | null;
	cursor: Cursor | null;
}

/** The library's query string, checked: an unknown filter or a bad cursor is a 400 that says so. */
export function libraryQuery(url: URL): LibraryQuery {
	const s = url.searchParams.get('status') || 'all';
	if (!(s in LIBRARY_FILTERS)) error(400, `Unknown status filter “${s.slice(0, 40)}”: use ${Object.keys(LIBRARY_FILTERS).join(', ')}.`);
	const after = url.searchParams.get('after');
	return {
		q: searchText(url.searchParams.get('q')),
		status: s as LibraryFilter,
		after,
		cursor: decodeCursor(after, 'newest', { timestamp: true })
	};
}

/** One card of the grid. */
export interface LibraryVideo {
	id: string;
	contentId: string;
	title: string;
	kind: string;
	outputLanguage: string | null;
	status: VideoJobStatus;
	options: Record<string, unknown>;
	durationSeconds: number | null;
	createdAt: string;
	completedAt: string | null;
	thumbnailUrl: string | null;
	videoUrl: string | null;
	captionsUrl: string | null;
}

/** The library's SQL: one page of a business's videos, newest first (one more than a page, to know if there is a next). */
function libraryPageQuery(businessId: string, query: Pick<LibraryQuery, 'q' | 'status' | 'cursor'>, limit = LIBRARY_PAGE_SIZE + 1) {
	let q = db()
		.selectFrom('video_jobs as j')
		.innerJoin('content as c', 'c.id', 'j.content_id')
		.select([
			'j.id',
			'j.business_id',
			'j.content_id',
			'c.title',
			'j.kind',
			'j.output_language',
			'j.status',
			'j.options',
			'j.duration_seconds',
			'j.created_at',
			'j.completed_at',
			'j.thumbnail_path',
			'j.storage_path',
			'j.subtitles_path',
			'j.vtt_path',
			sql<string>`to_char(j.created_at at time zone 'UTC', ${sql.lit(CURSOR_TIMESTAMP_FORMAT)})`.as('sort_key')
		])
		.where('j.business_id', '=', businessId)
		.where('j.status', 'in', STATUSES[query.status])
		// A deleted video (its files removed from Storage: by a person, or past keep_video_versions) cannot play.
		.where('j.files_removed_at', 'is', null);
	if (query.q) q = q.where(sql<boolean>`c.title ilike ${containsPattern(query.q)}`);
	if (query.cursor) q = q.where(sql<boolean>`(j.created_at, j.id) < (${query.cursor.key}::timestamptz, ${query.cursor.id}::uuid)`);
	return q.orderBy('j.created_at', 'desc').orderBy('j.id', 'desc').limit(limit);
}

export async function listLibrary(businessId: string, query: LibraryQuery): Promise<{ videos: LibraryVideo[]; next: string | null }> {
	// Prepared (parsed and planned once per connection): one name per shape of the SQL text.
	const name = `library:${query.status}:${query.q ? 'q' : ''}:${query.cursor ? 'after' : ''}`;
	const rows = await runPrepared(name, libraryPageQuery(businessId, query).compile());
	const page = rows.slice(0, LIBRARY_PAGE_SIZE);
	const last = page.at(-1);
	return {
		videos: page.map((r) => {
			const done = r.status === 'completed';
			return {
				id: r.id,
				contentId: r.content_id,
				title: r.title,
				kind: r.kind,
				outputLanguage: r.output_language,
				status: r.status,
				options: (r.options ?? {}) as Record<string, unknown>,
				durationSeconds: r.duration_seconds === null ? null : Number(r.duration_seconds),
				createdAt: new Date(r.created_at).toISOString(),
				completedAt: r.completed_at ? new Date(r.completed_at).toISOString() : null,
				thumbnailUrl: done && r.thumbnail_path ? mediaUrl(r, 'jpg') : null,
				videoUrl: done && r.storage_path ? mediaUrl(r) : null,
				captionsUrl: done && (r.subtitles_path || r.vtt_path) ? mediaUrl(r, 'vtt') : null
			};
		}),
		next: rows.length > LIBRARY_PAGE_SIZE && last ? encodeCursor({ sort: 'newest', key: last.sort_key, id: last.id }) : null
	};
}
