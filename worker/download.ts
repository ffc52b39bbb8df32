import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { Transform, pipeline, type Readable, type TransformCallback } from 'node:stream';
import { DownloadError } from './handlers/errors.ts';
import { isVideoContentType, Mp4BoxWalker } from './mp4-boxes.ts';

export interface Download {
	body: Readable;
	bytes: number | undefined;
	contentType: string | null;
}

/** What the body must be; checked on its first bytes, so a wrong file fails before it is stored. */
export type Expect = 'mp4' | 'image' | 'srt';

export interface DownloadOptions {
	stallMs: number;
	headersTimeoutMs?: number;
	/**
	 * The configured HeyGen API origin (HEYGEN_API_URL). URLs on it may be plain http and on a
	 * private or loopback address (the simulator, a local proxy); every other URL must be https and
	 * public.
	 */
	trustedOrigin?: string;
	expect?: Expect;
	/** Bodies larger than this fail (for the small side files). */
	maxBytes?: number;
}

export const MAX_REDIRECTS = 5;
const WHAT: Record<Expect, string> = { mp4: 'video', image: 'thumbnail', srt: 'subtitles' };

const PRIVATE = new BlockList();
for (const [net, bits] of [
	['0.0.0.0', 8],
	['10.0.0.0', 8],
	['100.64.0.0', 10],
	['127.0.0.0', 8],
	['169.254.0.0', 16],
	['172.16.0.0', 12],
	['192.0.0.0', 24],
	['192.168.0.0', 16],
	['198.18.0.0', 15],
	['224.0.0.0', 4],
	['240.0.0.0', 4]
] as const)
	PRIVATE.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
	['::', 128],
	['::1', 128],
	['fc00::', 7],
	['fe80::', 10],
	['ff00::', 8],
	['64:ff9b::', 96]
] as const)
	PRIVATE.addSubnet(net, bits, 'ipv6');

/** True for loopback, private, link-local, CGNAT, multicast and other non-public addresses. */
export function isPrivateAddress(address: string): boolean {
	const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
	if (mapped) return PRIVATE.check(mapped[1]!, 'ipv4');
	const family = isIP(address);
	if (family === 4) return PRIVATE.check(address, 'ipv4');
	if (family === 6) return PRIVATE.check(address, 'ipv6');
	return true;
}

function refused(message: string): DownloadError {
	return new DownloadError('download_refused', message, undefined, true);
}

/** A DNS lookup that refuses private answers, so a public name cannot point the worker inward. */
const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
	dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
		if (err) return callback(err, '', 0);
		const list = addresses as LookupAddress[];
		const bad = list.find((a) => isPrivateAddress(a.address));
		if (bad || list.length === 0) {
			return callback(
				refused(`The ${'download'} host ${hostname} resolves to a private or loopback address (${bad?.address ?? 'none'}); refused.`),
				'',
				0
			);
		}
		if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, list);
		callback(null, list[0]!.address, list[0]!.family);
	});
};

/** Checks a URL before any connection is made; returns the lookup to use for it. */
function vet(raw: string, trustedOrigin: string | undefined, what: string): { url: URL; lookup: LookupFunction | undefined } {
	let url: URL;
	try {
		url = new URL(raw);
	} catch {
		throw refused(`HeyGen gave a ${what} URL that is not a valid URL.`);
	}
	if (url.username || url.password) throw refused(`HeyGen gave a ${what} URL with credentials in it; refused.`);
	const trusted = trustedOrigin !== undefined && url.origin === new URL(trustedOrigin).origin;
	if (trusted) return { url, lookup: undefined };
	if (url.protocol !== 'https:')
		throw refused(`HeyGen gave a ${what} URL that is not https (${url.protocol}//${url.host}); only https downloads are allowed.`);
	const host = url.hostname.replace(/^\[|\]$/g, '');
	if (isIP(host)) {
		if (isPrivateAddress(host)) throw refused(`The ${what} URL points at a private or loopback address (${host}); refused.`);
		return { url, lookup: undefined };
	}
	if (host === 'localhost' || host.endsWith('.localhost')) throw refused(`The ${what} URL points at ${host}; refused.`);
	return { url, lookup: publicOnlyLookup };
}

