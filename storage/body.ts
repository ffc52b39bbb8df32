import { Readable } from 'node:stream';
import type { ReadableStream as NodeWebReadableStream } from 'node:stream/web';
import { StorageError, type PutBody } from './types.ts';

function isWebReadableStream(body: unknown): body is ReadableStream<Uint8Array> {
	return typeof body === 'object' && body !== null && typeof (body as ReadableStream).getReader === 'function';
}

function isAsyncIterable(body: unknown): body is AsyncIterable<unknown> {
	return typeof body === 'object' && body !== null && typeof (body as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === 'function';
}

function toBytes(chunk: unknown): Uint8Array {
	if (chunk instanceof Uint8Array) return chunk;
	if (typeof chunk === 'string') return Buffer.from(chunk);
	if (ArrayBuffer.isView(chunk)) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
	if (chunk instanceof ArrayBuffer) return new Uint8Array(chunk);
	throw new TypeError(`source stream yielded a ${typeof chunk}, expected bytes`);
}

/** One Node Readable for every accepted body shape, so that it can always be destroyed. */
function toReadable(body: PutBody): Readable {
	if (body instanceof Readable) return body;
	if (isWebReadableStream(body)) return Readable.fromWeb(body as unknown as NodeWebReadableStream<Uint8Array>);
	// highWaterMark 1: read at most one chunk ahead of the consumer.
	if (isAsyncIterable(body)) return Readable.from(body, { objectMode: true, highWaterMark: 1 });
	if (typeof (body as NodeJS.ReadableStream | null)?.pipe === 'function') {
		return new Readable({ objectMode: true, highWaterMark: 1 }).wrap(body as NodeJS.ReadableStream);
	}
	throw new StorageError('io', 'body must be a ReadableStream, a Node readable stream or an async iterable of bytes');
}

/**
 * Normalises any accepted body into an async iterable of non-empty byte chunks.
 * - An error raised by the source becomes StorageError `io` ("reading the source stream failed"),
 *   so callers can tell it from a write failure.
 * - If `signal` fires, the pending read is abandoned at once with StorageError `aborted` (even if
 *   the source is stalled) and the source is destroyed/cancelled.
 * - Ending the iteration early (error downstream, size mismatch) destroys/cancels the source.
 */
export async function* byteChunks(body: PutBody, path: string, signal?: AbortSignal): AsyncGenerator<Uint8Array> {
	const source = toReadable(body);
	const iterator = source[Symbol.asyncIterator]();
	let onAbort: (() => void) | undefined;
	const aborted = signal
		? new Promise<never>((_, reject) => {
				onAbort = () => reject(abortedError(signal, path));
				if (signal.aborted) onAbort();
				else signal.addEventListener('abort', onAbort, { once: true });
			})
		: undefined;
	aborted?.catch(() => {});
	let finished = false;
	try {
		while (true) {
			let next: IteratorResult<unknown>;
			try {
				const read = iterator.next();
				if (aborted) read.catch(() => {});
				next = await (aborted ? Promise.race([read, aborted]) : read);
			} catch (err) {
				if (err instanceof StorageError) throw err;
				throw new StorageError('io', `reading the source stream failed: ${errorText(err)}`, { path, cause: err });
			}
			if (next.done) {
				finished = true;
				return;
			}
			const bytes = toBytes(next.value);
			if (bytes.byteLength > 0) yield bytes;
		}
	} finally {
		if (onAbort) signal?.removeEventListener('abort', onAbort);
		// Early exit: stop the producer (a pending read may never settle, so do not wait on it).
		if (!finished) source.destroy();
	}
}

/**
 * Releases a body that will not be (fully) read: destroys a Node stream, cancels an unlocked web
 * stream, ends an async generator. `put` owns its body, so on failure it calls this; harmless when
 * the body was already consumed or destroyed.
 */
export function discardBody(body: unknown): void {
	try {
		if (body instanceof Readable) {
			body.destroy();
		} else if (isWebReadableStream(body)) {
			if (!body.locked) body.cancel().catch(() => {});
		} else if (typeof (body as { destroy?: unknown } | null)?.destroy === 'function') {
			(body as { destroy: () => void }).destroy();
		} else if (typeof (body as AsyncGenerator | null)?.return === 'function') {
			(body as AsyncGenerator).return(undefined).catch(() => {});
		}
	} catch {
		// best effort
	}
}

export function errorText(err: unknown): string {
	if (err instanceof Error) {
		const code = (err as NodeJS.ErrnoException).code;
		return code && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
	}
	return String(err);
}

/** StorageError `aborted` for `path` (keeps the signal's reason as cause). */
export function abortedError(signal: AbortSignal, path: string): StorageError {
	return new StorageError('aborted', `upload of ${JSON.stringify(path)} was aborted`, { path, cause: signal.reason });
}

/** StorageError `size_mismatch`: `more` when bytes beyond `expected` arrived (reading stopped there). */
export function sizeMismatch(path: string, expected: number, got: number, more: boolean): StorageError {
	const detail = more ? `more than ${expected} bytes arrived` : `got ${got} bytes, expected ${expected}`;
	return new StorageError('size_mismatch', `size mismatch for ${JSON.stringify(path)}: ${detail}`, { path });
}
