/**
 * Thin typed client for HeyGen's v1/v2 REST API over `fetch`.
 *
 * - Header `x-api-key`; every call has a timeout (AbortSignal.timeout) that also covers reading the body.
 * - Every reply is zod-validated: lenient on fields we do not read, strict on the ones we do. A reply that
 *   is not JSON or does not match is a retryable `HeyGenError('bad_response')` naming the field path.
 * - Every failure is a `HeyGenError` classified permanent/retryable (see errors.ts). The API key never
 *   appears in an error.
 */
import { z } from 'zod';
import { badResponse, errorFromFetchFailure, errorFromHttp, HeyGenError, normaliseCode, redact } from './errors.ts';
import { MAX_SCRIPT_CHARS, videoOptionsSchema } from './options.ts';
import type {
	Avatar,
	GenerateVideoRequest,
	HeyGenClient,
	HeyGenClientOptions,
	VideoStatus,
	Voice
} from './types.ts';

export const DEFAULT_TIMEOUT_MS = 30_000;

// ---- reply schemas (z.object strips unknown keys: lenient on extra fields) ----

const optionalText = z.string().nullish();

const generateReply = z.object({
	error: z.null().optional(),
	data: z.object({ video_id: z.string().min(1) })
});

const statusReply = z.object({
	code: z.literal(100),
	data: z.object({
		id: z.string().min(1),
		status: z.enum(['pending', 'waiting', 'processing', 'completed', 'failed']),
		video_url: optionalText,
		thumbnail_url: optionalText,
		duration: z.number().nullish(),
		callback_id: optionalText,
		error: z
			.object({
				code: z.union([z.string(), z.number()]),
				message: z.string(),
				detail: optionalText
			})
			.nullish()
	})
});

const avatarsReply = z.object({
	error: z.null().optional(),
	data: z.object({
		avatars: z.array(
			z.object({
				avatar_id: z.string().min(1),
				avatar_name: z.string(),
				gender: optionalText,
				preview_image_url: optionalText,
				preview_video_url: optionalText
			})
		),
		talking_photos: z.array(z.unknown()).nullish()
	})
});

const voicesReply = z.object({
	error: z.null().optional(),
	data: z.object({
		voices: z.array(
			z.object({
				voice_id: z.string().min(1),
				name: z.string(),
				language: optionalText,
				gender: optionalText,
				preview_audio: optionalText
			})
		)
	})
});

