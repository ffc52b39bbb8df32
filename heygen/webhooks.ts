/**
 * HeyGen v3 webhook endpoints and the verification of their deliveries.
 *
 * The endpoint calls go through the one HeyGen transport (transport.ts), like every other HeyGen
 * call: same timeout, capped body, error mapping and key redaction. Every reply is zod-parsed.
 * Errors never carry the API key or an endpoint secret.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { isHeyGenError } from './errors.ts';
import { createTransport, type TransportOptions } from './transport.ts';

/**
 * The events this product listens to: a render's and a translation's end. Each only wakes the job's
 * poll, which asks HeyGen for the status itself. An endpoint registered before translations existed
 * is re-registered with these (worker/webhook-registration.ts).
 */
export const WEBHOOK_EVENTS = [
	'avatar_video.success',
	'avatar_video.fail',
	'video_translate.success',
	'video_translate.fail',
	'video_translate.preflight.download_failed',
	'video_translate.preflight.validation_failed'
] as const;

/** Deliveries older (or further in the future) than this are refused. */
export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;

export interface WebhookEndpoint {
	id: string;
	url: string;
	events: string[] | null;
	status: string;
	createdAt: string | null;
}

export interface WebhookApi {
	/** Creates an endpoint; the secret is only ever returned here. */
	createEndpoint(url: string, events?: readonly string[]): Promise<WebhookEndpoint & { secret: string }>;
	/** Deletes an endpoint; one that is already gone (404) counts as deleted. */
	deleteEndpoint(endpointId: string): Promise<void>;
	listEndpoints(): Promise<WebhookEndpoint[]>;
	/**
	 * One page of the account's delivered events (GET /v3/webhooks/events), newest first; `token`
	 * is the previous page's `nextToken`. For catching up on deliveries missed while the app was down.
	 */
	listEvents(page?: { entityId?: string; limit?: number; token?: string | null }): Promise<WebhookEventPage>;
}

/** A delivered event as HeyGen's history keeps it. `data` is the delivery's `event_data`. */
export interface WebhookEvent {
	id: string;
	type: string;
	data: Record<string, unknown>;
	/** When HeyGen created it; null when HeyGen's value is not a date. */
	createdAt: Date | null;
}

export interface WebhookEventPage {
	events: WebhookEvent[];
	nextToken: string | null;
}

/** HeyGen's limit per page of GET /v3/webhooks/events (1–100). */
export const WEBHOOK_EVENTS_PAGE_MAX = 100;

export type WebhookApiOptions = TransportOptions;

const endpointSchema = z.object({
	endpoint_id: z.string().min(1).max(200),
	url: z.string().min(1),
	events: z.array(z.string()).nullish(),
	status: z.string().default('enabled'),
	created_at: z.union([z.string(), z.number()]).nullish()
});
const createReply = z.object({ data: endpointSchema.extend({ secret: z.string().min(8).max(500) }) });
const listReply = z.object({
	data: z.array(endpointSchema),
	has_more: z.boolean().nullish(),
	next_token: z.string().nullish()
});

const eventItem = z.object({
	event_id: z.string().min(1).max(200),
	event_type: z.string().min(1).max(100),
	event_data: z.record(z.string(), z.unknown()),
	// ISO 8601 in HeyGen's spec; unix seconds accepted too (the deliveries' own created_at).
	created_at: z.union([z.string(), z.number()])
});
const eventsReply = z.object({
	data: z.array(eventItem),
	has_more: z.boolean().nullish(),
	next_token: z.string().nullish()
});

function toEvent(e: z.infer<typeof eventItem>): WebhookEvent {
	const at = typeof e.created_at === 'number' ? new Date(e.created_at * 1000) : new Date(e.created_at);
	return { id: e.event_id, type: e.event_type, data: e.event_data, createdAt: Number.isNaN(at.getTime()) ? null : at };
}

function toEndpoint(e: z.infer<typeof endpointSchema>): WebhookEndpoint {
	return {
		id: e.endpoint_id,
		url: e.url,
		events: e.events ?? null,
		status: e.status,
		createdAt: e.created_at === null || e.created_at === undefined ? null : String(e.created_at)
	};
}

