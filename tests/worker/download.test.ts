import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buffer } from 'node:stream/consumers';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPrivateAddress, openDownload } from '../../worker/download.ts';
import { DownloadError } from '../../worker/handlers/errors.ts';
import { box, FTYP, TEXT_WITH_FTYP } from '../helpers/mp4.ts';

const MP4 = readFileSync(new URL('../../heygen/simulator/sample.mp4', import.meta.url));
const JPG = readFileSync(new URL('../../heygen/simulator/sample-thumbnail.jpg', import.meta.url));
/** Subtitles with no '<' anywhere: only a content-type check can tell them from a web page. */
const SRT = '1\n00:00:00,000 --> 00:00:01,500\nHello from the avatar.\n';

/** A stand-in for HeyGen's file host, on the "configured API host" (trusted) origin. */
let server: Server;
let origin: string;
beforeAll(async () => {
	server = createServer((req, res) => {
		const u = new URL(req.url!, 'http://x');
		type Headers = Record<string, string | number>;
		const send = (type: string | null, body: Buffer | string, headers: Headers = { 'content-length': Buffer.byteLength(body) }) => {
			res.writeHead(200, { ...(type && { 'content-type': type }), ...headers });
			res.end(body);
		};
		switch (u.pathname) {
			case '/ok.mp4':
				return send('video/mp4', MP4);
			case '/octet.mp4':
				return send('application/octet-stream', MP4);
			case '/untyped.mp4':
				return send(null, MP4);
			case '/chunked.mp4':
				return send('video/mp4', MP4, {});
			case '/fragmented.mp4':
				return send('video/mp4', Buffer.concat([FTYP, box('moov', 300), box('moof', 200), box('mdat', 4000)]));
			case '/html-video.mp4':
				return send('text/html; charset=utf-8', MP4);
			case '/text-ftyp.mp4':
				return send('text/plain', TEXT_WITH_FTYP);
			case '/text-video.mp4':
				return send('text/plain', MP4);
			case '/no-moov.mp4':
				return send('video/mp4', Buffer.concat([FTYP, box('free', 64), box('mdat', 4000)]));
			case '/cut.mp4':
				return send('video/mp4', MP4.subarray(0, 10_000));
			case '/cut-chunked.mp4':
				return send('video/mp4', MP4.subarray(0, 10_000), {});
			// The whole file, but the reply announces 1000 bytes fewer (the client stops reading there).
			case '/short-length.mp4':
				return send('video/mp4', MP4, { 'content-length': MP4.length - 1000, connection: 'close' });
			case '/ok.srt':
				return send('application/x-subrip', SRT);
			case '/html-subtitles.srt':
				return send('text/html', SRT);
			case '/empty.mp4':
				return send('video/mp4', '');
			case '/page.mp4':
				return send('text/html', '<html><body>Sign in to continue</body></html>');
			case '/sneaky.mp4':
				return send('video/mp4', '<!DOCTYPE html><html></html>');
			case '/random.mp4':
				return send('video/mp4', Buffer.alloc(4096, 7));
			case '/thumb.jpg':
				return send('image/jpeg', JPG);
			case '/not-image.jpg':
				return send('image/jpeg', MP4);
			case '/hop': {
				const n = Number(u.searchParams.get('n'));
				res.writeHead(302, { location: n > 0 ? `/hop?n=${n - 1}` : '/ok.mp4' });
				return res.end();
			}
			case '/to-http-elsewhere':
				res.writeHead(302, { location: 'http://example.com/video.mp4' });
				return res.end();
			case '/to-metadata':
				res.writeHead(302, { location: 'https://169.254.169.254/latest/meta-data/' });
				return res.end();
			default:
				res.writeHead(404);
				res.end();
		}
	});
	await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
	origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function fetchAll(url: string, expect: 'mp4' | 'image' | 'srt' = 'mp4', trusted: string | undefined = origin): Promise<Buffer> {
	const d = await openDownload(url, { stallMs: 2000, expect, ...(trusted && { trustedOrigin: trusted }) });
	return buffer(d.body);
}

async function refusal(p: Promise<unknown>): Promise<DownloadError> {
	try {
		await p;
	} catch (err) {
		expect(err).toBeInstanceOf(DownloadError);
		return err as DownloadError;
	}
	throw new Error('expected the download to be refused');
}

describe('download safety', () => {
	it('a real MP4 from the configured API host passes, byte for byte', async () => {
		expect((await fetchAll(`${origin}/ok.mp4`)).equals(MP4)).toBe(true);
		expect((await fetchAll(`${origin}/thumb.jpg`, 'image')).equals(JPG)).toBe(true);
	});

	it('follows up to 5 redirects, and refuses the 6th', async () => {
		expect((await fetchAll(`${origin}/hop?n=4`)).equals(MP4)).toBe(true);
		const e = await refusal(fetchAll(`${origin}/hop?n=5`));
		expect(e.code).toBe('download_redirects');
		expect(e.message).toBe('The video URL redirected more than 5 times.');
		expect(e.permanent).toBe(true);
	});

	it('refuses plain http anywhere but the configured API host', async () => {
		const e = await refusal(fetchAll('http://example.com/video.mp4'));
		expect(e.code).toBe('download_refused');
		expect(e.message).toMatch(/not https \(http:\/\/example\.com\); only https downloads are allowed/);
		// The same host the simulator uses is refused too when it is not the configured one.
		expect((await refusal(fetchAll(`${origin}/ok.mp4`, 'mp4', 'https://api.heygen.com'))).code).toBe('download_refused');
	});

	it('re-checks every redirect target', async () => {
		expect((await refusal(fetchAll(`${origin}/to-http-elsewhere`))).message).toMatch(/not https/);
		expect((await refusal(fetchAll(`${origin}/to-metadata`))).message).toMatch(/private or loopback address \(169\.254\.169\.254\)/);
	});

	it('refuses loopback and private addresses unless they are the configured API host', async () => {
		for (const url of [
			'https://127.0.0.1/v.mp4',
			'https://10.0.0.8/v.mp4',
			'https://192.168.1.1/v.mp4',
			'https://[::1]/v.mp4',
			'https://localhost/v.mp4',
			'https://172.16.0.1/v.mp4'
		]) {
			const e = await refusal(fetchAll(url, 'mp4', 'https://api.heygen.com'));
			expect(e.code, url).toBe('download_refused');
		}
		expect(isPrivateAddress('::ffff:127.0.0.1')).toBe(true);
		expect(isPrivateAddress('100.64.0.1')).toBe(true);
		expect(isPrivateAddress('8.8.8.8')).toBe(false);
		expect(isPrivateAddress('2606:4700::1111')).toBe(false);
	});

	it('refuses an empty body, an HTML page and a file with no MP4 ftyp box', async () => {
		expect((await refusal(fetchAll(`${origin}/empty.mp4`))).message).toBe("HeyGen's video URL returned an empty file.");
		expect((await refusal(fetchAll(`${origin}/page.mp4`))).message).toBe(
			"HeyGen's video URL returned a web page instead of the video file."
		);
		expect((await refusal(fetchAll(`${origin}/sneaky.mp4`))).message).toBe(
			"HeyGen's video URL returned a web page instead of the video file."
		);
		expect((await refusal(fetchAll(`${origin}/random.mp4`))).message).toBe(
			`HeyGen's video file is not a playable MP4: it does not start with an "ftyp" box.`
		);
		expect((await refusal(fetchAll(`${origin}/not-image.jpg`, 'image'))).message).toBe(
			"HeyGen's thumbnail URL returned a file that is not an image."
		);
	});

	for (const [name, expected, what] of [
		['html-video.mp4', 'mp4', 'video'],
		['html-subtitles.srt', 'srt', 'subtitles']
	] as const) {
		it(`refuses a text/html reply even when its body does not start with "<": ${what}`, async () => {
			// Control: the same kind of bytes served with their own type pass.
			const own = expected === 'mp4' ? `${origin}/ok.mp4` : `${origin}/ok.srt`;
			expect((await fetchAll(own, expected)).equals(expected === 'mp4' ? MP4 : Buffer.from(SRT))).toBe(true);
			const e = await refusal(fetchAll(`${origin}/${name}`, expected));
			expect(e.code).toBe('download_bad_body');
			expect(e.message).toBe(`HeyGen's ${what} URL returned a web page instead of the ${what} file.`);
		});
	}
});

describe('the video is an MP4 a player can open', () => {
	it('passes an MP4 served as a video type, as generic binary, untyped, chunked, or fragmented', async () => {
		for (const name of ['ok', 'octet', 'untyped', 'chunked'])
			expect((await fetchAll(`${origin}/${name}.mp4`)).equals(MP4), name).toBe(true);
		expect((await fetchAll(`${origin}/fragmented.mp4`)).length).toBe(4556);
	});

	const invalid: Array<[string, string]> = [
		['text-ftyp', 'it was served as "text/plain", which is not a video type'],
		['text-video', 'it was served as "text/plain", which is not a video type'],
		['no-moov', 'it has no "moov" box (the movie header a player needs) and no "moof" fragments'],
		['cut', `its "mdat" box at byte 2208 runs to byte ${MP4.length}, past the 10000 bytes the reply announced`],
		['cut-chunked', `it ends at byte 10000, inside its "mdat" box that should run to byte ${MP4.length} (the file is cut short)`],
		['short-length', `its "mdat" box at byte 2208 runs to byte ${MP4.length}, past the ${MP4.length - 1000} bytes the reply announced`]
	];
	for (const [name, problem] of invalid) {
		it(`refuses ${name}.mp4 for good: ${problem}`, async () => {
			const e = await refusal(fetchAll(`${origin}/${name}.mp4`));
			expect(e.code).toBe('invalid_video');
			expect(e.message).toBe(`HeyGen's video file is not a playable MP4: ${problem}.`);
			expect(e.permanent).toBe(true);
		});
	}
});
