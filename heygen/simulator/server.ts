/**
 * HeyGen API simulator: a real node:http server speaking HeyGen's v3 API (the routes, replies and
 * errors below, as HeyGen documents them), used by tests, benchmarks and `npm run demo`. The
 * retired v1/v2 routes answer 410 `endpoint_retired`, as they do at HeyGen since 2026-11-01.
 *
 * Endpoints (all need `x-api-key` ∈ validKeys, default `sim-test-key`):
 *   POST /v3/videos              {type:"avatar", avatar_id, script, voice_id, …} → {data:{video_id, status, output_format}}
 *                                Honours `Idempotency-Key`: a repeat replays the first reply (even after
 *                                its reply was lost); a repeat while the first is still in flight → 409
 *                                request_in_progress.
 *   GET  /v3/videos/statuses?video_ids=a,b → {data:[{video_id, status, error, batch_id, item_index}], has_more, next_token} (./bulk-status.ts)
 *   GET  /v3/videos/{id}         → {data:{id, status, video_url, thumbnail_url, subtitle_url, duration, completed_at, failure_code, failure_message, …}}
 *   GET  /v3/avatars/looks       → {data:[look…], has_more, next_token}   (?limit, ?token)
 *   GET  /v3/voices              → {data:[voice…], has_more, next_token}  (?limit, ?token, ?language)
 *   GET  /v3/users/me            → {data:{username, email, billing_type, wallet|subscription|usage_based}}
 *   POST /v3/video-translations/batches {video_translations:[{video:{type:url|asset_id,…}, output_languages, …}]}
 *                                → 202 {data:{batch_id, status, total_items}}; Idempotency-Key as for POST /v3/videos
 *   GET  /v3/video-translations/batches/{id} → {data:{batch_id, status, items:[{item_index, status, video_id, error}], …}}
 *   GET  /v3/video-translations/{id} → {data:{id, status pending|running|completed|failed, video_url, srt_caption_url,
 *                                vtt_caption_url, failure_message, callback_id, output_language, …}}
 *   GET  /v3/video-translations/statuses?video_translation_ids=a,b → {data:[{video_id, status, error}], …}
 *   GET  /v3/video-translations  → the account's translations, newest first, paged
 *   GET  /v3/video-translations/languages → {data:{languages: SIM_LANGUAGES}}
 *   POST /v3/assets              multipart `file` (≤ 32 MB) → {data:{asset_id, url, mime_type, size_bytes}}
 * A translation (./translations.ts) is a video with `translation` set: same render timer, same
 * concurrency limit, same faults (replyLost, slowReply, serverError, rateLimit, renderFails → a failed
 * translation with that failure_message, …, with endpoint 'translate' for the create), files served
 * with a .vtt too, and video_translate.success|fail delivered to registered endpoints.
 * Errors: `{error:{code, message, param?, doc_url}}` — 401 unauthorized, 402 insufficient_credit,
 * 404 not_found (param avatar_id / voice_id), 400 invalid_parameter (param), 409 request_in_progress,
 * 429 rate_limit_exceeded with Retry-After (also past `concurrencyLimit` renders at once), 5xx.
 * Files (no key; signed like S3 presigned URLs):
 *   GET|HEAD /files/<id>.mp4|.jpg|.srt?expires=<ms>&sig=<hmac>  (Range supported; 403 XML when expired/bad sig)
 *   GET /previews/avatar.jpg | avatar.mp4 | voice.mp3 (previews, unsigned)
 *
 * Known ids: looks `sim-avatar-anna`, `sim-avatar-josh`, `sim-avatar-lena`; voices `sim-voice-en-1`,
 * `sim-voice-en-2`, `sim-voice-de-1`, `sim-voice-es-1`. Lists are served `pageSize` items a page
 * (default 2) so every client follows `next_token`.
 *
 * Render: pending → processing (after renderMs/4) → completed|failed (after renderMs); renderMs 0 =
 * completed at once. A render ends in exactly one place, `finishVideo`, which emits `videoFinished`
 * on `sim.events` (webhook delivery hooks in there); a per-video `callback_url` gets a one-off POST.
 *
 * Per-video behaviour: in the `title`, `[sim renderMs=5000 sizeBytes=1073741824 failWith=some_code]`,
 * or `sim.setVideoBehaviour(callbackId, {...})` before the submit (title wins).
 *
 * Faults — `sim.setFaults({ name: spec })`, `{ name: null }` clears one, `sim.clearFaults()` all.
 * Every spec takes `times` (default Infinity) and, where noted, `endpoint` (one or an array of
 * 'generate' | 'status' | 'avatars' | 'voices' | 'account' | 'files'; omitted = every API endpoint):
 *   serverError      { status?: 500|502|503, endpoint? }  500/503 JSON error, 502 HTML
 *   rateLimit        { retryAfter?: seconds | string, endpoint? }
 *   slow             { ms, endpoint? }   delay before handling (API, or downloads with endpoint 'files')
 *   malformedJson    { endpoint? }       200 with a truncated JSON body
 *   badShape         { endpoint? }       200 with valid JSON of the wrong shape
 *   hugeReply        { bytes, endpoint? } 200 whose body is `bytes` long (streamed, never buffered)
 *   badKey           { endpoint? }       every key rejected (401)
 *   replyLost        { }                 generate creates the video, then the socket is destroyed
 *   slowReply        { ms }              generate creates the video, then holds the reply for ms
 *   noCredit         { }                 generate → 402 insufficient_credit
 *   invalidParameter { param?, message? } generate → 400 invalid_parameter naming `param`
 *   inProgress       { }                 generate → 409 request_in_progress (as if a same-key request were in flight)
 *   renderFails      { code?, message? } the next `times` videos end `failed` with failure_code/_message
 *   truncatedDownload{ }                 full Content-Length, socket closed after half the bytes
 *   downloadForbidden{ }                 the next `times` GET downloads answer 403 AccessDenied
 *   badDownload      { kind: 'empty'|'html'|'notMp4'|'textFtyp'|'cutShort'|'wrongLength' }  the next `times` MP4 GETs
 *                    send that body (textFtyp: 42 bytes of text/plain with "ftyp" at offset 4; cutShort: half the
 *                    file; wrongLength: Content-Length 1000 bytes short)
 *   shortUrlTtlMs    number | null       signed URLs issued from now on expire after N ms
 *   routeMissing     { endpoint? }       404 not_found as if the route did not exist (e.g. the bulk status route moved)
 *   echoKeyError     { form, status?, endpoint? } an error (default 400) whose code and message carry the key in `form` (./key-echo.ts)
 *   echoKeyRender    { form }            the next `times` videos fail with the key in `form` as failure_code and in failure_message
 *
 * Accounts — `sim.setAccount({ outOfCredit: true }, key?)`: every create with that key answers 402
 * insufficient_credit and /v3/users/me shows no credit left; `{ revoked: true }`: every call with it
 * answers 401. `sim.setAccount(null, key?)` restores it. Unlike faults, they last until changed.
 */
