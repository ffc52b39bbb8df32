import { AsyncLocalStorage } from 'node:async_hooks';
import { tmpdir } from 'node:os';
import { createClient } from '@supabase/supabase-js';
import { abortedError, byteChunks, discardBody, errorText, sizeMismatch } from './body.ts';
import { validateStoragePath } from './path.ts';
import { secretGuard, statusOf } from './supabase-secrets.ts';
import { createTusUploader, spoolThenUpload, type TusUpload } from './supabase-tus.ts';
import { StorageError, type PutBody, type PutOptions, type StoredObject, type VideoStorage } from './types.ts';

export { TUS_CHUNK_BYTES } from './supabase-tus.ts';

/** Bodies up to this size go through the standard single-request upload (Supabase: "up to 6 MB"). */
export const STANDARD_UPLOAD_MAX_BYTES = 6_000_000;
const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [1000, 3000, 5000];
const CACHE_CONTROL_SECONDS = '3600';

export interface SupabaseStorageOptions {
	/** Project URL, e.g. `https://<ref>.supabase.co` (or the direct `https://<ref>.storage.supabase.co`). */
	url: string;
	/** Service role (or secret) key. Never appears in errors or logs. */
	serviceRoleKey: string;
	/** Bucket name, default `videos`. The bucket must exist. */
	bucket?: string;
	/** fetch implementation for supabase-js requests (TUS uploads use tus-js-client's Node HTTP stack). */
	fetch?: typeof fetch;
	/**
	 * Waits before retrying a failed resumable-upload request (network error, HTTP 408/409/423/429/5xx).
	 * Its length is the number of retries. Default [1000, 3000, 5000]. Standard uploads are not
	 * retried here (they are small; the caller's job retry covers them).
	 */
	retryDelaysMs?: readonly number[];
	/** Where a body of unknown length above 6 MB is spooled to learn its size. Default os.tmpdir(). */
	tmpDir?: string;
}

export interface SupabaseVideoStorage extends VideoStorage {
	readonly kind: 'supabase';
	readonly bucket: string;
	/**
	 * A time-limited URL for `path` (supabase-js `createSignedUrl`), valid for `expiresIn` seconds.
	 * Use this instead of {@link VideoStorage.url} when the bucket is private.
	 */
	signedUrl(path: string, expiresIn: number): Promise<string>;
}

const BUCKET_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function parseOptions(options: SupabaseStorageOptions) {
	const key = options.serviceRoleKey;
	if (typeof key !== 'string' || key.length === 0) throw new TypeError('serviceRoleKey is required');
	let parsed: URL;
	try {
		parsed = new URL(options.url);
	} catch {
		throw new TypeError('url must be an absolute http(s) URL');
	}
	if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
		throw new TypeError('url must be an absolute http(s) URL');
	}
	const bucket = options.bucket ?? 'videos';
	if (!BUCKET_NAME.test(bucket)) throw new TypeError(`invalid bucket name ${JSON.stringify(bucket)}`);
	return {
		key,
		bucket,
		baseUrl: options.url.replace(/\/+$/, ''),
		baseFetch: options.fetch ?? globalThis.fetch,
		retryDelays: options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS,
		spoolDir: options.tmpDir ?? tmpdir()
	};
}

/**
 * Supabase Storage adapter.
 *
 * - `put` with `expectedBytes` ≤ 6 MB (or an unknown length that turns out ≤ 6 MB): collects the
 *   body in memory (≤ 6 MB) and uses supabase-js `upload(..., { upsert: true })`.
 * - Larger: resumable TUS upload with tus-js-client (see supabase-tus.ts), one 6 MiB chunk in
 *   memory. The object appears only when the last chunk is accepted, and that chunk goes out only
 *   once the body has ended with exactly the declared length. A body of unknown length above 6 MB
 *   is first spooled to a temp file.
 * - `url(path)` is the public object URL `${url}/storage/v1/object/public/${bucket}/${path}`: it
 *   only works for a *public* bucket. For a private bucket, serve {@link SupabaseVideoStorage.signedUrl}.
 * - Overwrite: `x-upsert: true`; Storage swaps the object when the upload completes.
 */
