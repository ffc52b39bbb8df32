import { json } from '@sveltejs/kit';
import { sql } from 'kysely';
import { z } from 'zod';
import { config } from '$lib/server/config.ts';
import { db } from '$lib/server/db.ts';
import { errInfo, log } from '$lib/server/log.ts';
import { isUuid } from '$lib/server/tenancy.ts';
import { verifySignature } from '$lib/server/webhook.ts';
import type { RequestHandler } from './$types';

const MAX_BODY = 64 * 1024;

const payload = z.object({
	event_type: z.string().min(1).max(100),
	event_data: z.object({
		video_id: z.string().min(1).max(200),
		callback_id: z.string().max(200).nullish()
	})
});

/**
 * HeyGen's webhook (avatar_video.success | avatar_video.fail). It only wakes the job's status poll:
 * the worker re-reads the status from HeyGen, so a forged or repeated call changes nothing. With
 * HEYGEN_WEBHOOK_SECRET set, the body must carry a valid HMAC-SHA256 signature (header `signature`,
 * `x-signature` or `x-heygen-signature`).
 */
export const POST: RequestHandler = async ({ request }) => {
	const length = Number(request.headers.get('content-length') ?? 0);
	if (length > MAX_BODY) return json({ error: 'body too large' }, { status: 413 });
	const raw = new Uint8Array(await request.arrayBuffer());
	if (raw.byteLength > MAX_BODY) return json({ error: 'body too large' }, { status: 413 });

	const secret = config().HEYGEN_WEBHOOK_SECRET;
	if (secret) {
		const header = request.headers.get('signature') ?? request.headers.get('x-signature') ?? request.headers.get('x-heygen-signature');
		if (!verifySignature(raw, header, secret)) return json({ error: 'invalid signature' }, { status: 401 });
	}

	let body: unknown;
	try {
		body = JSON.parse(new TextDecoder().decode(raw));
	} catch {
		return json({ error: 'body is not valid JSON' }, { status: 400 });
	}
	const parsed = payload.safeParse(body);
	if (!parsed.success) {
		const issue = parsed.error.issues[0]!;
		const field = issue.path.map(String).join('.') || '(body)';
		return json({ error: `${field}: ${issue.message}`, field }, { status: 400 });
	}
	const { video_id, callback_id } = parsed.data.event_data;
	try {
		// Our job id travels as HeyGen's callback_id; otherwise find the job by HeyGen's video id.
		let jobId: string | null = null;
		if (callback_id && isUuid(callback_id)) {
			const j = await db().selectFrom('video_jobs').select('id').where('id', '=', callback_id).where('heygen_video_id', '=', video_id).executeTakeFirst();
			jobId = j?.id ?? null;
		}
		if (!jobId) {
			const j = await db().selectFrom('video_jobs').select('id').where('heygen_video_id', '=', video_id).orderBy('created_at', 'desc').executeTakeFirst();
			jobId = j?.id ?? null;
		}
		if (!jobId) return json({ ok: true, woke: false });
		const { rows } = await sql<{ woke: boolean }>`select video_jobs_wake_poll(${jobId}::uuid) as woke`.execute(db());
		log().info({ jobId, event: parsed.data.event_type, woke: rows[0]?.woke }, 'HeyGen webhook');
		return json({ ok: true, woke: rows[0]?.woke ?? false });
	} catch (err) {
		log().error({ err: errInfo(err) }, 'HeyGen webhook failed');
		return json({ error: 'could not process the webhook; HeyGen will retry' }, { status: 500 });
	}
};
