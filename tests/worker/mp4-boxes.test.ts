/** The streaming MP4 check on its own: box walks over whole files, odd chunkings and 64-bit sizes. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fileChunks } from '../../heygen/simulator/files.ts';
import { isVideoContentType, MIN_VIDEO_BYTES, Mp4BoxWalker } from '../../worker/mp4-boxes.ts';
import { box, FTYP, TEXT_WITH_FTYP } from '../helpers/mp4.ts';

const MP4 = readFileSync(new URL('../../heygen/simulator/sample.mp4', import.meta.url));

/** What the walker says about `file` fed in chunks of `size` bytes, with `announced` as Content-Length (null: none). */
function check(file: Buffer, size = file.length, announced: number | null = file.length): string | null {
	const walker = new Mp4BoxWalker(announced ?? undefined);
	for (let i = 0; i < file.length; i += size) {
		const problem = walker.push(file.subarray(i, i + size));
		if (problem) return problem;
	}
	return walker.end();
}

describe('Mp4BoxWalker', () => {
	it('passes the simulator sample however it is chunked, with or without a Content-Length', () => {
		for (const size of [1, 3, 7, 8, 9, 15, 16, 17, 4096, MP4.length]) {
			expect(check(MP4, size), `chunks of ${size}`).toBeNull();
			expect(check(MP4, size, null), `chunks of ${size}, no length`).toBeNull();
		}
	});

	it('passes a fragmented MP4 (moof) and boxes with 64-bit sizes', () => {
		expect(check(Buffer.concat([FTYP, box('moof', 200), box('mdat', 2000)]), 5)).toBeNull();
		expect(check(Buffer.concat([FTYP, box('moov', 500), box('mdat', 2000, true)]), 5)).toBeNull();
		// A last box of size 0 runs to the end of the file.
		const open = box('mdat', 2000);
		open.writeUInt32BE(0, 0);
		expect(check(Buffer.concat([FTYP, box('moov', 500), open]), 5)).toBeNull();
	});

	it("passes the simulator's padded files (a `free` box), past 4 GiB too, without holding them", () => {
		for (const size of [MP4.length + 8, MP4.length + 5 * 1024 * 1024, 2 ** 32 + 1000]) {
			const walker = new Mp4BoxWalker(size);
			for (const chunk of fileChunks(MP4, 0, size, size)) expect(walker.push(chunk)).toBeNull();
			expect(walker.end(), `${size} bytes`).toBeNull();
		}
	});

	it('names what is wrong with a file that is not a playable MP4', () => {
		expect(check(TEXT_WITH_FTYP)).toBe('it is only 42 bytes long, too small to hold a video');
		expect(check(Buffer.alloc(4096, 7))).toBe('it does not start with an "ftyp" box');
		expect(check(Buffer.concat([FTYP, box('free', 100), box('mdat', 2000)]))).toBe(
			'it has no "moov" box (the movie header a player needs) and no "moof" fragments'
		);
		expect(check(Buffer.concat([FTYP, box('moov', 2000)]))).toBe('it has no "mdat" box (no audio or video data)');
		const tooSmall = Buffer.concat([FTYP, box('moov', 2000)]);
		tooSmall.writeUInt32BE(4, FTYP.length);
		expect(check(tooSmall)).toBe('its "moov" box at byte 32 declares 4 bytes, too few for the box it is');
		expect(check(Buffer.concat([MP4, Buffer.alloc(100, 0x78)]))).toBe(
			`its "xxxx" box at byte ${MP4.length} runs to byte ${MP4.length + 0x78787878}, past the ${MP4.length + 100} bytes the reply announced`
		);
		expect(check(Buffer.concat([MP4, Buffer.from([0, 0, 0, 9, 1, 2, 3, 4, 5])]))).toBe(
			`the box at byte ${MP4.length} has no valid type (its bytes are not an MP4 box header)`
		);
		expect(check(Buffer.concat([MP4, FTYP]))).toBe(`it has a second "ftyp" box at byte ${MP4.length}`);
	});

	it('tells a file cut short from a whole one, with and without a Content-Length', () => {
		const half = MP4.subarray(0, MP4.length >> 1);
		expect(check(half)).toBe(`its "mdat" box at byte 2208 runs to byte ${MP4.length}, past the ${half.length} bytes the reply announced`);
		expect(check(half, 1000, null)).toBe(
			`it ends at byte ${half.length}, inside its "mdat" box that should run to byte ${MP4.length} (the file is cut short)`
		);
		expect(check(MP4.subarray(0, 2204), 1000, null)).toBe('it ends inside a box header at byte 2200 (the file is cut short)');
		expect(check(MP4, 1000, MP4.length + 10)).toBe(`${MP4.length} bytes arrived but the reply announced ${MP4.length + 10}`);
		expect(MIN_VIDEO_BYTES).toBeLessThan(MP4.length);
	});

	it('accepts video types and generic binary, nothing else', () => {
		const video = [null, 'video/mp4', 'video/quicktime', 'Video/MP4; charset=binary', 'application/octet-stream', 'binary/octet-stream'];
		for (const t of video) expect(isVideoContentType(t), String(t)).toBe(true);
		for (const t of ['text/plain', 'text/html', 'application/json', 'image/jpeg', 'audio/mp4'])
			expect(isVideoContentType(t), t).toBe(false);
	});
});
