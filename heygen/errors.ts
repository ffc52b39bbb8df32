/**
 * HeyGenError and the classification of every way a HeyGen call can fail.
 *
 * permanent  → the job fails with a clear message (bad key, no credit, trial limit, unknown avatar/voice,
 *              other validation errors, 4xx in general).
 * retryable  → the worker retries with backoff (429 honouring Retry-After, 5xx, 408, timeouts, network
 *              errors, replies that are not JSON or do not match the expected shape).
 *
 * SECURITY: errors never carry the API key: no Request, no headers, no `cause` from fetch, and every
 * text that came from outside (HeyGen's messages, fetch error messages) is passed through `redact`.
 */

export type HeyGenErrorKind = 'permanent' | 'retryable';

export interface HeyGenErrorInit {
	code: string;
	message: string;
	kind: HeyGenErrorKind;
	httpStatus?: number;
	retryAfterMs?: number;
	/** e.g. `POST /v2/video/generate` (never a full URL with a query or credentials). */
	endpoint?: string;
}

export class HeyGenError extends Error {
	readonly code: string;
	readonly kind: HeyGenErrorKind;
	readonly retryable: boolean;
	readonly httpStatus?: number;
	readonly retryAfterMs?: number;
	readonly endpoint?: string;

	constructor(init: HeyGenErrorInit) {
		super(init.message);
		this.code = init.code;
		this.kind = init.kind;
		this.retryable = init.kind === 'retryable';
		if (init.httpStatus !== undefined) this.httpStatus = init.httpStatus;
		if (init.retryAfterMs !== undefined) this.retryAfterMs = init.retryAfterMs;
		if (init.endpoint !== undefined) this.endpoint = init.endpoint;
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
			endpoint: this.endpoint
		};
	}
}

// On the prototype (not a field) so the stack's first line already says HeyGenError.
Object.defineProperty(HeyGenError.prototype, 'name', { value: 'HeyGenError', writable: true, configurable: true });

export function isHeyGenError(err: unknown): err is HeyGenError {
	return err instanceof HeyGenError;
}

