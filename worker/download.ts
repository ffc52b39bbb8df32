import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { Transform, pipeline, type Readable } from 'node:stream';
import { DownloadError } from './handlers/errors.ts';

export interface Download {
	body: Readable;
	bytes: number | undefined;
	contentType: string | null;
}

const MAX_REDIRECTS = 5;

/**
 * Opens HeyGen's signed video URL as a stream. 403/404 right after a render completes (or after the
 * URL expired) are "not ready": retryable, like 5xx. A body that stalls for `stallMs` is aborted.
 * Uses node:http rather than fetch: for a 1 GiB file fetch's web-stream bridge leaves far more
 * garbage behind between collections.
 */
export async function openDownload(url: string, opts: { stallMs: number; headersTimeoutMs?: number }): Promise<Download> {
	let res = await request(url, opts.headersTimeoutMs ?? 30_000);
	for (let hops = 0; res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && res.headers.location; hops++) {
		res.resume();
		if (hops >= MAX_REDIRECTS) throw new DownloadError('download_redirects', `The video URL redirected more than ${MAX_REDIRECTS} times`);
		res = await request(new URL(res.headers.location, url).toString(), opts.headersTimeoutMs ?? 30_000);
	}
	const status = res.statusCode ?? 0;
	if (status < 200 || status >= 300) {
		res.resume();
		const code = status === 403 || status === 404 || status === 410 ? 'video_url_not_ready' : `download_http_${status}`;
		throw new DownloadError(code, `The video URL answered HTTP ${status}`, status);
	}
	const length = res.headers['content-length'];
	const bytes = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
	let stallTimer: NodeJS.Timeout | undefined;
	const watchdog = new Transform({
		transform(chunk, _enc, cb) {
			arm();
			cb(null, chunk);
		}
	});
	const arm = () => {
		clearTimeout(stallTimer);
		stallTimer = setTimeout(() => watchdog.destroy(new DownloadError('download_stalled', `The download stalled for ${opts.stallMs} ms`)), opts.stallMs);
	};
	arm();
	// pipeline() owns the error listeners, so a broken-off download reaches the reader of the body
	// (the storage adapter) as an error instead of crashing the process.
	pipeline(res, watchdog, (err) => {
		clearTimeout(stallTimer);
		if (err && !watchdog.destroyed) watchdog.destroy(new DownloadError('download_interrupted', `The download broke off: ${err.message}`));
	});
	watchdog.on('close', () => {
		clearTimeout(stallTimer);
		res.destroy();
	});
	return { body: watchdog, bytes, contentType: res.headers['content-type'] ?? null };
}

function request(url: string, timeoutMs: number): Promise<IncomingMessage> {
	return new Promise((resolve, reject) => {
		let target: URL;
		try {
			target = new URL(url);
		} catch {
			reject(new DownloadError('download_bad_url', 'HeyGen gave a video URL that is not a valid URL'));
			return;
		}
		const client = target.protocol === 'https:' ? https : target.protocol === 'http:' ? http : null;
		if (!client) {
			reject(new DownloadError('download_bad_url', `HeyGen gave a video URL with an unsupported protocol (${target.protocol})`));
			return;
		}
		const req = client.get(target, { timeout: timeoutMs }, resolve);
		req.on('timeout', () => req.destroy(new DownloadError('download_timeout', `The video URL did not answer within ${timeoutMs} ms`)));
		req.on('error', (err) =>
			reject(err instanceof DownloadError ? err : new DownloadError('download_network', `Could not reach the video URL: ${err.message}`))
		);
	});
}
