import { AsyncLocalStorage } from 'node:async_hooks';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import nodePath from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';
import { createClient } from '@supabase/supabase-js';
import { abortedError, byteChunks, discardBody, errorText, sizeMismatch } from './body.ts';
import { validateStoragePath } from './path.ts';
import { StorageError, type PutBody, type PutOptions, type StoredObject, type VideoStorage } from './types.ts';

/** Bodies up to this size go through the standard single-request upload (Supabase: "up to 6 MB"). */
export const STANDARD_UPLOAD_MAX_BYTES = 6_000_000;
/** Supabase requires every TUS chunk but the last to be exactly 6 MiB. */
export const TUS_CHUNK_BYTES = 6 * 1024 * 1024;
const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [1000, 3000, 5000];
const CACHE_CONTROL_SECONDS = '3600';

export interface SupabaseStorageOptions {
	/** Project URL, e.g. `https://<ref>.supabase.co` (or the direct `https://<ref>.storage.supabase.co`). */
	url: string;
	/** Service role (or secret) key. Never appears in errors or logs. */
	serviceRoleKey: string;
	/** Bucket name, default `videos`. The bucket must exist. */
	bucket?: string;
	/** fetch implementation for every request (supabase-js and TUS). Default: global fetch. */
	fetch?: typeof fetch;
	/**
	 * Waits before retrying a failed resumable-upload request (network error, HTTP 408/409/423/429/5xx).
	 * Its length is the number of retries per request. Default [1000, 3000, 5000]. Standard uploads
	 * are not retried here (they are small; the caller's job retry covers them).
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
const RETRYABLE_STATUS = new Set([408, 409, 423, 429, 500, 502, 503, 504]);

/**
 * Supabase Storage adapter.
 *
 * - `put` with `expectedBytes` ≤ 6 MB (or an unknown length that turns out ≤ 6 MB): collects the
 *   body in memory (≤ 6 MB) and uses supabase-js `upload(..., { upsert: true })`.
 * - Larger: the resumable TUS protocol (`/storage/v1/upload/resumable`), by hand, in 6 MiB chunks,
 *   holding one chunk in memory. The object appears only when the last chunk is accepted, and the
 *   last chunk is sent only once the body has ended with exactly the declared length, so a short or
 *   long body leaves nothing at the path. A body of unknown length above 6 MB is first spooled to a
 *   temp file (Supabase does not reliably support TUS deferred length).
 * - `url(path)` is the public object URL `${url}/storage/v1/object/public/${bucket}/${path}`: it
 *   only works for a *public* bucket. For a private bucket, serve {@link SupabaseVideoStorage.signedUrl}.
 * - Overwrite: `x-upsert: true`; Storage swaps the object when the upload completes.
 */
export function createSupabaseStorage(options: SupabaseStorageOptions): SupabaseVideoStorage {
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
	const baseUrl = options.url.replace(/\/+$/, '');
	const bucket = options.bucket ?? 'videos';
	if (!BUCKET_NAME.test(bucket)) throw new TypeError(`invalid bucket name ${JSON.stringify(bucket)}`);
	const baseFetch: typeof fetch = options.fetch ?? globalThis.fetch;
	const retryDelays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
	const spoolDir = options.tmpDir ?? tmpdir();
	const tusEndpoint = `${baseUrl}/storage/v1/upload/resumable`;
	const tusOrigin = new URL(tusEndpoint).origin;

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

	// ---- secrets never leave -------------------------------------------------------------------

	function redact(text: string): string {
		return text.split(key).join('[redacted]').replace(/(bearer\s+)[^\s"',;]+/gi, '$1[redacted]');
	}
	/** Keep an error as `cause` only if nothing reachable from it mentions the key. */
	function safeCause(cause: unknown): unknown {
		if (cause === undefined) return undefined;
		return inspect(cause, { depth: 6, showHidden: true }).includes(key) ? undefined : cause;
	}
	function fail(
		code: StorageError['code'],
		message: string,
		path: string | undefined,
		extra: { status?: number; cause?: unknown } = {}
	): StorageError {
		return new StorageError(code, redact(message), {
			...(path === undefined ? {} : { path }),
			...(extra.status === undefined ? {} : { status: extra.status }),
			cause: safeCause(extra.cause)
		});
	}
	/** Last line of defence: whatever escapes a public method is a key-free StorageError. */
	function sanitize(err: unknown, path: string | undefined, fallback: StorageError['code']): StorageError {
		if (err instanceof StorageError) {
			const clean = redact(err.message) === err.message && safeCause(err.cause) === err.cause;
			return clean
				? err
				: fail(err.code, err.message, err.path ?? path, {
						...(err.status === undefined ? {} : { status: err.status }),
						cause: err.cause
					});
		}
		return fail(fallback, `Supabase Storage request failed: ${errorText(err)}`, path, { cause: err });
	}

	// ---- URLs ----------------------------------------------------------------------------------

	const url = (path: string): string => `${baseUrl}/storage/v1/object/public/${bucket}/${validateStoragePath(path)}`;

	// ---- standard upload (≤ 6 MB, in memory) ----------------------------------------------------

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

	// ---- resumable upload (TUS 1.0.0, by hand) -------------------------------------------------

	const tusHeaders = (): Record<string, string> => ({
		authorization: `Bearer ${key}`,
		apikey: key,
		'tus-resumable': '1.0.0'
	});
	const b64 = (value: string) => Buffer.from(value, 'utf8').toString('base64');

	function isRetryable(err: unknown, signal?: AbortSignal): boolean {
		if (signal?.aborted) return false;
		if (err instanceof StorageError) return err.status !== undefined && RETRYABLE_STATUS.has(err.status);
		return true; // network failure (fetch rejected)
	}

	async function withRetries<T>(signal: AbortSignal | undefined, attemptFn: (attempt: number) => Promise<T>): Promise<T> {
		for (let attempt = 0; ; attempt++) {
			try {
				return await attemptFn(attempt);
			} catch (err) {
				const wait = retryDelays[attempt];
				if (wait === undefined || !isRetryable(err, signal)) throw err;
				await sleep(wait, undefined, signal ? { signal } : {});
			}
		}
	}

	async function httpFailure(op: string, path: string, res: Response): Promise<StorageError> {
		let text = '';
		try {
			text = (await res.text()).slice(0, 500);
		} catch {
			// body unreadable: the status says enough
		}
		return fail(
			'upload_failed',
			`Supabase Storage resumable upload of ${JSON.stringify(path)}: ${op} failed with HTTP ${res.status}${text ? `: ${text}` : ''}`,
			path,
			{ status: res.status }
		);
	}

	function readOffset(res: Response, op: string, path: string): number {
		const raw = res.headers.get('upload-offset');
		const offset = raw === null ? NaN : Number(raw);
		if (!Number.isSafeInteger(offset) || offset < 0) {
			throw fail('upload_failed', `Supabase Storage resumable upload of ${JSON.stringify(path)}: ${op} returned no valid Upload-Offset`, path);
		}
		return offset;
	}

	async function tusCreate(path: string, length: number, contentType: string, signal?: AbortSignal): Promise<string> {
		const metadata = [
			`bucketName ${b64(bucket)}`,
			`objectName ${b64(path)}`,
			`contentType ${b64(contentType)}`,
			`cacheControl ${b64(CACHE_CONTROL_SECONDS)}`
		].join(',');
		const res = await withRetries(signal, async () => {
			const res = await baseFetch(tusEndpoint, {
				method: 'POST',
				headers: { ...tusHeaders(), 'x-upsert': 'true', 'upload-length': String(length), 'upload-metadata': metadata },
				...(signal ? { signal } : {})
			});
			if (res.status !== 201 && res.status !== 200) throw await httpFailure('create (POST)', path, res);
			await res.body?.cancel();
			return res;
		});
		const location = res.headers.get('location');
		if (!location) {
			throw fail('upload_failed', `Supabase Storage resumable upload of ${JSON.stringify(path)}: create returned no Location`, path);
		}
		const uploadUrl = new URL(location, tusEndpoint);
		// Never send the key anywhere but the configured Storage host.
		if (uploadUrl.origin !== tusOrigin) {
			throw fail(
				'upload_failed',
				`Supabase Storage resumable upload of ${JSON.stringify(path)}: upload location is on ${uploadUrl.origin}, expected ${tusOrigin}`,
				path
			);
		}
		return uploadUrl.href;
	}

	/** PATCHes `data` at offset `start`; on retry, asks the server (HEAD) how much it already holds. */
	async function tusPatch(uploadUrl: string, path: string, data: Uint8Array<ArrayBuffer>, start: number, signal?: AbortSignal) {
		const end = start + data.byteLength;
		await withRetries(signal, async (attempt) => {
			let held = 0;
			if (attempt > 0) {
				const head = await baseFetch(uploadUrl, {
					method: 'HEAD',
					headers: tusHeaders(),
					...(signal ? { signal } : {})
				});
				if (!head.ok) throw await httpFailure('resume (HEAD)', path, head);
				const offset = readOffset(head, 'resume (HEAD)', path);
				if (offset < start || offset > end) {
					throw fail(
						'upload_failed',
						`Supabase Storage resumable upload of ${JSON.stringify(path)}: server is at offset ${offset}, outside the chunk ${start}-${end}`,
						path
					);
				}
				held = offset - start;
				if (held === data.byteLength) return;
			}
			const res = await baseFetch(uploadUrl, {
				method: 'PATCH',
				headers: {
					...tusHeaders(),
					'content-type': 'application/offset+octet-stream',
					'upload-offset': String(start + held)
				},
				body: data.subarray(held),
				...(signal ? { signal } : {})
			});
			if (res.status !== 204 && res.status !== 200) throw await httpFailure('PATCH', path, res);
			await res.body?.cancel();
			const offset = readOffset(res, 'PATCH', path);
			if (offset !== end) {
				throw fail(
					'upload_failed',
					`Supabase Storage resumable upload of ${JSON.stringify(path)}: server acknowledged offset ${offset}, expected ${end}`,
					path
				);
			}
		});
	}

	/** Best effort: tell the server to drop an unfinished upload. */
	async function tusTerminate(uploadUrl: string): Promise<void> {
		try {
			const res = await baseFetch(uploadUrl, {
				method: 'DELETE',
				headers: tusHeaders(),
				signal: AbortSignal.timeout(10_000)
			});
			await res.body?.cancel();
		} catch {
			// unfinished uploads expire server-side anyway
		}
	}

	/**
	 * Streams exactly `length` bytes from `chunks` through TUS. Holds one 6 MiB chunk; a full chunk
	 * is sent only when more data follows it, so the final (completing) chunk goes out only after the
	 * body has ended with exactly `length` bytes.
	 */
	async function tusUpload(
		path: string,
		chunks: AsyncIterable<Uint8Array>,
		length: number,
		contentType: string,
		signal?: AbortSignal
	): Promise<number> {
		const uploadUrl = await tusCreate(path, length, contentType, signal);
		try {
			const buffer = Buffer.allocUnsafe(Math.min(TUS_CHUNK_BYTES, length));
			let fill = 0;
			let received = 0;
			let sent = 0;
			for await (const piece of chunks) {
				if (received + piece.byteLength > length) {
					throw sizeMismatch(path, length, received + piece.byteLength, true);
				}
				received += piece.byteLength;
				let at = 0;
				while (at < piece.byteLength) {
					if (fill === buffer.byteLength) {
						await tusPatch(uploadUrl, path, buffer, sent, signal);
						sent += fill;
						fill = 0;
					}
					const n = Math.min(buffer.byteLength - fill, piece.byteLength - at);
					buffer.set(piece.subarray(at, at + n), fill);
					fill += n;
					at += n;
				}
			}
			if (received !== length) throw sizeMismatch(path, length, received, false);
			if (signal?.aborted) throw abortedError(signal, path);
			await tusPatch(uploadUrl, path, buffer.subarray(0, fill), sent, signal);
			sent += fill;
			if (sent !== length) {
				throw fail('upload_failed', `Supabase Storage resumable upload of ${JSON.stringify(path)}: sent ${sent} of ${length} bytes`, path);
			}
			return sent;
		} catch (err) {
			await tusTerminate(uploadUrl);
			throw err;
		}
	}

	/** Writes an already-started body to a temp file to learn its length, then uploads it via TUS. */
	async function spoolThenTus(
		path: string,
		head: Uint8Array[],
		rest: AsyncIterable<Uint8Array>,
		contentType: string,
		signal?: AbortSignal
	): Promise<number> {
		let dir: string;
		try {
			dir = await mkdtemp(nodePath.join(spoolDir, 'video-upload-'));
		} catch (err) {
			throw fail('io', `spooling ${JSON.stringify(path)} to ${spoolDir} failed: ${errorText(err)}`, path, { cause: err });
		}
		try {
			const file = nodePath.join(dir, 'body');
			let length = 0;
			const all = async function* (): AsyncGenerator<Uint8Array> {
				while (head.length > 0) {
					const chunk = head.shift() as Uint8Array;
					length += chunk.byteLength;
					yield chunk;
				}
				for await (const chunk of rest) {
					length += chunk.byteLength;
					yield chunk;
				}
			};
			try {
				await pipeline(all, createWriteStream(file, { flags: 'wx' }), signal ? { signal } : {});
			} catch (err) {
				if (err instanceof StorageError) throw err;
				if (signal?.aborted) throw abortedError(signal, path);
				throw fail('io', `spooling ${JSON.stringify(path)} to ${spoolDir} failed: ${errorText(err)}`, path, { cause: err });
			}
			return await tusUpload(path, byteChunks(createReadStream(file), path, signal), length, contentType, signal);
		} finally {
			await rm(dir, { recursive: true, force: true }).catch(() => {});
		}
	}

	// ---- the interface ------------------------------------------------------------------------

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
				if (expected !== undefined && expected > STANDARD_UPLOAD_MAX_BYTES) {
					const bytes = await tusUpload(path, chunks, expected, opts.contentType, signal);
					return { path, bytes, url: url(path) };
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
						const bytes = await spoolThenTus(path, parts, chunks, opts.contentType, signal);
						return { path, bytes, url: url(path) };
					}
				}
				if (expected !== undefined && total !== expected) throw sizeMismatch(path, expected, total, false);
				await standardUpload(path, Buffer.concat(parts, total), opts.contentType, signal);
				return { path, bytes: total, url: url(path) };
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

	async function exists(path: string): Promise<boolean> {
		try {
			validateStoragePath(path);
			// supabase-js resolves `false` only for "no such key" and throws for every other failure.
			const { data } = await objects().exists(path);
			return data === true;
		} catch (err) {
			if (err instanceof StorageError) throw sanitize(err, path, 'io');
			throw fail('io', `Supabase Storage exists(${JSON.stringify(path)}) failed: ${errorText(err)}`, path, statusOf(err));
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
			if (err instanceof StorageError || err instanceof RangeError) {
				throw err instanceof StorageError ? sanitize(err, path, 'io') : err;
			}
			throw fail('io', `Supabase Storage createSignedUrl(${JSON.stringify(path)}) failed: ${errorText(err)}`, path, statusOf(err));
		}
	}

	return { kind: 'supabase', bucket, put, url, exists, remove, signedUrl };
}

/** HTTP status of a supabase-js StorageApiError (when there is one) plus the error as cause. */
function statusOf(err: unknown): { status?: number; cause: unknown } {
	const status = (err as { status?: unknown } | null)?.status;
	return typeof status === 'number' ? { status, cause: err } : { cause: err };
}
