import { pipeline, Readable, Transform } from 'node:stream';
import { DownloadError } from './handlers/errors.ts';

export interface Download {
	body: Readable;
	bytes: number | undefined;
	contentType: string | null;
}

/**
 * Opens HeyGen's signed video URL as a stream. 403/404 right after a render completes (or after the
 * URL expired) are "not ready": retryable, like 5xx. A body that stalls for `stallMs` is aborted.
 */
export async function openDownload(url: string, opts: { stallMs: number; headersTimeoutMs?: number }): Promise<Download> {
	const controller = new AbortController();
	const headersTimer = setTimeout(() => controller.abort(), opts.headersTimeoutMs ?? 30_000);
	let res: Response;
	try {
		res = await fetch(url, { signal: controller.signal, redirect: 'follow' });
	} catch (err) {
		throw new DownloadError('download_network', `Could not reach the video URL: ${(err as Error).name === 'AbortError' ? 'timed out' : (err as Error).message}`);
	} finally {
		clearTimeout(headersTimer);
	}
	if (!res.ok || !res.body) {
		await res.body?.cancel().catch(() => {});
		const code = res.status === 403 || res.status === 404 || res.status === 410 ? 'video_url_not_ready' : `download_http_${res.status}`;
		throw new DownloadError(code, `The video URL answered HTTP ${res.status}`, res.status);
	}
	const length = res.headers.get('content-length');
	const bytes = length !== null && /^\d+$/.test(length) ? Number(length) : undefined;
	let stallTimer: NodeJS.Timeout | undefined;
	const arm = () => {
		clearTimeout(stallTimer);
		stallTimer = setTimeout(() => controller.abort(), opts.stallMs);
	};
	arm();
	const watchdog = new Transform({
		transform(chunk, _enc, cb) {
			arm();
			cb(null, chunk);
		},
		flush(cb) {
			clearTimeout(stallTimer);
			cb();
		}
	});
	const source = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
	watchdog.on('close', () => clearTimeout(stallTimer));
	// pipeline() owns the error listeners, so a broken-off download reaches the reader of `body`
	// (the storage adapter) as an error instead of crashing the process.
	pipeline(source, watchdog, (err) => {
		clearTimeout(stallTimer);
		if (err && !watchdog.destroyed) watchdog.destroy(new DownloadError('download_interrupted', `The download broke off: ${err.message}`));
	});
	return { body: watchdog, bytes, contentType: res.headers.get('content-type') };
}