/** Remove every occurrence of the secret (raw and URL-encoded) from a text that came from outside. */
export function redact(text: string, secret: string | undefined): string {
	if (!secret) return text;
	let out = text.split(secret).join('[redacted]');
	const encoded = encodeURIComponent(secret);
	if (encoded !== secret) out = out.split(encoded).join('[redacted]');
	return out;
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

/** HeyGen's v1 numeric error codes (docs "Error Responses") mapped to stable snake_case names. */
const NUMERIC_CODES: Record<number, string> = {
	40001: 'missing_params',
	40009: 'invalid_credentials',
	40010: 'video_format_not_supported',
	40012: 'invalid_query_param',
	40031: 'invalid_video_id',
	40039: 'invalid_text_input',
	40044: 'invalid_audio_format',
	40065: 'invalid_video_infos',
	400101: 'user_not_found',
	400105: 'blocked_words_detected',
	400112: 'unauthorized',
	400175: 'invalid_parameter',
	400561: 'space_not_found',
	400562: 'forbidden',
	400573: 'permission_denied',
	400599: 'tier_not_support',
	400631: 'user_blocked'
};

/** Normalise a HeyGen error code (string in v2, number in v1) to a string. */
export function normaliseCode(code: string | number): string {
	if (typeof code === 'number') return NUMERIC_CODES[code] ?? String(code);
	const n = /^\d+$/.test(code) ? Number(code) : NaN;
	if (!Number.isNaN(n) && NUMERIC_CODES[n]) return NUMERIC_CODES[n];
	return code;
}

export interface ApiErrorBody {
	code?: string;
	message?: string;
}

/**
 * Pull `{code, message}` out of any HeyGen error body:
 * v2 `{data:null, error:{code:"avatar_not_found", message}}`, v1 `{code:40009, message, data:null}`,
 * or `{message}` / `{error:"text"}`.
 */
export function extractApiError(body: unknown): ApiErrorBody {
	if (typeof body !== 'object' || body === null) return {};
	const b = body as Record<string, unknown>;
	const out: ApiErrorBody = {};
	const e = b['error'];
	if (typeof e === 'object' && e !== null) {
		const eo = e as Record<string, unknown>;
		if (typeof eo['code'] === 'string' || typeof eo['code'] === 'number') out.code = normaliseCode(eo['code']);
		if (typeof eo['message'] === 'string') out.message = eo['message'];
		else if (typeof eo['detail'] === 'string') out.message = eo['detail'];
	} else if (typeof e === 'string') {
		out.message = e;
	}
	if (out.code === undefined && (typeof b['code'] === 'number' || typeof b['code'] === 'string')) {
		// v1 replies use code 100 for success; anything else is an error code.
		if (b['code'] !== 100) out.code = normaliseCode(b['code']);
	}
	if (out.message === undefined && typeof b['message'] === 'string') out.message = b['message'];
	return out;
}

const PERMANENT_CODES = new Set([
	'invalid_api_key',
	'invalid_credentials',
	'unauthorized',
	'insufficient_credit',
	'trial_video_limit_exceeded',
	'avatar_not_found',
	'voice_not_found'
]);

function clip(text: string, max = 300): string {
	const oneLine = text.replace(/\s+/g, ' ').trim();
	return oneLine.length > max ? `${oneLine.slice(0, max)}…` : oneLine;
}

/**
 * Build the error for a non-2xx HTTP reply (or a 2xx reply whose body carries an error).
 * `body` is the parsed JSON (undefined when the reply was not JSON); `rawText` is used only as a
 * short hint when there is no JSON message.
 */
export function errorFromHttp(args: {
	status: number;
	body: unknown;
	rawText: string;
	retryAfter: string | null;
	endpoint: string;
	apiKey: string;
	now?: number;
}): HeyGenError {
	const { status, endpoint, apiKey } = args;
	const api = extractApiError(args.body);
	const heygenMessage = redact(
		clip(api.message ?? (args.body === undefined && args.rawText ? args.rawText : '')),
		apiKey
	);
	const apiCode = api.code ? redact(api.code, apiKey) : undefined;
	const retryAfterMs = parseRetryAfter(args.retryAfter, args.now);
	const suffix = heygenMessage ? `: ${heygenMessage}` : '';
	const base = { httpStatus: status, endpoint };
	const withRetry = retryAfterMs !== undefined ? { retryAfterMs } : {};

	if (status === 401 || status === 403) {
		return new HeyGenError({
			...base,
			code: 'invalid_api_key',
			kind: 'permanent',
			message: `HeyGen rejected the API key (${status}) on ${endpoint}; check the key in the business settings${suffix}`
		});
	}
	if (status === 402 || apiCode === 'insufficient_credit') {
		return new HeyGenError({
			...base,
			code: 'insufficient_credit',
			kind: 'permanent',
			message: `HeyGen account has insufficient credit (${status}) on ${endpoint}${suffix}`
		});
	}
	if (apiCode === 'trial_video_limit_exceeded') {
		return new HeyGenError({
			...base,
			code: 'trial_video_limit_exceeded',
			kind: 'permanent',
			message: `HeyGen trial video limit reached (${status}) on ${endpoint}${suffix}`
		});
	}
	if (apiCode !== undefined && PERMANENT_CODES.has(apiCode) && status < 500) {
		return new HeyGenError({
			...base,
			code: apiCode,
			kind: 'permanent',
			message: `HeyGen refused ${endpoint} (${status} ${apiCode})${suffix}`
		});
	}
	if (status === 429) {
		return new HeyGenError({
			...base,
			...withRetry,
			code: apiCode ?? 'rate_limited',
			kind: 'retryable',
			message: `HeyGen rate limit (429) on ${endpoint}${retryAfterMs !== undefined ? `, retry after ${retryAfterMs} ms` : ''}${suffix}`
		});
	}
	if (status >= 500 || status === 408) {
		return new HeyGenError({
			...base,
			...withRetry,
			code: apiCode ?? `http_${status}`,
			kind: 'retryable',
			message: `HeyGen server error (${status}) on ${endpoint}${suffix}`
		});
	}
	// Any other 4xx (and odd statuses): validation / not found → permanent with HeyGen's message.
	return new HeyGenError({
		...base,
		code: apiCode ?? `http_${status}`,
		kind: 'permanent',
		message: `HeyGen refused ${endpoint} (${status}${apiCode ? ` ${apiCode}` : ''})${suffix}`
	});
}

/** Build the error for a fetch that threw (timeout, DNS, refused, reset…). Never keeps the original error. */
export function errorFromFetchFailure(err: unknown, endpoint: string, apiKey: string, timeoutMs: number): HeyGenError {
	const name = typeof err === 'object' && err !== null ? (err as { name?: unknown }).name : undefined;
	if (name === 'TimeoutError') {
		return new HeyGenError({
			code: 'timeout',
			kind: 'retryable',
			endpoint,
			message: `HeyGen did not answer ${endpoint} within ${timeoutMs} ms`
		});
	}
	if (name === 'AbortError') {
		return new HeyGenError({
			code: 'aborted',
			kind: 'retryable',
			endpoint,
			message: `Call to HeyGen ${endpoint} was aborted`
		});
	}
	const parts: string[] = [];
	let e: unknown = err;
	for (let depth = 0; depth < 4 && typeof e === 'object' && e !== null; depth++) {
		const o = e as { code?: unknown; message?: unknown; cause?: unknown };
		if (typeof o.code === 'string' && !parts.includes(o.code)) parts.push(o.code);
		if (typeof o.message === 'string' && o.message && !parts.includes(o.message)) parts.push(o.message);
		e = o.cause;
	}
	const detail = parts.length ? redact(clip(parts.join(': ')), apiKey) : 'unknown network error';
	return new HeyGenError({
		code: 'network',
		kind: 'retryable',
		endpoint,
		message: `Could not reach HeyGen for ${endpoint}: ${detail}`
	});
}

/** A reply that is not JSON or does not match the expected shape. Retryable: HeyGen may be mid-deploy. */
export function badResponse(endpoint: string, detail: string, apiKey: string, httpStatus?: number): HeyGenError {
	return new HeyGenError({
		code: 'bad_response',
		kind: 'retryable',
		endpoint,
		...(httpStatus !== undefined ? { httpStatus } : {}),
		message: redact(`HeyGen reply for ${endpoint} ${detail}`, apiKey)
	});
}
