import { eventStream } from '$lib/server/sse.ts';
import { isUuid, requireMembership } from '$lib/server/tenancy.ts';
import { db } from '$lib/server/db.ts';
import { latestEventId } from '$lib/server/live.ts';
import { guardStream } from '$lib/server/stream-guard.ts';
import type { RequestHandler } from './$types';

/**
 * Live status (Server-Sent Events) for one business: `job` events with id = video_job_events.id.
 * `?content=<id>` narrows it to one piece of content; `Last-Event-ID` (sent by EventSource when it
 * reconnects) or `?since=<id>` replays what was missed first.
 */
export const GET: RequestHandler = async ({ locals, params, request, url }) => {
	if (!locals.user) return new Response('Not signed in', { status: 401 });
	const { business } = await requireMembership(locals, params.businessId);
	const userId = locals.user.id;
	const sessionId = locals.session!.id;
	const content = url.searchParams.get('content');
	if (content !== null && !isUuid(content)) return new Response('content must be a content id', { status: 400 });
	const sinceRaw = request.headers.get('last-event-id') ?? url.searchParams.get('since');
	const sinceNum = sinceRaw === null || sinceRaw === '' ? null : Number(sinceRaw);
	// Without a starting point, start from now: everything committed after this request arrived is
	// delivered, even what happens while the stream is still being set up.
	const since = sinceNum !== null && Number.isSafeInteger(sinceNum) && sinceNum >= 0 ? sinceNum : await latestEventId(business.id);

	const stream = eventStream({
		businessId: business.id,
		contentId: content,
		since,
		stillAllowed: async () =>
			!!(await db()
				.selectFrom('business_members')
				.select('user_id')
				.where('business_id', '=', business.id)
				.where('user_id', '=', userId)
				.executeTakeFirst()),
		onOpen: (close) => guardStream({ sessionId, userId, businessId: business.id, close })
	});
	return new Response(stream, {
		headers: {
			'content-type': 'text/event-stream; charset=utf-8',
			'cache-control': 'no-cache, no-transform',
			connection: 'keep-alive',
			'x-accel-buffering': 'no'
		}
	});
};