/**
 * Opens a file HeyGen links to (the video, its thumbnail or subtitles) as a checked stream:
 * https only (plus the configured API origin), at most 5 redirects each re-checked, never a
 * private or loopback address, and a body that is what it should be (a video type whose MP4 boxes
 * check out, see mp4-boxes.ts; an image; subtitles — never empty, never an HTML page). A video that
 * fails its check is `invalid_video`, permanent. 403/404 right after a render completes
 * (or after the URL expired) are "not ready": retryable, like 5xx. A stall of `stallMs` aborts.
 * Uses node:http rather than fetch: for a 1 GiB file fetch's web-stream bridge leaves far more
 * garbage behind between collections.
 */
export async function openDownload(rawUrl: string, opts: DownloadOptions): Promise<Download> {
	const expect = opts.expect ?? 'mp4';
	const what = WHAT[expect];
	const timeout = opts.headersTimeoutMs ?? 30_000;
	let target = vet(rawUrl, opts.trustedOrigin, what);
	let res = await request(target.url, target.lookup, timeout, what);
	for (let hops = 0; res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && res.headers.location; hops++) {
		res.resume();
		if (hops >= MAX_REDIRECTS)
			throw new DownloadError('download_redirects', `The ${what} URL redirected more than ${MAX_REDIRECTS} times.`, undefined, true);
		target = vet(new URL(res.headers.location, target.url).toString(), opts.trustedOrigin, what);
		res = await request(target.url, target.lookup, timeout, what);
	}
	const status = res.statusCode ?? 0;
	if (status < 200 || status >= 300) {
		res.resume();
		const code = status === 403 || status === 404 || status === 410 ? 'video_url_not_ready' : `download_http_${status}`;
		throw new DownloadError(code, `The ${what} URL answered HTTP ${status}.`, status);
	}
	const contentType = res.headers['content-type'] ?? null;
	const length = res.headers['content-length'];
	const bytes = length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined;
	if (opts.maxBytes !== undefined && bytes !== undefined && bytes > opts.maxBytes) {
		res.resume();
		throw new DownloadError('download_bad_body', `The ${what} is ${bytes} bytes, more than the ${opts.maxBytes} allowed.`, undefined, true);
	}
	let stallTimer: NodeJS.Timeout | undefined;
	const check = new BodyCheck(expect, contentType, bytes, opts.maxBytes, () => arm());
	const arm = () => {
		clearTimeout(stallTimer);
		stallTimer = setTimeout(
			() => check.destroy(new DownloadError('download_stalled', `The download stalled for ${opts.stallMs} ms.`)),
			opts.stallMs
		);
	};
	arm();
	// pipeline() owns the error listeners, so a broken-off download reaches the reader of the body
	// (the storage adapter) as an error instead of crashing the process.
	pipeline(res, check, (err) => {
		clearTimeout(stallTimer);
		if (err && !check.destroyed) check.destroy(new DownloadError('download_interrupted', `The download broke off: ${err.message}`));
	});
	check.on('close', () => {
		clearTimeout(stallTimer);
		res.destroy();
	});
	return { body: check, bytes, contentType };
}

/**
 * Passes the body through once its first bytes look right, and a video's MP4 boxes as they stream;
 * fails empty, HTML and wrong files.
 */
class BodyCheck extends Transform {
	private head: Buffer[] = [];
	private headBytes = 0;
	private seen = 0;
	private checked = false;
	/** Walks an MP4's top-level boxes as they pass (video downloads only). */
	private readonly boxes: Mp4BoxWalker | null;
	readonly expect: Expect;
	readonly contentType: string | null;
	readonly maxBytes: number | undefined;
	readonly onData: () => void;

	constructor(expect: Expect, contentType: string | null, announced: number | undefined, maxBytes: number | undefined, onData: () => void) {
		super();
		this.expect = expect;
		this.contentType = contentType;
		this.maxBytes = maxBytes;
		this.onData = onData;
		this.boxes = expect === 'mp4' ? new Mp4BoxWalker(announced) : null;
	}

