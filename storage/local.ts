import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, stat, unlink, utimes, type FileHandle } from 'node:fs/promises';
import nodePath from 'node:path';
import { abortedError, byteChunks, discardBody, errorText, sizeMismatch } from './body.ts';
import { nodeDisk, type Disk } from './disk.ts';
import { TickingSet } from './ticking-set.ts';
import { validateStoragePath } from './path.ts';
import { StorageError, type PutBody, type PutOptions, type StoredObject, type VideoStorage } from './types.ts';

export interface LocalStorageOptions {
	/** Root directory; objects live at `<dir>/<path>`. Created on demand. */
	dir: string;
	/** URL prefix under which the web app serves `dir` (its media route). Default `/media`. */
	publicBaseUrl?: string;
	/** The filesystem steps of a write; tests pass a wrapper that records their order. */
	disk?: Disk;
}

export interface LocalVideoStorage extends VideoStorage {
	readonly kind: 'local';
	/** Absolute, resolved root directory. */
	readonly dir: string;
	/** Absolute file path for a storage path (validated); see {@link resolveLocalPath}. */
	resolve(path: string): string;
}

/** Temp files are `.<name>.<16 hex>.partial`, next to their target (same filesystem, so rename is atomic). */
const PARTIAL_NAME = /^\..+\.[0-9a-f]{16}\.partial$/;

/**
 * A live write touches its temp file at least this often, even while its source stalls, so a temp
 * file untouched for {@link PARTIAL_MAX_AGE_MS} belongs to no live transfer in any process.
 */
export const PARTIAL_TOUCH_MS = 10_000;
/** Age after which a `.partial` no live write in this process owns is a leftover. */
export const PARTIAL_MAX_AGE_MS = 30_000;

/** Temp files being written by this process right now, touched while they are. */
const liveTemps = new TickingSet<string>(PARTIAL_TOUCH_MS, () => {
	const now = new Date();
	for (const f of liveTemps) void utimes(f, now, now).catch(() => {});
});

function trackTemp(file: string): () => void {
	liveTemps.add(file);
	return () => liveTemps.delete(file);
}

/**
 * Maps a storage path to an absolute file path under `dir`, after validating it (StorageError
 * `bad_path` otherwise). For the web app's media route: serve the returned file (with Range
 * support); the result is guaranteed to be inside `dir`. Symlinks inside `dir` are not resolved.
 */
export function resolveLocalPath(dir: string, path: string): string {
	validateStoragePath(path);
	const root = nodePath.resolve(dir);
	const full = nodePath.resolve(root, ...path.split('/'));
	if (!full.startsWith(root + nodePath.sep)) {
		throw new StorageError('bad_path', `invalid storage path ${JSON.stringify(path)}: escapes the storage directory`, {
			path
		});
	}
	return full;
}

function isNotFound(err: unknown): boolean {
	const code = (err as NodeJS.ErrnoException | null)?.code;
	return code === 'ENOENT' || code === 'ENOTDIR';
}

function checkExpectedBytes(expected: number | undefined): void {
	if (expected !== undefined && !(Number.isSafeInteger(expected) && expected >= 0)) {
		throw new RangeError(`expectedBytes must be a non-negative integer, got ${String(expected)}`);
	}
}

/** fsync a directory so a rename in it survives a crash. Best effort: not every platform allows it. */
async function syncDir(disk: Disk, dir: string): Promise<void> {
	let handle: FileHandle | undefined;
	try {
		handle = await disk.openDir(dir);
		await disk.fsync(handle, dir);
	} catch {
		// ignored: durability hint only
	} finally {
		await handle?.close().catch(() => {});
	}
}

/**
 * Local-disk storage (the default; the web app serves the files).
 *
 * `put` writes `.<name>.<random>.partial` in the target's directory one chunk at a time (memory
 * stays bounded by a chunk), counting bytes, checks `expectedBytes`, fsyncs the file, renames it
 * over the target and fsyncs the directory: readers see the old file or the complete new one, never
 * a partial one, and after a crash the target is either absent, old or whole. Any failure or abort
 * deletes the temp file. A crashed worker can leave temp files behind: run {@link sweepPartials}
 * at start-up.
 */
