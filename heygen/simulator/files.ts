// Signed file URLs (video, thumbnail, captions) served like S3, with ranges and download faults, and
// the catalog's preview files.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { apiError, s3Error, sendJson } from './http.ts';
import type { SimState } from './state.ts';
import { CHUNK, DEFAULT_URL_TTL_MS, type BadDownloadKind } from './types.ts';

export function createFiles(st: SimState) {
	const { mp4, thumbnail, voicePreview, secret, delay, take } = st;

	function sign(path: string, expires: number): string {
		return createHmac('sha256', secret).update(`${path}\n${expires}`).digest('hex');
	}

	function signedUrl(path: string, ttlMs?: number): string {
		const ttl = ttlMs ?? st.faults.shortUrlTtlMs ?? DEFAULT_URL_TTL_MS;
		const expires = Date.now() + ttl;
		return `${st.sim.url}${path}?expires=${expires}&sig=${sign(path, expires)}`;
	}

	function checkSignature(path: string, query: URLSearchParams): 'ok' | 'expired' | 'bad' {
		const expires = Number(query.get('expires'));
		const sig = query.get('sig') ?? '';
		if (!Number.isFinite(expires) || !/^[0-9a-f]{64}$/.test(sig)) return 'bad';
		const want = Buffer.from(sign(path, expires), 'hex');
		if (!timingSafeEqual(want, Buffer.from(sig, 'hex'))) return 'bad';
		return Date.now() > expires ? 'expired' : 'ok';
	}

	async function handleFile(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
		const path = url.pathname;
		const m = /^\/files\/([A-Za-z0-9_-]+)\.(mp4|jpg|srt|vtt)$/.exec(path);
		if (!m) {
			res.writeHead(404, { 'content-type': 'application/xml' });
			res.end(s3Error('NoSuchKey', 'The specified key does not exist.'));
			return;
		}
		const sig = checkSignature(path, url.searchParams);
		if (sig !== 'ok') {
			res.writeHead(403, { 'content-type': 'application/xml' });
			res.end(
				sig === 'expired'
					? s3Error('AccessDenied', 'Request has expired')
					: s3Error('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.')
			);
			return;
		}
		const v = st.sim.videos.get(m[1]!);
		if (!v || v.status !== 'completed' || ((m[2] === 'srt' || m[2] === 'vtt') && !v.caption) || (m[2] === 'vtt' && !v.translation)) {
			res.writeHead(404, { 'content-type': 'application/xml' });
			res.end(s3Error('NoSuchKey', 'The specified key does not exist.'));
			return;
		}
		const slow = take('slow', 'files');
		if (slow) {
			await delay(slow.ms);
			if (res.destroyed || st.closed) return;
		}
		if (m[2] === 'jpg' || m[2] === 'srt' || m[2] === 'vtt') {
			const srt = st.sim.subtitlesFor(v);
			const vtt = () => `WEBVTT\n\n${srt.replace(/(\d\d:\d\d:\d\d),(\d{3})/g, '$1.$2')}`;
			const body = m[2] === 'jpg' ? thumbnail : Buffer.from(m[2] === 'vtt' ? vtt() : srt);
			const type = { jpg: 'image/jpeg', srt: 'application/x-subrip', vtt: 'text/vtt' }[m[2]];
			res.writeHead(200, { 'content-type': type, 'content-length': body.length });
			res.end(req.method === 'HEAD' ? undefined : body);
			return;
		}
		const isGet = req.method === 'GET';
		if (isGet) v.downloads++;
		if (isGet && take('downloadForbidden', 'files')) {
			res.writeHead(403, { 'content-type': 'application/xml' });
			res.end(s3Error('AccessDenied', 'Access Denied'));
			return;
		}
		const badDownload = isGet ? take('badDownload', 'files') : null;
		if (badDownload) {
			const { type, body, length = body.length } = badBody(badDownload.kind, mp4);
			// `connection: close`: a wrong Content-Length must not leave stray bytes on a reused socket.
			res.writeHead(200, { 'content-type': type, 'content-length': length, connection: 'close' });
			res.end(body);
			return;
		}
		const se = isGet ? take('serverError', 'files') : null;
		if (se) {
			res.writeHead(se.status ?? 500, { 'content-type': 'application/xml' });
			res.end(s3Error('InternalError', 'We encountered an internal error. Please try again.'));
			return;
		}
		const size = v.sizeBytes;
		let start = 0;
		let end = size - 1;
		let status = 200;
		const range = req.headers.range;
		if (typeof range === 'string' && !range.includes(',')) {
			const r = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
			let ok = false;
			if (r && (r[1] !== '' || r[2] !== '')) {
				if (r[1] === '') {
					const suffix = Number(r[2]);
					if (suffix > 0) {
						start = Math.max(0, size - suffix);
						ok = true;
					}
				} else {
					start = Number(r[1]);
					if (r[2] !== '') end = Math.min(Number(r[2]), size - 1);
					ok = start < size && start <= end;
				}
			}
			if (!ok) {
				res.writeHead(416, { 'content-range': `bytes */${size}`, 'content-type': 'application/xml' });
				res.end(s3Error('InvalidRange', 'The requested range is not satisfiable'));
				return;
			}
			status = 206;
		}
		const length = end - start + 1;
		const headers: Record<string, string | number> = {
			'content-type': 'video/mp4',
			'content-length': length,
			'accept-ranges': 'bytes',
			etag: `"${v.id}-${size}"`,
			'last-modified': new Date(v.completedAt ?? v.createdAt).toUTCString()
		};
		if (status === 206) headers['content-range'] = `bytes ${start}-${end}/${size}`;
		res.writeHead(status, headers);
		if (req.method === 'HEAD') {
			res.end();
			return;
		}
		const truncated = take('truncatedDownload', 'files');
		const sendUntil = truncated ? start + Math.floor(length / 2) : end + 1;
		const stream = Readable.from(fileChunks(mp4, start, sendUntil, size));
		stream.pipe(res, { end: !truncated });
		await new Promise<void>((resolve) => {
			stream.on('end', resolve);
			stream.on('error', () => resolve());
			res.on('close', resolve);
		});
		if (truncated) {
			// Flush what was written, then cut the connection mid-body (Content-Length promised more).
			res.socket?.destroySoon();
		}
	}

	function handlePreview(req: IncomingMessage, res: ServerResponse, path: string): void {
		const map: Record<string, [Buffer, string]> = {
			'/previews/avatar.jpg': [thumbnail, 'image/jpeg'],
			'/previews/avatar.mp4': [mp4, 'video/mp4'],
			'/previews/voice.mp3': [voicePreview, 'audio/mpeg']
		};
		const hit = map[path];
		if (!hit) {
			sendJson(res, 404, apiError('not_found', `No route for ${req.method} ${path}`));
			return;
		}
		res.writeHead(200, { 'content-type': hit[1], 'content-length': hit[0].length });
		res.end(req.method === 'HEAD' ? undefined : hit[0]);
	}

	return { signedUrl, checkSignature, handleFile, handlePreview };
}

