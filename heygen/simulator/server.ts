/**
 * HeyGen API simulator: a real node:http server speaking HeyGen's v3 API (the routes, replies and
 * errors below, as HeyGen documents them), used by tests, benchmarks and `npm run demo`. The
 * retired v1/v2 routes answer 410 `endpoint_retired`, as they do at HeyGen since 2026-11-01.
 *
 * Endpoints (all need `x-api-key` ∈ validKeys, default `sim-test-key`):
 *   POST /v3/videos              {type:"avatar", avatar_id, script, voice_id, …} → {data:{video_id, status, output_format}}
 *                                Honours `Idempotency-Key`: a repeat replays the first reply (even after
 *                                its reply was lost); a repeat while the first is still in flight → 409
 *                                request_in_progress.
 *   GET  /v3/videos/{id}         → {data:{id, status, video_url, thumbnail_url, subtitle_url, duration, completed_at, failure_code, failure_message, …}}
 *   GET  /v3/avatars/looks       → {data:[look…], has_more, next_token}   (?limit, ?token)
 *   GET  /v3/voices              → {data:[voice…], has_more, next_token}  (?limit, ?token, ?language)
 *   GET  /v3/users/me            → {data:{username, email, billing_type, wallet|subscription|usage_based}}
 * Errors: `{error:{code, message, param?, doc_url}}` — 401 unauthorized, 402 insufficient_credit,
 * 404 not_found (param avatar_id / voice_id), 400 invalid_parameter (param), 409 request_in_progress,
 * 429 rate_limit_exceeded with Retry-After (also past `concurrencyLimit` renders at once), 5xx.
 * Files (no key; signed like S3 presigned URLs):
 *   GET|HEAD /files/<id>.mp4|.jpg|.srt?expires=<ms>&sig=<hmac>  (Range supported; 403 XML when expired/bad sig)
 *   GET /previews/avatar.jpg | avatar.mp4 | voice.mp3 (previews, unsigned)
 *
 * Known ids: looks `sim-avatar-anna`, `sim-avatar-josh`, `sim-avatar-lena`; voices `sim-voice-en-1`,
 * `sim-voice-en-2`, `sim-voice-de-1`, `sim-voice-es-1`. Lists are served `pageSize` items a page
 * (default 2) so every client follows `next_token`.
 *
 * Render: pending → processing (after renderMs/4) → completed|failed (after renderMs); renderMs 0 =
 * completed at once. A render ends in exactly one place, `finishVideo`, which emits `videoFinished`
 * on `sim.events` (webhook delivery hooks in there); a per-video `callback_url` gets a one-off POST.
 *
 * Per-video behaviour: in the `title`, `[sim renderMs=5000 sizeBytes=1073741824 failWith=some_code]`,
 * or `sim.setVideoBehaviour(callbackId, {...})` before the submit (title wins).
 *
 * Faults — `sim.setFaults({ name: spec })`, `{ name: null }` clears one, `sim.clearFaults()` all.
 * Every spec takes `times` (default Infinity) and, where noted, `endpoint` (one or an array of
 * 'generate' | 'status' | 'avatars' | 'voices' | 'account' | 'files'; omitted = every API endpoint):
 *   serverError      { status?: 500|502|503, endpoint? }  500/503 JSON error, 502 HTML
 *   rateLimit        { retryAfter?: seconds | string, endpoint? }
 *   slow             { ms, endpoint? }   delay before handling (API, or downloads with endpoint 'files')
 *   malformedJson    { endpoint? }       200 with a truncated JSON body
 *   badShape         { endpoint? }       200 with valid JSON of the wrong shape
 *   hugeReply        { bytes, endpoint? } 200 whose body is `bytes` long (streamed, never buffered)
 *   badKey           { endpoint? }       every key rejected (401)
 *   replyLost        { }                 generate creates the video, then the socket is destroyed
 *   slowReply        { ms }              generate creates the video, then holds the reply for ms
 *   noCredit         { }                 generate → 402 insufficient_credit
 *   invalidParameter { param?, message? } generate → 400 invalid_parameter naming `param`
 *   inProgress       { }                 generate → 409 request_in_progress (as if a same-key request were in flight)
 *   renderFails      { code?, message? } the next `times` videos end `failed` with failure_code/_message
 *   truncatedDownload{ }                 full Content-Length, socket closed after half the bytes
 *   downloadForbidden{ }                 the next `times` GET downloads answer 403 AccessDenied
 *   badDownload      { kind: 'empty'|'html'|'notMp4' }  the next `times` MP4 GETs send that body
 *   shortUrlTtlMs    number | null       signed URLs issued from now on expire after N ms
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { createSimWebhooks, type SimWebhookRegistry } from './webhooks.ts';

export const DEFAULT_SIM_KEY = 'sim-test-key';
export const SIM_MAX_SCRIPT_CHARS = 5000;
/** Duration of sample.mp4 in seconds. */
export const SAMPLE_DURATION_S = 2;
const DEFAULT_URL_TTL_MS = 7 * 24 * 3600 * 1000;
const CHUNK = 64 * 1024;
const DOC_URL = 'https://developers.heygen.com/docs/error-codes';

export const SIM_LOOKS = [
	{ id: 'sim-avatar-anna', name: 'Anna (simulated)', gender: 'female', default_voice_id: 'sim-voice-en-1' },
	{ id: 'sim-avatar-josh', name: 'Josh (simulated)', gender: 'male', default_voice_id: 'sim-voice-en-2' },
	{ id: 'sim-avatar-lena', name: 'Lena (simulated)', gender: 'female', default_voice_id: 'sim-voice-de-1' }
] as const;
export const SIM_VOICE_LIST = [
	{ voice_id: 'sim-voice-en-1', name: 'Sim English 1', language: 'English', gender: 'female' },
	{ voice_id: 'sim-voice-en-2', name: 'Sim English 2', language: 'English', gender: 'male' },
	{ voice_id: 'sim-voice-de-1', name: 'Sim Deutsch 1', language: 'German', gender: 'female' },
	{ voice_id: 'sim-voice-es-1', name: 'Sim Español 1', language: 'Spanish', gender: 'male' }
] as const;
export const SIM_AVATARS = SIM_LOOKS.map((l) => l.id);
export const SIM_VOICES = SIM_VOICE_LIST.map((v) => v.voice_id);

