/** Hand-made MP4 files for the download checks (worker/mp4-boxes.ts). */

/** A top-level box: 32-bit size, or size 1 and a 64-bit size when `large`. */
export function box(type: string, payload: Buffer | number, large = false): Buffer {
	const body = typeof payload === 'number' ? Buffer.alloc(payload) : payload;
	const header = Buffer.alloc(large ? 16 : 8);
	header.write(type, 4, 'latin1');
	if (large) {
		header.writeUInt32BE(1, 0);
		header.writeBigUInt64BE(BigInt(16 + body.length), 8);
	} else header.writeUInt32BE(8 + body.length, 0);
	return Buffer.concat([header, body]);
}

/** An `ftyp` box as encoders write it (major brand isom). */
export const FTYP = box('ftyp', Buffer.from('isom\0\0\x02\0isomiso2avc1mp41', 'latin1'));

/** 42 bytes of text that carry "ftyp" at offset 4, as an MP4's first box does. */
export const TEXT_WITH_FTYP = Buffer.from('\0\0\0*ftyp is how an MP4 starts; not a video');