/** What a `badDownload` fault serves for the MP4: content type, body, announced Content-Length. */
function badBody(kind: BadDownloadKind, mp4: Buffer): { type: string; body: Buffer; length?: number } {
	switch (kind) {
		case 'empty':
			return { type: 'video/mp4', body: Buffer.alloc(0) };
		case 'html':
			return { type: 'text/html', body: Buffer.from('<html><body>Oops</body></html>\n') };
		case 'notMp4':
			return { type: 'video/mp4', body: randomBytes(4096) };
		// 42 bytes of text that happen to carry "ftyp" at offset 4, like an MP4's first box.
		case 'textFtyp':
			return { type: 'text/plain', body: Buffer.from('\0\0\0*ftyp is how an MP4 starts; not a video') };
		// A clean reply with the first half of the file: its last box is cut short.
		case 'cutShort':
			return { type: 'video/mp4', body: mp4.subarray(0, mp4.length >> 1) };
		// The whole file, but Content-Length announces 1000 bytes fewer.
		case 'wrongLength':
			return { type: 'video/mp4', body: mp4, length: mp4.length - 1000 };
	}
}

/**
 * Bytes [from, to) of a virtual file of `size` bytes: the mp4 first, then padding, in ≤ 64 KiB
 * chunks. The padding is one `free` box (header, then zeros), so the padded file is still a
 * well-formed MP4; padding of 1–7 bytes cannot hold a box header and stays bare zeros.
 */
export function* fileChunks(mp4: Buffer, from: number, to: number, size = to): Generator<Buffer> {
	const head = Buffer.concat([mp4, freeBoxHeader(size - mp4.length)]);
	const zeros = Buffer.alloc(CHUNK);
	let pos = from;
	while (pos < to) {
		const n = Math.min(CHUNK, to - pos);
		if (pos < head.length) {
			const take = Math.min(n, head.length - pos);
			yield head.subarray(pos, pos + take);
			pos += take;
		} else {
			yield zeros.subarray(0, n);
			pos += n;
		}
	}
}

/** The header of a `free` box `bytes` long (64-bit size past 4 GiB); empty if it cannot fit. */
function freeBoxHeader(bytes: number): Buffer {
	if (bytes < 8) return Buffer.alloc(0);
	if (bytes < 2 ** 32) {
		const h = Buffer.from('\0\0\0\0free', 'latin1');
		h.writeUInt32BE(bytes, 0);
		return h;
	}
	const h = Buffer.from('\0\0\0\x01free\0\0\0\0\0\0\0\0', 'latin1');
	h.writeBigUInt64BE(BigInt(bytes), 8);
	return h;
}

export function srtTime(ms: number): string {
	const h = Math.floor(ms / 3_600_000);
	const m = Math.floor((ms % 3_600_000) / 60_000);
	const s = Math.floor((ms % 60_000) / 1000);
	const r = ms % 1000;
	const p = (n: number, w = 2) => String(n).padStart(w, '0');
	return `${p(h)}:${p(m)}:${p(s)},${p(r, 3)}`;
}