export type SimEndpoint = 'generate' | 'status' | 'avatars' | 'voices' | 'account' | 'files' | 'retired';

export interface FaultSpec {
	/** How many times the fault fires; default Infinity. */
	times?: number;
	/** Restrict to endpoint(s). Omitted = every API endpoint (not file downloads). */
	endpoint?: SimEndpoint | SimEndpoint[];
}

export interface Faults {
	serverError: (FaultSpec & { status?: 500 | 502 | 503 }) | null;
	rateLimit: (FaultSpec & { retryAfter?: number | string }) | null;
	slow: (FaultSpec & { ms: number }) | null;
	malformedJson: FaultSpec | null;
	badShape: FaultSpec | null;
	hugeReply: (FaultSpec & { bytes: number }) | null;
	badKey: FaultSpec | null;
	replyLost: Omit<FaultSpec, 'endpoint'> | null;
	slowReply: (Omit<FaultSpec, 'endpoint'> & { ms: number }) | null;
	noCredit: Omit<FaultSpec, 'endpoint'> | null;
	invalidParameter: (Omit<FaultSpec, 'endpoint'> & { param?: string; message?: string }) | null;
	inProgress: Omit<FaultSpec, 'endpoint'> | null;
	renderFails: (Omit<FaultSpec, 'endpoint'> & { code?: string; message?: string }) | null;
	truncatedDownload: Omit<FaultSpec, 'endpoint'> | null;
	downloadForbidden: Omit<FaultSpec, 'endpoint'> | null;
	badDownload: (Omit<FaultSpec, 'endpoint'> & { kind: 'empty' | 'html' | 'notMp4' }) | null;
	shortUrlTtlMs: number | null;
}

export interface SimFailure {
	code: string;
	message: string;
}

export interface VideoBehaviour {
	renderMs?: number;
	sizeBytes?: number;
	/** Make the render fail: a code string or a full failure. */
	failWith?: string | SimFailure;
}

export interface SimVideo {
	id: string;
	callbackId: string | null;
	callbackUrl: string | null;
	idempotencyKey: string | null;
	title: string | null;
	avatarId: string;
	voiceId: string;
	script: string;
	resolution: string;
	aspectRatio: string;
	caption: boolean;
	status: 'pending' | 'processing' | 'completed' | 'failed';
	createdAt: number;
	renderMs: number;
	sizeBytes: number;
	failWith: SimFailure | null;
	completedAt: number | null;
	statusCalls: number;
	downloads: number;
}

export interface SimSubmit {
	callbackId: string | null;
	idempotencyKey: string | null;
	videoId: string;
	body: unknown;
	at: number;
}

export interface SimRequest {
	method: string;
	path: string;
	endpoint: SimEndpoint | null;
	status: number | null;
	idempotencyKey: string | null;
	at: number;
}

export interface SimWebhook {
	url: string;
	body: { event_type: string; event_data: Record<string, unknown> };
	at: number;
	/** HTTP status of the receiver, or null if the POST failed. */
	status: number | null;
}

export type SimBilling =
	| { billing_type: 'wallet'; wallet: { currency: 'usd' | 'credits'; remaining_balance: number } }
	| { billing_type: 'subscription'; subscription: { plan: string; credits: { premium_credits: { remaining: number }; add_on_credits?: { remaining: number } } } }
	| { billing_type: 'usage_based'; usage_based: { included_credits: number; remaining_credits: number; spending_cap_usd: number; spending_current_usd: number } };

export interface HeyGenSimulatorOptions {
	port?: number;
	host?: string;
	renderMs?: number;
	validKeys?: string[];
	mp4?: Buffer;
	/** Items per page of the list endpoints (default 2). */
	pageSize?: number;
	/** Renders at once before generate answers 429 (default unlimited). */
	concurrencyLimit?: number;
	billing?: SimBilling;
}

export interface HeyGenSimulator {
	url: string;
	/** The first valid key. */
	apiKey: string;
	close(): Promise<void>;
	setFaults(f: Partial<Faults>): void;
	clearFaults(): void;
	readonly faults: Readonly<Partial<Faults>>;
	setVideoBehaviour(callbackId: string, b: VideoBehaviour | null): void;
	videos: Map<string, SimVideo>;
	/** Videos created (one per successful, non-replayed generate). */
	submits: SimSubmit[];
	/** How many videos HeyGen made for this callback_id (our job id). */
	submitsFor(callbackId: string): number;
	/** How many generate requests arrived for this callback_id (replays and 409s included). */
	generateCallsFor(callbackId: string): number;
	requests: SimRequest[];
	webhooks: SimWebhook[];
	/** `videoFinished` (SimVideo) fires once per video when its render ends, completed or failed. */
	events: EventEmitter;
	/** The most videos that were pending or processing at the same time. */
	maxConcurrentRenders: number;
	/** Registered v3 webhook endpoints per key and their signed deliveries (./webhooks.ts). */
	webhookEndpoints: SimWebhookRegistry;
	/** Resolves when predicate(sim) is true; re-checked on every state change. Default timeout 5000 ms. */
	waitFor(predicate: (sim: HeyGenSimulator) => boolean, timeoutMs?: number): Promise<void>;
	/** A signed download URL for a video's file (what a completed status call returns). */
	signedVideoUrl(videoId: string, ttlMs?: number, ext?: 'mp4' | 'jpg' | 'srt'): string;
	/** Clear videos, submits, requests, webhooks, behaviours, idempotency records and faults. */
	reset(): void;
	mp4: Buffer;
	thumbnail: Buffer;
	renderMs: number;
	concurrencyLimit: number;
	billing: SimBilling;
	/** The SRT file served for a video. */
	subtitlesFor(v: SimVideo): string;
}

function loadAsset(name: string): Buffer {
	return readFileSync(new URL(`./${name}`, import.meta.url));
}

