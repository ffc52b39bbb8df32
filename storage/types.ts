/**
 * Storage adapters for finished videos (the `video.transfer` step).
 *
 * Every adapter streams: a video is never held in memory whole. An object becomes visible at its
 * path only once it is complete and of the expected size; a failed, aborted or short transfer
 * leaves nothing at the path (and any previous object there untouched).
 */

export interface PutOptions {
	/** MIME type stored with the object, e.g. `video/mp4`. */
	contentType: string;
	/** When given, the upload fails with `size_mismatch` unless exactly this many bytes arrive. */
	expectedBytes?: number;
	/** Aborting fails the upload with `aborted` and leaves nothing at the path. */
	signal?: AbortSignal;
}

export interface StoredObject {
	/** The validated storage path the object was written to. */
	path: string;
	/** Bytes written (equals `expectedBytes` when that was given). */
	bytes: number;
	/** URL the web app / browser uses to fetch the object (see each adapter's `url`). */
	url: string;
}

export type PutBody = ReadableStream<Uint8Array> | NodeJS.ReadableStream | AsyncIterable<Uint8Array>;

export interface VideoStorage {
	readonly kind: 'local' | 'supabase';
	/**
	 * Streams body to `path` (e.g. 'videos/<business>/<content>/<job>.mp4'). Never buffers the whole
	 * file. The object becomes visible at `path` only when complete and its byte count matches
	 * expectedBytes (when given); otherwise nothing is left at `path` and a StorageError is thrown.
	 * Overwrites an existing object at the same path atomically.
	 * `put` owns `body`: on failure it is destroyed/cancelled (so an HTTP download stops too).
	 */
	put(path: string, body: PutBody, opts: PutOptions): Promise<StoredObject>;
	url(path: string): string;
	remove(path: string): Promise<void>;
	/**
	 * The whole object at `path` (a translation whose source HeyGen no longer has uploads the stored
	 * MP4, at most 32 MB). Refuses (`too_large`) an object over `maxBytes` without reading it all.
	 */
	read(path: string, maxBytes: number): Promise<Uint8Array>;
}

export type StorageErrorCode = 'size_mismatch' | 'aborted' | 'io' | 'bad_path' | 'upload_failed' | 'not_found' | 'too_large';

export interface StorageErrorOptions {
	/** The storage path concerned, when there is one. */
	path?: string;
	/** HTTP status from a remote store, when the failure came from one. */
	status?: number;
	cause?: unknown;
}

/**
 * The one error type adapters throw.
 * - `bad_path`: the path failed validation (nothing was touched).
 * - `size_mismatch`: the body was shorter or longer than `expectedBytes`.
 * - `aborted`: `opts.signal` fired.
 * - `io`: reading the source body or the local filesystem failed.
 * - `upload_failed`: the remote store refused or could not be reached.
 * Messages never contain credentials.
 */
export class StorageError extends Error {
	override readonly name = 'StorageError';
	readonly code: StorageErrorCode;
	readonly path: string | undefined;
	readonly status: number | undefined;

	constructor(code: StorageErrorCode, message: string, options: StorageErrorOptions = {}) {
		super(message, options.cause === undefined ? undefined : { cause: options.cause });
		this.code = code;
		this.path = options.path;
		this.status = options.status;
	}
}

export function isStorageError(err: unknown, code?: StorageErrorCode): err is StorageError {
	return err instanceof StorageError && (code === undefined || err.code === code);
}
