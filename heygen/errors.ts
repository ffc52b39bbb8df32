/**
 * HeyGenError and the classification of every way a HeyGen v3 call can fail.
 *
 * permanent  → the job fails with a sentence its owner understands (bad key, no credits, unknown
 *              avatar or voice, settings HeyGen refused, other 4xx).
 * retryable  → the worker tries again later (409 request_in_progress, 429 honouring Retry-After,
 *              5xx, 408, timeouts, network errors, replies that are not JSON, too large, or of the
 *              wrong shape).
 *
 * SECURITY: errors never carry the API key: no Request, no headers, no `cause` from fetch. HeyGen's
 * code and message pass through safeSaid (heygen-said.ts): a known code's message is replaced by our
 * own words, an unknown code by a generic one, and any text carrying a form of the key is dropped.
 */
import { safeCode, safeSaid, safeText } from './heygen-said.ts';
import { redact } from './secret-forms.ts';

export { redact };

export type HeyGenErrorKind = 'permanent' | 'retryable';

export interface HeyGenErrorInit {
	code: string;
	message: string;
	kind: HeyGenErrorKind;
	httpStatus?: number;
	retryAfterMs?: number;
	/** e.g. `POST /v3/videos` (never a full URL with a query or credentials). */
	endpoint?: string;
	/** HeyGen's own error code, when it gave one (already redacted). */
	heygenCode?: string;
}

export class HeyGenError extends Error {
	readonly code: string;
	readonly kind: HeyGenErrorKind;
	readonly retryable: boolean;
	readonly httpStatus?: number;
	readonly retryAfterMs?: number;
	readonly endpoint?: string;
	readonly heygenCode?: string;

	constructor(init: HeyGenErrorInit) {
		super(init.message);
		this.code = init.code;
		this.kind = init.kind;
		this.retryable = init.kind === 'retryable';
		if (init.httpStatus !== undefined) this.httpStatus = init.httpStatus;
		if (init.retryAfterMs !== undefined) this.retryAfterMs = init.retryAfterMs;
		if (init.endpoint !== undefined) this.endpoint = init.endpoint;
		if (init.heygenCode !== undefined) this.heygenCode = init.heygenCode;
	}

	toJSON(): Record<string, unknown> {
		return {
			name: this.name,
			code: this.code,
			kind: this.kind,
			retryable: this.retryable,
			message: this.message,
			httpStatus: this.httpStatus,
			retryAfterMs: this.retryAfterMs,
			endpoint: this.endpoint,
			heygenCode: this.heygenCode
		};
	}
}

// On the prototype (not a field) so the stack's first line already says HeyGenError.
Object.defineProperty(HeyGenError.prototype, 'name', { value: 'HeyGenError', writable: true, configurable: true });

export function isHeyGenError(err: unknown): err is HeyGenError {
	return err instanceof HeyGenError;
}

/**
 * Every error code the pipeline stores. Metrics use this fixed set as label values (anything else
 * is counted as `other`), so a HeyGen message can never create a new time series.
 */
export const KNOWN_ERROR_CODES = [
	'invalid_api_key',
	'forbidden',
	'insufficient_credit',
	'avatar_not_found',
	'voice_not_found',
	'video_not_found',
	'endpoint_not_found',
	'invalid_parameter',
	'heygen_refused',
	'request_in_progress',
	'rate_limited',
	'server_error',
	'timeout',
	'network',
	'aborted',
	'bad_response',
	'reply_too_large',
	'invalid_options',
	'empty_script',
	'script_too_long',
	'render_failed',
	'translation_failed',
	'translation_not_created',
	'source_unavailable',
	'missing_api_key',
	'submit_failed',
	'transfer_failed',
	'deadline_exceeded',
	'canceled',
	'no_video_url',
	'download_refused',
	'download_bad_body',
	'invalid_video',
	'download_redirects',
	'download_http',
	'download_stalled',
	'download_interrupted',
	'download_network',
	'download_timeout',
	'video_url_not_ready',
	'storage_error'
] as const;
const KNOWN = new Set<string>(KNOWN_ERROR_CODES);

/** A code safe to use as a metric label. */
export function metricCode(code: string | null | undefined): string {
	if (!code) return 'other';
	if (KNOWN.has(code)) return code;
	if (code.startsWith('storage_')) return 'storage_error';
	if (code.startsWith('download_http_')) return 'download_http';
	return 'other';
}