export function createSupabaseStorage(options: SupabaseStorageOptions): SupabaseVideoStorage {
	const { key, bucket, baseUrl, baseFetch, retryDelays, spoolDir } = parseOptions(options);
	const guard = secretGuard(key);
	const { fail, sanitize } = guard;

	// supabase-js `upload` takes no AbortSignal: the per-call signal reaches its fetch through here.
	const callSignal = new AsyncLocalStorage<AbortSignal | undefined>();
	const clientFetch: typeof fetch = (input, init) => {
		const signal = callSignal.getStore();
		if (!signal) return baseFetch(input, init);
		return baseFetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal });
	};
	const client = createClient(baseUrl, key, {
		auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
		global: { fetch: clientFetch }
	});
	const objects = () => client.storage.from(bucket);
	const tusUpload: TusUpload = createTusUploader({
		endpoint: `${baseUrl}/storage/v1/upload/resumable`,
		key,
		bucket,
		cacheControl: CACHE_CONTROL_SECONDS,
		retryDelays,
		guard
	});

	const url = (path: string): string => `${baseUrl}/storage/v1/object/public/${bucket}/${validateStoragePath(path)}`;

	async function standardUpload(path: string, data: Uint8Array, contentType: string, signal?: AbortSignal) {
		if (signal?.aborted) throw abortedError(signal, path);
		let result;
		try {
			result = await callSignal.run(signal, () =>
				objects().upload(path, data, { contentType, upsert: true, cacheControl: CACHE_CONTROL_SECONDS })
			);
		} catch (err) {
			if (signal?.aborted) throw abortedError(signal, path);
			throw fail('upload_failed', `Supabase Storage upload of ${JSON.stringify(path)} failed: ${errorText(err)}`, path, {
				cause: err
			});
		}
		if (result.error) {
			if (signal?.aborted) throw abortedError(signal, path);
			const status = (result.error as { status?: unknown }).status;
			throw fail(
				'upload_failed',
				`Supabase Storage upload of ${JSON.stringify(path)} failed${typeof status === 'number' ? ` (HTTP ${status})` : ''}: ${result.error.message}`,
				path,
				typeof status === 'number' ? { status } : {}
			);
		}
	}

	/** Picks the upload route by size: standard (≤ 6 MB, in memory), TUS, or spool-then-TUS. */
	async function upload(path: string, chunks: AsyncGenerator<Uint8Array>, opts: PutOptions): Promise<number> {
		const { expectedBytes: expected, contentType, signal } = opts;
		if (expected !== undefined && expected > STANDARD_UPLOAD_MAX_BYTES) {
			return tusUpload(path, chunks, expected, contentType, signal);
		}
		// Small (or unknown) size: collect at most 6 MB (+ one chunk) in memory.
		const limit = expected ?? STANDARD_UPLOAD_MAX_BYTES;
		const parts: Uint8Array[] = [];
		let total = 0;
		while (true) {
			const next = await chunks.next();
			if (next.done) break;
			parts.push(next.value);
			total += next.value.byteLength;
			if (total > limit) {
				if (expected !== undefined) throw sizeMismatch(path, expected, total, true);
				return spoolThenUpload(tusUpload, guard, spoolDir, path, parts, chunks, contentType, signal);
			}
		}
		if (expected !== undefined && total !== expected) throw sizeMismatch(path, expected, total, false);
		await standardUpload(path, Buffer.concat(parts, total), contentType, signal);
		return total;
	}

	async function put(path: string, body: PutBody, opts: PutOptions): Promise<StoredObject> {
		const signal = opts.signal;
		try {
			validateStoragePath(path);
			const expected = opts.expectedBytes;
			if (expected !== undefined && !(Number.isSafeInteger(expected) && expected >= 0)) {
				throw new RangeError(`expectedBytes must be a non-negative integer, got ${String(expected)}`);
			}
			if (signal?.aborted) throw abortedError(signal, path);
			const chunks = byteChunks(body, path, signal);
			try {
				const bytes = await upload(path, chunks, opts);
				return { path, bytes, url: url(path) };
			} finally {
				// Stops (destroys) the source if we gave up early; no-op after a complete read.
				void chunks.return(undefined).catch(() => {});
			}
		} catch (err) {
			discardBody(body);
			if (err instanceof RangeError) throw err;
			if (signal?.aborted && !(err instanceof StorageError && err.code === 'size_mismatch')) {
				throw abortedError(signal, path);
			}
			throw sanitize(err, path, 'upload_failed');
		}
	}

	async function remove(path: string): Promise<void> {
		try {
			validateStoragePath(path);
			const { error } = await objects().remove([path]);
			if (error) throw error;
		} catch (err) {
			if (err instanceof StorageError) throw sanitize(err, path, 'io');
			throw fail('io', `Supabase Storage remove(${JSON.stringify(path)}) failed: ${errorText(err)}`, path, statusOf(err));
		}
	}

	async function signedUrl(path: string, expiresIn: number): Promise<string> {
		try {
			validateStoragePath(path);
			if (!(Number.isSafeInteger(expiresIn) && expiresIn > 0)) {
				throw new RangeError(`expiresIn must be a positive number of seconds, got ${String(expiresIn)}`);
			}
			const { data, error } = await objects().createSignedUrl(path, expiresIn);
			if (error) throw error;
			return data.signedUrl;
		} catch (err) {
			if (err instanceof RangeError) throw err;
			if (err instanceof StorageError) throw sanitize(err, path, 'io');
			throw fail('io', `Supabase Storage createSignedUrl(${JSON.stringify(path)}) failed: ${errorText(err)}`, path, statusOf(err));
		}
	}

	async function read(path: string, maxBytes: number): Promise<Uint8Array> {
		let blob: Blob;
		try {
			validateStoragePath(path);
			const { data, error } = await objects().download(path);
			if (error) throw error;
			blob = data;
		} catch (err) {
			if (err instanceof StorageError) throw sanitize(err, path, 'io');
			const extra = statusOf(err);
			if (extra.status === 404 || extra.status === 400)
				throw fail('not_found', `nothing is stored at ${JSON.stringify(path)}`, path, extra);
			throw fail('io', `Supabase Storage download(${JSON.stringify(path)}) failed: ${errorText(err)}`, path, extra);
		}
		if (blob.size > maxBytes) throw fail('too_large', `${JSON.stringify(path)} is ${blob.size} bytes, more than ${maxBytes}`, path);
		return new Uint8Array(await blob.arrayBuffer());
	}

	return { kind: 'supabase', bucket, put, url, remove, signedUrl, read };
}
