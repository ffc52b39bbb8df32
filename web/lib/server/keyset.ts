import { error } from '@sveltejs/kit';

/**
 * Keyset ("seek") paging for the lists: a page ends with a cursor naming its last row's sort key
 * and id; the next page is the rows after it in the same order. Unlike OFFSET, a page costs the
 * same however deep it is, and a row inserted meanwhile does not shift the next page by one.
 * The cursor is opaque to the browser (base64url JSON) and checked on the way back: a cursor made
 * for another order, or one that was tampered with, is a clear 400, never a 500.
 */
export interface Cursor {
	/** The order the cursor was made for (a cursor of one order means nothing in another). */
	sort: string;
	/** The last row's sort key, as text (timestamps in UTC with microseconds, titles lower-cased). */
	key: string;
	id: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The timestamps the queries write into cursors: `YYYY-MM-DDTHH:MM:SS.ffffffZ`. */
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const MAX_CURSOR_CHARS = 2000;

export const BAD_CURSOR = 'This page link is broken or out of date (its “after” cursor cannot be read). Start again from the first page.';

export function encodeCursor(c: Cursor): string {
	return Buffer.from(JSON.stringify([c.sort, c.key, c.id]), 'utf8').toString('base64url');
}

/**
 * The cursor in `?after=`, or null when there is none. `timestamp` says the key must be one of the
 * queries' timestamps (so Postgres never sees a malformed one). Anything else is a 400.
 */
export function decodeCursor(raw: string | null, sort: string, opts: { timestamp: boolean }): Cursor | null {
	if (raw === null || raw === '') return null;
	if (raw.length > MAX_CURSOR_CHARS || !/^[A-Za-z0-9_-]+$/.test(raw)) error(400, BAD_CURSOR);
	let parsed: unknown;
	try {
		parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
	} catch {
		error(400, BAD_CURSOR);
	}
	if (!Array.isArray(parsed) || parsed.length !== 3 || !parsed.every((p) => typeof p === 'string')) error(400, BAD_CURSOR);
	const [s, key, id] = parsed as [string, string, string];
	if (s !== sort) error(400, 'This page link was made for another order. Start again from the first page.');
	if (!UUID.test(id) || key.includes('\u0000') || (opts.timestamp && !TIMESTAMP.test(key))) error(400, BAD_CURSOR);
	return { sort, key, id };
}

/** The SQL text of a timestamp as cursors carry it (UTC, microseconds: a JS Date would lose those). */
export const CURSOR_TIMESTAMP_FORMAT = 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"';

/** `q` as an ILIKE pattern that matches it anywhere, its wildcards taken literally. */
export function containsPattern(q: string): string {
	return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The search box's text: trimmed, at most `max` characters (a longer one is a 400, not a silent cut). */
export function searchText(raw: string | null, max = 200): string {
	const q = (raw ?? '').trim();
	if (q.length > max) error(400, `Search for at most ${max} characters.`);
	if (q.includes('\u0000')) error(400, 'The search contains a NUL character (\\0); remove it.');
	return q;
}
