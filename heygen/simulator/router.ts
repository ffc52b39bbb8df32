// The v3 API routes: key check, faults, the paged avatar-look and voice lists, the account, video
// create and status, and the retired v1/v2 routes.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { bulkStatusReply, BulkStatusError } from './bulk-status.ts';
import { apiError, HttpFail, readBody, sendJson } from './http.ts';
import { echoedError } from './key-echo.ts';
import type { SimState } from './state.ts';
import type { createTranslations } from './translations.ts';
import type { createVideos } from './videos.ts';
import { CHUNK, SIM_LOOKS, SIM_VOICE_LIST, type SimBilling, type SimEndpoint, type SimRequest } from './types.ts';

export function createApi(st: SimState, videos: ReturnType<typeof createVideos>, translations: ReturnType<typeof createTranslations>) {
	const { validKeys, idempotency, pageSize, delay, take } = st;
	const { advance, statusData, createVideo } = videos;

	function listPage<T>(items: readonly T[], url: URL, maxLimit: number): Record<string, unknown> {
		const limitParam = url.searchParams.get('limit');
		const limit = limitParam === null ? 20 : Number(limitParam);
		if (!Number.isInteger(limit) || limit < 1 || limit > maxLimit) {
			throw new HttpFail(400, apiError('invalid_parameter', `limit must be between 1 and ${maxLimit}`, 'limit'));
		}
		const token = url.searchParams.get('token');
		const start =
			token === null
				? 0
				: Number(
						Buffer.from(token, 'base64url')
							.toString('utf8')
							.replace(/^offset:/, '')
					);
		if (!Number.isInteger(start) || start < 0) throw new HttpFail(400, apiError('invalid_parameter', 'token is not valid', 'token'));
		const n = Math.min(limit, pageSize);
		const data = items.slice(start, start + n);
		const more = start + n < items.length;
		return { data, has_more: more, next_token: more ? Buffer.from(`offset:${start + n}`).toString('base64url') : null };
	}

	async function handleApi(req: IncomingMessage, res: ServerResponse, endpoint: SimEndpoint, url: URL, record: SimRequest): Promise<void> {
		if (endpoint === 'retired') {
			sendJson(res, 410, apiError('endpoint_retired', `${req.method} ${url.pathname} was retired on 2026-11-01; use the v3 API`));
			return;
		}
		if (take('routeMissing', endpoint)) {
			sendJson(res, 404, apiError('not_found', `No route for ${req.method} ${url.pathname}`));
			return;
		}
		const slow = take('slow', endpoint);
		if (slow) {
			await delay(slow.ms);
			if (res.destroyed || st.closed) return;
		}
		const key = req.headers['x-api-key'];
		const account = typeof key === 'string' ? st.accounts.get(key) : undefined;
		if (typeof key !== 'string' || !validKeys.includes(key) || account?.revoked || take('badKey', endpoint)) {
			sendJson(res, 401, apiError('unauthorized', 'Unauthorized'));
			return;
		}
		const echo = take('echoKeyError', endpoint);
		if (echo) {
			const e = echoedError(key, echo.form);
			sendJson(res, echo.status ?? 400, apiError(e.code, e.message));
			return;
		}
		const se = take('serverError', endpoint);
		if (se) {
			const status = se.status ?? 500;
			if (status === 502) {
				res.writeHead(502, { 'content-type': 'text/html' });
				res.end('<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>\n');
			} else {
				sendJson(
					res,
					status,
					apiError(status === 503 ? 'service_unavailable' : 'internal_error', 'Internal server error, please retry later')
				);
			}
			return;
		}
		const rl = take('rateLimit', endpoint);
		if (rl) {
			sendJson(res, 429, apiError('rate_limit_exceeded', 'Too many requests, please slow down'), {
				'retry-after': String(rl.retryAfter ?? 1)
			});
			return;
		}
		if (take('malformedJson', endpoint)) {
			const text = '{"data":{"video_id":"';
			res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
			res.end(text);
			return;
		}
		const huge = take('hugeReply', endpoint);
		if (huge) {
			res.writeHead(200, { 'content-type': 'application/json' });
			const filler = Buffer.alloc(CHUNK, 0x20);
			let sent = 0;
			const stream = new Readable({
				read() {
					if (sent >= huge.bytes) return void this.push(null);
					const n = Math.min(CHUNK, huge.bytes - sent);
					sent += n;
					this.push(sent === n ? Buffer.concat([Buffer.from('{"data":'), filler.subarray(8, n)]) : filler.subarray(0, n));
				}
			});
			stream.pipe(res);
			return;
		}
		const badShape = take('badShape', endpoint);

		if (account?.outOfCredit && (endpoint === 'generate' || endpoint === 'translate')) {
			sendJson(res, 402, apiError('insufficient_credit', 'Insufficient credit. Please top up your API credits.'));
			return;
		}

		switch (endpoint) {
			case 'generate':
			case 'translate': {
				const idemHeader = req.headers['idempotency-key'];
				const idemKey = typeof idemHeader === 'string' ? idemHeader : null;
				record.idempotencyKey = idemKey;
				if (idemKey !== null && !/^[A-Za-z0-9_\-:.]{1,255}$/.test(idemKey)) {
					throw new HttpFail(
						400,
						apiError('invalid_parameter', 'Idempotency-Key must match ^[A-Za-z0-9_\\-:.]{1,255}$', 'Idempotency-Key')
					);
				}
				if (badShape) {
					sendJson(res, 200, { data: endpoint === 'generate' ? { video_id: 12345 } : { batch: null } });
					return;
				}
				if (take('inProgress', endpoint)) {
					throw new HttpFail(409, apiError('request_in_progress', 'A request with this Idempotency-Key is still in progress'));
				}
				if (idemKey !== null) {
					const seen = idempotency.get(idemKey);
					if (seen?.state === 'in_flight') {
						throw new HttpFail(409, apiError('request_in_progress', 'A request with this Idempotency-Key is still in progress'));
					}
					if (seen?.state === 'done') {
						await readBody(req);
						sendJson(res, seen.status, seen.body, { 'idempotent-replayed': 'true' });
						return;
					}
					idempotency.set(idemKey, { state: 'in_flight', status: 0, body: null });
				}
				try {
					if (endpoint === 'generate') await createVideo(req, res, idemKey);
					else await translations.createBatch(req, res, idemKey);
				} catch (err) {
					// A request that created nothing may be repeated with the same key.
					if (idemKey !== null && idempotency.get(idemKey)?.state === 'in_flight') idempotency.delete(idemKey);
					throw err;
				}
				return;
			}
			case 'status': {
				const id = decodeURIComponent(url.pathname.slice('/v3/videos/'.length));
				const v = st.sim.videos.get(id);
				if (!v) throw new HttpFail(404, apiError('video_not_found', `Video ${id} not found`));
				v.statusCalls++;
				advance(v);
				const data = statusData(v);
				if (badShape) data['status'] = 'rendering';
				sendJson(res, 200, { data });
				return;
			}
			case 'statuses': {
				try {
					sendJson(res, 200, bulkStatusReply(url, st.sim.videos, advance, badShape !== null));
				} catch (err) {
					if (err instanceof BulkStatusError) throw new HttpFail(400, apiError('invalid_parameter', err.message, err.param));
					throw err;
				}
				return;
			}
			case 'avatars': {
				const looks = SIM_LOOKS.map((l) => ({
					...l,
					avatar_type: 'studio_avatar',
					group_id: `group-${l.id}`,
					preview_image_url: `${st.sim.url}/previews/avatar.jpg`,
					preview_video_url: `${st.sim.url}/previews/avatar.mp4`,
					image_width: 1280,
					image_height: 720,
					preferred_orientation: 'landscape',
					supported_api_engines: ['avatar_iv'],
					tags: [],
					status: 'completed',
					error: null
				}));
				const body = listPage(looks, url, 50);
				if (badShape) body['data'] = 'oops';
				sendJson(res, 200, body);
				return;
			}
			case 'voices': {
				const language = url.searchParams.get('language');
				const voices = SIM_VOICE_LIST.filter((v) => !language || v.language.toLowerCase() === language.toLowerCase()).map((v) => ({
					...v,
					voice_id: badShape ? null : v.voice_id,
					preview_audio_url: `${st.sim.url}/previews/voice.mp3`,
					support_pause: true,
					support_locale: false,
					type: 'public'
				}));
				sendJson(res, 200, listPage(voices, url, 100));
				return;
			}
			case 'translationBatch': {
				const data = translations.batchData(decodeURIComponent(url.pathname.slice('/v3/video-translations/batches/'.length)));
				sendJson(res, 200, { data: badShape ? { ...data, items: null } : data });
				return;
			}
			case 'translation': {
				const data = translations.getTranslation(decodeURIComponent(url.pathname.slice('/v3/video-translations/'.length)));
				if (badShape) delete data['id'];
				sendJson(res, 200, { data });
				return;
			}
			case 'translationList':
				sendJson(res, 200, listPage(translations.list(), url, 100));
				return;
			case 'translationStatuses':
				sendJson(res, 200, translations.statuses(url));
				return;
			case 'languages':
				sendJson(res, 200, { data: badShape ? {} : translations.languages() });
				return;
			case 'assets':
				sendJson(res, 200, { data: await translations.uploadAsset(req) });
				return;
			case 'account': {
				const billing = account?.outOfCredit ? emptied(st.sim.billing) : st.sim.billing;
				const data = { username: 'sim-user', email: 'sim@example.com', first_name: 'Sim', last_name: 'User', ...billing };
				sendJson(res, 200, { data: badShape ? { ...data, wallet: 'lots' } : data });
				return;
			}
			default:
				throw new HttpFail(404, apiError('not_found', 'Not found'));
		}
	}

	return { handleApi };
}

/** The account's billing with nothing left to spend (an out-of-credit account). */
function emptied(b: SimBilling): SimBilling {
	if (b.billing_type === 'wallet') return { ...b, wallet: { ...b.wallet, remaining_balance: 0 } };
	if (b.billing_type === 'subscription') {
		return { ...b, subscription: { ...b.subscription, credits: { premium_credits: { remaining: 0 }, add_on_credits: { remaining: 0 } } } };
	}
	return { ...b, usage_based: { ...b.usage_based, remaining_credits: 0 } };
}
