/**
 * HeyGen API simulator: a real node:http server with the endpoints, reply shapes and error bodies of
 * HeyGen's v1/v2 API (DESIGN.md section 7), used by tests, benchmarks and `npm run demo`.
 *
 * Endpoints (all need `x-api-key` ∈ validKeys, default `sim-test-key`):
 *   POST /v2/video/generate          → {error:null, data:{video_id}}
 *   GET  /v1/video_status.get?video_id=… → {code:100, message:"Success", data:{id,status,video_url,…}}
 *   GET  /v2/avatars                 → {error:null, data:{avatars:[…], talking_photos:[…]}}
 *   GET  /v2/voices                  → {error:null, data:{voices:[…]}}
 *   GET  /v2/user/remaining_quota    → {error:null, data:{remaining_quota, details:{api}}}
 * Files (no key; signed like S3 presigned URLs):
 *   GET|HEAD /files/<id>.mp4?expires=<ms>&sig=<hmac>  (Range supported; 403 XML when expired/bad sig)
 *   GET|HEAD /files/<id>.jpg?expires=…&sig=…          (thumbnail)
 *   GET /previews/avatar.jpg | avatar.mp4 | voice.mp3 (avatar/voice previews, unsigned)
 *
 * Known ids: avatars `sim-avatar-anna`, `sim-avatar-josh` (+ talking photo `sim-photo-1`);
 * voices `sim-voice-en-1`, `sim-voice-en-2`. Script ≤ 5000 chars per scene.
 *
 * Error bodies: v2 endpoints answer `{data:null, error:{code, message}}` (401 invalid_api_key,
 * 400 avatar_not_found / voice_not_found / invalid_parameter, 402 insufficient_credit,
 * 429 rate_limit_exceeded / trial_video_limit_exceeded, 5xx internal_error). The v1 status endpoint
 * answers v1-style `{code:<number>, message, data:null}` (401 → 40009, unknown id → 400 40031).
 * Note: HeyGen does not document the HTTP status of `trial_video_limit_exceeded`; the simulator uses
 * 429 so a client must classify by code before status (it is permanent, not a rate limit).
 *
 * Render: status goes pending → processing (after renderMs/4) → completed|failed (after renderMs);
 * renderMs 0 = completed on the first status call. Each completed status call returns a freshly
 * signed video_url (TTL 7 days, or `shortUrlTtlMs`). If `callback_url` was given, a webhook
 * `{event_type:'avatar_video.success'|'avatar_video.fail', event_data:{video_id, url?, callback_id, msg?}}`
 * is POSTed there on completion (fire and forget; recorded in `sim.webhooks`).
 *
 * Per-video behaviour (pick either):
 *   1. In the generate body's `title`: `[sim renderMs=5000 sizeBytes=1073741824 failWith=some_code]`
 *      (any subset, anywhere in the title). Works from another process (CLI, demo, worker).
 *   2. `sim.setVideoBehaviour(callbackId, { renderMs?, sizeBytes?, failWith? })` before the submit;
 *      applied to videos whose callback_id matches. Title settings win over this.
 *   `sizeBytes` makes the download that many bytes: the real mp4 first, then zero padding, streamed in
 *   64 KiB chunks (never buffered). Already-created videos can be changed via `sim.videos.get(id)`.
 *
 * Faults — `sim.setFaults({ name: spec })`, `sim.setFaults({ name: null })` clears one,
 * `sim.clearFaults()` clears all. Every spec takes `times` (default Infinity; decremented each time it
 * fires, removed at 0) and, where noted, `endpoint` (one or an array of 'generate' | 'status' |
 * 'avatars' | 'voices' | 'quota' | 'files'; omitted = every API endpoint, never 'files'):
 *   serverError      { status?: 500|502|503 (default 500), endpoint? }  500/503 JSON error, 502 HTML
 *   rateLimit        { retryAfter?: number seconds | string verbatim (e.g. an HTTP date), default 1, endpoint? }
 *   slow             { ms, endpoint? }  delay the reply (API or, with endpoint 'files', downloads)
 *   malformedJson    { endpoint? }      200 with a truncated JSON body
 *   badShape         { endpoint? }      200 with valid JSON of the wrong shape (e.g. status "rendering")
 *   badKey           { endpoint? }      every key rejected (401)
 *   replyLost        { }                generate creates the video, then the socket is destroyed
 *   noCredit         { }                generate → 402 insufficient_credit
 *   trialLimit       { }                generate → 429 trial_video_limit_exceeded
 *   renderFails      { code?, message?, detail? }  the next `times` videos end `failed`
 *   truncatedDownload{ }                full Content-Length, socket closed after half the bytes
 *   downloadForbidden{ }                the next `times` GET downloads answer 403 AccessDenied (HEAD unaffected)
 *   shortUrlTtlMs    number | null      signed URLs issued from now on expire after N ms
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { createSimWebhooks, type SimWebhookRegistry } from './webhooks.ts'; // [webhooks hook]

export const DEFAULT_SIM_KEY = 'sim-test-key';
export const SIM_AVATARS = ['sim-avatar-anna', 'sim-avatar-josh'] as const;
export const SIM_VOICES = ['sim-voice-en-1', 'sim-voice-en-2'] as const;
export const SIM_MAX_SCRIPT_CHARS = 5000;
/** Duration of sample.mp4 in seconds. */
export const SAMPLE_DURATION_S = 2;
const DEFAULT_URL_TTL_MS = 7 * 24 * 3600 * 1000;
const CHUNK = 64 * 1024;

