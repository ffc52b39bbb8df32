// Video translations (/v3/video-translations*) and asset upload (POST /v3/assets). A translation is
// a SimVideo with `translation` set: it renders on the same timer, counts against the same
// concurrency limit, serves its files from the same signed URLs (plus .vtt), and its end sends
// video_translate.success|fail to registered endpoints (webhooks.ts).
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { toFailure } from './create-request.ts';
import type { createFiles } from './files.ts';
import { apiError, HttpFail, isObj, readBody, sendJson } from './http.ts';
import type { SimState } from './state.ts';
import type { createVideos } from './videos.ts';
import { SAMPLE_DURATION_S, SIM_LANGUAGES, type SimFailure, type SimVideo } from './types.ts';

const ASSET_MAX_BYTES = 32 * 1024 * 1024;
const ITEM_FIELDS = new Set([
	'video',
	'output_languages',
	'mode',
	'enable_caption',
	'translate_audio_only',
	'enable_speech_enhancement',
	'disable_music_track',
	'enable_dynamic_duration',
	'title',
	'callback_id',
	'callback_url',
	'input_language',
	'brand_glossary_id'
]);

const BATCH_ITEM_STATUS: Record<SimVideo['status'], string> = {
	pending: 'queued',
	processing: 'processing',
	completed: 'completed',
	failed: 'failed'
};

