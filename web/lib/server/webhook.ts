import { createHash } from 'node:crypto';
import { verifyWebhookSignature, WEBHOOK_EVENTS, webhookPayload, webhookTimestampFresh } from '$heygen/webhooks.ts';
import { readCapped } from '$heygen/read-capped.ts';
import { db } from './db.ts';
import { errInfo, log } from './log.ts';
import { countDelivery, type WebhookOutcome } from './webhook-metrics.ts';

/** HeyGen's deliveries are a few hundred bytes; anything near this is not one of them. */
export const MAX_WEBHOOK_BODY = 16 * 1024;

/**
 * Decides what a delivery to /api/heygen/webhook/<businessId> does. Refusals happen before
 * anything is written and never call HeyGen: the body must be signed with that business's
 * endpoint secret (constant-time compare), carry a fresh timestamp and not be a delivery seen
 * before (webhookDedupeKey). A verified delivery only wakes the job's poll, which re-reads the
 * status from HeyGen.
 * Throws only for database failures after verification (the caller answers 500 so HeyGen retries).
 */
export async function receiveWebhook(businessId: string, request: Request): Promise<WebhookOutcome> {
	const raw = await readCapped(request, MAX_WEBHOOK_BODY);
	if (raw === null) return 'too_large';
	const { secret } = await db()
		.selectNoFrom((eb) => eb.fn<string | null>('get_heygen_webhook_secret', [eb.val(businessId)]).as('secret'))
		.executeTakeFirstOrThrow();
	if (!secret) return 'unknown_business';
	if (!verifyWebhookSignature(raw, request.headers.get('heygen-signature'), secret)) return 'bad_signature';
	if (!webhookTimestampFresh(request.headers.get('heygen-timestamp'))) return 'stale_timestamp';
	let body: unknown;
	try {
		body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
	} catch {
		return 'malformed';
	}
	const parsed = webhookPayload.safeParse(body);
	if (!parsed.success) return 'malformed';
	const eventId = webhookDedupeKey(raw, parsed.data.event_id);
	if (!(WEBHOOK_EVENTS as readonly string[]).includes(parsed.data.event_type)) return 'ignored_event';
	const { event_type: eventType, event_data: data } = parsed.data;
	const { outcome } = await db()
		.selectNoFrom((eb) =>
			eb
				.fn<WebhookOutcome | null>('heygen_webhook_receive', [
					eb.val(businessId),
					eb.val(eventId),
					eb.val(eventType),
					eb.val(data.video_id)
				])
				.as('outcome')
		)
		.executeTakeFirstOrThrow();
	return outcome ?? 'error';
}

/**
 * What a delivery is de-duplicated on: only what the signature covers. The Heygen-Event-Id header
 * is not signed, so a captured delivery replayed with a new header id would count as new each
 * time; the body's own event_id is signed, and without one the body itself (its SHA-256) is the
 * event. HeyGen's retries resend the same body, so they are still recognised.
 */
export function webhookDedupeKey(raw: Uint8Array, bodyEventId: string | null | undefined): string {
	return bodyEventId || `body-sha256:${createHash('sha256').update(raw).digest('hex')}`;
}

/** One reply for every delivery, whatever happened: the caller learns nothing from it. */
export function webhookReply(): Response {
	return new Response(null, { status: 204 });
}

export async function handleWebhook(businessId: string, request: Request): Promise<Response> {
	let outcome: WebhookOutcome;
	try {
		outcome = await receiveWebhook(businessId, request);
	} catch (err) {
		countDelivery('error');
		log().error({ businessId, err: errInfo(err) }, 'HeyGen webhook could not be processed');
		return new Response(null, { status: 500 });
	}
	countDelivery(outcome);
	if (outcome === 'accepted') log().info({ businessId }, 'HeyGen webhook: poll woken');
	else if (outcome === 'bad_signature' || outcome === 'stale_timestamp') log().warn({ businessId, outcome }, 'HeyGen webhook refused');
	else log().debug({ businessId, outcome }, 'HeyGen webhook ignored');
	return webhookReply();
}