/** `Retry-After` is either delta-seconds or an HTTP date. Returns milliseconds ≥ 0, or undefined. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
	if (value == null) return undefined;
	const v = value.trim();
	if (v === '') return undefined;
	if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
	const at = Date.parse(v);
	if (Number.isNaN(at)) return undefined;
	return Math.max(0, at - now);
}

interface ApiErrorBody {
	code?: string;
	message?: string;
	param?: string;
}

/** `{code, message, param}` out of HeyGen's v3 envelope `{error:{code,message,param,doc_url}}`. */
function extractApiError(body: unknown): ApiErrorBody {
	if (typeof body !== 'object' || body === null) return {};
	const b = body as Record<string, unknown>;
	const out: ApiErrorBody = {};
	const e = b['error'];
	if (typeof e === 'object' && e !== null) {
		const eo = e as Record<string, unknown>;
		if (typeof eo['code'] === 'string' || typeof eo['code'] === 'number') out.code = String(eo['code']);
		if (typeof eo['message'] === 'string') out.message = eo['message'];
		if (typeof eo['param'] === 'string') out.param = eo['param'];
	} else if (typeof e === 'string') {
		out.message = e;
	}
	if (out.message === undefined && typeof b['message'] === 'string') out.message = b['message'];
	return out;
}

function clip(text: string, max = 300): string {
	const oneLine = text.replace(/\s+/g, ' ').trim();
	return oneLine.length > max ? `${oneLine.slice(0, max)}…` : oneLine;
}

/** The per-video status route: the only one whose 404 means "this video is gone". */
const VIDEO_STATUS_ENDPOINT = 'GET /v3/videos/{video_id}';

/** What the request was about, so a 404 can name the avatar or voice HeyGen did not know. */
export interface ErrorContext {
	avatarId?: string;
	voiceId?: string;
}

/**
 * The error for a non-2xx HTTP reply. `body` is the parsed JSON (undefined when the reply was not
 * JSON); `rawText` is used only as a short hint when there is no JSON message.
 */
export function errorFromHttp(args: {
	status: number;
	body: unknown;
	rawText: string;
	retryAfter: string | null;
	endpoint: string;
	apiKey: string;
	context?: ErrorContext;
	now?: number;
}): HeyGenError {
	const { status, endpoint, apiKey } = args;
	const api = extractApiError(args.body);
	// A reply that is not HeyGen's JSON envelope (a proxy's page, a bare text) carries no code.
	const envelope = api.code !== undefined || api.message !== undefined;
	const rawHint = args.body === undefined && args.rawText && !/^\s*</.test(args.rawText) ? args.rawText : undefined;
	const safe = safeSaid({ code: api.code, message: api.message ?? rawHint }, apiKey, 'unknown');
	const heygenCode = safe.code === 'unknown' ? undefined : safe.code;
	const code = heygenCode?.toLowerCase();
	// A known code's message is never kept: our sentence for it (or the status's own) stands instead.
	const said = safe.known ? '' : clip(safe.text);
	const param = safeCode(api.param, apiKey);
	const retryAfterMs = parseRetryAfter(args.retryAfter, args.now);
	const theySaid = said ? ` HeyGen said: "${said}"` : '';
	const base = { httpStatus: status, endpoint, ...(heygenCode !== undefined && { heygenCode }) };
	const make = (code: string, kind: HeyGenErrorKind, message: string) =>
		new HeyGenError({ ...base, ...(kind === 'retryable' && retryAfterMs !== undefined && { retryAfterMs }), code, kind, message });

	if (status === 401) {
		return make(
			'invalid_api_key',
			'permanent',
			'HeyGen rejected the API key. Save a valid key in the HeyGen settings, then retry the video.'
		);
	}
	if (status === 402 || code === 'insufficient_credit') {
		return make(
			'insufficient_credit',
			'permanent',
			'HeyGen has no credits left on this account. Add credits in HeyGen, then retry the video.'
		);
	}
	if (status === 403) {
		return make(
			'forbidden',
			'permanent',
			`HeyGen refused this request for the account of the saved API key (its plan or permissions do not allow it).${theySaid}`
		);
	}
	if (status === 404 && endpoint === 'POST /v3/videos') {
		// HeyGen's text only decides which id it did not know; it is not kept.
		if (`${param ?? ''} ${code ?? ''} ${safe.known ? safeText(api.message, apiKey) : said}`.toLowerCase().includes('voice')) {
			const id = args.context?.voiceId ? ` "${args.context.voiceId}"` : '';
			return make(
				'voice_not_found',
				'permanent',
				`HeyGen does not know the voice${id} on this account. Choose another voice in the HeyGen settings, then Generate again (Retry would send the same voice).`
			);
		}
		const id = args.context?.avatarId ? ` "${args.context.avatarId}"` : '';
		return make(
			'avatar_not_found',
			'permanent',
			`HeyGen does not know the avatar${id} on this account. Choose another avatar in the HeyGen settings, then Generate again (Retry would send the same avatar).`
		);
	}
	// Only HeyGen's own answer about one video is final; a 404 from any other route (the bulk status
	// route moved, a proxy's page) says nothing about the video and is retried like an outage.
	if (status === 404 && endpoint === VIDEO_STATUS_ENDPOINT && envelope) {
		return make(
			'video_not_found',
			'permanent',
			'HeyGen no longer has this video (it may have been deleted in HeyGen). Retry to render it again.'
		);
	}
	if (status === 404 && endpoint.startsWith('GET ')) {
		return make('endpoint_not_found', 'retryable', `HeyGen answered 404 for ${endpoint}; asking again later.`);
	}
	if (status === 409 || code === 'request_in_progress') {
		return make('request_in_progress', 'retryable', 'HeyGen is still working on an identical earlier request; asking again shortly.');
	}
	if (status === 429) {
		const wait = retryAfterMs !== undefined ? ` Retrying after ${Math.ceil(retryAfterMs / 1000)} s.` : '';
		return make('rate_limited', 'retryable', `HeyGen is busy for this account (too many requests or videos at once).${wait}`);
	}
	if (status >= 500 || status === 408) {
		return make('server_error', 'retryable', `HeyGen had a temporary problem (HTTP ${status}).${theySaid}`);
	}
	if (status === 400 || status === 422) {
		const field = param ? ` (${param})` : '';
		const video = endpoint === 'POST /v3/videos';
		// A retry sends the same frozen script, avatar, voice and options: a new job is what helps.
		const fix = video ? ' Change the script, avatar, voice or format, then Generate again.' : '';
		const why = (safe.known ? ` ${safe.text}` : theySaid) + fix;
		return make(
			'invalid_parameter',
			'permanent',
			`HeyGen refused ${video ? 'the video settings' : `the request ${endpoint}`}${field}.${why}`
		);
	}
	const why = safe.known ? ` ${safe.text}` : theySaid;
	return make('heygen_refused', 'permanent', `HeyGen refused the request (HTTP ${status}${heygenCode ? `, ${heygenCode}` : ''}).${why}`);
}

