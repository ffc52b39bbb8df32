/**
 * Typed client for HeyGen's v3 REST API over `fetch` (the v1/v2 endpoints were retired on
 * 2026-11-01; nothing here calls them).
 *
 * - Header `x-api-key`; every call has a timeout that also covers the body.
 * - Reply bodies are read up to `maxBodyBytes`; a bigger one is abandoned (retryable) instead of
 *   being buffered.
 * - Every reply is zod-validated: lenient on fields we do not read, strict on the ones we do.
 * - Every failure is a `HeyGenError` classified permanent/retryable (errors.ts) with a sentence a
 *   person understands. The API key never appears in an error.
 */
import { z } from 'zod';
import { badResponse, errorFromFetchFailure, errorFromHttp, HeyGenError, redact, type ErrorContext } from './errors.ts';
import { MAX_SCRIPT_CHARS, videoOptionsSchema } from './options.ts';
import type { Account, Avatar, BulkVideoStatus, Credits, GenerateVideoRequest, HeyGenClient, HeyGenClientOptions, VideoStatus, Voice } from './types.ts';
import { readCapped } from './read-capped.ts';

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
/** Pages followed at most per list, so a server that always answers has_more cannot loop us forever. */
const MAX_PAGES = 200;
export const IDEMPOTENCY_KEY = /^[A-Za-z0-9_\-:.]{1,255}$/;

// ---- reply schemas (z.object strips unknown keys: lenient on extra fields) ----

const text = z.string().nullish();
const num = z.number().nullish();

const createReply = z.object({ data: z.object({ video_id: z.string().min(1).max(200) }) });

const videoReply = z.object({
	data: z.object({
		id: z.string().min(1),
		status: z.enum(['pending', 'processing', 'completed', 'failed', 'waiting']),
		video_url: text,
		thumbnail_url: text,
		subtitle_url: text,
		duration: num,
		completed_at: num,
		failure_code: z.union([z.string(), z.number()]).nullish(),
		failure_message: text
	})
});

export const BULK_STATUS_MAX_IDS = 100;
const bulkError = z.union([z.object({ code: z.union([z.string(), z.number()]).nullish(), message: text }), z.string()]).nullish();
const bulkStatusItem = z.object({
	video_id: z.string().min(1),
	status: z.enum(['queued', 'pending', 'waiting', 'processing', 'completed', 'failed', 'not_found']),
	error: bulkError
});

const page = <T extends z.ZodType>(item: T) =>
	z.object({ data: z.array(item), has_more: z.boolean().nullish(), next_token: text });

const lookItem = z.object({
	id: z.string().min(1),
	name: text,
	gender: text,
	default_voice_id: text,
	preview_image_url: text,
	preview_video_url: text
});

const voiceItem = z.object({
	voice_id: z.string().min(1),
	name: text,
	language: text,
	gender: text,
	preview_audio_url: text
});

const credit = z.object({ remaining: num, resets_at: z.union([z.number(), z.string()]).nullish() }).nullish();
const meReply = z.object({
	data: z.object({
		username: text,
		email: text,
		billing_type: text,
		wallet: z.object({ currency: text, remaining_balance: num }).nullish(),
		subscription: z.object({ plan: text, credits: z.object({ premium_credits: credit, add_on_credits: credit }).nullish() }).nullish(),
		usage_based: z.object({ included_credits: num, remaining_credits: num, spending_cap_usd: num, spending_current_usd: num }).nullish()
	})
});

function describeIssues(error: z.ZodError): string {
	return error.issues
		.slice(0, 3)
		.map((i) => `${i.path.length ? i.path.map(String).join('.') : '(root)'}: ${i.message}`)
		.join('; ');
}

function present<T>(v: T | null | undefined): v is T {
	return v !== null && v !== undefined && v !== '';
}