export type SimEndpoint = 'generate' | 'status' | 'avatars' | 'voices' | 'quota' | 'files';

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
	badKey: FaultSpec | null;
	replyLost: Omit<FaultSpec, 'endpoint'> | null;
	noCredit: Omit<FaultSpec, 'endpoint'> | null;
	trialLimit: Omit<FaultSpec, 'endpoint'> | null;
	renderFails: (Omit<FaultSpec, 'endpoint'> & { code?: string | number; message?: string; detail?: string }) | null;
	truncatedDownload: Omit<FaultSpec, 'endpoint'> | null;
	downloadForbidden: Omit<FaultSpec, 'endpoint'> | null;
	shortUrlTtlMs: number | null;
}

export interface SimFailure {
	code: string | number;
	message: string;
	detail?: string;
}

export interface VideoBehaviour {
	renderMs?: number;
	sizeBytes?: number;
	/** Make the render fail: a code string or a full error. */
	failWith?: string | SimFailure;
}

export interface SimVideo {
	id: string;
	callbackId: string | null;
	callbackUrl: string | null;
	title: string | null;
	avatarId: string;
	voiceId: string;
	script: string;
	dimension: { width: number; height: number };
	test: boolean;
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
	videoId: string;
	body: unknown;
	at: number;
}

export interface SimRequest {
	method: string;
	path: string;
	endpoint: SimEndpoint | null;
	status: number | null;
	at: number;
}

export interface SimWebhook {
	url: string;
	body: { event_type: string; event_data: Record<string, unknown> };
	at: number;
	/** HTTP status of the receiver, or null if the POST failed. */
	status: number | null;
}

export interface HeyGenSimulatorOptions {
	port?: number;
	host?: string;
	renderMs?: number;
	validKeys?: string[];
	mp4?: Buffer;
	remainingQuota?: number;
}

export interface HeyGenSimulator {
	url: string;
	/** The first valid key. */
	apiKey: string;
	close(): Promise<void>;
	setFaults(f: Partial<Faults>): void;
	clearFaults(): void;
	/** Current faults (with remaining counts). */
	readonly faults: Readonly<Partial<Faults>>;
	setVideoBehaviour(callbackId: string, b: VideoBehaviour | null): void;
	videos: Map<string, SimVideo>;
	submits: SimSubmit[];
	submitsFor(callbackId: string): number;
	requests: SimRequest[];
	webhooks: SimWebhook[];
	/** [webhooks hook] Registered v3 webhook endpoints per key and their signed deliveries (./webhooks.ts). */
	webhookEndpoints: SimWebhookRegistry;
	/** Resolves when predicate(sim) is true; re-checked on every state change. Default timeout 5000 ms. */
	waitFor(predicate: (sim: HeyGenSimulator) => boolean, timeoutMs?: number): Promise<void>;
	/** A signed download URL for a video (what a completed status call returns). */
	signedVideoUrl(videoId: string, ttlMs?: number): string;
	/** Clear videos, submits, requests, webhooks, behaviours and faults. */
	reset(): void;
	mp4: Buffer;
	renderMs: number;
	remainingQuota: number;
}