/** The error for a fetch that threw (timeout, DNS, refused, reset…). Never keeps the original error. */
export function errorFromFetchFailure(err: unknown, endpoint: string, apiKey: string, timeoutMs: number): HeyGenError {
	const name = typeof err === 'object' && err !== null ? (err as { name?: unknown }).name : undefined;
	if (name === 'TimeoutError') {
		return new HeyGenError({
			code: 'timeout',
			kind: 'retryable',
			endpoint,
			message: `HeyGen did not answer within ${Math.round(timeoutMs / 100) / 10} s.`
		});
	}
	if (name === 'AbortError') {
		return new HeyGenError({ code: 'aborted', kind: 'retryable', endpoint, message: 'The call to HeyGen was aborted.' });
	}
	if (isHeyGenError(err)) return err;
	const parts: string[] = [];
	let e: unknown = err;
	for (let depth = 0; depth < 4 && typeof e === 'object' && e !== null; depth++) {
		const o = e as { code?: unknown; message?: unknown; cause?: unknown };
		if (typeof o.code === 'string' && !parts.includes(o.code)) parts.push(o.code);
		if (typeof o.message === 'string' && o.message && !parts.includes(o.message)) parts.push(o.message);
		e = o.cause;
	}
	// Each part on its own: one that carries the key is dropped without taking the error code with it.
	const detail = parts.length ? clip(parts.map((p) => redact(p, apiKey)).join(': ')) : 'unknown network error';
	return new HeyGenError({ code: 'network', kind: 'retryable', endpoint, message: `Could not reach HeyGen (${detail}).` });
}

/** A reply that is not JSON or does not match the expected shape. Retryable: HeyGen may be mid-deploy. */
export function badResponse(endpoint: string, detail: string, apiKey: string, httpStatus?: number): HeyGenError {
	return new HeyGenError({
		code: 'bad_response',
		kind: 'retryable',
		endpoint,
		...(httpStatus !== undefined ? { httpStatus } : {}),
		message: clip(redact(`HeyGen sent an unexpected reply to ${endpoint}: ${detail}`, apiKey), 500)
	});
}
