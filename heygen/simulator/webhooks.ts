/**
 * Webhook endpoints of the HeyGen simulator, one registry per API key
 * (each key is one HeyGen account):
 *   POST   /v3/webhooks/endpoints        {url, events} → {data:{endpoint_id, url, events, status, created_at, secret}}
 *   GET    /v3/webhooks/endpoints        → {data:[…without secret], has_more:false, next_token:null}
 *   DELETE /v3/webhooks/endpoints/{id}   → {data:{endpoint_id, deleted:true}}; another account's id is 404
 *   GET    /v3/webhooks/events?limit=&token=&entity_id=&event_type=
 *                                        → {data:[{event_id, event_type, event_data, created_at}], has_more, next_token}
 *     the account's events, newest first: every event an endpoint subscribed to, whether its delivery
 *     reached the receiver or not (the app may be down: that is what the history is for), also with
 *     delivery `paused`. `entity_id` is the video (or translation) id; limit 1–100, default 10.
 * Errors use v3's envelope {error:{code, message, param}}. Unlike HeyGen, http URLs are accepted
 * (set `requireHttps` to refuse them as HeyGen does).
 *
 * When a render finishes, every enabled endpoint of the submitting key that subscribed to the event
 * gets a POST signed the v3 way: `Heygen-Signature` = hex HMAC-SHA256 of the raw body keyed with the
 * endpoint's secret, `Heygen-Timestamp` (unix s), `Heygen-Event-Id`. Delivery options
 * (`setDeliveryOptions`) make it misbehave on purpose: `duplicates` (the same event id again),
 * `lateSeconds` (an old timestamp), `forged` (signed with a wrong secret), `delayMs`, `retries`.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export const SIM_WEBHOOK_EVENTS = [
	'avatar_video.success',
	'avatar_video.fail',
	'avatar_video_gif.success',
	'avatar_video_gif.fail',
	'avatar_video_caption.success',
	'avatar_video_caption.fail',
	'video_translate.success',
	'video_translate.fail',
	'video_translate.preflight.download_failed',
	'video_translate.preflight.validation_failed',
	'batch.finished'
] as const;

export interface SimWebhookEndpoint {
	id: string;
	apiKey: string;
	url: string;
	/** null = every event. */
	events: string[] | null;
	status: 'enabled' | 'disabled';
	createdAt: number;
	secret: string;
}

export interface SimDelivery {
	endpointId: string;
	url: string;
	eventId: string;
	eventType: string;
	videoId: string;
	kind: 'normal' | 'duplicate' | 'late' | 'forged';
	/** The raw body that was sent. */
	body: string;
	headers: Record<string, string>;
	/** When the simulator sent it (ms). */
	at: number;
	/** Receiver's HTTP status; null if the POST failed. */
	status: number | null;
}

/** One event of an account's history (GET /v3/webhooks/events). */
export interface SimWebhookEvent {
	/** Order of recording, for the page token. */
	seq: number;
	apiKey: string;
	eventId: string;
	eventType: string;
	entityId: string;
	eventData: Record<string, unknown>;
	createdAt: number;
}

export interface DeliveryOptions {
	/** Extra copies of each event (same event id, fresh timestamp, valid signature). */
	duplicates?: number;
	/** Send with a timestamp this many seconds in the past. */
	lateSeconds?: number;
	/** Sign with a secret that is not the endpoint's. */
	forged?: boolean;
	/** Wait this long after the render finishes before delivering. */
	delayMs?: number;
	/** Re-send after a failed delivery (non-2xx or network), up to this many times. */
	retries?: number;
	/** Do not deliver at all (registration still works). */
	paused?: boolean;
}

export interface FinishedVideo {
	id: string;
	callbackId: string | null;
	status: 'completed' | 'failed';
	videoUrl?: string | null;
	message?: string | null;
	/** Set for a translation: its deliveries are video_translate.* with video_translate_id. */
	outputLanguage?: string;
}

export interface SimWebhookRegistry {
	readonly endpoints: Map<string, SimWebhookEndpoint>;
	readonly deliveries: SimDelivery[];
	/** Every event delivered or due for delivery, oldest first (served newest first). */
	readonly history: SimWebhookEvent[];
	/** HeyGen refuses http URLs; the simulator accepts them unless this is set. */
	requireHttps: boolean;
	setDeliveryOptions(o: DeliveryOptions): void;
	endpointsFor(apiKey: string): SimWebhookEndpoint[];
	/** Sends one delivery now (tests): `kind` picks a misbehaviour. */
	deliver(
		endpoint: SimWebhookEndpoint,
		payload: Record<string, unknown>,
		kind?: SimDelivery['kind'],
		eventId?: string
	): Promise<SimDelivery>;
	reset(): void;
}

export interface SimWebhooksInternal extends SimWebhookRegistry {
	/** Serves /v3/webhooks/*; false when the path is not one of them. */
	handle(req: IncomingMessage, res: ServerResponse, url: URL, keyOk: (key: unknown) => boolean): Promise<boolean>;
	videoCreated(videoId: string, apiKey: string): void;
	videoFinished(v: FinishedVideo): void;
	close(): void;
}