function loadAsset(name: string): Buffer {
	return readFileSync(new URL(`./${name}`, import.meta.url));
}

const AVATAR_NAMES: Record<string, { name: string; gender: string; voice: string }> = {
	'sim-avatar-anna': { name: 'Anna (simulated)', gender: 'female', voice: 'sim-voice-en-1' },
	'sim-avatar-josh': { name: 'Josh (simulated)', gender: 'male', voice: 'sim-voice-en-2' }
};
const VOICE_INFO: Record<string, { name: string; gender: string }> = {
	'sim-voice-en-1': { name: 'Sim English 1', gender: 'female' },
	'sim-voice-en-2': { name: 'Sim English 2', gender: 'male' }
};

class HttpFail {
	status: number;
	body: unknown;
	constructor(status: number, body: unknown) {
		this.status = status;
		this.body = body;
	}
}

function v2Error(code: string, message: string): { data: null; error: { code: string; message: string } } {
	return { data: null, error: { code, message } };
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
	if (typeof f !== 'string') return f;
	return { code: f, message: `Video render failed (${f})`, detail: 'Simulated render failure' };
}

function endpointOf(method: string, path: string): SimEndpoint | null {
	if (method === 'POST' && path === '/v2/video/generate') return 'generate';
	if (method === 'GET' && path === '/v1/video_status.get') return 'status';
	if (method === 'GET' && path === '/v2/avatars') return 'avatars';
	if (method === 'GET' && path === '/v2/voices') return 'voices';
	if (method === 'GET' && path === '/v2/user/remaining_quota') return 'quota';
	if ((method === 'GET' || method === 'HEAD') && path.startsWith('/files/')) return 'files';
	return null;
}