export function createWebhookApi(opts: WebhookApiOptions): WebhookApi {
	const transport = createTransport(opts);
	return {
		async createEndpoint(url, events = WEBHOOK_EVENTS) {
			const body = { url, events: [...events] };
			const reply = await transport.send({ method: 'POST', route: '/v3/webhooks/endpoints', body }, createReply);
			return { ...toEndpoint(reply.data), secret: reply.data.secret };
		},
		async deleteEndpoint(endpointId) {
			try {
				const params = { endpoint_id: endpointId };
				await transport.send({ method: 'DELETE', route: '/v3/webhooks/endpoints/{endpoint_id}', params }, null);
			} catch (err) {
				// Already gone (deleted by hand in HeyGen, or a retried delete): that is what was asked.
				if (isHeyGenError(err) && err.httpStatus === 404) return;
				throw err;
			}
		},
		async listEndpoints() {
			const out: WebhookEndpoint[] = [];
			let token: string | null | undefined = null;
			for (let page = 0; page < 50; page++) {
				const query: Record<string, string> = token ? { token } : {};
				const call = { method: 'GET', route: '/v3/webhooks/endpoints', query } as const;
				const reply: z.infer<typeof listReply> = await transport.send(call, listReply);
				out.push(...reply.data.map(toEndpoint));
				if (!reply.has_more || !reply.next_token) break;
				token = reply.next_token;
			}
			return out;
		},
		async listEvents(page = {}) {
			const limit = Math.min(Math.max(Math.trunc(page.limit ?? WEBHOOK_EVENTS_PAGE_MAX), 1), WEBHOOK_EVENTS_PAGE_MAX);
			const query: Record<string, string> = { limit: String(limit) };
			if (page.entityId) query['entity_id'] = page.entityId;
			if (page.token) query['token'] = page.token;
			const reply = await transport.send({ method: 'GET', route: '/v3/webhooks/events', query }, eventsReply);
			return { events: reply.data.map(toEvent), nextToken: reply.has_more && reply.next_token ? reply.next_token : null };
		}
	};
}

// ---- deliveries -----------------------------------------------------------------------------

/**
 * Constant-time check of a `Heygen-Signature` header (hex HMAC-SHA256 of the raw body, keyed with
 * the endpoint secret string as it is) against the raw body.
 */
export function verifyWebhookSignature(raw: Uint8Array, header: string | null | undefined, secret: string): boolean {
	if (!header || !secret) return false;
	const sig = header.trim();
	if (!/^[0-9a-fA-F]{64}$/.test(sig)) return false;
	const want = createHmac('sha256', secret).update(raw).digest();
	return timingSafeEqual(want, Buffer.from(sig, 'hex'));
}

/** `Heygen-Timestamp` (unix seconds) within the tolerance of now, either way. */
export function webhookTimestampFresh(
	header: string | null | undefined,
	nowMs = Date.now(),
	toleranceSeconds = WEBHOOK_TOLERANCE_SECONDS
): boolean {
	if (!header || !/^\d{1,12}$/.test(header.trim())) return false;
	return Math.abs(nowMs / 1000 - Number(header.trim())) <= toleranceSeconds;
}

const heygenId = z.string().min(1).max(200);

/**
 * The delivery body (avatar_video.*, video_translate.*); lenient on fields this product does not
 * read. A translation's event names its translation `video_translate_id` (or
 * `video_translation_id`): it comes out as `event_data.video_id`, the id the job keeps in
 * heygen_video_id, so the receiver handles both kinds alike.
 */
export const webhookPayload = z.object({
	event_type: z.string().min(1).max(100),
	event_id: z.string().min(1).max(200).nullish(),
	event_data: z
		.object({
			video_id: heygenId.nullish(),
			video_translate_id: heygenId.nullish(),
			video_translation_id: heygenId.nullish(),
			callback_id: z.string().max(200).nullish(),
			url: z.string().nullish(),
			msg: z.string().nullish()
		})
		.transform((d, ctx) => {
			const videoId = d.video_id ?? d.video_translate_id ?? d.video_translation_id;
			if (!videoId) {
				ctx.addIssue({ code: 'custom', message: 'no video_id or video_translate_id' });
				return z.NEVER;
			}
			return { ...d, video_id: videoId };
		})
});
