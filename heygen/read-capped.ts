/**
 * Reads a fetch body (a HeyGen reply or a webhook delivery) up to `limit` bytes. Past that it
 * stops reading, cancels the stream and returns null, so an oversized body never sits in memory.
 */
export async function readCapped(message: Request | Response, limit: number): Promise<Buffer | null> {
	const declared = Number(message.headers.get('content-length') ?? NaN);
	if (Number.isFinite(declared) && declared > limit) {
		await message.body?.cancel().catch(() => {});
		return null;
	}
	if (!message.body) return Buffer.alloc(0);
	const reader = message.body.getReader();
	const chunks: Uint8Array[] = [];
	let size = 0;
	for (;;) {
		const { done, value } = await reader.read();
		if (done) break;
		size += value.byteLength;
		if (size > limit) {
			await reader.cancel().catch(() => {});
			return null;
		}
		chunks.push(value);
	}
	return Buffer.concat(chunks, size);
}