const quotaReply = z.object({
	error: z.null().optional(),
	data: z.object({ remaining_quota: z.number() })
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

/** Map our VideoOptions + script to HeyGen's `POST /v2/video/generate` body. Exported for tests. */
export function buildGenerateBody(req: GenerateVideoRequest): Record<string, unknown> {
	const o = req.options;
	const voice: Record<string, unknown> = { type: 'text', voice_id: req.voiceId, input_text: req.script };
	if (o.voice_speed !== undefined) voice['speed'] = o.voice_speed;
	const scene: Record<string, unknown> = {
		character: { type: 'avatar', avatar_id: req.avatarId, avatar_style: o.avatar_style ?? 'normal' },
		voice
	};
	if (o.background_color !== undefined) scene['background'] = { type: 'color', value: o.background_color };
	const body: Record<string, unknown> = { video_inputs: [scene] };
	if (o.dimension !== undefined) body['dimension'] = { width: o.dimension.width, height: o.dimension.height };
	if (o.caption !== undefined) body['caption'] = o.caption;
	if (o.title !== undefined) body['title'] = o.title;
	if (o.test !== undefined) body['test'] = o.test;
	body['callback_id'] = req.callbackId;
	if (req.callbackUrl !== undefined) body['callback_url'] = req.callbackUrl;
	return body;
}

export function createHeyGenClient(opts: HeyGenClientOptions): HeyGenClient {
	const baseUrl = opts.baseUrl.replace(/\/+$/, '');
	const apiKey = opts.apiKey;
	const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
	const doFetch = opts.fetch ?? globalThis.fetch;
	if (!apiKey) {
		throw new HeyGenError({ code: 'invalid_api_key', kind: 'permanent', message: 'No HeyGen API key configured' });
	}

	async function call<S extends z.ZodType>(
		method: 'GET' | 'POST',
		path: string,
		query: Record<string, string> | null,
		schema: S,
		body?: unknown
	): Promise<z.infer<S>> {
		const endpoint = `${method} ${path}`;
		const url = baseUrl + path + (query ? `?${new URLSearchParams(query).toString()}` : '');
		const headers: Record<string, string> = { 'x-api-key': apiKey, accept: 'application/json' };
		const init: RequestInit = { method, headers, signal: AbortSignal.timeout(timeoutMs) };
		if (body !== undefined) {
			headers['content-type'] = 'application/json';
			init.body = JSON.stringify(body);
		}

		let res: Response;
		let text: string;
		try {
			res = await doFetch(url, init);
			text = await res.text();
		} catch (err) {
			throw errorFromFetchFailure(err, endpoint, apiKey, timeoutMs);
		}

		let json: unknown;
		let parseError: string | null = null;
		try {
			json = JSON.parse(text);
		} catch (err) {
			parseError = err instanceof Error ? err.message : 'invalid JSON';
		}

		if (!res.ok) {
			throw errorFromHttp({
				status: res.status,
				body: parseError === null ? json : undefined,
				rawText: text,
				retryAfter: res.headers.get('retry-after'),
				endpoint,
				apiKey
			});
		}
		if (parseError !== null) {
			const type = res.headers.get('content-type') ?? 'no content-type';
			throw badResponse(endpoint, `was not valid JSON (HTTP ${res.status}, ${type}): ${parseError}`, apiKey, res.status);
		}
		// A 2xx whose body still reports an error (v2 `error: {...}`, v1 `code != 100` with no data).
		if (typeof json === 'object' && json !== null) {
			const j = json as Record<string, unknown>;
			const v2Error = j['error'] !== null && j['error'] !== undefined;
			const v1Error = typeof j['code'] === 'number' && j['code'] !== 100 && (j['data'] === null || j['data'] === undefined);
			if (v2Error || v1Error) {
				throw errorFromHttp({
					status: res.status,
					body: json,
					rawText: text,
					retryAfter: res.headers.get('retry-after'),
					endpoint,
					apiKey
				});
			}
		}
		const parsed = schema.safeParse(json);
		if (!parsed.success) {
			throw badResponse(endpoint, `did not match: ${describeIssues(parsed.error)}`, apiKey, res.status);
		}
		return parsed.data;
	}

	return {
		async generateVideo(req) {
			const endpoint = 'POST /v2/video/generate';
			const opt = videoOptionsSchema.safeParse(req.options ?? {});
			if (!opt.success) {
				throw new HeyGenError({
					code: 'invalid_options',
					kind: 'permanent',
					endpoint,
					message: redact(`Invalid video options: ${describeIssues(opt.error)}`, apiKey)
				});
			}
			if (req.script.trim() === '') {
				throw new HeyGenError({ code: 'empty_script', kind: 'permanent', endpoint, message: 'The script is empty' });
			}
			if (req.script.length > MAX_SCRIPT_CHARS) {
				throw new HeyGenError({
					code: 'script_too_long',
					kind: 'permanent',
					endpoint,
					message: `The script has ${req.script.length} characters; HeyGen allows at most ${MAX_SCRIPT_CHARS} per scene`
				});
			}
			const reply = await call('POST', '/v2/video/generate', null, generateReply, buildGenerateBody({ ...req, options: opt.data }));
			return { videoId: reply.data.video_id };
		},

		async getVideoStatus(videoId) {
			const reply = await call('GET', '/v1/video_status.get', { video_id: videoId }, statusReply);
			const d = reply.data;
			let error: VideoStatus['error'] = null;
			if (d.error) {
				error = { code: normaliseCode(d.error.code), message: d.error.message };
				if (present(d.error.detail)) error.detail = d.error.detail;
			}
			return {
				id: d.id,
				status: d.status,
				videoUrl: present(d.video_url) ? d.video_url : null,
				thumbnailUrl: present(d.thumbnail_url) ? d.thumbnail_url : null,
				duration: d.duration ?? null,
				error
			};
		},

		async listAvatars() {
			const reply = await call('GET', '/v2/avatars', null, avatarsReply);
			return reply.data.avatars.map((a) => {
				const out: Avatar = { id: a.avatar_id, name: a.avatar_name };
				if (present(a.preview_image_url)) out.previewImageUrl = a.preview_image_url;
				if (present(a.preview_video_url)) out.previewVideoUrl = a.preview_video_url;
				if (present(a.gender)) out.gender = a.gender;
				return out;
			});
		},

		async listVoices() {
			const reply = await call('GET', '/v2/voices', null, voicesReply);
			return reply.data.voices.map((v) => {
				const out: Voice = { id: v.voice_id, name: v.name };
				if (present(v.language)) out.language = v.language;
				if (present(v.gender)) out.gender = v.gender;
				if (present(v.preview_audio)) out.previewAudioUrl = v.preview_audio;
				return out;
			});
		},

		async remainingQuota() {
			const reply = await call('GET', '/v2/user/remaining_quota', null, quotaReply);
			return { remainingQuota: reply.data.remaining_quota };
		}
	};
}
