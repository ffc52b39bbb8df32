import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import nodePath from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DetailedError, Upload, type HttpRequest, type UploadOptions } from 'tus-js-client';
import { abortedError, byteChunks, errorText, sizeMismatch } from './body.ts';
import type { SecretGuard } from './supabase-secrets.ts';
import { StorageError } from './types.ts';

/** Supabase requires every TUS chunk but the last to be exactly 6 MiB. */
export const TUS_CHUNK_BYTES = 6 * 1024 * 1024;
const RETRYABLE_STATUS = new Set([408, 409, 423, 429, 500, 502, 503, 504]);
const TERMINATE_TIMEOUT_MS = 10_000;

export interface TusTarget {
	/** `<project url>/storage/v1/upload/resumable` */
	endpoint: string;
	key: string;
	bucket: string;
	cacheControl: string;
	retryDelays: readonly number[];
	guard: SecretGuard;
}

export type TusUpload = (
	path: string,
	chunks: AsyncIterable<Uint8Array>,
	length: number,
	contentType: string,
	signal?: AbortSignal
) => Promise<number>;

/**
 * Passes `chunks` through, but holds back the last piece until the source has ended with exactly
 * `length` bytes: tus-js-client sends the completing chunk only once it has all `length` bytes,
 * so a short or long body can never complete the upload (nothing appears at the path).
 */
async function* exactly(chunks: AsyncIterable<Uint8Array>, length: number, path: string): AsyncGenerator<Uint8Array> {
	let received = 0;
	let held: Uint8Array | undefined;
	for await (const piece of chunks) {
		received += piece.byteLength;
		if (received > length) throw sizeMismatch(path, length, received, true);
		if (held) yield held;
		held = piece;
	}
	if (received !== length) throw sizeMismatch(path, length, received, false);
	if (held) yield held;
}

const OPERATION: Record<string, string> = { POST: 'create (POST)', HEAD: 'resume (HEAD)', PATCH: 'PATCH', DELETE: 'terminate (DELETE)' };

/**
 * Resumable uploads with tus-js-client, configured as Supabase's docs prescribe (endpoint
 * `/storage/v1/upload/resumable`, 6 MiB chunks, metadata bucketName/objectName/contentType/
 * cacheControl). `x-upsert` goes on every request: Supabase Storage checks it on each TUS request,
 * so an overwrite refused on PATCH would leave the old object and fail with 409.
 */
export function createTusUploader(target: TusTarget): TusUpload {
	const { guard } = target;
	const origin = new URL(target.endpoint).origin;
	const headers = { authorization: `Bearer ${target.key}`, apikey: target.key, 'x-upsert': 'true' };

	// Never send the key anywhere but the configured Storage host (the upload URL comes from the server).
	const onBeforeRequest = (path: string) => (req: HttpRequest) => {
		const at = new URL(req.getURL()).origin;
		if (at !== origin) {
			throw guard.fail(
				'upload_failed',
				`Supabase Storage resumable upload of ${JSON.stringify(path)}: upload location is on ${at}, expected ${origin}`,
				path
			);
		}
	};

	function toStorageError(err: unknown, path: string): StorageError {
		if (err instanceof StorageError) return err;
		const prefix = `Supabase Storage resumable upload of ${JSON.stringify(path)}`;
		if (!(err instanceof DetailedError)) return guard.fail('upload_failed', `${prefix} failed: ${errorText(err)}`, path, { cause: err });
		if (err.causingError instanceof StorageError) return err.causingError;
		const op = OPERATION[err.originalRequest?.getMethod() ?? ''] ?? 'request';
		const res = err.originalResponse;
		if (!res) {
			const cause = err.causingError ?? err;
			return guard.fail('upload_failed', `${prefix}: ${op} failed: ${errorText(cause)}`, path, { cause });
		}
		const status = res.getStatus();
		if (status >= 200 && status < 300) {
			// A 2xx the protocol cannot use (no Location, no Upload-Offset): say what tus-js-client found.
			const what = err.message.split(', originated from')[0]?.replace(/^tus: /, '');
			return guard.fail('upload_failed', `${prefix}: ${op} returned HTTP ${status}: ${what}`, path, { status });
		}
		const text = (res.getBody() ?? '').slice(0, 500);
		return guard.fail('upload_failed', `${prefix}: ${op} failed with HTTP ${status}${text ? `: ${text}` : ''}`, path, { status });
	}

	/** Best effort: tell the server to drop an unfinished upload (it expires server-side anyway). */
	async function terminate(url: string | null, options: UploadOptions): Promise<void> {
		if (!url) return;
		let timer: NodeJS.Timeout | undefined;
		await Promise.race([
			Upload.terminate(url, { ...options, retryDelays: null }).catch(() => {}),
			new Promise<void>((resolve) => {
				timer = setTimeout(resolve, TERMINATE_TIMEOUT_MS);
			})
		]);
		clearTimeout(timer);
	}

	return (path, chunks, length, contentType, signal) =>
		new Promise<number>((resolve, reject) => {
			if (signal?.aborted) return reject(abortedError(signal, path));
			const source = Readable.from(exactly(chunks, length, path), { objectMode: false });
			let settled = false;
			const settle = async (err: StorageError | undefined) => {
				if (settled) return;
				settled = true;
				signal?.removeEventListener('abort', onAbort);
				if (err) {
					await upload.abort(false);
					await terminate(upload.url, options);
					source.destroy();
					reject(err);
				} else {
					resolve(length);
				}
			};
			const onAbort = () => void settle(abortedError(signal as AbortSignal, path));
			const options: UploadOptions = {
				endpoint: target.endpoint,
				chunkSize: TUS_CHUNK_BYTES,
				uploadSize: length,
				retryDelays: [...target.retryDelays],
				headers,
				metadata: {
					bucketName: target.bucket,
					objectName: path,
					contentType,
					cacheControl: target.cacheControl
				},
				storeFingerprintForResuming: false,
				onBeforeRequest: onBeforeRequest(path),
				onShouldRetry: (err) => {
					if (signal?.aborted || err.causingError instanceof StorageError) return false;
					const res = err.originalResponse;
					return res ? RETRYABLE_STATUS.has(res.getStatus()) : true; // no response: network failure
				},
				onSuccess: () => void settle(undefined),
				onError: (err) => void settle(signal?.aborted ? abortedError(signal, path) : toStorageError(err, path))
			};
			const upload = new Upload(source, options);
			signal?.addEventListener('abort', onAbort, { once: true });
			upload.start();
		});
}

/**
 * Writes an already-started body to a temp file to learn its length (Supabase does not reliably
 * support TUS deferred length), then uploads it with `upload`.
 */
export async function spoolThenUpload(
	upload: TusUpload,
	guard: SecretGuard,
	spoolDir: string,
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
		throw guard.fail('io', `spooling ${JSON.stringify(path)} to ${spoolDir} failed: ${errorText(err)}`, path, { cause: err });
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
			throw guard.fail('io', `spooling ${JSON.stringify(path)} to ${spoolDir} failed: ${errorText(err)}`, path, { cause: err });
		}
		return await upload(path, byteChunks(createReadStream(file), path, signal), length, contentType, signal);
	} finally {
		await rm(dir, { recursive: true, force: true }).catch(() => {});
	}
}
