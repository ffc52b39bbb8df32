import { open, rename, type FileHandle } from 'node:fs/promises';

/**
 * The filesystem steps of a durable local write, in one object so that a test can watch their
 * order: write → fsync(file) → rename → fsync(directory). Skipping either fsync loses data only
 * on a crash or power cut, which no ordinary test would notice.
 */
export interface Disk {
	/** Opens a new file for writing; fails if it already exists. */
	create(file: string): Promise<FileHandle>;
	/** Writes all of `chunk` at the file's current position. */
	write(handle: FileHandle, chunk: Uint8Array): Promise<void>;
	/** Opens a directory, to fsync it. */
	openDir(dir: string): Promise<FileHandle>;
	/** fsync: a file's bytes, or a directory's entries, reach the disk. `path` names what `handle` is. */
	fsync(handle: FileHandle, path: string): Promise<void>;
	rename(from: string, to: string): Promise<void>;
}

export const nodeDisk: Disk = {
	create: (file) => open(file, 'wx', 0o644),
	async write(handle, chunk) {
		for (let done = 0; done < chunk.byteLength;) done += (await handle.write(chunk, done, chunk.byteLength - done)).bytesWritten;
	},
	openDir: (dir) => open(dir, 'r'),
	fsync: (handle) => handle.sync(),
	rename
};
