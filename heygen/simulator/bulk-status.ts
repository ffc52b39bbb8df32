/**
 * The simulator's `GET /v3/videos/statuses?video_ids=a,b,…` (HEYGEN_API.md §2): the status of up
 * to 100 videos in one call, `not_found` for ids it does not know. The route is in router.ts.
 */
import type { SimVideo } from './types.ts';

export const BULK_STATUS_MAX_IDS = 100;

export class BulkStatusError extends Error {
	readonly param: string;
	constructor(param: string, message: string) {
		super(message);
		this.param = param;
	}
}

// A status a test forced on a video (e.g. `waiting`) passes through unchanged.
const BULK_STATUS: Partial<Record<string, string>> = {
	pending: 'queued',
	processing: 'processing',
	completed: 'completed',
	failed: 'failed'
};

/** The reply body; throws BulkStatusError for a bad query (the caller answers 400). */
export function bulkStatusReply(
	url: URL,
	videos: ReadonlyMap<string, SimVideo>,
	advance: (v: SimVideo) => void,
	badShape: boolean
): Record<string, unknown> {
	const raw = url.searchParams.get('video_ids');
	const ids = (raw ?? '')
		.split(',')
		.map((s) => s.trim())
		.filter(Boolean);
	if (ids.length === 0) throw new BulkStatusError('video_ids', 'video_ids is required (comma-separated video ids)');
	if (ids.length > BULK_STATUS_MAX_IDS) throw new BulkStatusError('video_ids', `video_ids takes at most ${BULK_STATUS_MAX_IDS} ids`);
	const data = ids.map((id, i) => {
		const v = videos.get(id);
		if (!v) return { video_id: id, status: 'not_found', error: null, batch_id: null, item_index: i };
		v.statusCalls++;
		advance(v);
		const error = v.status === 'failed' && v.failWith ? { code: v.failWith.code, message: v.failWith.message } : null;
		return { video_id: v.id, status: badShape ? 'rendering' : (BULK_STATUS[v.status] ?? v.status), error, batch_id: null, item_index: i };
	});
	return { data, has_more: false, next_token: null };
}