	override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
		this.onData();
		this.seen += chunk.length;
		if (this.maxBytes !== undefined && this.seen > this.maxBytes) {
			return cb(
				new DownloadError(
					'download_bad_body',
					`The ${WHAT[this.expect]} is larger than the ${this.maxBytes} bytes allowed.`,
					undefined,
					true
				)
			);
		}
		if (this.checked) return this.pass(chunk, cb);
		this.head.push(chunk);
		this.headBytes += chunk.length;
		if (this.headBytes < 16) return cb();
		this.release(cb);
	}

	override _flush(cb: TransformCallback): void {
		if (this.seen === 0) return cb(new DownloadError('download_bad_body', `HeyGen's ${WHAT[this.expect]} URL returned an empty file.`));
		if (!this.checked) return this.release((err, data) => (err ? cb(err) : (this.push(data), this.endBoxes(cb))));
		this.endBoxes(cb);
	}

	private release(cb: TransformCallback): void {
		const head = Buffer.concat(this.head);
		this.head = [];
		const problem = this.problemWith(head);
		if (problem) return cb(problem);
		this.checked = true;
		this.pass(head, cb);
	}

	private pass(chunk: Buffer, cb: TransformCallback): void {
		const problem = this.boxes?.push(chunk);
		if (problem) return cb(invalidVideo(problem));
		cb(null, chunk);
	}

	private endBoxes(cb: TransformCallback): void {
		const problem = this.boxes?.end();
		cb(problem ? invalidVideo(problem) : null);
	}

	private problemWith(head: Buffer): DownloadError | null {
		const what = WHAT[this.expect];
		const text = head.subarray(0, 64).toString('latin1').trimStart().toLowerCase();
		if (
			/text\/html/i.test(this.contentType ?? '') ||
			text.startsWith('<!doctype html') ||
			text.startsWith('<html') ||
			text.startsWith('<?xml') ||
			text.startsWith('<')
		) {
			return new DownloadError('download_bad_body', `HeyGen's ${what} URL returned a web page instead of the ${what} file.`);
		}
		if (this.expect === 'mp4' && !isVideoContentType(this.contentType)) {
			return invalidVideo(`it was served as "${this.contentType}", which is not a video type`);
		}
		if (this.expect === 'image') {
			const jpeg = head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff;
			const png = head.subarray(0, 4).toString('latin1') === '\x89PNG';
			const webp = head.subarray(0, 4).toString('latin1') === 'RIFF' && head.subarray(8, 12).toString('latin1') === 'WEBP';
			const gif = head.subarray(0, 4).toString('latin1') === 'GIF8';
			if (!jpeg && !png && !webp && !gif) {
				return new DownloadError('download_bad_body', `HeyGen's thumbnail URL returned a file that is not an image.`);
			}
		}
		if (this.expect === 'srt' && head.includes(0)) {
			return new DownloadError('download_bad_body', `HeyGen's subtitles URL returned a binary file, not SRT subtitles.`);
		}
		return null;
	}
}

/**
 * A video file that is not a playable MP4 (wrong type, broken or cut-short boxes). Permanent: the
 * reply itself was complete, so a retry fetches the same file, and storing it would only give the
 * viewer a player that cannot play. (A download that breaks off is `download_interrupted`, retried.)
 */
function invalidVideo(problem: string): DownloadError {
	return new DownloadError('invalid_video', `HeyGen's video file is not a playable MP4: ${problem}.`, undefined, true);
}

function request(target: URL, lookup: LookupFunction | undefined, timeoutMs: number, what: string): Promise<IncomingMessage> {
	return new Promise((resolve, reject) => {
		const client = target.protocol === 'https:' ? https : target.protocol === 'http:' ? http : null;
		if (!client) {
			reject(refused(`HeyGen gave a ${what} URL with an unsupported protocol (${target.protocol}).`));
			return;
		}
		const req = client.get(target, { timeout: timeoutMs, ...(lookup && { lookup }) }, resolve);
		req.on('timeout', () => req.destroy(new DownloadError('download_timeout', `The ${what} URL did not answer within ${timeoutMs} ms.`)));
		req.on('error', (err) =>
			reject(
				err instanceof DownloadError
					? err
					: new DownloadError(
							'download_network',
							`Could not reach the ${what} URL (${(err as NodeJS.ErrnoException).code ?? err.message}).`
						)
			)
		);
	});
}
