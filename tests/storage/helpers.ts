import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import nodePath from 'node:path';

/**
 * Deterministic pseudo-random bytes (AES-128-CTR keystream of `seed`), produced lazily in chunks
 * whose sizes cycle through `chunkSizes` (irregular sizes exercise every boundary case).
 */
export async function* pseudoRandomBytes(
	total: number,
	seed = 'seed',
	chunkSizes: readonly number[] = [65_536, 1, 100_003, 7, 262_144]
): AsyncGenerator<Buffer> {
	const key = createHash('sha256').update(seed).digest().subarray(0, 16);
	const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
	const largest = Math.max(...chunkSizes);
	const zeros = Buffer.alloc(largest);
	let produced = 0;
	let i = 0;
	while (produced < total) {
		const size = Math.min(chunkSizes[i++ % chunkSizes.length] ?? largest, total - produced);
		produced += size;
		yield cipher.update(zeros.subarray(0, size));
	}
}

/** A pull-based web ReadableStream over an async iterator (what `fetch` bodies look like). */
export function webStream(source: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
	const iterator = source[Symbol.asyncIterator]();
	return new ReadableStream<Uint8Array>({
		async pull(controller) {
			const next = await iterator.next();
			if (next.done) controller.close();
			else controller.enqueue(next.value);
		},
		async cancel() {
			await iterator.return?.();
		}
	});
}

export async function sha256OfIterable(chunks: AsyncIterable<Uint8Array>): Promise<{ hash: string; bytes: number }> {
	const hash = createHash('sha256');
	let bytes = 0;
	for await (const chunk of chunks) {
		hash.update(chunk);
		bytes += chunk.byteLength;
	}
	return { hash: hash.digest('hex'), bytes };
}

export function expectedHash(total: number, seed?: string): Promise<{ hash: string; bytes: number }> {
	return sha256OfIterable(pseudoRandomBytes(total, seed));
}

export function sha256(data: Uint8Array): string {
	return createHash('sha256').update(data).digest('hex');
}

export function sha256OfFile(file: string): Promise<{ hash: string; bytes: number }> {
	return sha256OfIterable(createReadStream(file));
}

/** Every file (not directory) under `dir`, as paths relative to it, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
	const out: string[] = [];
	async function walk(current: string): Promise<void> {
		for (const entry of await readdir(current, { withFileTypes: true })) {
			const full = nodePath.join(current, entry.name);
			if (entry.isDirectory()) await walk(full);
			else out.push(nodePath.relative(dir, full));
		}
	}
	await walk(dir);
	return out.sort();
}

export interface Deferred<T> {
	promise: Promise<T>;
	resolve: (value: T) => void;
	reject: (err: unknown) => void;
}

export function deferred<T = void>(): Deferred<T> {
	let resolve!: (value: T) => void;
	let reject!: (err: unknown) => void;
	const promise = new Promise<T>((res, rej) => {
		resolve = res;
		reject = rej;
	});
	return { promise, resolve, reject };
}

/** Resolves with the rejection of `promise` (fails if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
	try {
		await promise;
	} catch (err) {
		return err;
	}
	throw new Error('expected the promise to reject, but it resolved');
}
