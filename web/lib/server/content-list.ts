import { error } from '@sveltejs/kit';
import { sql, type RawBuilder } from 'kysely';
import { db } from './db.ts';
import { runPrepared } from './prepared.ts';
import { containsPattern, CURSOR_TIMESTAMP_FORMAT, decodeCursor, encodeCursor, searchText } from './keyset.ts';

/**
 * The content list (/b/<id>): search by title, three orders, keyset paging. Each order has an
 * index of its own (db/migrations/0026_library.sql), so every page is an index range scan.
 */
export const CONTENT_SORTS = {
	updated: 'Recently updated',
	created: 'Recently created',
	title: 'Title (A–Z)'
} as const;
export type ContentSort = keyof typeof CONTENT_SORTS;

export const CONTENT_PAGE_SIZE = 50;

export interface ContentListQuery {
	q: string;
	sort: ContentSort;
	after: string | null;
	/** Only content whose video is out of date (content.video_is_stale, issue 23). */
	stale: boolean;
}

/** The list's query string, checked: an unknown sort or a bad cursor is a 400 that says so. */
export function contentListQuery(url: URL): ContentListQuery & { cursor: ReturnType<typeof decodeCursor> } {
	const s = url.searchParams.get('sort') || 'updated';
	if (!(s in CONTENT_SORTS)) error(400, `Unknown sort “${s.slice(0, 40)}”: use ${Object.keys(CONTENT_SORTS).join(', ')}.`);
	const sort = s as ContentSort;
	const after = url.searchParams.get('after');
	const stale = url.searchParams.get('stale');
	if (stale !== null && stale !== '1' && stale !== 'on') error(400, 'The out-of-date filter is stale=1 (or left out).');
	return {
		q: searchText(url.searchParams.get('q')),
		sort,
		after,
		stale: stale !== null,
		cursor: decodeCursor(after, sort, { timestamp: sort !== 'title' })
	};
}

/** The sort key of each order as SQL, and how it is compared (newest first, or A–Z). */
const KEY: Record<ContentSort, { key: RawBuilder<unknown>; text: RawBuilder<string>; desc: boolean }> = {
	updated: {
		key: sql`c.updated_at`,
		text: sql<string>`to_char(c.updated_at at time zone 'UTC', ${sql.lit(CURSOR_TIMESTAMP_FORMAT)})`,
		desc: true
	},
	created: {
		key: sql`c.created_at`,
		text: sql<string>`to_char(c.created_at at time zone 'UTC', ${sql.lit(CURSOR_TIMESTAMP_FORMAT)})`,
		desc: true
	},
	title: { key: sql`lower(c.title)`, text: sql<string>`lower(c.title)`, desc: false }
};

export async function listContent(businessId: string, query: ContentListQuery & { cursor: ReturnType<typeof decodeCursor> }) {
	const { key, text, desc } = KEY[query.sort];
	let q = db()
		.selectFrom('content as c')
		.select((eb) => [
			'c.id',
			'c.title',
			'c.heygen_status',
			'c.updated_at',
			'c.created_at',
			'c.video_is_stale',
			'c.video_scheduled_at',
			'c.auto_generate_error',
			eb.fn<string>('left', ['c.body', eb.lit(180)]).as('excerpt'),
			eb.fn<number>('length', ['c.body']).as('chars'),
			text.as('sort_key')
		])
		.where('c.business_id', '=', businessId);
	if (query.q) q = q.where(sql<boolean>`c.title ilike ${containsPattern(query.q)}`);
	if (query.stale) q = q.where('c.video_is_stale', '=', true);
	if (query.cursor) {
		const k = query.sort === 'title' ? sql`${query.cursor.key}` : sql`${query.cursor.key}::timestamptz`;
		q = q.where(
			desc
				? sql<boolean>`(${key}, c.id) < (${k}, ${query.cursor.id}::uuid)`
				: sql<boolean>`(${key}, c.id) > (${k}, ${query.cursor.id}::uuid)`
		);
	}
	// Prepared (parsed and planned once per connection): one name per shape of the SQL text.
	const name = `content-list:${query.sort}:${query.q ? 'q' : ''}:${query.stale ? 'stale' : ''}:${query.cursor ? 'after' : ''}`;
	const rows = await runPrepared(
		name,
		q
			.orderBy(key, desc ? 'desc' : 'asc')
			.orderBy('c.id', desc ? 'desc' : 'asc')
			.limit(CONTENT_PAGE_SIZE + 1)
			.compile()
	);
	const page = rows.slice(0, CONTENT_PAGE_SIZE);
	const last = page.at(-1);
	return {
		rows: page.map(({ sort_key: _, ...r }) => r),
		next: rows.length > CONTENT_PAGE_SIZE && last ? encodeCursor({ sort: query.sort, key: last.sort_key, id: last.id }) : null
	};
}
