/**
 * HeyGen v3 webhook endpoints and the verification of their deliveries.
 *
 * Kept apart from client.ts on purpose: it needs only `fetch`, zod and HeyGenError, so it does not
 * move when the video client changes. Every reply is zod-parsed; errors use v3's envelope
 * `{error:{code, message, param}}` and never carry the API key or an endpoint secret.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { HeyGenError, redact } from './errors.ts';

/** The events this product listens to. */
export const WEBHOOK_EVENTS = ['avatar_video.success', 'avatar_video.fail'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENTS)[number];

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
}

export interface WebhookApiOptions {
	baseUrl: string;
	apiKey: string;
	timeoutMs?: number;
	fetch?: typeof globalThis.fetch;
}

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
const errorEnvelope = z.object({
	error: z.object({ code: z.string().nullish(), message: z.string().nullish(), param: z.string().nullish() })
});

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
	const baseUrl = opts.baseUrl.replace(/\/+$/, '');
	const { apiKey } = opts;
	const timeoutMs = opts.timeoutMs ?? 30_000;
	const doFetch = opts.fetch ?? globalThis.fetch;
	if (!apiKey) throw new HeyGenError({ code: 'invalid_api_key', kind: 'permanent', message: 'No HeyGen API key configured' });

	// `label` names the endpoint in errors without ids or query strings.
	async function call<S extends z.ZodType>(method: 'GET' | 'POST' | 'DELETE', path: string, label: string, schema: S | null, body?: unknown): Promise<z.infer<S> | null> {
		const endpoint = `${method} ${label}`;
		const headers: Record<string, string> = { 'x-api-key': apiKey, accept: 'application/json' };
		const init: RequestInit = { method, headers, signal: AbortSignal.timeout(timeoutMs) };
		if (body !== undefined) {
			headers['content-type'] = 'application/json';
			init.body = JSON.stringify(body);
		}
		let res: Response;
		let text: string;
		try {
			res = await doFetch(baseUrl + path, init);
			text = await res.text();
		} catch (err) {
			const timeout = (err as { name?: string })?.name === 'TimeoutError';
			throw new HeyGenError({
				code: timeout ? 'timeout' : 'network',
				kind: 'retryable',
				endpoint,
				message: timeout ? `HeyGen did not answer ${endpoint} within ${timeoutMs} ms` : `Could not reach HeyGen for ${endpoint}`
			});
		}
		let json: unknown = undefined;
		try {
			json = text === '' ? null : JSON.parse(text);
		} catch {
			// handled below
		}
		if (!res.ok) {
			if (method === 'DELETE' && res.status === 404) return null;
			const env = errorEnvelope.safeParse(json);
			const code = env.success && env.data.error.code ? redact(env.data.error.code, apiKey) : `http_${res.status}`;
			const detail = env.success && env.data.error.message ? `: ${redact(env.data.error.message, apiKey).slice(0, 300)}` : '';
			const param = env.success && env.data.error.param ? ` (${redact(env.data.error.param, apiKey).slice(0, 100)})` : '';
			const auth = res.status === 401 || res.status === 403;
			throw new HeyGenError({
				code: auth ? 'invalid_api_key' : code,
				kind: res.status === 429 || res.status >= 500 || res.status === 408 ? 'retryable' : 'permanent',
				httpStatus: res.status,
				endpoint,
				message: auth ? `HeyGen rejected the API key (${res.status}) on ${endpoint}` : `HeyGen refused ${endpoint} (${res.status} ${code})${detail}${param}`
			});
		}
		if (schema === null) return null;
		const parsed = schema.safeParse(json);
		if (!parsed.success) {
			const issue = parsed.error.issues[0];
			const where = issue?.path.length ? issue.path.map(String).join('.') : '(root)';
			throw new HeyGenError({ code: 'bad_response', kind: 'retryable', httpStatus: res.status, endpoint, message: `HeyGen reply for ${endpoint} did not match: ${where}: ${issue?.message ?? 'invalid'}` });
		}
		return parsed.data;
	}

	return {
		async createEndpoint(url, events = WEBHOOK_EVENTS) {
			const reply = (await call('POST', '/v3/webhooks/endpoints', '/v3/webhooks/endpoints', createReply, { url, events: [...events] }))!;
			return { ...toEndpoint(reply.data), secret: reply.data.secret };
		},
		async deleteEndpoint(endpointId) {
			await call('DELETE', `/v3/webhooks/endpoints/${encodeURIComponent(endpointId)}`, '/v3/webhooks/endpoints/{id}', null);
		},
		async listEndpoints() {
			const out: WebhookEndpoint[] = [];
			let token: string | null | undefined = null;
			for (let page = 0; page < 50; page++) {
				const reply: z.infer<typeof listReply> = (await call('GET', `/v3/webhooks/endpoints${token ? `?token=${encodeURIComponent(token)}` : ''}`, '/v3/webhooks/endpoints', listReply))!;
				out.push(...reply.data.map(toEndpoint));
				if (!reply.has_more || !reply.next_token) break;
				token = reply.next_token;
			}
			return out;
		}
	};
}

// ---- deliveries -----------------------------------------------------------------------------

/** `Heygen-Signature`: hex HMAC-SHA256 of the raw body, keyed with the secret string as it is. */
export function signWebhookBody(raw: Uint8Array | string, secret: string): string {
	return createHmac('sha256', secret).update(raw).digest('hex');
}

/** Constant-time check of a `Heygen-Signature` header against the raw body. */
export function verifyWebhookSignature(raw: Uint8Array, header: string | null | undefined, secret: string): boolean {
	if (!header || !secret) return false;
	const sig = header.trim();
	if (!/^[0-9a-fA-F]{64}$/.test(sig)) return false;
	const want = createHmac('sha256', secret).update(raw).digest();
	return timingSafeEqual(want, Buffer.from(sig, 'hex'));
}

/** `Heygen-Timestamp` (unix seconds) within the tolerance of now, either way. */
export function webhookTimestampFresh(header: string | null | undefined, nowMs = Date.now(), toleranceSeconds = WEBHOOK_TOLERANCE_SECONDS): boolean {
	if (!header || !/^\d{1,12}$/.test(header.trim())) return false;
	return Math.abs(nowMs / 1000 - Number(header.trim())) <= toleranceSeconds;
}

/** The delivery body (avatar_video.success|fail); lenient on fields this product does not read. */
export const webhookPayload = z.object({
	event_type: z.string().min(1).max(100),
	event_id: z.string().min(1).max(200).nullish(),
	event_data: z.object({
		video_id: z.string().min(1).max(200),
		callback_id: z.string().max(200).nullish(),
		url: z.string().nullish(),
		msg: z.string().nullish()
	})
});
export type WebhookPayload = z.infer<typeof webhookPayload>;
