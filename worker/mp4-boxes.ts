/**
 * Checks, as the bytes stream past, that a download is an MP4 a player can open: its top-level
 * boxes are walked by their headers only (size + type), so a 1 GiB file costs a few bytes of
 * state. It must start with `ftyp`, hold a `moov` (or `moof` fragments) and an `mdat`, have box
 * sizes that add up to exactly the file's length (and the reply's Content-Length), and be at
 * least {@link MIN_VIDEO_BYTES} long.
 */

/** Smaller than this, a file cannot hold a movie header and a frame of video. */
export const MIN_VIDEO_BYTES = 1024;

/** Content types a video file may be served with; the box walk decides the rest. */
export function isVideoContentType(contentType: string | null): boolean {
	// No type, or a generic binary one, makes no claim: S3-style stores serve objects uploaded
	// without a type as application/octet-stream (or binary/octet-stream). Anything else that is
	// not video/* (text/plain, JSON, an image) says the file is something other than a video.
	if (contentType === null) return true;
	const type = contentType.split(';')[0]!.trim().toLowerCase();
	return type === '' || type.startsWith('video/') || type === 'application/octet-stream' || type === 'binary/octet-stream';
}

const FOURCC = /^[\x20-\x7e]{4}$/;

export class Mp4BoxWalker {
	/** Bytes seen so far. */
	private pos = 0;
	/** Where the current box ends (the next header starts). */
	private boxEnd = 0;
	private boxType = '';
	/** A box of size 0 runs to the end of the file: nothing after its header is walked. */
	private toEnd = false;
	private header = Buffer.alloc(16);
	private headerBytes = 0;
	private readonly types = new Set<string>();
	private readonly announced: number | undefined;

	/** `announced`: the reply's Content-Length, when it gave one. */
	constructor(announced?: number) {
		this.announced = announced;
	}

	/** Feeds the next bytes; returns what is wrong as soon as it shows, else null. */
	push(chunk: Uint8Array): string | null {
		let i = 0;
		while (i < chunk.length && !this.toEnd) {
			if (this.pos < this.boxEnd) {
				const skip = Math.min(this.boxEnd - this.pos, chunk.length - i);
				this.pos += skip;
				i += skip;
				continue;
			}
			const need = this.headerBytes >= 8 && this.header.readUInt32BE(0) === 1 ? 16 : 8;
			const take = Math.min(need - this.headerBytes, chunk.length - i);
			this.header.set(chunk.subarray(i, i + take), this.headerBytes);
			this.headerBytes += take;
			this.pos += take;
			i += take;
			if (this.headerBytes === 8 && this.header.readUInt32BE(0) === 1) continue; // a 64-bit size follows
			if (this.headerBytes < need) break;
			const problem = this.readHeader(this.pos - need);
			if (problem) return problem;
		}
		this.pos += chunk.length - i;
		return null;
	}

	/** Called when the file has ended; returns what is wrong with it as a whole, else null. */
	end(): string | null {
		if (this.pos < MIN_VIDEO_BYTES) return `it is only ${this.pos} bytes long, too small to hold a video`;
		if (this.announced !== undefined && this.pos !== this.announced) {
			return `${this.pos} bytes arrived but the reply announced ${this.announced}`;
		}
		if (this.headerBytes > 0) return `it ends inside a box header at byte ${this.pos - this.headerBytes} (the file is cut short)`;
		if (!this.toEnd && this.pos < this.boxEnd) {
			return `it ends at byte ${this.pos}, inside its "${this.boxType}" box that should run to byte ${this.boxEnd} (the file is cut short)`;
		}
		if (!this.types.has('moov') && !this.types.has('moof')) {
			return 'it has no "moov" box (the movie header a player needs) and no "moof" fragments';
		}
		if (!this.types.has('mdat')) return 'it has no "mdat" box (no audio or video data)';
		return null;
	}

	private readHeader(start: number): string | null {
		const h = this.header;
		const type = h.toString('latin1', 4, 8);
		const size32 = h.readUInt32BE(0);
		const size = size32 === 1 ? Number(h.readBigUInt64BE(8)) : size32;
		const headerSize = size32 === 1 ? 16 : 8;
		this.headerBytes = 0;
		if (start === 0 && type !== 'ftyp') return 'it does not start with an "ftyp" box';
		if (!FOURCC.test(type)) return `the box at byte ${start} has no valid type (its bytes are not an MP4 box header)`;
		if (type === 'ftyp' && start !== 0) return `it has a second "ftyp" box at byte ${start}`;
		this.types.add(type);
		this.boxType = type;
		if (size === 0) {
			this.toEnd = true;
			return null;
		}
		if (size < headerSize || (type === 'ftyp' && size < 16)) {
			return `its "${type}" box at byte ${start} declares ${size} bytes, too few for the box it is`;
		}
		this.boxEnd = start + size;
		if (this.announced !== undefined && this.boxEnd > this.announced) {
			return `its "${type}" box at byte ${start} runs to byte ${this.boxEnd}, past the ${this.announced} bytes the reply announced`;
		}
		return null;
	}
}
