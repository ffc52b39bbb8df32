/**
 * Reads a fetch body (a HeyGen reply or a webhook delivery) up to `limit` bytes. Past that it
 * stops reading, cancels the stream and returns null, so an oversized body never sits in memory.
 */
export async function readCapped(message: Request | Response, limit: number): Promise<Buffer | null> {
	const declared = Number(message.headers.get('content-length') ?? NaN);
	if (Number.isFinite(declared) && declared > limit) {
		// A reply we fetched is dropped at once; an incoming request's body is left to the server,
		// which still answers it (cancelling it would cut the connection before the reply).
		if (message instanceof Response) await message.body?.cancel().catch(() => {});
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
