/**
 * HeyGen's video translations (`/v3/video-translations*`) and asset upload (`POST /v3/assets`),
 * as methods of the one client (client.ts): every call goes through the same transport.
 *
 * Exactly once: HeyGen's docs promise `Idempotency-Key` only on the batch create, so a translation
 * is created as a batch of one item with the job attempt's key. A repeat (after a lost reply or a
 * crash) returns the same batch, whose one item is the translation made the first time.
 */
import { z } from 'zod';
import { badResponse, HeyGenError } from './errors.ts';
import { translationOptionsSchema, type TranslationOptions } from './options.ts';
import { containsSecret } from './secret-forms.ts';
import type { HeyGenCall } from './transport.ts';
import { translationFailure } from './translation-failure.ts';
import type { BulkVideoStatus, CreateTranslationRequest, TranslationClient } from './types.ts';

/** HeyGen's upload limit for `POST /v3/assets`. */
export const ASSET_MAX_BYTES = 32 * 1024 * 1024;
const BULK_MAX = 100;

const text = z.string().nullish();
const id = z.string().min(1).max(200);

const batchCreateReply = z.object({ data: z.object({ batch_id: id }) });
const batchReply = z.object({
	data: z.object({
		batch_id: id,
		status: z.string(),
		items: z.array(
			z.object({
				item_index: z.number().int(),
				status: z.enum(['queued', 'processing', 'completed', 'failed']),
				video_id: id.nullish(),
				error: z
					.object({ code: z.union([z.string(), z.number()]).nullish(), message: text })
					.passthrough()
					.nullish()
			})
		)
	})
});
const translationReply = z.object({
	data: z.object({
		id,
		status: z.enum(['pending', 'running', 'completed', 'failed']),
		video_url: text,
		srt_caption_url: text,
		vtt_caption_url: text,
		duration: z.number().nullish(),
		failure_message: text
	})
});
const statusesReply = z.object({
	data: z.array(
		z.object({
			video_id: id.nullish(),
			status: z.string().min(1),
			error: z
				.object({ code: z.union([z.string(), z.number()]).nullish(), message: text })
				.passthrough()
				.nullish()
		})
	),
	has_more: z.boolean().nullish(),
	next_token: text
});
const listReply = z.object({
	data: z.array(z.object({ id, callback_id: text, created_at: z.number().nullish() })),
	has_more: z.boolean().nullish(),
	next_token: text
});
/** Pages of the account's translations a resumed submit looks through for its own. */
export const TRANSLATION_LIST_PAGES = 5;
const languagesReply = z.object({ data: z.object({ languages: z.array(z.string().min(1).max(100)).min(1) }) });
const assetReply = z.object({ data: z.object({ asset_id: id, url: z.string(), mime_type: z.string(), size_bytes: z.number() }) });

/** HeyGen's translation body for one language (the batch item, same shape as `POST /v3/video-translations`). Exported for tests. */
export function buildTranslationItem(req: CreateTranslationRequest): Record<string, unknown> {
	const o: TranslationOptions = req.options;
	const video = req.source.type === 'url' ? { type: 'url', url: req.source.url } : { type: 'asset_id', asset_id: req.source.assetId };
	const item: Record<string, unknown> = { video, output_languages: [req.outputLanguage] };
	if (o.mode !== undefined) item['mode'] = o.mode;
	item['enable_caption'] = o.captions ?? true;
	if (o.audio_only !== undefined) item['translate_audio_only'] = o.audio_only;
	if (o.speech_enhancement !== undefined) item['enable_speech_enhancement'] = o.speech_enhancement;
	if (o.remove_music !== undefined) item['disable_music_track'] = o.remove_music;
	if (o.title !== undefined) item['title'] = o.title;
	item['callback_id'] = req.callbackId;
	return item;
}

const STATUS: Record<string, BulkVideoStatus['status']> = {
	pending: 'pending',
	queued: 'pending',
	waiting: 'pending',
	running: 'processing',
	processing: 'processing',
	completed: 'completed',
	failed: 'failed',
	not_found: 'not_found'
};