/** HeyGen's `POST /v3/videos` body for a job. Exported for tests. */
export function buildCreateBody(req: GenerateVideoRequest): Record<string, unknown> {
	const o = req.options;
	const body: Record<string, unknown> = { type: 'avatar', avatar_id: req.avatarId, script: req.script, voice_id: req.voiceId };
	if (o.title !== undefined) body['title'] = o.title;
	if (o.resolution !== undefined) body['resolution'] = o.resolution;
	if (o.aspect_ratio !== undefined) body['aspect_ratio'] = o.aspect_ratio;
	if (o.background_color !== undefined) body['background'] = { type: 'color', value: o.background_color };
	const voice: Record<string, unknown> = {};
	if (o.voice_speed !== undefined) voice['speed'] = o.voice_speed;
	if (o.voice_pitch !== undefined) voice['pitch'] = o.voice_pitch;
	if (o.voice_locale !== undefined) voice['locale'] = o.voice_locale;
	if (Object.keys(voice).length) body['voice_settings'] = voice;
	if (o.captions) body['caption'] = { file_format: 'srt' };
	if (o.remove_background !== undefined) body['remove_background'] = o.remove_background;
	if (o.engine !== undefined) body['engine'] = { type: o.engine };
	body['callback_id'] = req.callbackId;
	if (req.callbackUrl !== undefined) body['callback_url'] = req.callbackUrl;
	return body;
}

function creditsOf(d: z.infer<typeof meReply>['data']): Credits {
	const type = d.billing_type === 'wallet' || d.billing_type === 'subscription' || d.billing_type === 'usage_based' ? d.billing_type : null;
	const fmt = (n: number) => n.toLocaleString('en', { maximumFractionDigits: 2 });
	if ((type === 'wallet' || (!type && d.wallet)) && d.wallet && typeof d.wallet.remaining_balance === 'number') {
		const usd = (d.wallet.currency ?? 'usd').toLowerCase() === 'usd';
		const n = d.wallet.remaining_balance;
		return { billingType: 'wallet', remaining: n, unit: usd ? 'usd' : 'credits', summary: usd ? `$${fmt(n)} in the wallet` : `${fmt(n)} credits in the wallet` };
	}
	if ((type === 'subscription' || (!type && d.subscription)) && d.subscription) {
		const premium = d.subscription.credits?.premium_credits?.remaining ?? null;
		const addOn = d.subscription.credits?.add_on_credits?.remaining ?? null;
		if (premium !== null || addOn !== null) {
			const n = (premium ?? 0) + (addOn ?? 0);
			const plan = d.subscription.plan ? ` (${d.subscription.plan} plan)` : '';
			return { billingType: 'subscription', remaining: n, unit: 'credits', summary: `${fmt(n)} credits${plan}` };
		}
	}
	if ((type === 'usage_based' || (!type && d.usage_based)) && d.usage_based) {
		const u = d.usage_based;
		if (typeof u.remaining_credits === 'number') {
			const cap = typeof u.spending_cap_usd === 'number' && typeof u.spending_current_usd === 'number' ? `; $${fmt(u.spending_current_usd)} of a $${fmt(u.spending_cap_usd)} cap spent` : '';
			return { billingType: 'usage_based', remaining: u.remaining_credits, unit: 'credits', summary: `${fmt(u.remaining_credits)} included credits left${cap}` };
		}
	}
	return { billingType: type ?? 'unknown', remaining: null, unit: null, summary: 'HeyGen did not say how many credits are left' };
}