export function createLocalStorage(options: LocalStorageOptions): LocalVideoStorage {
	const dir = nodePath.resolve(options.dir);
	const base = (options.publicBaseUrl ?? '/media').replace(/\/+$/, '');
	const disk = options.disk ?? nodeDisk;

	const url = (path: string): string => `${base}/${validateStoragePath(path)}`;

	async function put(path: string, body: PutBody, opts: PutOptions): Promise<StoredObject> {
		try {
			return await write(path, body, opts);
		} catch (err) {
			discardBody(body);
			throw err;
		}
	}

	async function write(path: string, body: PutBody, opts: PutOptions): Promise<StoredObject> {
		const target = resolveLocalPath(dir, path);
		const expected = opts.expectedBytes;
		checkExpectedBytes(expected);
		const signal = opts.signal;
		if (signal?.aborted) throw abortedError(signal, path);

		const parent = nodePath.dirname(target);
		const temp = nodePath.join(parent, `.${nodePath.basename(target)}.${randomBytes(8).toString('hex')}.partial`);
		let bytes = 0;
		let handle: FileHandle | undefined;
		const untrack = trackTemp(temp);
		try {
			await mkdir(parent, { recursive: true });
			handle = await disk.create(temp);
			for await (const chunk of byteChunks(body, path, signal)) {
				bytes += chunk.byteLength;
				if (expected !== undefined && bytes > expected) throw sizeMismatch(path, expected, bytes, true);
				await disk.write(handle, chunk);
			}
			if (expected !== undefined && bytes !== expected) throw sizeMismatch(path, expected, bytes, false);
			if (signal?.aborted) throw abortedError(signal, path);
			// The bytes reach the disk before the name points at them: after a crash the target is never short.
			await disk.fsync(handle, temp);
			await handle.close();
			handle = undefined;
			await disk.rename(temp, target);
			untrack();
		} catch (err) {
			await handle?.close().catch(() => {});
			await unlink(temp).catch(() => {});
			untrack();
			if (err instanceof StorageError) throw err;
			if (signal?.aborted) throw abortedError(signal, path);
			throw new StorageError('io', `writing ${JSON.stringify(path)} failed: ${errorText(err)}`, { path, cause: err });
		}
		// The rename itself is durable only once the directory is synced.
		await syncDir(disk, parent);
		return { path, bytes, url: url(path) };
	}

	async function remove(path: string): Promise<void> {
		const file = resolveLocalPath(dir, path);
		try {
			await unlink(file);
		} catch (err) {
			if (isNotFound(err)) return;
			throw new StorageError('io', `removing ${JSON.stringify(path)} failed: ${errorText(err)}`, { path, cause: err });
		}
	}

	async function read(path: string, maxBytes: number): Promise<Uint8Array> {
		const file = resolveLocalPath(dir, path);
		try {
			const { size } = await stat(file);
			if (size > maxBytes) throw new StorageError('too_large', `${JSON.stringify(path)} is ${size} bytes, more than ${maxBytes}`, { path });
			return await readFile(file);
		} catch (err) {
			if (err instanceof StorageError) throw err;
			if (isNotFound(err)) throw new StorageError('not_found', `nothing is stored at ${JSON.stringify(path)}`, { path });
			throw new StorageError('io', `reading ${JSON.stringify(path)} failed: ${errorText(err)}`, { path, cause: err });
		}
	}

	return {
		kind: 'local',
		dir,
		resolve: (path: string) => resolveLocalPath(dir, path),
		put,
		url,
		remove,
		read
	};
}

/**
 * Deletes `.partial` temp files under `dir` (recursively) that no live write of this process owns
 * and whose last modification is older than `olderThanMs`: leftovers of a worker that died
 * mid-write. Live writes in any process touch their temp file every {@link PARTIAL_TOUCH_MS}, so
 * {@link PARTIAL_MAX_AGE_MS} is a safe age; the worker sweeps with it every few seconds. Returns the
 * absolute paths removed. A missing `dir` is not an error. Symlinked directories are not followed.
 */
export async function sweepPartials(dir: string, olderThanMs: number): Promise<string[]> {
	const cutoff = Date.now() - olderThanMs;
	const removed: string[] = [];
	async function walk(current: string): Promise<void> {
		let entries;
		try {
			entries = await readdir(current, { withFileTypes: true });
		} catch (err) {
			if (isNotFound(err)) return;
			throw new StorageError('io', `sweeping ${current} failed: ${errorText(err)}`, { cause: err });
		}
		for (const entry of entries) {
			const full = nodePath.join(current, entry.name);
			if (entry.isDirectory()) {
				await walk(full);
			} else if (entry.isFile() && PARTIAL_NAME.test(entry.name) && !liveTemps.has(full)) {
				try {
					if ((await stat(full)).mtimeMs >= cutoff) continue;
					await unlink(full);
					removed.push(full);
				} catch (err) {
					if (!isNotFound(err)) {
						throw new StorageError('io', `removing ${full} failed: ${errorText(err)}`, { cause: err });
					}
				}
			}
		}
	}
	await walk(nodePath.resolve(dir));
	return removed;
}
