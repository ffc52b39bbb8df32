import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';

export type ByteRange = { start: number; end: number };

/**
 * Parses a `Range` header for a file of `size` bytes. One range only (what video players send);
 * returns null for no/ignorable header (serve the whole file), 'unsatisfiable' for a range outside
 * the file (416).
 */
export function parseRange(header: string | null, size: number): ByteRange | null | 'unsatisfiable' {
	if (!header) return null;
	const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
	if (!m || (m[1] === '' && m[2] === '')) return null; // malformed or multi-range: ignore (RFC 9110)
	let start: number;
	let end: number;
	if (m[1] === '') {
		const suffix = Number(m[2]);
		if (suffix === 0) return 'unsatisfiable';
		start = Math.max(0, size - suffix);
		end = size - 1;
	} else {
		start = Number(m[1]);
		end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
		if (m[2] !== '' && Number(m[2]) < start) return null;
	}
	if (start >= size || size === 0) return 'unsatisfiable';
	return { start, end };
}

/**
 * Streams a file with Range support (206 partial content), so a video element can seek. ETag and
 * Last-Modified let the browser revalidate; If-Range keeps a range request from mixing versions.
 */
export async function serveFile(
	request: Request,
	file: string,
	contentType: string,
	extraHeaders: Record<string, string> = {}
): Promise<Response> {
	let info;
	try {
		info = await stat(file);
	} catch {
		return new Response('Not found', { status: 404 });
	}
	if (!info.isFile()) return new Response('Not found', { status: 404 });
	const size = info.size;
	const etag = `"${info.mtimeMs.toString(36)}-${size.toString(36)}"`;
	const headers: Record<string, string> = {
		'content-type': contentType,
		'accept-ranges': 'bytes',
		etag,
		'last-modified': info.mtime.toUTCString(),
		...extraHeaders
	};
	const inm = request.headers.get('if-none-match');
	if (inm && inm.split(',').some((t) => t.trim() === etag)) return new Response(null, { status: 304, headers });

	let range = parseRange(request.headers.get('range'), size);
	const ifRange = request.headers.get('if-range');
	if (range && ifRange && ifRange !== etag && ifRange !== headers['last-modified']) range = null;
	if (range === 'unsatisfiable') {
		return new Response(null, { status: 416, headers: { ...headers, 'content-range': `bytes */${size}` } });
	}
	const head = request.method === 'HEAD';
	const body = (start: number, end: number) =>
		head ? null : (Readable.toWeb(createReadStream(file, { start, end, highWaterMark: 256 * 1024 })) as ReadableStream<Uint8Array>);
	if (range) {
		return new Response(body(range.start, range.end), {
			status: 206,
			headers: {
				...headers,
				'content-range': `bytes ${range.start}-${range.end}/${size}`,
				'content-length': String(range.end - range.start + 1)
			}
		});
	}
	return new Response(size === 0 ? null : body(0, size - 1), { status: 200, headers: { ...headers, 'content-length': String(size) } });
}

/**
 * SRT subtitles (what HeyGen gives) as WebVTT (what browsers' <track> reads): a header, and a dot
 * instead of a comma before the milliseconds of each cue time. Cue text is kept as it is.
 */
export function srtToVtt(srt: string): string {
	const body = srt
		.replace(/^\uFEFF/, '')
		.replace(/\r\n?/g, '\n')
		.replace(/^(\d{1,2}:\d{2}:\d{2}),(\d{3}) --> (\d{1,2}:\d{2}:\d{2}),(\d{3})/gm, '$1.$2 --> $3.$4');
	return `WEBVTT\n\n${body.trim()}\n`;
}