function isObj(v: unknown): v is Record<string, unknown> {
	return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Validate a generate body like HeyGen; returns the first (only) scene's fields or throws HttpFail. */
function validateGenerate(body: unknown): {
	avatarId: string;
	voiceId: string;
	script: string;
	dimension: { width: number; height: number };
	title: string | null;
	callbackId: string | null;
	callbackUrl: string | null;
	test: boolean;
	caption: boolean;
} {
	const bad = (message: string) => new HttpFail(400, v2Error('invalid_parameter', message));
	if (!isObj(body)) throw bad('Request body must be a JSON object');
	const inputs = body['video_inputs'];
	if (!Array.isArray(inputs) || inputs.length < 1 || inputs.length > 50) {
		throw bad('video_inputs is required and must contain 1 to 50 scenes');
	}
	let first: { avatarId: string; voiceId: string; script: string } | null = null;
	inputs.forEach((scene: unknown, i: number) => {
		if (!isObj(scene)) throw bad(`video_inputs[${i}] must be an object`);
		const ch = scene['character'];
		if (!isObj(ch)) throw bad(`video_inputs[${i}].character is required`);
		let avatarId: string;
		if (ch['type'] === 'avatar') {
			if (typeof ch['avatar_id'] !== 'string' || ch['avatar_id'] === '') {
				throw bad(`video_inputs[${i}].character.avatar_id is required`);
			}
			avatarId = ch['avatar_id'];
			const style = ch['avatar_style'];
			if (style !== undefined && style !== 'normal' && style !== 'circle' && style !== 'closeUp') {
				throw bad(`video_inputs[${i}].character.avatar_style must be one of normal, circle, closeUp`);
			}
			if (!(SIM_AVATARS as readonly string[]).includes(avatarId)) {
				throw new HttpFail(400, v2Error('avatar_not_found', `Avatar ${avatarId} not found`));
			}
		} else if (ch['type'] === 'talking_photo') {
			if (ch['talking_photo_id'] !== 'sim-photo-1') {
				throw new HttpFail(400, v2Error('avatar_not_found', `Talking photo ${String(ch['talking_photo_id'])} not found`));
			}
			avatarId = 'sim-photo-1';
		} else {
			throw bad(`video_inputs[${i}].character.type must be avatar or talking_photo`);
		}
		const voice = scene['voice'];
		if (!isObj(voice) || voice['type'] !== 'text') throw bad(`video_inputs[${i}].voice.type must be text`);
		if (typeof voice['voice_id'] !== 'string' || voice['voice_id'] === '') {
			throw bad(`video_inputs[${i}].voice.voice_id is required`);
		}
		if (typeof voice['input_text'] !== 'string' || voice['input_text'].trim() === '') {
			throw bad(`video_inputs[${i}].voice.input_text is required`);
		}
		if (voice['input_text'].length > SIM_MAX_SCRIPT_CHARS) {
			throw bad(`video_inputs[${i}].voice.input_text must be at most ${SIM_MAX_SCRIPT_CHARS} characters`);
		}
		const speed = voice['speed'];
		if (speed !== undefined && (typeof speed !== 'number' || speed < 0.5 || speed > 1.5)) {
			throw bad(`video_inputs[${i}].voice.speed must be between 0.5 and 1.5`);
		}
		if (!(SIM_VOICES as readonly string[]).includes(voice['voice_id'])) {
			throw new HttpFail(400, v2Error('voice_not_found', `Voice ${voice['voice_id']} not found`));
		}
		const bg = scene['background'];
		if (bg !== undefined) {
			if (!isObj(bg) || !['color', 'image', 'video'].includes(String(bg['type']))) {
				throw bad(`video_inputs[${i}].background.type must be color, image or video`);
			}
			if (bg['type'] === 'color' && (typeof bg['value'] !== 'string' || !/^#[0-9a-fA-F]{6}$/.test(bg['value']))) {
				throw bad(`video_inputs[${i}].background.value must be a hex colour like #ffffff`);
			}
		}
		first ??= { avatarId, voiceId: voice['voice_id'], script: voice['input_text'] };
	});
	let dimension = { width: 1920, height: 1080 };
	const dim = body['dimension'];
	if (dim !== undefined) {
		if (
			!isObj(dim) ||
			!Number.isInteger(dim['width']) ||
			!Number.isInteger(dim['height']) ||
			(dim['width'] as number) < 64 ||
			(dim['height'] as number) < 64 ||
			(dim['width'] as number) > 4096 ||
			(dim['height'] as number) > 4096
		) {
			throw bad('dimension must be {width, height} integers between 64 and 4096');
		}
		dimension = { width: dim['width'] as number, height: dim['height'] as number };
	}
	const str = (k: string): string | null => {
		const v = body[k];
		if (v === undefined || v === null) return null;
		if (typeof v !== 'string') throw bad(`${k} must be a string`);
		return v;
	};
	const bool = (k: string): boolean => {
		const v = body[k];
		if (v === undefined || v === null) return false;
		if (typeof v !== 'boolean') throw bad(`${k} must be a boolean`);
		return v;
	};
	const callbackUrl = str('callback_url');
	if (callbackUrl !== null && !/^https?:\/\//.test(callbackUrl)) throw bad('callback_url must be an http(s) URL');
	const f = first as { avatarId: string; voiceId: string; script: string } | null;
	if (!f) throw bad('video_inputs is required');
	return {
		...f,
		dimension,
		title: str('title'),
		callbackId: str('callback_id'),
		callbackUrl,
		test: bool('test'),
		caption: bool('caption')
	};
}

export async function startHeyGenSimulator(opts: HeyGenSimulatorOptions = {}): Promise<HeyGenSimulator> {
	const host = opts.host ?? '127.0.0.1';
	const validKeys = opts.validKeys ?? [DEFAULT_SIM_KEY];
	const mp4 = opts.mp4 ?? loadAsset('sample.mp4');
	const thumbnail = loadAsset('sample-thumbnail.jpg');
	const voicePreview = loadAsset('sample-voice.mp3');
	const secret = randomBytes(32);
	const events = new EventEmitter();
	events.setMaxListeners(0);
	const timers = new Set<NodeJS.Timeout>();
	const webhookAborts = new Set<AbortController>();
	const behaviours = new Map<string, VideoBehaviour>();
	let faults: Partial<Faults> = {};
	let closed = false;

	const changed = () => events.emit('change');
	const hooks = createSimWebhooks({ changed }); // [webhooks hook]

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
	function take<K extends Exclude<keyof Faults, 'shortUrlTtlMs'>>(
		name: K,
		endpoint: SimEndpoint
	): NonNullable<Faults[K]> | null {
		const spec = faults[name] as (FaultSpec & Record<string, unknown>) | null | undefined;
		if (!spec) return null;
		const eps = spec.endpoint === undefined ? null : Array.isArray(spec.endpoint) ? spec.endpoint : [spec.endpoint];
		const filesOnly = name === 'truncatedDownload' || name === 'downloadForbidden';
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

	function finalize(v: SimVideo): void {
		if (v.status === 'completed' || v.status === 'failed') return;
		v.status = v.failWith ? 'failed' : 'completed';
		v.completedAt = Date.now();
		changed();
		if (v.callbackUrl) void sendWebhook(v);
		// [webhooks hook] signed deliveries to the submitting account's registered endpoints
		hooks.videoFinished({ id: v.id, callbackId: v.callbackId, status: v.status, videoUrl: v.status === 'completed' ? signedUrl(`/files/${v.id}.mp4`) : null, message: v.failWith?.message ?? null });
	}

	function advance(v: SimVideo): void {
		if (v.status === 'completed' || v.status === 'failed') return;
		const elapsed = Date.now() - v.createdAt;
		if (elapsed >= v.renderMs) finalize(v);
		else if (elapsed >= v.renderMs / 4 && v.status === 'pending') {
			v.status = 'processing';
			changed();
		}
	}

	async function sendWebhook(v: SimVideo): Promise<void> {
		if (!v.callbackUrl || closed) return;
		const body: SimWebhook['body'] =
			v.status === 'completed'
				? {
						event_type: 'avatar_video.success',
						event_data: { video_id: v.id, url: signedUrl(`/files/${v.id}.mp4`), callback_id: v.callbackId }
					}
				: {
						event_type: 'avatar_video.fail',
						event_data: { video_id: v.id, msg: v.failWith?.message ?? 'failed', callback_id: v.callbackId }
					};
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
			// fire and forget: receiver errors are ignored, like HeyGen (which retries on its own schedule)
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
			status: v.status,
			video_url: done ? signedUrl(`/files/${v.id}.mp4`) : null,
			video_url_caption: done && v.caption ? signedUrl(`/files/${v.id}.mp4`) : null,
			thumbnail_url: done ? signedUrl(`/files/${v.id}.jpg`) : null,
			gif_url: null,
			duration: done ? SAMPLE_DURATION_S : null,
			callback_id: v.callbackId,
			created_at: Math.floor(v.createdAt / 1000),
			error: v.status === 'failed' && v.failWith ? { detail: null, ...v.failWith } : null
		};
	}

	function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
		const text = JSON.stringify(body);
		res.writeHead(status, {
			'content-type': 'application/json',
			'content-length': Buffer.byteLength(text),
			...headers
		});
		res.end(text);
	}

	async function handleApi(req: IncomingMessage, res: ServerResponse, endpoint: SimEndpoint, url: URL): Promise<void> {
		const v1 = endpoint === 'status';
		const slow = take('slow', endpoint);
		if (slow) {
			await delay(slow.ms);
			if (res.destroyed || closed) return;
		}
		const key = req.headers['x-api-key'];
		const keyOk = typeof key === 'string' && validKeys.includes(key);
		if (!keyOk || take('badKey', endpoint)) {
			const msg = 'Invalid API key. Please check your x-api-key header.';
			sendJson(res, 401, v1 ? { code: 40009, message: 'Invalid credentials provided', data: null } : v2Error('invalid_api_key', msg));
			return;
		}
		const se = take('serverError', endpoint);
		if (se) {
			const status = se.status ?? 500;
			if (status === 502) {
				res.writeHead(502, { 'content-type': 'text/html' });
				res.end('<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>\n');
			} else {
				sendJson(
					res,
					status,
					v1
						? { code: status * 100, message: 'Internal server error', data: null }
						: v2Error(status === 503 ? 'service_unavailable' : 'internal_error', 'Internal server error, please retry later')
				);
			}
			return;
		}
		const rl = take('rateLimit', endpoint);
		if (rl) {
			const ra = rl.retryAfter ?? 1;
			sendJson(res, 429, v2Error('rate_limit_exceeded', 'Too many requests, please slow down'), {
				'retry-after': String(ra)
			});
			return;
		}
		if (take('malformedJson', endpoint)) {
			const text = '{"error":null,"data":{"video_id":"';
			res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
			res.end(text);
			return;
		}
		const badShape = take('badShape', endpoint);

		switch (endpoint) {
			case 'generate': {
				const raw = await readBody(req);
				let body: unknown;
				try {
					body = JSON.parse(raw);
				} catch {
					throw new HttpFail(400, v2Error('invalid_parameter', 'Request body is not valid JSON'));
				}
				const g = validateGenerate(body);
				if (take('noCredit', 'generate')) {
					throw new HttpFail(402, v2Error('insufficient_credit', 'Insufficient credit. Please top up your API credits.'));
				}
				if (take('trialLimit', 'generate')) {
					throw new HttpFail(429, v2Error('trial_video_limit_exceeded', 'daily api trial limit 5'));
				}
				if (badShape) {
					sendJson(res, 200, { error: null, data: { video_id: 12345 } });
					return;
				}
				const fromCallback = g.callbackId ? behaviours.get(g.callbackId) : undefined;
				const fromTitle = parseTitleBehaviour(g.title);
				const b: VideoBehaviour = { ...fromCallback, ...fromTitle };
				const rf = take('renderFails', 'generate');
				let failWith: SimFailure | null = b.failWith !== undefined ? toFailure(b.failWith) : null;
				if (rf) {
					failWith = {
						code: rf.code ?? 'video_render_failed',
						message: rf.message ?? 'Video render failed, we are looking into this issue. Video credits refunded.',
						...(rf.detail !== undefined ? { detail: rf.detail } : {})
					};
				}
				const id = randomUUID().replace(/-/g, '');
				const v: SimVideo = {
					id,
					callbackId: g.callbackId,
					callbackUrl: g.callbackUrl,
					title: g.title,
					avatarId: g.avatarId,
					voiceId: g.voiceId,
					script: g.script,
					dimension: g.dimension,
					test: g.test,
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
				hooks.videoCreated(id, key as string); // [webhooks hook]
				sim.submits.push({ callbackId: g.callbackId, videoId: id, body, at: Date.now() });
				if (v.renderMs <= 0) finalize(v);
				else {
					later(v.renderMs / 4, () => advance(v));
					later(v.renderMs, () => finalize(v));
				}
				if (take('replyLost', 'generate')) {
					res.socket?.destroy();
					return;
				}
				sendJson(res, 200, { error: null, data: { video_id: id } });
				return;
			}
			case 'status': {
				const id = url.searchParams.get('video_id');
				if (!id) throw new HttpFail(400, { code: 40001, message: 'Missing required input parameters', data: null });
				const v = sim.videos.get(id);
				if (!v) throw new HttpFail(400, { code: 40031, message: 'Invalid video id', data: null });
				v.statusCalls++;
				advance(v);
				const data = statusData(v);
				if (badShape) data['status'] = 'rendering';
				sendJson(res, 200, { code: 100, message: 'Success', data });
				return;
			}
			case 'avatars': {
				const avatars = SIM_AVATARS.map((id) => {
					const a = AVATAR_NAMES[id]!;
					return {
						avatar_id: id,
						avatar_name: a.name,
						gender: a.gender,
						preview_image_url: `${sim.url}/previews/avatar.jpg`,
						preview_video_url: `${sim.url}/previews/avatar.mp4`,
						premium: false,
						type: null,
						tags: null,
						default_voice_id: a.voice
					};
				});
				const talking_photos = [
					{ talking_photo_id: 'sim-photo-1', talking_photo_name: 'Photo (simulated)', preview_image_url: `${sim.url}/previews/avatar.jpg` }
				];
				sendJson(res, 200, { error: null, data: { avatars: badShape ? 'oops' : avatars, talking_photos } });
				return;
			}
			case 'voices': {
				const voices = SIM_VOICES.map((id) => ({
					voice_id: badShape ? null : id,
					language: 'English',
					gender: VOICE_INFO[id]!.gender,
					name: VOICE_INFO[id]!.name,
					preview_audio: `${sim.url}/previews/voice.mp3`,
					support_pause: true,
					emotion_support: false,
					support_interactive_avatar: false
				}));
				sendJson(res, 200, { error: null, data: { voices } });
				return;
			}
			case 'quota': {
				const q = badShape ? 'lots' : sim.remainingQuota;
				sendJson(res, 200, { error: null, data: { remaining_quota: q, details: { api: q } } });
				return;
			}
			default:
				throw new HttpFail(404, v2Error('not_found', 'Not found'));
		}
	}

	async function handleFile(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
		const path = url.pathname;
		const m = /^\/files\/([A-Za-z0-9_-]+)\.(mp4|jpg)$/.exec(path);
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
		if (!v || v.status !== 'completed') {
			res.writeHead(404, { 'content-type': 'application/xml' });
			res.end(s3Error('NoSuchKey', 'The specified key does not exist.'));
			return;
		}
		const slow = take('slow', 'files');
		if (slow) {
			await delay(slow.ms);
			if (res.destroyed || closed) return;
		}
		if (m[2] === 'jpg') {
			res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': thumbnail.length });
			res.end(req.method === 'HEAD' ? undefined : thumbnail);
			return;
		}
		const isGet = req.method === 'GET';
		if (isGet) v.downloads++;
		if (isGet && take('downloadForbidden', 'files')) {
			res.writeHead(403, { 'content-type': 'application/xml' });
			res.end(s3Error('AccessDenied', 'Access Denied'));
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
			sendJson(res, 404, v2Error('not_found', `No route for ${req.method} ${path}`));
			return;
		}
		res.writeHead(200, { 'content-type': hit[1], 'content-length': hit[0].length });
		res.end(req.method === 'HEAD' ? undefined : hit[0]);
	}

	const server = createServer((req, res) => {
		const url = new URL(req.url ?? '/', 'http://sim.local');
		const method = req.method ?? 'GET';
		const endpoint = endpointOf(method, url.pathname);
		const record: SimRequest = { method, path: url.pathname, endpoint, status: null, at: Date.now() };
		sim.requests.push(record);
		changed();
		res.on('close', () => {
			record.status = res.headersSent ? res.statusCode : null;
			changed();
		});
		const run = async () => {
			// [webhooks hook]
			if (url.pathname.startsWith('/v3/webhooks/') && (await hooks.handle(req, res, url, (k) => typeof k === 'string' && validKeys.includes(k)))) return;
			if (endpoint === 'files') return handleFile(req, res, url);
			if (endpoint !== null) return handleApi(req, res, endpoint, url);
			if (url.pathname.startsWith('/previews/') && (method === 'GET' || method === 'HEAD')) {
				return handlePreview(req, res, url.pathname);
			}
			sendJson(res, 404, v2Error('not_found', `No route for ${method} ${url.pathname}`));
		};
		run().catch((err: unknown) => {
			if (res.headersSent || res.destroyed) {
				res.destroy();
				return;
			}
			if (err instanceof HttpFail) sendJson(res, err.status, err.body);
			else sendJson(res, 500, v2Error('internal_error', `Simulator bug: ${String(err)}`));
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
		renderMs: opts.renderMs ?? 0,
		remainingQuota: opts.remainingQuota ?? 36_000,
		videos: new Map(),
		submits: [],
		requests: [],
		webhooks: [],
		webhookEndpoints: hooks, // [webhooks hook]
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
		signedVideoUrl(videoId, ttlMs) {
			return signedUrl(`/files/${videoId}.mp4`, ttlMs);
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
					events.off('change', check);
				};
				events.on('change', check);
				check();
			});
		},
		reset() {
			sim.videos.clear();
			sim.submits.length = 0;
			sim.requests.length = 0;
			sim.webhooks.length = 0;
			hooks.reset(); // [webhooks hook]
			behaviours.clear();
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
			hooks.close(); // [webhooks hook]
			await new Promise<void>((resolve) => {
				server.close(() => resolve());
				server.closeAllConnections();
			});
		}
	};
	return sim;
}

function readBody(req: IncomingMessage, limit = 2 * 1024 * 1024): Promise<string> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		let size = 0;
		req.on('data', (c: Buffer) => {
			size += c.length;
			if (size > limit) {
				reject(new HttpFail(413, v2Error('payload_too_large', 'Request body too large')));
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
