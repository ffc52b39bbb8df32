/**
 * The one place that calls `fetch` towards HeyGen's API (tests/heygen/one-transport.test.ts keeps
 * it so). Every endpoint, today's and future ones, goes through `send`, and so gets the same:
 *
 * - header `x-api-key`, JSON in and out, no redirects followed;
 * - one timeout (HEYGEN_TIMEOUT_MS) covering the reply body too;
 * - a capped body read (read-capped.ts): a reply over `maxBodyBytes` is abandoned, not buffered;
 * - error mapping (errors.ts): every failure is a HeyGenError, permanent or retryable, with
 *   Retry-After honoured and HeyGen's text made safe (heygen-said.ts);
 * - the key never in an error: no Request, headers or fetch `cause` is kept.
 */
import type { z } from 'zod';
import { badResponse, errorFromFetchFailure, errorFromHttp, HeyGenError, type ErrorContext } from './errors.ts';
import { readCapped } from './read-capped.ts';

/** Mirrors HEYGEN_TIMEOUT_MS's default (config/index.ts); callers pass the configured value. */
export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface TransportOptions {
	/** e.g. `https://api.heygen.com` (HEYGEN_API_URL) or a simulator URL. */
	baseUrl: string;
	apiKey: string;
	/** Per call, covering the reply body too. Default DEFAULT_TIMEOUT_MS. */
	timeoutMs?: number;
	/** Largest reply body accepted, in bytes. Default 4 MiB. */
	maxBodyBytes?: number;
	/** Defaults to global `fetch`. */
	fetch?: typeof fetch;
}

type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

export interface HeyGenCall {
	method: HttpMethod;
	/** HeyGen's route as its spec names it, e.g. `/v3/videos/{video_id}`; also the error's endpoint. */
	route: string;
	/** Values for the route's `{names}`, URL-encoded into the path. */
	params?: Record<string, string>;
	query?: Record<string, string>;
	body?: unknown;
	/** A multipart body instead of JSON (`POST /v3/assets`); fetch sets its content type and boundary. */
	form?: FormData;
	headers?: Record<string, string>;
	/** What the call is about, so an error can name it. */
	context?: ErrorContext;
}

export interface HeyGenTransport {
	/** Sends the call; the 2xx reply parsed with `schema`, or null for `schema` null (a reply not read as JSON). */
	send<S extends z.ZodType>(call: HeyGenCall, schema: S): Promise<z.infer<S>>;
	send(call: HeyGenCall, schema: null): Promise<null>;
}

/** `METHOD /route`, e.g. `GET /v3/videos/{video_id}`: how errors and the contract test name a call. */
export function endpointOf(call: Pick<HeyGenCall, 'method' | 'route'>): string {
	return `${call.method} ${call.route}`;
}

/** The path with `{name}` filled in from `params`. */
function pathOf(call: Pick<HeyGenCall, 'route' | 'params'>): string {
	return call.route.replace(/\{(\w+)\}/g, (_m, name: string) => {
		const v = call.params?.[name];
		if (v === undefined) throw new Error(`HeyGen route ${call.route} needs the parameter ${name}`);
		return encodeURIComponent(v);
	});
}

/** The URL and init a call is sent with. */
function buildRequest(
	opts: Pick<TransportOptions, 'baseUrl' | 'apiKey'>,
	call: HeyGenCall
): { url: string; init: RequestInit & { headers: Record<string, string> } } {
	const q = call.query && Object.keys(call.query).length ? `?${new URLSearchParams(call.query).toString()}` : '';
	const headers: Record<string, string> = { 'x-api-key': opts.apiKey, accept: 'application/json', ...call.headers };
	const init: RequestInit & { headers: Record<string, string> } = { method: call.method, headers, redirect: 'error' };
	if (call.form !== undefined) {
		init.body = call.form;
	} else if (call.body !== undefined) {
		headers['content-type'] = 'application/json';
		init.body = JSON.stringify(call.body);
	}
	return { url: opts.baseUrl.replace(/\/+$/, '') + pathOf(call) + q, init };
}

function describeIssues(error: z.ZodError): string {
	return error.issues
		.slice(0, 3)
		.map((i) => `${i.path.length ? i.path.map(String).join('.') : '(root)'}: ${i.message}`)
		.join('; ');
}

export function createTransport(opts: TransportOptions): HeyGenTransport {
	const apiKey = opts.apiKey;
	const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
	const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
	const doFetch = opts.fetch ?? globalThis.fetch;
	if (!apiKey) {
		const message = 'No HeyGen API key is saved. Save one in the HeyGen settings.';
		throw new HeyGenError({ code: 'invalid_api_key', kind: 'permanent', message });
	}

	async function send(call: HeyGenCall, schema: z.ZodType | null): Promise<unknown> {
		const endpoint = endpointOf(call);
		const { url, init } = buildRequest(opts, call);
		// A timer cleared as soon as the reply is read: AbortSignal.timeout() would keep a timer and
		// its signal alive for the full timeout after every call (thousands at once when polling).
		const abort = new AbortController();
		const timeout = () => abort.abort(new DOMException(`HeyGen did not answer within ${timeoutMs} ms`, 'TimeoutError'));
		const timer = setTimeout(timeout, timeoutMs);
		init.signal = abort.signal;

		let res: Response;
		let raw: string | null;
		try {
			res = await doFetch(url, init);
			raw = (await readCapped(res, maxBody))?.toString('utf8') ?? null;
		} catch (err) {
			throw errorFromFetchFailure(err, endpoint, apiKey, timeoutMs);
		} finally {
			clearTimeout(timer);
		}
		if (raw === null) {
			throw new HeyGenError({
				code: 'reply_too_large',
				kind: 'retryable',
				endpoint,
				httpStatus: res.status,
				message: `HeyGen sent a reply larger than ${Math.round(maxBody / 1024)} KiB to ${endpoint}; it was not read.`
			});
		}

		let json: unknown;
		let parseError: string | null = null;
		try {
			json = raw === '' && schema === null ? null : JSON.parse(raw);
		} catch (err) {
			parseError = err instanceof Error ? err.message : 'invalid JSON';
		}
		const context = call.context && { context: call.context };
		if (!res.ok) {
			const retryAfter = res.headers.get('retry-after');
			const body = parseError === null ? json : undefined;
			throw errorFromHttp({ status: res.status, body, rawText: raw, retryAfter, endpoint, apiKey, ...context });
		}
		if (schema === null) return null;
		if (parseError !== null) {
			const type = res.headers.get('content-type') ?? 'no content-type';
			throw badResponse(endpoint, `not valid JSON (HTTP ${res.status}, ${type})`, apiKey, res.status);
		}
		// A 2xx whose body still carries the error envelope.
		if (typeof json === 'object' && json !== null && (json as Record<string, unknown>)['error']) {
			throw errorFromHttp({ status: 400, body: json, rawText: raw, retryAfter: null, endpoint, apiKey, ...context });
		}
		const parsed = schema.safeParse(json);
		if (!parsed.success) throw badResponse(endpoint, describeIssues(parsed.error), apiKey, res.status);
		return parsed.data;
	}

	return { send } as HeyGenTransport;
}