function v3Error(code: string, message: string, param: string | null = null) {
	return { error: { code, message, param } };
}

/** `later` is the simulator's timer: its reset and close clear the delivery timers too. */
export function createSimWebhooks(opts: { changed: () => void; later: (ms: number, fn: () => void) => void }): SimWebhooksInternal {
	const { later } = opts;
	const keyOfVideo = new Map<string, string>();
	const aborts = new Set<AbortController>();
	let options: DeliveryOptions = {};
	let closed = false;

	const send = (res: ServerResponse, status: number, body: unknown) => {
		const text = JSON.stringify(body);
		res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
		res.end(text);
	};
	const publicView = (e: SimWebhookEndpoint) => ({
		endpoint_id: e.id,
		url: e.url,
		events: e.events,
		status: e.status,
		created_at: new Date(e.createdAt).toISOString()
	});

	async function readJson(req: IncomingMessage): Promise<unknown> {
		const chunks: Buffer[] = [];
		let size = 0;
		for await (const c of req as AsyncIterable<Buffer>) {
			size += c.length;
			if (size > 64 * 1024) throw new Error('too large');
			chunks.push(c);
		}
		return JSON.parse(Buffer.concat(chunks).toString('utf8'));
	}

	/** GET /v3/webhooks/events: newest first; the token is the seq of the last event served. */
	function eventsPage(res: ServerResponse, url: URL, apiKey: string): void {
		const q = url.searchParams;
		const limit = q.get('limit') === null ? 10 : Number(q.get('limit'));
		if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
			send(res, 400, v3Error('invalid_parameter', 'limit must be between 1 and 100', 'limit'));
			return;
		}
		const token = q.get('token');
		const seqOf = token === null ? null : /^seq:(\d+)$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
		const before = token === null ? Infinity : Number(seqOf?.[1] ?? NaN);
		if (Number.isNaN(before)) {
			send(res, 400, v3Error('invalid_parameter', 'token is not valid', 'token'));
			return;
		}
		const entity = q.get('entity_id');
		const type = q.get('event_type');
		const matching = registry.history
			.filter((e) => e.apiKey === apiKey && e.seq < before && (!entity || e.entityId === entity) && (!type || e.eventType === type))
			.reverse();
		const page = matching.slice(0, limit);
		const more = matching.length > limit;
		send(res, 200, {
			data: page.map((e) => ({
				event_id: e.eventId,
				event_type: e.eventType,
				event_data: e.eventData,
				created_at: new Date(e.createdAt).toISOString()
			})),
			has_more: more,
			next_token: more ? Buffer.from(`seq:${page.at(-1)!.seq}`).toString('base64url') : null
		});
	}

	const registry: SimWebhooksInternal = {
		endpoints: new Map(),
		deliveries: [],
		history: [],
		requireHttps: false,
		setDeliveryOptions(o) {
			options = { ...o };
		},
		endpointsFor(apiKey) {
			return [...registry.endpoints.values()].filter((e) => e.apiKey === apiKey);
		},
		reset() {
			registry.endpoints.clear();
			registry.deliveries.length = 0;
			registry.history.length = 0;
			keyOfVideo.clear();
			options = {};
		},
		close() {
			closed = true;
			for (const ac of aborts) ac.abort();
		},
		async handle(req, res, url, keyOk) {
			const m = /^\/v3\/webhooks\/endpoints(?:\/([^/]+))?$/.exec(url.pathname);
			const history = url.pathname === '/v3/webhooks/events';
			if (!m && !history) return false;
			const key = req.headers['x-api-key'];
			if (!keyOk(key)) {
				send(res, 401, v3Error('unauthorized', 'Invalid API key. Please check your x-api-key header.'));
				return true;
			}
			const apiKey = key as string;
			if (history) {
				if (req.method !== 'GET') send(res, 405, v3Error('method_not_allowed', `${req.method} is not supported here`));
				else eventsPage(res, url, apiKey);
				return true;
			}
			if (!m) return false;
			const id = m[1] ? decodeURIComponent(m[1]) : null;
			if (req.method === 'POST' && id === null) {
				let body: unknown;
				try {
					body = await readJson(req);
				} catch {
					send(res, 400, v3Error('invalid_parameter', 'Request body is not valid JSON'));
					return true;
				}
				const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
				const u = b['url'];
				if (typeof u !== 'string' || !/^https?:\/\/[^\s]+$/.test(u) || u.length > 2000) {
					send(res, 400, v3Error('invalid_parameter', 'url must be a valid URL', 'url'));
					return true;
				}
				if (registry.requireHttps && !u.startsWith('https://')) {
					send(res, 400, v3Error('invalid_parameter', 'url must use HTTPS', 'url'));
					return true;
				}
				const ev = b['events'];
				if (
					ev !== undefined &&
					ev !== null &&
					(!Array.isArray(ev) || ev.some((e) => !(SIM_WEBHOOK_EVENTS as readonly unknown[]).includes(e)))
				) {
					send(res, 400, v3Error('invalid_parameter', `events must be a list of: ${SIM_WEBHOOK_EVENTS.join(', ')}`, 'events'));
					return true;
				}
				const e: SimWebhookEndpoint = {
					id: `ep_${randomBytes(12).toString('hex')}`,
					apiKey,
					url: u,
					events: Array.isArray(ev) ? (ev as string[]) : null,
					status: 'enabled',
					createdAt: Date.now(),
					secret: `whsec_${randomBytes(24).toString('base64url')}`
				};
				registry.endpoints.set(e.id, e);
				opts.changed();
				send(res, 200, { data: { ...publicView(e), secret: e.secret } });
				return true;
			}
			if (req.method === 'GET' && id === null) {
				send(res, 200, { data: registry.endpointsFor(apiKey).map(publicView), has_more: false, next_token: null });
				return true;
			}
			if (req.method === 'DELETE' && id !== null) {
				const e = registry.endpoints.get(id);
				if (!e || e.apiKey !== apiKey) {
					send(res, 404, v3Error('not_found', `Webhook endpoint ${id} not found`));
					return true;
				}
				registry.endpoints.delete(id);
				opts.changed();
				send(res, 200, { data: { endpoint_id: id, deleted: true } });
				return true;
			}
			send(res, 405, v3Error('method_not_allowed', `${req.method} is not supported here`));
			return true;
		},
		videoCreated(videoId, apiKey) {
			keyOfVideo.set(videoId, apiKey);
		},
		videoFinished(v) {
			const apiKey = keyOfVideo.get(v.id);
			if (!apiKey || closed) return;
			const prefix = v.outputLanguage === undefined ? 'avatar_video' : 'video_translate';
			const type = `${prefix}.${v.status === 'completed' ? 'success' : 'fail'}`;
			const data: Record<string, unknown> =
				v.outputLanguage === undefined
					? { video_id: v.id, callback_id: v.callbackId }
					: { video_translate_id: v.id, callback_id: v.callbackId, output_language: v.outputLanguage };
			if (v.status === 'completed') data['url'] = v.videoUrl ?? null;
			else data['msg'] = v.message ?? 'failed';
			const o = options;
			for (const e of registry.endpointsFor(apiKey)) {
				if (e.status !== 'enabled' || (e.events && !e.events.includes(type))) continue;
				const eventId = `evt_${randomBytes(12).toString('hex')}`;
				const now = Date.now();
				const seq = registry.history.length;
				registry.history.push({ seq, apiKey, eventId, eventType: type, entityId: v.id, eventData: data, createdAt: now });
				if (o.paused) continue;
				const payload = { event_type: type, event_id: eventId, created_at: Math.floor(now / 1000), event_data: data };
				const kind: SimDelivery['kind'] = o.forged ? 'forged' : o.lateSeconds ? 'late' : 'normal';
				const go = async () => {
					await registry.deliver(e, payload, kind, eventId);
					for (let i = 0; i < (o.duplicates ?? 0); i++) await registry.deliver(e, payload, 'duplicate', eventId);
				};
				if (o.delayMs) later(o.delayMs, () => void go());
				else void go();
			}
		},
		async deliver(e, payload, kind = 'normal', eventId = `evt_${randomBytes(12).toString('hex')}`) {
			const body = JSON.stringify(payload);
			const retries = options.retries ?? 0;
			let record!: SimDelivery;
			for (let attempt = 0; attempt <= retries && !closed; attempt++) {
				const ts = Math.floor(Date.now() / 1000) - (kind === 'late' ? (options.lateSeconds ?? 600) : 0);
				const secret = kind === 'forged' ? `whsec_${randomBytes(24).toString('base64url')}` : e.secret;
				const headers = {
					'content-type': 'application/json',
					'Heygen-Signature': createHmac('sha256', secret).update(body).digest('hex'),
					'Heygen-Timestamp': String(ts),
					'Heygen-Event-Id': eventId
				};
				const ev = (payload as { event_type?: unknown }).event_type;
				const data = (payload as { event_data?: { video_id?: unknown; video_translate_id?: unknown } }).event_data;
				record = {
					endpointId: e.id,
					url: e.url,
					eventId,
					eventType: String(ev),
					videoId: String(data?.video_id ?? data?.video_translate_id ?? ''),
					kind,
					body,
					headers,
					at: Date.now(),
					status: null
				};
				const ac = new AbortController();
				aborts.add(ac);
				try {
					const res = await fetch(e.url, {
						method: 'POST',
						headers,
						body,
						signal: AbortSignal.any([ac.signal, AbortSignal.timeout(10_000)])
					});
					record.status = res.status;
					await res.body?.cancel().catch(() => {});
				} catch {
					// like HeyGen: a receiver that is down gets a retry later (if retries are on)
				} finally {
					aborts.delete(ac);
				}
				if (closed) break;
				registry.deliveries.push(record);
				opts.changed();
				if (record.status !== null && record.status < 300) break;
				if (attempt < retries) await new Promise<void>((r) => later(200 * 2 ** attempt, r));
			}
			return record;
		}
	};
	return registry;
}