export function createTranslations(st: SimState, files: ReturnType<typeof createFiles>, videos: ReturnType<typeof createVideos>) {
	const { idempotency, changed, hooks, later, take, behaviours } = st;
	const { signedUrl } = files;
	const { rendering, finishVideo, advance } = videos;
	const batches = new Map<string, { id: string; createdAt: number; translationIds: string[] }>();
	const assets = new Map<string, number>();

	const bad = (param: string, message: string) => new HttpFail(400, apiError('invalid_parameter', message, param));

	/** One item of a batch, checked like HeyGen does; returns what the translation needs. */
	function validateItem(item: unknown, i: number) {
		const at = (k: string) => `video_translations[${i}].${k}`;
		if (!isObj(item)) throw bad(`video_translations[${i}]`, 'each video translation must be an object');
		for (const k of Object.keys(item)) if (!ITEM_FIELDS.has(k)) throw bad(at(k), `Unknown field ${k}`);
		const video = item['video'];
		if (!isObj(video)) throw bad(at('video'), 'video is required');
		if (video['type'] === 'url') {
			if (typeof video['url'] !== 'string' || !/^https?:\/\//.test(video['url']))
				throw bad(at('video.url'), 'video.url must be an http(s) URL');
		} else if (video['type'] === 'asset_id') {
			if (typeof video['asset_id'] !== 'string' || !assets.has(video['asset_id'])) {
				throw new HttpFail(404, apiError('asset_not_found', `Asset ${String(video['asset_id'])} not found`, at('video.asset_id')));
			}
		} else throw bad(at('video.type'), 'video.type must be url or asset_id');
		const langs = item['output_languages'];
		if (!Array.isArray(langs) || langs.length === 0) throw bad(at('output_languages'), 'output_languages is required');
		for (const l of langs) {
			if (!(SIM_LANGUAGES as readonly unknown[]).includes(l))
				throw bad(at('output_languages'), `Unsupported output language: ${String(l)}`);
		}
		const mode = item['mode'];
		if (mode !== undefined && mode !== 'speed' && mode !== 'precision') throw bad(at('mode'), 'mode must be speed or precision');
		for (const k of ['enable_caption', 'translate_audio_only', 'enable_speech_enhancement', 'disable_music_track']) {
			if (item[k] !== undefined && typeof item[k] !== 'boolean') throw bad(at(k), `${k} must be a boolean`);
		}
		const str = (k: string) => (typeof item[k] === 'string' ? (item[k] as string) : null);
		return {
			languages: langs as string[],
			caption: item['enable_caption'] === true,
			callbackId: str('callback_id'),
			title: str('title'),
			source: video['type'] === 'url' ? String(video['url']) : `asset:${String(video['asset_id'])}`
		};
	}

	function newTranslation(apiKey: string, idemKey: string | null, item: ReturnType<typeof validateItem>, language: string): SimVideo {
		const b = item.callbackId ? behaviours.get(item.callbackId) : undefined;
		const rf = take('renderFails', 'translate');
		let failWith: SimFailure | null = b?.failWith !== undefined ? toFailure(b.failWith) : null;
		if (rf) failWith = { code: rf.code ?? '', message: rf.message ?? 'Translation failed.' };
		const id = randomUUID().replace(/-/g, '');
		const v: SimVideo = {
			id,
			callbackId: item.callbackId,
			callbackUrl: null,
			idempotencyKey: idemKey,
			title: item.title,
			avatarId: '',
			voiceId: '',
			script: `${language} version of the original video.`,
			resolution: '1080p',
			aspectRatio: '16:9',
			caption: item.caption,
			status: 'pending',
			createdAt: Date.now(),
			renderMs: b?.renderMs ?? st.sim.renderMs,
			sizeBytes: b?.sizeBytes ?? st.mp4.length,
			failWith,
			completedAt: null,
			statusCalls: 0,
			downloads: 0,
			translation: { outputLanguage: language, source: item.source }
		};
		st.sim.videos.set(id, v);
		hooks.videoCreated(id, apiKey);
		st.sim.submits.push({ callbackId: item.callbackId, idempotencyKey: idemKey, videoId: id, body: item, at: Date.now() });
		st.sim.maxConcurrentRenders = Math.max(st.sim.maxConcurrentRenders, rendering());
		if (v.renderMs <= 0) finishVideo(v);
		else {
			later(v.renderMs / 4, () => advance(v));
			later(v.renderMs, () => finishVideo(v));
		}
		return v;
	}

	/** POST /v3/video-translations/batches, with Idempotency-Key like POST /v3/videos. */
	async function createBatch(req: IncomingMessage, res: ServerResponse, idemKey: string | null): Promise<void> {
		let body: unknown;
		try {
			body = JSON.parse(await readBody(req));
		} catch {
			throw bad('body', 'Request body is not valid JSON');
		}
		if (!isObj(body)) throw bad('body', 'Request body must be a JSON object');
		for (const k of Object.keys(body)) if (!['video_translations', 'title', 'callback_url'].includes(k)) throw bad(k, `Unknown field ${k}`);
		const list = body['video_translations'];
		if (!Array.isArray(list) || list.length === 0) throw bad('video_translations', 'video_translations is required');
		const items = list.map(validateItem);
		const total = items.reduce((n, i) => n + i.languages.length, 0);
		if (total > 100) throw bad('video_translations', `a batch takes at most 100 translations after expanding languages, got ${total}`);
		const invalid = take('invalidParameter', 'translate');
		if (invalid) throw bad(invalid.param ?? 'output_languages', invalid.message ?? 'Invalid value');
		if (take('noCredit', 'translate')) throw new HttpFail(402, apiError('insufficient_credit', 'Insufficient credit.'));
		if (rendering() + total > st.sim.concurrencyLimit) {
			throw new HttpFail(429, apiError('rate_limit_exceeded', `Concurrent video limit of ${st.sim.concurrencyLimit} reached`), {
				'retry-after': '1'
			});
		}
		const apiKey = String(req.headers['x-api-key'] ?? '');
		const made = items.flatMap((item) => item.languages.map((l) => newTranslation(apiKey, idemKey, item, l)));
		const batch = { id: `batch_${randomUUID().replace(/-/g, '')}`, createdAt: Date.now(), translationIds: made.map((v) => v.id) };
		batches.set(batch.id, batch);
		const reply = { data: { batch_id: batch.id, status: 'processing', total_items: total } };
		const slowReply = take('slowReply', 'translate');
		if (slowReply) await st.delay(slowReply.ms);
		// The translations exist from here on, whatever happens to this reply.
		if (idemKey) idempotency.set(idemKey, { state: 'done', status: 202, body: reply });
		changed();
		if (take('replyLost', 'translate')) {
			res.socket?.destroy();
			return;
		}
		if (!res.destroyed) sendJson(res, 202, reply);
	}

	function batchData(batchId: string): Record<string, unknown> {
		const b = batches.get(batchId);
		if (!b) throw new HttpFail(404, apiError('not_found', `Batch ${batchId} not found`));
		const items = b.translationIds.map((id, i) => {
			const v = st.sim.videos.get(id)!;
			advance(v);
			const error = v.status === 'failed' ? { message: v.failWith?.message ?? 'failed' } : null;
			return { item_index: i, status: BATCH_ITEM_STATUS[v.status], video_id: v.id, error };
		});
		const counts: Record<string, number> = {};
		for (const i of items) counts[i.status] = (counts[i.status] ?? 0) + 1;
		const open = items.some((i) => i.status === 'queued' || i.status === 'processing');
		return {
			batch_id: b.id,
			status: open ? 'processing' : items.every((i) => i.status === 'failed') ? 'failed' : 'completed',
			total_items: items.length,
			counts_by_status: counts,
			created_at: Math.floor(b.createdAt / 1000),
			items,
			has_more: false,
			next_token: null,
			title: null
		};
	}

	/** GET /v3/video-translations/{id}. */
	function translationData(v: SimVideo): Record<string, unknown> {
		const done = v.status === 'completed';
		return {
			id: v.id,
			status: v.status === 'processing' ? 'running' : v.status,
			title: v.title,
			callback_id: v.callbackId,
			created_at: Math.floor(v.createdAt / 1000),
			duration: done ? SAMPLE_DURATION_S : null,
			input_language: 'English',
			output_language: v.translation?.outputLanguage ?? null,
			translate_audio_only: false,
			video_url: done ? signedUrl(`/files/${v.id}.mp4`) : null,
			audio_url: null,
			srt_caption_url: done && v.caption ? signedUrl(`/files/${v.id}.srt`) : null,
			vtt_caption_url: done && v.caption ? signedUrl(`/files/${v.id}.vtt`) : null,
			failure_message: v.status === 'failed' ? (v.failWith?.message ?? 'Translation failed.') : null
		};
	}

	function getTranslation(rawId: string): Record<string, unknown> {
		const v = st.sim.videos.get(rawId);
		if (!v?.translation) throw new HttpFail(404, apiError('not_found', `Video translation ${rawId} not found`));
		v.statusCalls++;
		advance(v);
		return translationData(v);
	}

	function statuses(url: URL): Record<string, unknown> {
		const ids = (url.searchParams.get('video_translation_ids') ?? '')
			.split(',')
			.map((s) => s.trim())
			.filter(Boolean);
		if (ids.length === 0) throw bad('video_translation_ids', 'video_translation_ids is required');
		if (ids.length > 100) throw bad('video_translation_ids', 'video_translation_ids takes at most 100 ids');
		const data = ids.map((id) => {
			const v = st.sim.videos.get(id);
			if (!v?.translation) return { video_id: id, status: 'not_found', error: null, batch_id: null, item_index: null };
			v.statusCalls++;
			advance(v);
			const error = v.status === 'failed' ? { message: v.failWith?.message ?? 'failed' } : null;
			return { video_id: v.id, status: BATCH_ITEM_STATUS[v.status], error, batch_id: null, item_index: null };
		});
		return { data, has_more: false, next_token: null };
	}

	/** POST /v3/assets: multipart with one `file` of at most 32 MB. */
	async function uploadAsset(req: IncomingMessage): Promise<Record<string, unknown>> {
		const type = String(req.headers['content-type'] ?? '');
		if (!type.startsWith('multipart/form-data')) throw bad('file', 'Send the file as multipart/form-data');
		const chunks: Buffer[] = [];
		let size = 0;
		for await (const c of req as AsyncIterable<Buffer>) {
			size += c.length;
			if (size > ASSET_MAX_BYTES + 64 * 1024) throw new HttpFail(413, apiError('payload_too_large', 'The file is larger than 32 MB'));
			chunks.push(c);
		}
		const form = await new Response(Buffer.concat(chunks), { headers: { 'content-type': type } }).formData();
		const file = form.get('file');
		if (!(file instanceof Blob)) throw bad('file', 'file is required');
		if (file.size > ASSET_MAX_BYTES) throw new HttpFail(413, apiError('payload_too_large', 'The file is larger than 32 MB'));
		const id = `asset_${randomUUID().replace(/-/g, '')}`;
		assets.set(id, file.size);
		st.sim.assets.set(id, Buffer.from(await file.arrayBuffer()));
		changed();
		return { asset_id: id, url: `${st.sim.url}/assets/${id}`, mime_type: file.type || 'application/octet-stream', size_bytes: file.size };
	}

	/** The account's translations, newest first (callers page with listPage). */
	function list(): Record<string, unknown>[] {
		return [...st.sim.videos.values()]
			.filter((v) => v.translation)
			.sort((a, b) => b.createdAt - a.createdAt)
			.map((v) => {
				advance(v);
				return translationData(v);
			});
	}

	return { createBatch, batchData, getTranslation, statuses, uploadAsset, list, languages: () => ({ languages: [...SIM_LANGUAGES] }) };
}
