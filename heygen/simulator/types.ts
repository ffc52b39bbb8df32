// Shapes, known ids and constants of the HeyGen simulator (see server.ts).
import type { EventEmitter } from 'node:events';
import type { KeyEchoForm } from './key-echo.ts';
import type { SimWebhookRegistry } from './webhooks.ts';

export const DEFAULT_SIM_KEY = 'sim-test-key';
export const SIM_MAX_SCRIPT_CHARS = 5000;
/** Duration of sample.mp4 in seconds. */
export const SAMPLE_DURATION_S = 2;
export const DEFAULT_URL_TTL_MS = 7 * 24 * 3600 * 1000;
export const CHUNK = 64 * 1024;
export const DOC_URL = 'https://developers.heygen.com/docs/error-codes';

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

export type SimEndpoint =
	| 'generate'
	| 'status'
	| 'statuses'
	| 'avatars'
	| 'voices'
	| 'account'
	| 'files'
	| 'retired'
	| 'translate'
	| 'translationList'
	| 'translation'
	| 'translationBatch'
	| 'translationStatuses'
	| 'languages'
	| 'assets';

/** The names GET /v3/video-translations/languages lists (a few of HeyGen's, spelled as HeyGen does). */
export const SIM_LANGUAGES = [
	'English',
	'Spanish (Spain)',
	'Spanish (Mexico)',
	'German',
	'French (France)',
	'Japanese',
	'Portuguese (Brazil)',
	'Chinese (Mandarin, Simplified)'
] as const;

export interface FaultSpec {
	/** How many times the fault fires; default Infinity. */
	times?: number;
	/** Restrict to endpoint(s). Omitted = every API endpoint (not file downloads). */
	endpoint?: SimEndpoint | SimEndpoint[];
}

/** What a `badDownload` fault serves instead of the MP4 (see files.ts). */
export type BadDownloadKind = 'empty' | 'html' | 'notMp4' | 'textFtyp' | 'cutShort' | 'wrongLength';

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
	badDownload: (Omit<FaultSpec, 'endpoint'> & { kind: BadDownloadKind }) | null;
	shortUrlTtlMs: number | null;
	/** The route answers 404 not_found as if it did not exist (moved or withdrawn). */
	routeMissing: FaultSpec | null;
	/** The endpoint answers `status` (default 400) with the request's key, in `form`, as the error's code and in its message. */
	echoKeyError: (FaultSpec & { form: KeyEchoForm; status?: number }) | null;
	/** The next `times` videos fail with the submitting key, in `form`, as failure_code and in failure_message. */
	echoKeyRender: (Omit<FaultSpec, 'endpoint'> & { form: KeyEchoForm }) | null;
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
	/** Set for a video translation (./translations.ts): its language and what it was made from. */
	translation?: { outputLanguage: string; source: string };
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
	/** The query string, e.g. `?video_ids=a,b` of a bulk status call. */
	search: string;
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
	| {
			billing_type: 'subscription';
			subscription: { plan: string; credits: { premium_credits: { remaining: number }; add_on_credits?: { remaining: number } } };
	  }
	| {
			billing_type: 'usage_based';
			usage_based: { included_credits: number; remaining_credits: number; spending_cap_usd: number; spending_current_usd: number };
	  };

/**
 * The account behind one API key, switchable while jobs are queued (sim.setAccount): out of
 * credit, every create answers 402 insufficient_credit and /v3/users/me shows nothing left; revoked,
 * every call with the key answers 401 unauthorized.
 */
export interface SimAccount {
	outOfCredit?: boolean;
	revoked?: boolean;
}

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
	/** Switch the account of `key` (default: the first valid key); null restores it. Kept until reset(). */
	setAccount(state: SimAccount | null, key?: string): void;
	readonly faults: Readonly<Partial<Faults>>;
	setVideoBehaviour(callbackId: string, b: VideoBehaviour | null): void;
	videos: Map<string, SimVideo>;
	/** Uploaded assets (POST /v3/assets) by asset id. */
	assets: Map<string, Buffer>;
	/** Videos and translations created (one per successful, non-replayed create). */
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
	/** Clear videos, submits, requests, webhooks, behaviours, idempotency records, faults and account switches. */
	reset(): void;
	mp4: Buffer;
	thumbnail: Buffer;
	renderMs: number;
	concurrencyLimit: number;
	billing: SimBilling;
	/** The SRT file served for a video. */
	subtitlesFor(v: SimVideo): string;
}

export interface IdempotencyRecord {
	state: 'in_flight' | 'done';
	status: number;
	body: unknown;
}
