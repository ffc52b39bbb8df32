/**
 * Typed client for HeyGen's v3 REST API (the v1/v2 endpoints were retired on 2026-11-01; nothing
 * here calls them). Every call goes through the one transport (transport.ts: timeout, capped body,
 * error mapping, Retry-After, key redaction).
 *
 * - Every reply is zod-validated: lenient on fields we do not read, strict on the ones we do.
 * - Every failure is a `HeyGenError` classified permanent/retryable (errors.ts) with a sentence a
 *   person understands. The API key never appears in an error.
 * - A failed render's code and message are made safe to store (heygen-said.ts) before they leave.
 */
import { z } from 'zod';
import { badResponse, HeyGenError, redact } from './errors.ts';
import { safeSaid } from './heygen-said.ts';
import { containsSecret } from './secret-forms.ts';
import { MAX_SCRIPT_CHARS, videoOptionsSchema } from './options.ts';
import { createTransport, type HeyGenCall } from './transport.ts';
import { translationMethods } from './translations.ts';
import type { Account, Avatar, BulkVideoStatus, Credits, GenerateVideoRequest, HeyGenClient, HeyGenClientOptions, Voice } from './types.ts';

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

const page = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item), has_more: z.boolean().nullish(), next_token: text });

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
		return {
			billingType: 'wallet',
			remaining: n,
			unit: usd ? 'usd' : 'credits',
			summary: usd ? `$${fmt(n)} in the wallet` : `${fmt(n)} credits in the wallet`
		};
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
			const cap =
				typeof u.spending_cap_usd === 'number' && typeof u.spending_current_usd === 'number'
					? `; $${fmt(u.spending_current_usd)} of a $${fmt(u.spending_cap_usd)} cap spent`
					: '';
			return {
				billingType: 'usage_based',
				remaining: u.remaining_credits,
				unit: 'credits',
				summary: `${fmt(u.remaining_credits)} included credits left${cap}`
			};
		}
	}
	return { billingType: type ?? 'unknown', remaining: null, unit: null, summary: 'HeyGen did not say how many credits are left' };
}

/** A failed render's code and message as they may be stored (known codes in our words, never the key). */
function renderFailure(raw: { code?: unknown; message?: unknown } | null | undefined, apiKey: string): { code: string; message: string } {
	const said = safeSaid(raw ?? {}, apiKey, 'render_failed');
	return { code: said.code, message: said.text };
}