class HttpFail {
	status: number;
	body: unknown;
	headers: Record<string, string>;
	constructor(status: number, body: unknown, headers: Record<string, string> = {}) {
		this.status = status;
		this.body = body;
		this.headers = headers;
	}
}

function apiError(code: string, message: string, param?: string): { error: Record<string, string> } {
	return { error: { code, message, ...(param && { param }), doc_url: DOC_URL } };
}

function s3Error(code: string, message: string): string {
	return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${randomBytes(8).toString('hex').toUpperCase()}</RequestId></Error>\n`;
}

/** Parse `[sim renderMs=… sizeBytes=… failWith=…]` out of a title. */
export function parseTitleBehaviour(title: string | null | undefined): VideoBehaviour {
	const out: VideoBehaviour = {};
	if (!title) return out;
	const m = /\[sim\s+([^\]]*)\]/.exec(title);
	if (!m || !m[1]) return out;
	for (const pair of m[1].trim().split(/\s+/)) {
		const [k, v] = pair.split('=');
		if (!k || v === undefined || v === '') continue;
		if (k === 'renderMs' && /^\d+$/.test(v)) out.renderMs = Number(v);
		else if (k === 'sizeBytes' && /^\d+$/.test(v)) out.sizeBytes = Number(v);
		else if (k === 'failWith') out.failWith = v;
	}
	return out;
}

function toFailure(f: string | SimFailure): SimFailure {
	return typeof f === 'string' ? { code: f, message: `Video render failed (${f}).` } : f;
}

function endpointOf(method: string, path: string): SimEndpoint | null {
	if (method === 'POST' && path === '/v3/videos') return 'generate';
	if (method === 'GET' && /^\/v3\/videos\/[^/]+$/.test(path)) return 'status';
	if (method === 'GET' && path === '/v3/avatars/looks') return 'avatars';
	if (method === 'GET' && path === '/v3/voices') return 'voices';
	if (method === 'GET' && path === '/v3/users/me') return 'account';
	if ((method === 'GET' || method === 'HEAD') && path.startsWith('/files/')) return 'files';
	if (/^\/v[12]\//.test(path)) return 'retired';
	return null;
}

function isObj(v: unknown): v is Record<string, unknown> {
	return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const CREATE_FIELDS = new Set([
	'type', 'avatar_id', 'script', 'voice_id', 'audio_url', 'audio_asset_id', 'title', 'resolution', 'aspect_ratio', 'fit',
	'background', 'remove_background', 'output_format', 'caption', 'voice_settings', 'motion_prompt', 'expressiveness',
	'engine', 'callback_url', 'callback_id', 'watermark'
]);

interface CreateRequest {
	avatarId: string;
	voiceId: string;
	script: string;
	title: string | null;
	resolution: string;
	aspectRatio: string;
	caption: boolean;
	callbackId: string | null;
	callbackUrl: string | null;
}

/** Validate a `POST /v3/videos` body like HeyGen (type "avatar" only). Throws HttpFail. */
function validateCreate(body: unknown): CreateRequest {
	const bad = (param: string, message: string) => new HttpFail(400, apiError('invalid_parameter', message, param));
	if (!isObj(body)) throw bad('body', 'Request body must be a JSON object');
	for (const k of Object.keys(body)) if (!CREATE_FIELDS.has(k)) throw bad(k, `Unknown field ${k}`);
	if (body['type'] !== 'avatar') throw bad('type', 'type must be "avatar" (image, cinematic_avatar and studio are not simulated)');
	const str = (k: string, required = false): string | null => {
		const v = body[k];
		if (v === undefined || v === null) {
			if (required) throw bad(k, `${k} is required`);
			return null;
		}
		if (typeof v !== 'string') throw bad(k, `${k} must be a string`);
		return v;
	};
	const avatarId = str('avatar_id', true)!;
	const script = str('script', true)!;
	if (script.trim() === '') throw bad('script', 'script must not be empty');
	if (script.length > SIM_MAX_SCRIPT_CHARS) throw bad('script', `script must be at most ${SIM_MAX_SCRIPT_CHARS} characters`);
	const voiceId = str('voice_id', true)!;
	const oneOf = (k: string, values: string[], dflt: string) => {
		const v = str(k);
		if (v === null) return dflt;
		if (!values.includes(v)) throw bad(k, `${k} must be one of ${values.join(', ')}`);
		return v;
	};
	const resolution = oneOf('resolution', ['4k', '1080p', '720p'], '1080p');
	const aspectRatio = oneOf('aspect_ratio', ['16:9', '9:16', '4:5', '5:4', '1:1', 'auto'], '16:9');
	const bg = body['background'];
	if (bg !== undefined) {
		if (!isObj(bg) || (bg['type'] !== 'color' && bg['type'] !== 'image')) throw bad('background.type', 'background.type must be color or image');
		if (bg['type'] === 'color' && (typeof bg['value'] !== 'string' || !/^#[0-9a-fA-F]{6}$/.test(bg['value']))) {
			throw bad('background.value', 'background.value must be a hex colour like #ffffff');
		}
	}
	const vs = body['voice_settings'];
	if (vs !== undefined) {
		if (!isObj(vs)) throw bad('voice_settings', 'voice_settings must be an object');
		const range = (k: string, min: number, max: number) => {
			const v = vs[k];
			if (v !== undefined && (typeof v !== 'number' || v < min || v > max)) throw bad(`voice_settings.${k}`, `voice_settings.${k} must be between ${min} and ${max}`);
		};
		range('speed', 0.5, 1.5);
		range('pitch', -50, 50);
		range('volume', 0, 1);
		if (vs['locale'] !== undefined && typeof vs['locale'] !== 'string') throw bad('voice_settings.locale', 'voice_settings.locale must be a string');
	}
	const cap = body['caption'];
	if (cap !== undefined && (!isObj(cap) || cap['file_format'] !== 'srt')) throw bad('caption.file_format', 'caption.file_format must be "srt"');
	const rb = body['remove_background'];
	if (rb !== undefined && typeof rb !== 'boolean') throw bad('remove_background', 'remove_background must be a boolean');
	const engine = body['engine'];
	if (engine !== undefined && (!isObj(engine) || !['avatar_iv', 'avatar_v', 'avatar_iii'].includes(String(engine['type'])))) {
		throw bad('engine.type', 'engine.type must be one of avatar_iv, avatar_v, avatar_iii');
	}
	const callbackUrl = str('callback_url');
	if (callbackUrl !== null && !/^https?:\/\//.test(callbackUrl)) throw bad('callback_url', 'callback_url must be an http(s) URL');
	if (!SIM_AVATARS.includes(avatarId as (typeof SIM_AVATARS)[number])) {
		throw new HttpFail(404, apiError('not_found', `Avatar look ${avatarId} not found`, 'avatar_id'));
	}
	if (!SIM_VOICES.includes(voiceId as (typeof SIM_VOICES)[number])) {
		throw new HttpFail(404, apiError('not_found', 'Voice not found', 'voice_id'));
	}
	return {
		avatarId,
		voiceId,
		script,
		title: str('title'),
		resolution,
		aspectRatio,
		caption: cap !== undefined,
		callbackId: str('callback_id'),
		callbackUrl
	};
}

function srtTime(ms: number): string {
	const h = Math.floor(ms / 3_600_000);
	const m = Math.floor((ms % 3_600_000) / 60_000);
	const s = Math.floor((ms % 60_000) / 1000);
	const r = ms % 1000;
	const p = (n: number, w = 2) => String(n).padStart(w, '0');
	return `${p(h)}:${p(m)}:${p(s)},${p(r, 3)}`;
}

interface IdempotencyRecord {
	state: 'in_flight' | 'done';
	status: number;
	body: unknown;
}

export async function startHeyGenSimulator(opts: HeyGenSimulatorOptions = {}): Promise<HeyGenSimulator> {
	const host = opts.host ?? '127.0.0.1';
	const validKeys = opts.validKeys ?? [DEFAULT_SIM_KEY];
	const mp4 = opts.mp4 ?? loadAsset('sample.mp4');
	const thumbnail = loadAsset('sample-thumbnail.jpg');
	const voicePreview = loadAsset('sample-voice.mp3');
	const secret = randomBytes(32);
	const changes = new EventEmitter();
	changes.setMaxListeners(0);
	const timers = new Set<NodeJS.Timeout>();
	const webhookAborts = new Set<AbortController>();
	const behaviours = new Map<string, VideoBehaviour>();
	const idempotency = new Map<string, IdempotencyRecord>();
	const pageSize = opts.pageSize ?? 2;
	let faults: Partial<Faults> = {};
	let closed = false;

	const changed = () => changes.emit('change');
	const hooks = createSimWebhooks({ changed });

	function later(ms: number, fn: () => void): void {
		const t = setTimeout(() => {
			timers.delete(t);
			fn();
		}, ms);
		t.unref();
		timers.add(t);
	}

	function delay(ms: number): Promise<void> {
		return new Promise((resolve) => later(ms, resolve));
	}

	/** If fault `name` applies to `endpoint`, consume one firing and return its spec. */
	function take<K extends Exclude<keyof Faults, 'shortUrlTtlMs'>>(name: K, endpoint: SimEndpoint): NonNullable<Faults[K]> | null {
		const spec = faults[name] as (FaultSpec & Record<string, unknown>) | null | undefined;
		if (!spec) return null;
		const eps = spec.endpoint === undefined ? null : Array.isArray(spec.endpoint) ? spec.endpoint : [spec.endpoint];
		const filesOnly = name === 'truncatedDownload' || name === 'downloadForbidden' || name === 'badDownload';
		if (!filesOnly && (eps === null ? endpoint === 'files' : !eps.includes(endpoint))) return null;
		const times = spec.times ?? Infinity;
		if (times <= 0) {
			delete faults[name];
			return null;
		}
		if (times !== Infinity) {
			if (times - 1 <= 0) delete faults[name];
			else faults[name] = { ...spec, times: times - 1 } as Faults[K];
		}
		return spec as NonNullable<Faults[K]>;
	}

	function sign(path: string, expires: number): string {
		return createHmac('sha256', secret).update(`${path}\n${expires}`).digest('hex');
	}

	function signedUrl(path: string, ttlMs?: number): string {
		const ttl = ttlMs ?? faults.shortUrlTtlMs ?? DEFAULT_URL_TTL_MS;
		const expires = Date.now() + ttl;
		return `${sim.url}${path}?expires=${expires}&sig=${sign(path, expires)}`;
	}

	function checkSignature(path: string, query: URLSearchParams): 'ok' | 'expired' | 'bad' {
		const expires = Number(query.get('expires'));
		const sig = query.get('sig') ?? '';
		if (!Number.isFinite(expires) || !/^[0-9a-f]{64}$/.test(sig)) return 'bad';
		const want = Buffer.from(sign(path, expires), 'hex');
		if (!timingSafeEqual(want, Buffer.from(sig, 'hex'))) return 'bad';
		return Date.now() > expires ? 'expired' : 'ok';
	}

	const rendering = () => {
		let n = 0;
		for (const v of sim.videos.values()) if (v.status === 'pending' || v.status === 'processing') n++;
		return n;
	};

	/** The one place a render ends. */
	function finishVideo(v: SimVideo): void {
		if (v.status === 'completed' || v.status === 'failed') return;
		v.status = v.failWith ? 'failed' : 'completed';
		v.completedAt = Date.now();
		sim.events.emit('videoFinished', v);
		changed();
	}

	function advance(v: SimVideo): void {
		if (v.status === 'completed' || v.status === 'failed') return;
		const elapsed = Date.now() - v.createdAt;
		if (elapsed >= v.renderMs) finishVideo(v);
		else if (elapsed >= v.renderMs / 4 && v.status === 'pending') {
			v.status = 'processing';
			changed();
		}
	}

	/** A per-video `callback_url` gets a one-off, unsigned notification. */
	async function notifyCallbackUrl(v: SimVideo): Promise<void> {
		if (!v.callbackUrl || closed) return;
		const body: SimWebhook['body'] =
			v.status === 'completed'
				? { event_type: 'avatar_video.success', event_data: { video_id: v.id, url: signedUrl(`/files/${v.id}.mp4`), callback_id: v.callbackId } }
				: { event_type: 'avatar_video.fail', event_data: { video_id: v.id, msg: v.failWith?.message ?? 'failed', callback_id: v.callbackId } };
		const ac = new AbortController();
		webhookAborts.add(ac);
		const record: SimWebhook = { url: v.callbackUrl, body, at: Date.now(), status: null };
		try {
			const res = await fetch(v.callbackUrl, {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify(body),
				signal: AbortSignal.any([ac.signal, AbortSignal.timeout(10_000)])
			});
			record.status = res.status;
			await res.body?.cancel().catch(() => {});
		} catch {
			// fire and forget, like HeyGen's one-off callbacks
		} finally {
			webhookAborts.delete(ac);
			if (!closed) {
				sim.webhooks.push(record);
				changed();
			}
		}
	}

	function statusData(v: SimVideo): Record<string, unknown> {
		const done = v.status === 'completed';
		return {
			id: v.id,
			title: v.title,
			status: v.status,
			created_at: Math.floor(v.createdAt / 1000),
			completed_at: v.completedAt && done ? Math.floor(v.completedAt / 1000) : null,
			video_url: done ? signedUrl(`/files/${v.id}.mp4`) : null,
			thumbnail_url: done ? signedUrl(`/files/${v.id}.jpg`) : null,
			gif_url: null,
			captioned_video_url: null,
			subtitle_url: done && v.caption ? signedUrl(`/files/${v.id}.srt`) : null,
			duration: done ? SAMPLE_DURATION_S : null,
			folder_id: null,
			output_language: null,
			video_page_url: `https://app.heygen.com/videos/${v.id}`,
			...(v.status === 'failed' && v.failWith ? { failure_code: v.failWith.code, failure_message: v.failWith.message } : {})
		};
	}

	function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
		const text = JSON.stringify(body);
		res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
		res.end(text);
	}

	function listPage<T>(items: readonly T[], url: URL, maxLimit: number): Record<string, unknown> {
		const limitParam = url.searchParams.get('limit');
		const limit = limitParam === null ? 20 : Number(limitParam);
		if (!Number.isInteger(limit) || limit < 1 || limit > maxLimit) {
			throw new HttpFail(400, apiError('invalid_parameter', `limit must be between 1 and ${maxLimit}`, 'limit'));
		}
		const token = url.searchParams.get('token');
		const start = token === null ? 0 : Number(Buffer.from(token, 'base64url').toString('utf8').replace(/^offset:/, ''));
		if (!Number.isInteger(start) || start < 0) throw new HttpFail(400, apiError('invalid_parameter', 'token is not valid', 'token'));
		const n = Math.min(limit, pageSize);
		const data = items.slice(start, start + n);
		const more = start + n < items.length;
		return { data, has_more: more, next_token: more ? Buffer.from(`offset:${start + n}`).toString('base64url') : null };
	}

	async function createVideo(req: IncomingMessage, res: ServerResponse, idemKey: string | null): Promise<void> {
		const raw = await readBody(req);
		let body: unknown;
		try {
			body = JSON.parse(raw);
		} catch {
			throw new HttpFail(400, apiError('invalid_parameter', 'Request body is not valid JSON', 'body'));
		}
		const g = validateCreate(body);
		const invalid = take('invalidParameter', 'generate');
		if (invalid) throw new HttpFail(400, apiError('invalid_parameter', invalid.message ?? 'Invalid value', invalid.param ?? 'script'));
		if (take('noCredit', 'generate')) {
			throw new HttpFail(402, apiError('insufficient_credit', 'Insufficient credit. Please top up your API credits.'));
		}
		if (rendering() >= sim.concurrencyLimit) {
			throw new HttpFail(429, apiError('rate_limit_exceeded', `Concurrent video limit of ${sim.concurrencyLimit} reached`), { 'retry-after': '1' });
		}
		const fromCallback = g.callbackId ? behaviours.get(g.callbackId) : undefined;
		const b: VideoBehaviour = { ...fromCallback, ...parseTitleBehaviour(g.title) };
		const rf = take('renderFails', 'generate');
		let failWith: SimFailure | null = b.failWith !== undefined ? toFailure(b.failWith) : null;
		if (rf) failWith = { code: rf.code ?? 'RENDER_FAILED', message: rf.message ?? 'Video render failed, we are looking into this issue. Video credits refunded.' };
		const id = randomUUID().replace(/-/g, '');
		const v: SimVideo = {
			id,
			callbackId: g.callbackId,
			callbackUrl: g.callbackUrl,
			idempotencyKey: idemKey,
			title: g.title,
			avatarId: g.avatarId,
			voiceId: g.voiceId,
			script: g.script,
			resolution: g.resolution,
			aspectRatio: g.aspectRatio,
			caption: g.caption,
			status: 'pending',
			createdAt: Date.now(),
			renderMs: b.renderMs ?? sim.renderMs,
			sizeBytes: b.sizeBytes ?? mp4.length,
			failWith,
			completedAt: null,
			statusCalls: 0,
			downloads: 0
		};
		sim.videos.set(id, v);
		hooks.videoCreated(id, String(req.headers['x-api-key'] ?? ''));
		sim.submits.push({ callbackId: g.callbackId, idempotencyKey: idemKey, videoId: id, body, at: Date.now() });
		sim.maxConcurrentRenders = Math.max(sim.maxConcurrentRenders, rendering());
		if (v.renderMs <= 0) finishVideo(v);
		else {
			later(v.renderMs / 4, () => advance(v));
			later(v.renderMs, () => finishVideo(v));
		}
		changed();
		const reply = { data: { video_id: id, status: 'waiting', output_format: 'mp4' } };
		const slowReply = take('slowReply', 'generate');
		if (slowReply) await delay(slowReply.ms);
		// The video exists from here on, whatever happens to this reply.
		if (idemKey) idempotency.set(idemKey, { state: 'done', status: 200, body: reply });
		changed();
		if (take('replyLost', 'generate')) {
			res.socket?.destroy();
			return;
		}
		if (!res.destroyed) sendJson(res, 200, reply);
	}

	async function handleApi(req: IncomingMessage, res: ServerResponse, endpoint: SimEndpoint, url: URL, record: SimRequest): Promise<void> {
		if (endpoint === 'retired') {
			sendJson(res, 410, apiError('endpoint_retired', `${req.method} ${url.pathname} was retired on 2026-11-01; use the v3 API`));
			return;
		}
		const slow = take('slow', endpoint);
		if (slow) {
			await delay(slow.ms);
			if (res.destroyed || closed) return;
		}
		const key = req.headers['x-api-key'];
		if (typeof key !== 'string' || !validKeys.includes(key) || take('badKey', endpoint)) {
			sendJson(res, 401, apiError('unauthorized', 'Unauthorized'));
			return;
		}
		const se = take('serverError', endpoint);
		if (se) {
			const status = se.status ?? 500;
			if (status === 502) {
				res.writeHead(502, { 'content-type': 'text/html' });
				res.end('<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>\n');
			} else {
				sendJson(res, status, apiError(status === 503 ? 'service_unavailable' : 'internal_error', 'Internal server error, please retry later'));
			}
			return;
		}
		const rl = take('rateLimit', endpoint);
		if (rl) {
			sendJson(res, 429, apiError('rate_limit_exceeded', 'Too many requests, please slow down'), { 'retry-after': String(rl.retryAfter ?? 1) });
			return;
		}
		if (take('malformedJson', endpoint)) {
			const text = '{"data":{"video_id":"';
			res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
			res.end(text);
			return;
		}
		const huge = take('hugeReply', endpoint);
		if (huge) {
			res.writeHead(200, { 'content-type': 'application/json' });
			const filler = Buffer.alloc(CHUNK, 0x20);
			let sent = 0;
			const stream = new Readable({
				read() {
					if (sent >= huge.bytes) return void this.push(null);
					const n = Math.min(CHUNK, huge.bytes - sent);
					sent += n;
					this.push(sent === n ? Buffer.concat([Buffer.from('{"data":'), filler.subarray(8, n)]) : filler.subarray(0, n));
				}
			});
			stream.pipe(res);
			return;
		}
		const badShape = take('badShape', endpoint);

		switch (endpoint) {
			case 'generate': {
				const idemHeader = req.headers['idempotency-key'];
				const idemKey = typeof idemHeader === 'string' ? idemHeader : null;
				record.idempotencyKey = idemKey;
				if (idemKey !== null && !/^[A-Za-z0-9_\-:.]{1,255}$/.test(idemKey)) {
					throw new HttpFail(400, apiError('invalid_parameter', 'Idempotency-Key must match ^[A-Za-z0-9_\\-:.]{1,255}$', 'Idempotency-Key'));
				}
				if (badShape) {
					sendJson(res, 200, { data: { video_id: 12345 } });
					return;
				}
				if (take('inProgress', 'generate')) {
					throw new HttpFail(409, apiError('request_in_progress', 'A request with this Idempotency-Key is still in progress'));
				}
				if (idemKey !== null) {
					const seen = idempotency.get(idemKey);
					if (seen?.state === 'in_flight') {
						throw new HttpFail(409, apiError('request_in_progress', 'A request with this Idempotency-Key is still in progress'));
					}
					if (seen?.state === 'done') {
						await readBody(req);
						sendJson(res, seen.status, seen.body, { 'idempotent-replayed': 'true' });
						return;
					}
					idempotency.set(idemKey, { state: 'in_flight', status: 0, body: null });
				}
				try {
					await createVideo(req, res, idemKey);
				} catch (err) {
					// A request that created nothing may be repeated with the same key.
					if (idemKey !== null && idempotency.get(idemKey)?.state === 'in_flight') idempotency.delete(idemKey);
					throw err;
				}
				return;
			}
			case 'status': {
				const id = decodeURIComponent(url.pathname.slice('/v3/videos/'.length));
				const v = sim.videos.get(id);
				if (!v) throw new HttpFail(404, apiError('video_not_found', `Video ${id} not found`));
				v.statusCalls++;
				advance(v);
				const data = statusData(v);
				if (badShape) data['status'] = 'rendering';
				sendJson(res, 200, { data });
				return;
			}
			case 'avatars': {
				const looks = SIM_LOOKS.map((l) => ({
					...l,
					avatar_type: 'studio_avatar',
					group_id: `group-${l.id}`,
					preview_image_url: `${sim.url}/previews/avatar.jpg`,
					preview_video_url: `${sim.url}/previews/avatar.mp4`,
					image_width: 1280,
					image_height: 720,
					preferred_orientation: 'landscape',
					supported_api_engines: ['avatar_iv'],
					tags: [],
					status: 'completed',
					error: null
				}));
				const body = listPage(looks, url, 50);
				if (badShape) body['data'] = 'oops';
				sendJson(res, 200, body);
				return;
			}
			case 'voices': {
				const language = url.searchParams.get('language');
				const voices = SIM_VOICE_LIST.filter((v) => !language || v.language.toLowerCase() === language.toLowerCase()).map((v) => ({
					...v,
					voice_id: badShape ? null : v.voice_id,
					preview_audio_url: `${sim.url}/previews/voice.mp3`,
					support_pause: true,
					support_locale: false,
					type: 'public'
				}));
				sendJson(res, 200, listPage(voices, url, 100));
				return;
			}
			case 'account': {
				const data = { username: 'sim-user', email: 'sim@example.com', first_name: 'Sim', last_name: 'User', ...sim.billing };
				sendJson(res, 200, { data: badShape ? { ...data, wallet: 'lots' } : data });
				return;
			}
			default:
				throw new HttpFail(404, apiError('not_found', 'Not found'));
		}
	}

	async function handleFile(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
		const path = url.pathname;
		const m = /^\/files\/([A-Za-z0-9_-]+)\.(mp4|jpg|srt)$/.exec(path);
		if (!m) {
			res.writeHead(404, { 'content-type': 'application/xml' });
			res.end(s3Error('NoSuchKey', 'The specified key does not exist.'));
			return;
		}
		const sig = checkSignature(path, url.searchParams);
		if (sig !== 'ok') {
			res.writeHead(403, { 'content-type': 'application/xml' });
			res.end(
				sig === 'expired'
					? s3Error('AccessDenied', 'Request has expired')
					: s3Error('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.')
			);
			return;
		}
		const v = sim.videos.get(m[1]!);
		if (!v || v.status !== 'completed' || (m[2] === 'srt' && !v.caption)) {
			res.writeHead(404, { 'content-type': 'application/xml' });
			res.end(s3Error('NoSuchKey', 'The specified key does not exist.'));
			return;
		}
		const slow = take('slow', 'files');
		if (slow) {
			await delay(slow.ms);
			if (res.destroyed || closed) return;
		}
		if (m[2] === 'jpg' || m[2] === 'srt') {
			const body = m[2] === 'jpg' ? thumbnail : Buffer.from(sim.subtitlesFor(v));
			res.writeHead(200, { 'content-type': m[2] === 'jpg' ? 'image/jpeg' : 'application/x-subrip', 'content-length': body.length });
			res.end(req.method === 'HEAD' ? undefined : body);
			return;
		}
		const isGet = req.method === 'GET';
		if (isGet) v.downloads++;
		if (isGet && take('downloadForbidden', 'files')) {
			res.writeHead(403, { 'content-type': 'application/xml' });
			res.end(s3Error('AccessDenied', 'Access Denied'));
			return;
		}
		const badDownload = isGet ? take('badDownload', 'files') : null;
		if (badDownload) {
			const body =
				badDownload.kind === 'empty'
					? Buffer.alloc(0)
					: badDownload.kind === 'html'
						? Buffer.from('<html><body>Oops</body></html>\n')
						: randomBytes(4096);
			res.writeHead(200, { 'content-type': badDownload.kind === 'html' ? 'text/html' : 'video/mp4', 'content-length': body.length });
			res.end(body);
			return;
		}
		const se = isGet ? take('serverError', 'files') : null;
		if (se) {
			res.writeHead(se.status ?? 500, { 'content-type': 'application/xml' });
			res.end(s3Error('InternalError', 'We encountered an internal error. Please try again.'));
			return;
		}
		const size = v.sizeBytes;
		let start = 0;
		let end = size - 1;
		let status = 200;
		const range = req.headers.range;
		if (typeof range === 'string' && !range.includes(',')) {
			const r = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
			let ok = false;
			if (r && (r[1] !== '' || r[2] !== '')) {
				if (r[1] === '') {
					const suffix = Number(r[2]);
					if (suffix > 0) {
						start = Math.max(0, size - suffix);
						ok = true;
					}
				} else {
					start = Number(r[1]);
					if (r[2] !== '') end = Math.min(Number(r[2]), size - 1);
					ok = start < size && start <= end;
				}
			}
			if (!ok) {
				res.writeHead(416, { 'content-range': `bytes */${size}`, 'content-type': 'application/xml' });
				res.end(s3Error('InvalidRange', 'The requested range is not satisfiable'));
				return;
			}
			status = 206;
		}
		const length = end - start + 1;
		const headers: Record<string, string | number> = {
			'content-type': 'video/mp4',
			'content-length': length,
			'accept-ranges': 'bytes',
			etag: `"${v.id}-${size}"`,
			'last-modified': new Date(v.completedAt ?? v.createdAt).toUTCString()
		};
		if (status === 206) headers['content-range'] = `bytes ${start}-${end}/${size}`;
		res.writeHead(status, headers);
		if (req.method === 'HEAD') {
			res.end();
			return;
		}
		const truncated = take('truncatedDownload', 'files');
		const sendUntil = truncated ? start + Math.floor(length / 2) : end + 1;
		const stream = Readable.from(fileChunks(mp4, start, sendUntil));
		stream.pipe(res, { end: !truncated });
		await new Promise<void>((resolve) => {
			stream.on('end', resolve);
			stream.on('error', () => resolve());
			res.on('close', resolve);
		});
		if (truncated) {
			// Flush what was written, then cut the connection mid-body (Content-Length promised more).
			res.socket?.destroySoon();
		}
	}

	function handlePreview(req: IncomingMessage, res: ServerResponse, path: string): void {
		const map: Record<string, [Buffer, string]> = {
			'/previews/avatar.jpg': [thumbnail, 'image/jpeg'],
			'/previews/avatar.mp4': [mp4, 'video/mp4'],
			'/previews/voice.mp3': [voicePreview, 'audio/mpeg']
		};
		const hit = map[path];
		if (!hit) {
			sendJson(res, 404, apiError('not_found', `No route for ${req.method} ${path}`));
			return;
		}
		res.writeHead(200, { 'content-type': hit[1], 'content-length': hit[0].length });
		res.end(req.method === 'HEAD' ? undefined : hit[0]);
	}

	const server = createServer((req, res) => {
		const url = new URL(req.url ?? '/', 'http://sim.local');
		const method = req.method ?? 'GET';
		const endpoint = endpointOf(method, url.pathname);
		const record: SimRequest = { method, path: url.pathname, endpoint, status: null, idempotencyKey: null, at: Date.now() };
		sim.requests.push(record);
		changed();
		res.on('close', () => {
			record.status = res.headersSent ? res.statusCode : null;
			changed();
		});
		const run = async () => {
			// Registered webhook endpoints (per account).
			if (url.pathname.startsWith('/v3/webhooks/') && (await hooks.handle(req, res, url, (k) => typeof k === 'string' && validKeys.includes(k)))) return;
			if (endpoint === 'files') return handleFile(req, res, url);
			if (endpoint !== null) return handleApi(req, res, endpoint, url, record);
			if (url.pathname.startsWith('/previews/') && (method === 'GET' || method === 'HEAD')) return handlePreview(req, res, url.pathname);
			sendJson(res, 404, apiError('not_found', `No route for ${method} ${url.pathname}`));
		};
		run().catch((err: unknown) => {
			if (res.headersSent || res.destroyed) {
				res.destroy();
				return;
			}
			if (err instanceof HttpFail) sendJson(res, err.status, err.body, err.headers);
			else sendJson(res, 500, apiError('internal_error', `Simulator bug: ${String(err)}`));
		});
	});

	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(opts.port ?? 0, host, () => {
			server.off('error', reject);
			resolve();
		});
	});
	const addr = server.address() as AddressInfo;
	const urlHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;

	const sim: HeyGenSimulator = {
		url: `http://${urlHost}:${addr.port}`,
		apiKey: validKeys[0] ?? DEFAULT_SIM_KEY,
		mp4,
		thumbnail,
		renderMs: opts.renderMs ?? 0,
		concurrencyLimit: opts.concurrencyLimit ?? Number.POSITIVE_INFINITY,
		billing: opts.billing ?? { billing_type: 'wallet', wallet: { currency: 'usd', remaining_balance: 120.5 } },
		videos: new Map(),
		submits: [],
		requests: [],
		webhooks: [],
		events: new EventEmitter(),
		maxConcurrentRenders: 0,
		webhookEndpoints: hooks,
		get faults() {
			return faults;
		},
		setFaults(f) {
			const next: Record<string, unknown> = { ...faults };
			for (const [k, v] of Object.entries(f)) {
				if (v === null || v === undefined) delete next[k];
				else next[k] = typeof v === 'object' ? { ...v } : v;
			}
			faults = next as Partial<Faults>;
		},
		clearFaults() {
			faults = {};
		},
		setVideoBehaviour(callbackId, b) {
			if (b === null) behaviours.delete(callbackId);
			else behaviours.set(callbackId, b);
		},
		submitsFor(callbackId) {
			return sim.submits.filter((s) => s.callbackId === callbackId).length;
		},
		generateCallsFor(callbackId) {
			const keys = new Set(sim.submits.filter((s) => s.callbackId === callbackId).map((s) => s.idempotencyKey));
			return sim.requests.filter((r) => r.endpoint === 'generate' && r.idempotencyKey !== null && keys.has(r.idempotencyKey)).length;
		},
		signedVideoUrl(videoId, ttlMs, ext = 'mp4') {
			return signedUrl(`/files/${videoId}.${ext}`, ttlMs);
		},
		subtitlesFor(v) {
			const words = v.script.split(/\s+/).filter(Boolean);
			const half = Math.ceil(words.length / 2);
			const cues = [words.slice(0, half).join(' '), words.slice(half).join(' ')].filter(Boolean);
			const step = (SAMPLE_DURATION_S * 1000) / Math.max(1, cues.length);
			return cues.map((t, i) => `${i + 1}\n${srtTime(i * step)} --> ${srtTime((i + 1) * step)}\n${t}\n`).join('\n');
		},
		waitFor(predicate, timeoutMs = 5000) {
			return new Promise<void>((resolve, reject) => {
				const check = () => {
					let ok = false;
					try {
						ok = predicate(sim);
					} catch (err) {
						cleanup();
						reject(err instanceof Error ? err : new Error(String(err)));
						return;
					}
					if (ok) {
						cleanup();
						resolve();
					}
				};
				const timer = setTimeout(() => {
					cleanup();
					reject(new Error(`HeyGen simulator: waitFor condition not met within ${timeoutMs} ms`));
				}, timeoutMs);
				const cleanup = () => {
					clearTimeout(timer);
					changes.off('change', check);
				};
				changes.on('change', check);
				check();
			});
		},
		reset() {
			sim.videos.clear();
			sim.submits.length = 0;
			sim.requests.length = 0;
			sim.webhooks.length = 0;
			sim.maxConcurrentRenders = 0;
			hooks.reset();
			behaviours.clear();
			idempotency.clear();
			faults = {};
			for (const t of timers) clearTimeout(t);
			timers.clear();
		},
		async close() {
			if (closed) return;
			closed = true;
			for (const t of timers) clearTimeout(t);
			timers.clear();
			for (const ac of webhookAborts) ac.abort();
			hooks.close();
			await new Promise<void>((resolve) => {
				server.close(() => resolve());
				server.closeAllConnections();
			});
		}
	};
	sim.events.setMaxListeners(0);
	sim.events.on('videoFinished', (v: SimVideo) => void notifyCallbackUrl(v));
	// Signed deliveries to the submitting account's registered endpoints.
	sim.events.on('videoFinished', (v: SimVideo) =>
		hooks.videoFinished({
			id: v.id,
			callbackId: v.callbackId,
			status: v.status === 'failed' ? 'failed' : 'completed',
			videoUrl: v.status === 'completed' ? signedUrl(`/files/${v.id}.mp4`) : null,
			message: v.failWith?.message ?? null
		})
	);
	return sim;
}

function readBody(req: IncomingMessage, limit = 2 * 1024 * 1024): Promise<string> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		let size = 0;
		req.on('data', (c: Buffer) => {
			size += c.length;
			if (size > limit) {
				reject(new HttpFail(413, apiError('payload_too_large', 'Request body too large')));
				req.destroy();
				return;
			}
			chunks.push(c);
		});
		req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
		req.on('error', reject);
	});
}

/** Bytes [from, to) of a virtual file: the mp4 first, then zero padding, in ≤ 64 KiB chunks. */
function* fileChunks(mp4: Buffer, from: number, to: number): Generator<Buffer> {
	const zeros = Buffer.alloc(CHUNK);
	let pos = from;
	while (pos < to) {
		const n = Math.min(CHUNK, to - pos);
		if (pos < mp4.length) {
			const take = Math.min(n, mp4.length - pos);
			yield mp4.subarray(pos, pos + take);
			pos += take;
		} else {
			yield zeros.subarray(0, n);
			pos += n;
		}
	}
}