export function translationMethods(
	call: <S extends z.ZodType>(c: HeyGenCall, schema: S) => Promise<z.infer<S>>,
	apiKey: string,
	kept: (v: string | null | undefined) => v is string
): TranslationClient {
	const notAnId = (endpoint: string, v: string) => {
		if (containsSecret(v, apiKey)) throw badResponse(endpoint, 'an id that is not one', apiKey, 200);
		return v;
	};
	const permanent = (endpoint: string, code: string, message: string) => new HeyGenError({ code, kind: 'permanent', endpoint, message });

	return {
		async createTranslation(req) {
			const endpoint = 'POST /v3/video-translations/batches';
			const opt = translationOptionsSchema.safeParse(req.options);
			if (!opt.success) throw permanent(endpoint, 'invalid_options', 'The translation options are not valid.');
			if (!/^[A-Za-z0-9_\-:.]{1,255}$/.test(req.idempotencyKey)) {
				throw permanent(endpoint, 'invalid_options', 'Internal error: the idempotency key has an invalid format.');
			}
			const body = { video_translations: [buildTranslationItem({ ...req, options: opt.data })] };
			const created = await call(
				{ method: 'POST', route: '/v3/video-translations/batches', body, headers: { 'idempotency-key': req.idempotencyKey } },
				batchCreateReply
			);
			const batchId = notAnId(endpoint, created.data.batch_id);
			const batch = await call(
				{ method: 'GET', route: '/v3/video-translations/batches/{batch_id}', params: { batch_id: batchId } },
				batchReply
			);
			const item = batch.data.items.find((i) => i.item_index === 0);
			if (item?.video_id) return { translationId: notAnId(endpoint, item.video_id), batchId };
			if (item?.status === 'failed') {
				const f = translationFailure(item.error ?? {}, apiKey);
				throw permanent(endpoint, f.code, f.message);
			}
			throw new HeyGenError({
				code: 'request_in_progress',
				kind: 'retryable',
				endpoint,
				message: 'HeyGen accepted the translation but has not created it yet.'
			});
		},

		async findTranslation(callbackId) {
			let token: string | null = null;
			for (let page = 0; page < TRANSLATION_LIST_PAGES; page++) {
				const query: Record<string, string> = { limit: '100', ...(token && { token }) };
				const reply: z.infer<typeof listReply> = await call({ method: 'GET', route: '/v3/video-translations', query }, listReply);
				const hit = reply.data.find((t) => t.callback_id === callbackId);
				if (hit) return notAnId('GET /v3/video-translations', hit.id);
				token = reply.has_more === false ? null : (reply.next_token ?? null);
				if (!token) return null;
			}
			return null;
		},

		async getTranslation(translationId) {
			const reply = await call(
				{ method: 'GET', route: '/v3/video-translations/{video_translation_id}', params: { video_translation_id: translationId } },
				translationReply
			);
			const d = reply.data;
			return {
				id: d.id,
				status: d.status === 'running' ? 'processing' : d.status,
				videoUrl: kept(d.video_url) ? d.video_url : null,
				srtUrl: kept(d.srt_caption_url) ? d.srt_caption_url : null,
				vttUrl: kept(d.vtt_caption_url) ? d.vtt_caption_url : null,
				duration: d.duration ?? null,
				error: d.status === 'failed' ? translationFailure({ message: d.failure_message }, apiKey) : null
			};
		},

		async getTranslationStatuses(ids) {
			const endpoint = 'GET /v3/video-translations/statuses';
			if (ids.length === 0) return new Map();
			if (ids.length > BULK_MAX) {
				throw permanent(
					endpoint,
					'invalid_options',
					`Internal error: asked for ${ids.length} translation statuses; HeyGen takes at most ${BULK_MAX}.`
				);
			}
			const reply = await call(
				{ method: 'GET', route: '/v3/video-translations/statuses', query: { video_translation_ids: ids.join(',') } },
				statusesReply
			);
			const out = new Map<string, BulkVideoStatus>();
			for (const d of reply.data) {
				const status = STATUS[d.status];
				if (!d.video_id || !status) continue; // a status this client does not know: asked on its own
				const error = status === 'failed' ? translationFailure(d.error ?? {}, apiKey) : null;
				out.set(d.video_id, { id: d.video_id, status, error });
			}
			return out;
		},

		async listTranslationLanguages() {
			const reply = await call({ method: 'GET', route: '/v3/video-translations/languages' }, languagesReply);
			return [...new Set(reply.data.languages.filter((l) => !/[\p{Cc}]/u.test(l) && !containsSecret(l, apiKey)))];
		},

		async uploadAsset(file, fileName, contentType) {
			const endpoint = 'POST /v3/assets';
			if (file.byteLength > ASSET_MAX_BYTES) {
				throw permanent(
					endpoint,
					'source_unavailable',
					`The video is ${Math.ceil(file.byteLength / 1024 / 1024)} MB; HeyGen takes uploads of at most ${ASSET_MAX_BYTES / 1024 / 1024} MB.`
				);
			}
			const form = new FormData();
			form.append('file', new Blob([new Uint8Array(file)], { type: contentType }), fileName);
			const reply = await call({ method: 'POST', route: '/v3/assets', form }, assetReply);
			return { assetId: notAnId(endpoint, reply.data.asset_id) };
		}
	};
}