export function createHeyGenClient(opts: HeyGenClientOptions): HeyGenClient {
	const apiKey = opts.apiKey;
	const transport = createTransport(opts);
	const call = <S extends z.ZodType>(c: HeyGenCall, schema: S) => transport.send(c, schema);
	// What HeyGen sends is stored and shown (URLs, names): a value carrying the key in any form is not kept.
	const kept = <T>(v: T | null | undefined): v is T => present(v) && !containsSecret(String(v), apiKey);

	async function allPages<T>(route: string, item: z.ZodType<T>, query: Record<string, string>): Promise<T[]> {
		const schema = page(item);
		const out: T[] = [];
		let token: string | null = null;
		for (let n = 0; n < MAX_PAGES; n++) {
			const request: HeyGenCall = { method: 'GET', route, query: { ...query, ...(token && { token }) } };
			const reply: z.infer<typeof schema> = await call(request, schema);
			out.push(...(reply.data as T[]));
			token = reply.has_more === false ? null : (reply.next_token ?? null);
			if (!token) return out;
		}
		throw badResponse(`GET ${route}`, `still had more pages after ${MAX_PAGES}`, apiKey);
	}

	return {
		...translationMethods(call, apiKey, kept),
		async generateVideo(req) {
			const endpoint = 'POST /v3/videos';
			const opt = videoOptionsSchema.safeParse(req.options ?? {});
			if (!opt.success) {
				throw new HeyGenError({
					code: 'invalid_options',
					kind: 'permanent',
					endpoint,
					message: redact(`The video options are not valid: ${describeIssues(opt.error)}`, apiKey)
				});
			}
			if (req.script.trim() === '') {
				throw new HeyGenError({
					code: 'empty_script',
					kind: 'permanent',
					endpoint,
					message: 'The script is empty. Write the text the avatar should say (Edit), then Generate again.'
				});
			}
			if (req.script.length > MAX_SCRIPT_CHARS) {
				throw new HeyGenError({
					code: 'script_too_long',
					kind: 'permanent',
					endpoint,
					message: `The script has ${req.script.length} characters; HeyGen accepts at most ${MAX_SCRIPT_CHARS}. Shorten it (Edit), then Generate again.`
				});
			}
			if (!IDEMPOTENCY_KEY.test(req.idempotencyKey)) {
				throw new HeyGenError({
					code: 'invalid_options',
					kind: 'permanent',
					endpoint,
					message: 'Internal error: the idempotency key has an invalid format.'
				});
			}
			const reply = await call(
				{
					method: 'POST',
					route: '/v3/videos',
					body: buildCreateBody({ ...req, options: opt.data }),
					headers: { 'idempotency-key': req.idempotencyKey },
					context: { avatarId: req.avatarId, voiceId: req.voiceId }
				},
				createReply
			);
			if (containsSecret(reply.data.video_id, apiKey)) throw badResponse(endpoint, 'data.video_id: not an id', apiKey, 200);
			return { videoId: reply.data.video_id };
		},

		async getVideoStatus(videoId) {
			const reply = await call({ method: 'GET', route: '/v3/videos/{video_id}', params: { video_id: videoId } }, videoReply);
			const d = reply.data;
			const error = d.status === 'failed' ? renderFailure({ code: d.failure_code, message: d.failure_message }, apiKey) : null;
			return {
				id: d.id,
				status: d.status === 'waiting' ? 'pending' : d.status,
				videoUrl: kept(d.video_url) ? d.video_url : null,
				thumbnailUrl: kept(d.thumbnail_url) ? d.thumbnail_url : null,
				subtitleUrl: kept(d.subtitle_url) ? d.subtitle_url : null,
				duration: d.duration ?? null,
				completedAt: typeof d.completed_at === 'number' ? new Date(d.completed_at * 1000) : null,
				error
			};
		},

		async getVideoStatuses(videoIds) {
			const endpoint = 'GET /v3/videos/statuses';
			if (videoIds.length === 0) return new Map();
			if (videoIds.length > BULK_STATUS_MAX_IDS) {
				throw new HeyGenError({
					code: 'invalid_options',
					kind: 'permanent',
					endpoint,
					message: `Internal error: asked for ${videoIds.length} video statuses in one call; HeyGen takes at most ${BULK_STATUS_MAX_IDS}.`
				});
			}
			const items = await allPages('/v3/videos/statuses', bulkStatusItem, { video_ids: videoIds.join(',') });
			const out = new Map<string, BulkVideoStatus>();
			for (const d of items) {
				const said = typeof d.error === 'string' ? { message: d.error } : d.error;
				const error = d.status === 'failed' ? renderFailure(said, apiKey) : null;
				const status = d.status === 'queued' || d.status === 'waiting' ? 'pending' : d.status;
				out.set(d.video_id, { id: d.video_id, status, error });
			}
			return out;
		},

		async listAvatars() {
			const looks = await allPages('/v3/avatars/looks', lookItem, { limit: '50' });
			return looks.map((a) => {
				const out: Avatar = { id: a.id, name: kept(a.name) ? a.name : a.id };
				if (kept(a.preview_image_url)) out.previewImageUrl = a.preview_image_url;
				if (kept(a.preview_video_url)) out.previewVideoUrl = a.preview_video_url;
				if (kept(a.gender)) out.gender = a.gender;
				if (kept(a.default_voice_id)) out.defaultVoiceId = a.default_voice_id;
				return out;
			});
		},

		async listVoices(o = {}) {
			const voices = await allPages('/v3/voices', voiceItem, { limit: '100', ...(o.language && { language: o.language }) });
			return voices.map((v) => {
				const out: Voice = { id: v.voice_id, name: kept(v.name) ? v.name : v.voice_id };
				if (kept(v.language)) out.language = v.language;
				if (kept(v.gender)) out.gender = v.gender;
				if (kept(v.preview_audio_url)) out.previewAudioUrl = v.preview_audio_url;
				return out;
			});
		},

		async account(): Promise<Account> {
			const reply = await call({ method: 'GET', route: '/v3/users/me' }, meReply);
			const d = reply.data;
			return { email: kept(d.email) ? d.email : null, username: kept(d.username) ? d.username : null, credits: creditsOf(d) };
		}
	};
}