export function createHeyGenClient(opts: HeyGenClientOptions): HeyGenClient {
	const baseUrl = opts.baseUrl.replace(/\/+$/, '');
	const apiKey = opts.apiKey;
	const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
	const maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
	const doFetch = opts.fetch ?? globalThis.fetch;
	if (!apiKey) {
		throw new HeyGenError({ code: 'invalid_api_key', kind: 'permanent', message: 'No HeyGen API key is saved. Save one in the HeyGen settings.' });
	}

	async function call<S extends z.ZodType>(
		method: 'GET' | 'POST',
		path: string,
		endpoint: string,
		schema: S,
		more: { query?: Record<string, string>; body?: unknown; headers?: Record<string, string>; context?: ErrorContext } = {}
	): Promise<z.infer<S>> {
		const q = more.query && Object.keys(more.query).length ? `?${new URLSearchParams(more.query).toString()}` : '';
		const headers: Record<string, string> = { 'x-api-key': apiKey, accept: 'application/json', ...more.headers };
		// A timer cleared as soon as the reply is read: AbortSignal.timeout() would keep a timer and
		// its signal alive for the full timeout after every call (thousands at once when polling).
		const abort = new AbortController();
		const timer = setTimeout(() => abort.abort(new DOMException(`HeyGen did not answer within ${timeoutMs} ms`, 'TimeoutError')), timeoutMs);
		const init: RequestInit = { method, headers, signal: abort.signal, redirect: 'error' };
		if (more.body !== undefined) {
			headers['content-type'] = 'application/json';
			init.body = JSON.stringify(more.body);
		}

		let res: Response;
		let raw: string | null;
		try {
			res = await doFetch(baseUrl + path + q, init);
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
			json = JSON.parse(raw);
		} catch (err) {
			parseError = err instanceof Error ? err.message : 'invalid JSON';
		}
		if (!res.ok) {
			throw errorFromHttp({
				status: res.status,
				body: parseError === null ? json : undefined,
				rawText: raw,
				retryAfter: res.headers.get('retry-after'),
				endpoint,
				apiKey,
				...(more.context && { context: more.context })
			});
		}
		if (parseError !== null) {
			const type = res.headers.get('content-type') ?? 'no content-type';
			throw badResponse(endpoint, `not valid JSON (HTTP ${res.status}, ${type})`, apiKey, res.status);
		}
		// A 2xx whose body still carries the error envelope.
		if (typeof json === 'object' && json !== null && (json as Record<string, unknown>)['error']) {
			throw errorFromHttp({ status: 400, body: json, rawText: raw, retryAfter: null, endpoint, apiKey, ...(more.context && { context: more.context }) });
		}
		const parsed = schema.safeParse(json);
		if (!parsed.success) throw badResponse(endpoint, describeIssues(parsed.error), apiKey, res.status);
		return parsed.data;
	}

	async function allPages<T>(path: string, item: z.ZodType<T>, query: Record<string, string>): Promise<T[]> {
		const schema = page(item);
		const out: T[] = [];
		let token: string | null = null;
		for (let n = 0; n < MAX_PAGES; n++) {
			const reply: z.infer<typeof schema> = await call('GET', path, `GET ${path}`, schema, { query: { ...query, ...(token && { token }) } });
			out.push(...(reply.data as T[]));
			token = reply.has_more === false ? null : (reply.next_token ?? null);
			if (!token) return out;
		}
		throw badResponse(`GET ${path}`, `still had more pages after ${MAX_PAGES}`, apiKey);
	}

	return {
		async generateVideo(req) {
			const endpoint = 'POST /v3/videos';
			const opt = videoOptionsSchema.safeParse(req.options ?? {});
			if (!opt.success) {
				throw new HeyGenError({ code: 'invalid_options', kind: 'permanent', endpoint, message: redact(`The video options are not valid: ${describeIssues(opt.error)}`, apiKey) });
			}
			if (req.script.trim() === '') {
				throw new HeyGenError({ code: 'empty_script', kind: 'permanent', endpoint, message: 'The script is empty. Write the text the avatar should say, then retry.' });
			}
			if (req.script.length > MAX_SCRIPT_CHARS) {
				throw new HeyGenError({
					code: 'script_too_long',
					kind: 'permanent',
					endpoint,
					message: `The script has ${req.script.length} characters; HeyGen accepts at most ${MAX_SCRIPT_CHARS}. Shorten it, then retry.`
				});
			}
			if (!IDEMPOTENCY_KEY.test(req.idempotencyKey)) {
				throw new HeyGenError({ code: 'invalid_options', kind: 'permanent', endpoint, message: 'Internal error: the idempotency key has an invalid format.' });
			}
			const reply = await call('POST', '/v3/videos', endpoint, createReply, {
				body: buildCreateBody({ ...req, options: opt.data }),
				headers: { 'idempotency-key': req.idempotencyKey },
				context: { avatarId: req.avatarId, voiceId: req.voiceId }
			});
			return { videoId: reply.data.video_id };
		},

		async getVideoStatus(videoId) {
			const path = `/v3/videos/${encodeURIComponent(videoId)}`;
			const reply = await call('GET', path, 'GET /v3/videos/{id}', videoReply);
			const d = reply.data;
			let error: VideoStatus['error'] = null;
			if (d.status === 'failed') {
				error = {
					code: present(d.failure_code) ? redact(String(d.failure_code), apiKey).slice(0, 100) : 'render_failed',
					message: redact(d.failure_message ?? '', apiKey)
				};
			}
			return {
				id: d.id,
				status: d.status === 'waiting' ? 'pending' : d.status,
				videoUrl: present(d.video_url) ? d.video_url : null,
				thumbnailUrl: present(d.thumbnail_url) ? d.thumbnail_url : null,
				subtitleUrl: present(d.subtitle_url) ? d.subtitle_url : null,
				duration: d.duration ?? null,
				completedAt: typeof d.completed_at === 'number' ? new Date(d.completed_at * 1000) : null,
				error
			};
		},

		async getVideoStatuses(videoIds) {
			const endpoint = 'GET /v3/videos/statuses';
			if (videoIds.length === 0) return new Map();
			if (videoIds.length > BULK_STATUS_MAX_IDS) {
				throw new HeyGenError({ code: 'invalid_options', kind: 'permanent', endpoint, message: `Internal error: asked for ${videoIds.length} video statuses in one call; HeyGen takes at most ${BULK_STATUS_MAX_IDS}.` });
			}
			const items = await allPages('/v3/videos/statuses', bulkStatusItem, { video_ids: videoIds.join(',') });
			const out = new Map<string, BulkVideoStatus>();
			for (const d of items) {
				let error: BulkVideoStatus['error'] = null;
				if (d.status === 'failed') {
					const e = typeof d.error === 'string' ? { code: null, message: d.error } : d.error;
					error = {
						code: present(e?.code) ? redact(String(e.code), apiKey).slice(0, 100) : 'render_failed',
						message: redact(e?.message ?? '', apiKey)
					};
				}
				const status = d.status === 'queued' || d.status === 'waiting' ? 'pending' : d.status;
				out.set(d.video_id, { id: d.video_id, status, error });
			}
			return out;
		},

		async listAvatars() {
			const looks = await allPages('/v3/avatars/looks', lookItem, { limit: '50' });
			return looks.map((a) => {
				const out: Avatar = { id: a.id, name: a.name || a.id };
				if (present(a.preview_image_url)) out.previewImageUrl = a.preview_image_url;
				if (present(a.preview_video_url)) out.previewVideoUrl = a.preview_video_url;
				if (present(a.gender)) out.gender = a.gender;
				if (present(a.default_voice_id)) out.defaultVoiceId = a.default_voice_id;
				return out;
			});
		},

		async listVoices(o = {}) {
			const voices = await allPages('/v3/voices', voiceItem, { limit: '100', ...(o.language && { language: o.language }) });
			return voices.map((v) => {
				const out: Voice = { id: v.voice_id, name: v.name || v.voice_id };
				if (present(v.language)) out.language = v.language;
				if (present(v.gender)) out.gender = v.gender;
				if (present(v.preview_audio_url)) out.previewAudioUrl = v.preview_audio_url;
				return out;
			});
		},

		async account(): Promise<Account> {
			const reply = await call('GET', '/v3/users/me', 'GET /v3/users/me', meReply);
			return { email: reply.data.email ?? null, username: reply.data.username ?? null, credits: creditsOf(reply.data) };
		}
	};
}
