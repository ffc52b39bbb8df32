// Videos: creating one (POST /v3/videos with Idempotency-Key), rendering it on a timer, its status
// reply, and the per-video callback_url notification.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseTitleBehaviour, toFailure, validateCreate } from './create-request.ts';
import type { createFiles } from './files.ts';
import { apiError, HttpFail, readBody, sendJson } from './http.ts';
import { echoedError } from './key-echo.ts';
import type { SimState } from './state.ts';
import { SAMPLE_DURATION_S, type SimFailure, type SimVideo, type SimWebhook, type VideoBehaviour } from './types.ts';

export function createVideos(st: SimState, files: ReturnType<typeof createFiles>) {
	const { mp4, webhookAborts, behaviours, idempotency, changed, hooks, later, delay, take } = st;
	const { signedUrl } = files;

	const rendering = () => {
		let n = 0;
		for (const v of st.sim.videos.values()) if (v.status === 'pending' || v.status === 'processing') n++;
		return n;
	};

	/** The one place a render ends. */
	function finishVideo(v: SimVideo): void {
		if (v.status === 'completed' || v.status === 'failed') return;
		v.status = v.failWith ? 'failed' : 'completed';
		v.completedAt = Date.now();
		st.sim.events.emit('videoFinished', v);
		changed();
	}

	function advance(v: SimVideo): void {
		if (v.status === 'completed' || v.status === 'failed') return;
		const elapsed = Date.now() - v.createdAt;
		if (elapsed >= v.renderMs) finishVideo(v);
		else if (elapsed >= v.renderMs / 4 && v.status === 'pending') {
			v.status = 'processing';
			changed();
		}
	}

	/** A per-video `callback_url` gets a one-off, unsigned notification. */
	async function notifyCallbackUrl(v: SimVideo): Promise<void> {
		if (!v.callbackUrl || st.closed) return;
		const body: SimWebhook['body'] =
			v.status === 'completed'
				? {
						event_type: 'avatar_video.success',
						event_data: { video_id: v.id, url: signedUrl(`/files/${v.id}.mp4`), callback_id: v.callbackId }
					}
				: {
						event_type: 'avatar_video.fail',
						event_data: { video_id: v.id, msg: v.failWith?.message ?? 'failed', callback_id: v.callbackId }
					};
		const ac = new AbortController();
		webhookAborts.add(ac);
		const record: SimWebhook = { url: v.callbackUrl, body, at: Date.now(), status: null };
		try {
			const res = await fetch(v.callbackUrl, {
				method: 'POST',
				headers: { 'content-type': 'application/json' },
				body: JSON.stringify(body),
				signal: AbortSignal.any([ac.signal, AbortSignal.timeout(10_000)])
			});
			record.status = res.status;
			await res.body?.cancel().catch(() => {});
		} catch {
			// fire and forget, like HeyGen's one-off callbacks
		} finally {
			webhookAborts.delete(ac);
			if (!st.closed) {
				st.sim.webhooks.push(record);
				changed();
			}
		}
	}

	function statusData(v: SimVideo): Record<string, unknown> {
		const done = v.status === 'completed';
		return {
			id: v.id,
			title: v.title,
			status: v.status,
			created_at: Math.floor(v.createdAt / 1000),
			completed_at: v.completedAt && done ? Math.floor(v.completedAt / 1000) : null,
			video_url: done ? signedUrl(`/files/${v.id}.mp4`) : null,
			thumbnail_url: done ? signedUrl(`/files/${v.id}.jpg`) : null,
			gif_url: null,
			captioned_video_url: null,
			subtitle_url: done && v.caption ? signedUrl(`/files/${v.id}.srt`) : null,
			duration: done ? SAMPLE_DURATION_S : null,
			folder_id: null,
			output_language: null,
			video_page_url: `https://app.heygen.com/videos/${v.id}`,
			...(v.status === 'failed' && v.failWith ? { failure_code: v.failWith.code, failure_message: v.failWith.message } : {})
		};
	}

	async function createVideo(req: IncomingMessage, res: ServerResponse, idemKey: string | null): Promise<void> {
		const raw = await readBody(req);
		let body: unknown;
		try {
			body = JSON.parse(raw);
		} catch {
			throw new HttpFail(400, apiError('invalid_parameter', 'Request body is not valid JSON', 'body'));
		}
		const g = validateCreate(body);
		const invalid = take('invalidParameter', 'generate');
		if (invalid) throw new HttpFail(400, apiError('invalid_parameter', invalid.message ?? 'Invalid value', invalid.param ?? 'script'));
		if (take('noCredit', 'generate')) {
			throw new HttpFail(402, apiError('insufficient_credit', 'Insufficient credit. Please top up your API credits.'));
		}
		if (rendering() >= st.sim.concurrencyLimit) {
			throw new HttpFail(429, apiError('rate_limit_exceeded', `Concurrent video limit of ${st.sim.concurrencyLimit} reached`), {
				'retry-after': '1'
			});
		}
		const fromCallback = g.callbackId ? behaviours.get(g.callbackId) : undefined;
		const b: VideoBehaviour = { ...fromCallback, ...parseTitleBehaviour(g.title) };
		const rf = take('renderFails', 'generate');
		let failWith: SimFailure | null = b.failWith !== undefined ? toFailure(b.failWith) : null;
		if (rf)
			failWith = {
				code: rf.code ?? 'RENDER_FAILED',
				message: rf.message ?? 'Video render failed, we are looking into this issue. Video credits refunded.'
			};
		const echo = take('echoKeyRender', 'generate');
		if (echo) failWith = echoedError(String(req.headers['x-api-key'] ?? ''), echo.form);
		const id = randomUUID().replace(/-/g, '');
		const v: SimVideo = {
			id,
			callbackId: g.callbackId,
			callbackUrl: g.callbackUrl,
			idempotencyKey: idemKey,
			title: g.title,
			avatarId: g.avatarId,
			voiceId: g.voiceId,
			script: g.script,
			resolution: g.resolution,
			aspectRatio: g.aspectRatio,
			caption: g.caption,
			status: 'pending',
			createdAt: Date.now(),
			renderMs: b.renderMs ?? st.sim.renderMs,
			sizeBytes: b.sizeBytes ?? mp4.length,
			failWith,
			completedAt: null,
			statusCalls: 0,
			downloads: 0
		};
		st.sim.videos.set(id, v);
		hooks.videoCreated(id, String(req.headers['x-api-key'] ?? ''));
		st.sim.submits.push({ callbackId: g.callbackId, idempotencyKey: idemKey, videoId: id, body, at: Date.now() });
		st.sim.maxConcurrentRenders = Math.max(st.sim.maxConcurrentRenders, rendering());
		if (v.renderMs <= 0) finishVideo(v);
		else {
			later(v.renderMs / 4, () => advance(v));
			later(v.renderMs, () => finishVideo(v));
		}
		changed();
		const reply = { data: { video_id: id, status: 'waiting', output_format: 'mp4' } };
		const slowReply = take('slowReply', 'generate');
		if (slowReply) await delay(slowReply.ms);
		// The video exists from here on, whatever happens to this reply.
		if (idemKey) idempotency.set(idemKey, { state: 'done', status: 200, body: reply });
		changed();
		if (take('replyLost', 'generate')) {
			res.socket?.destroy();
			return;
		}
		if (!res.destroyed) sendJson(res, 200, reply);
	}

	return { rendering, finishVideo, advance, notifyCallbackUrl, statusData, createVideo };
}