import { EventEmitter } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createFiles, srtTime } from './files.ts';
import { apiError, endpointOf, HttpFail, sendJson } from './http.ts';
import { createApi } from './router.ts';
import { createSimState } from './state.ts';
import {
	DEFAULT_SIM_KEY,
	SAMPLE_DURATION_S,
	type Faults,
	type HeyGenSimulator,
	type HeyGenSimulatorOptions,
	type SimRequest,
	type SimVideo
} from './types.ts';
import { createTranslations } from './translations.ts';
import { createVideos } from './videos.ts';

export { parseTitleBehaviour } from './create-request.ts';
export { echoKey, KEY_ECHO_FORMS, type KeyEchoForm } from './key-echo.ts';
export * from './types.ts';

export async function startHeyGenSimulator(opts: HeyGenSimulatorOptions = {}): Promise<HeyGenSimulator> {
	const st = createSimState(opts);
	const { host, validKeys, mp4, thumbnail, changes, timers, webhookAborts, behaviours, idempotency, changed, hooks } = st;
	const files = createFiles(st);
	const videos = createVideos(st, files);
	const { handleApi } = createApi(st, videos, createTranslations(st, files, videos));
	const { signedUrl, handleFile, handlePreview } = files;
	const { notifyCallbackUrl } = videos;

	const server = createServer((req, res) => {
		const url = new URL(req.url ?? '/', 'http://sim.local');
		const method = req.method ?? 'GET';
		const endpoint = endpointOf(method, url.pathname);
		const record: SimRequest = {
			method,
			path: url.pathname,
			search: url.search,
			endpoint,
			status: null,
			idempotencyKey: null,
			at: Date.now()
		};
		sim.requests.push(record);
		changed();
		res.on('close', () => {
			record.status = res.headersSent ? res.statusCode : null;
			changed();
		});
		const run = async () => {
			// Registered webhook endpoints (per account).
			if (
				url.pathname.startsWith('/v3/webhooks/') &&
				(await hooks.handle(req, res, url, (k) => typeof k === 'string' && validKeys.includes(k)))
			)
				return;
			if (endpoint === 'files') return handleFile(req, res, url);
			if (endpoint !== null) return handleApi(req, res, endpoint, url, record);
			if (url.pathname.startsWith('/previews/') && (method === 'GET' || method === 'HEAD')) return handlePreview(req, res, url.pathname);
			sendJson(res, 404, apiError('not_found', `No route for ${method} ${url.pathname}`));
		};
		run().catch((err: unknown) => {
			if (res.headersSent || res.destroyed) {
				res.destroy();
				return;
			}
			if (err instanceof HttpFail) sendJson(res, err.status, err.body, err.headers);
			else sendJson(res, 500, apiError('internal_error', `Simulator bug: ${String(err)}`));
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
		thumbnail,
		renderMs: opts.renderMs ?? 0,
		concurrencyLimit: opts.concurrencyLimit ?? Number.POSITIVE_INFINITY,
		billing: opts.billing ?? { billing_type: 'wallet', wallet: { currency: 'usd', remaining_balance: 120.5 } },
		videos: new Map(),
		submits: [],
		assets: new Map(),
		requests: [],
		webhooks: [],
		events: new EventEmitter(),
		maxConcurrentRenders: 0,
		webhookEndpoints: hooks,
		get faults() {
			return st.faults;
		},
		setFaults(f) {
			const next: Record<string, unknown> = { ...st.faults };
			for (const [k, v] of Object.entries(f)) {
				if (v === null || v === undefined) delete next[k];
				else next[k] = typeof v === 'object' ? { ...v } : v;
			}
			st.faults = next as Partial<Faults>;
		},
		clearFaults() {
			st.faults = {};
		},
		setAccount(state, key = sim.apiKey) {
			if (state === null) st.accounts.delete(key);
			else st.accounts.set(key, { ...state });
			changed();
		},
		setVideoBehaviour(callbackId, b) {
			if (b === null) behaviours.delete(callbackId);
			else behaviours.set(callbackId, b);
		},
		submitsFor(callbackId) {
			return sim.submits.filter((s) => s.callbackId === callbackId).length;
		},
		generateCallsFor(callbackId) {
			const keys = new Set(sim.submits.filter((s) => s.callbackId === callbackId).map((s) => s.idempotencyKey));
			return sim.requests.filter((r) => r.endpoint === 'generate' && r.idempotencyKey !== null && keys.has(r.idempotencyKey)).length;
		},
		signedVideoUrl(videoId, ttlMs, ext = 'mp4') {
			return signedUrl(`/files/${videoId}.${ext}`, ttlMs);
		},
		subtitlesFor(v) {
			const words = v.script.split(/\s+/).filter(Boolean);
			const half = Math.ceil(words.length / 2);
			const cues = [words.slice(0, half).join(' '), words.slice(half).join(' ')].filter(Boolean);
			const step = (SAMPLE_DURATION_S * 1000) / Math.max(1, cues.length);
			return cues.map((t, i) => `${i + 1}\n${srtTime(i * step)} --> ${srtTime((i + 1) * step)}\n${t}\n`).join('\n');
		},
		waitFor(predicate, timeoutMs = 5000) {
			return new Promise<void>((resolve, reject) => {
				const check = () => {
					let ok: boolean;
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
					changes.off('change', check);
				};
				changes.on('change', check);
				check();
			});
		},
		reset() {
			sim.videos.clear();
			sim.submits.length = 0;
			sim.assets.clear();
			sim.requests.length = 0;
			sim.webhooks.length = 0;
			sim.maxConcurrentRenders = 0;
			hooks.reset();
			behaviours.clear();
			idempotency.clear();
			st.faults = {};
			st.accounts.clear();
			for (const t of timers) clearTimeout(t);
			timers.clear();
		},
		async close() {
			if (st.closed) return;
			st.closed = true;
			for (const t of timers) clearTimeout(t);
			timers.clear();
			for (const ac of webhookAborts) ac.abort();
			hooks.close();
			await new Promise<void>((resolve) => {
				server.close(() => resolve());
				server.closeAllConnections();
			});
		}
	};
	st.sim = sim;
	sim.events.setMaxListeners(0);
	sim.events.on('videoFinished', (v: SimVideo) => void notifyCallbackUrl(v));
	// Signed deliveries to the submitting account's registered endpoints.
	sim.events.on('videoFinished', (v: SimVideo) =>
		hooks.videoFinished({
			id: v.id,
			callbackId: v.callbackId,
			status: v.status === 'failed' ? 'failed' : 'completed',
			videoUrl: v.status === 'completed' ? signedUrl(`/files/${v.id}.mp4`) : null,
			message: v.failWith?.message ?? null,
			...(v.translation && { outputLanguage: v.translation.outputLanguage })
		})
	);
	return sim;
}
