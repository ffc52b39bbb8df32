import { StorageError } from './types.ts';

/** Longest accepted path, in characters (Supabase Storage keys are limited to 1024 bytes). */
export const MAX_PATH_LENGTH = 1024;
const MAX_SEGMENT_LENGTH = 255;
/**
 * One path segment: starts with a letter or digit (so never `.`, `..`, or a hidden/temp file
 * name), then letters, digits, `.`, `_`, `-`. Safe on every filesystem and in URLs unencoded.
 */
const SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function describe(path: string): string {
	const shown = path.length > 200 ? `${path.slice(0, 200)}…` : path;
	return JSON.stringify(shown);
}

function reject(path: string, reason: string): never {
	throw new StorageError('bad_path', `invalid storage path ${describe(path)}: ${reason}`, { path });
}

/**
 * Validates a storage path like `videos/<business>/<content>/<job>.mp4` and returns it unchanged.
 * Rejects (StorageError `bad_path`): non-strings, empty, absolute, backslashes, NUL, empty
 * segments (`a//b`, trailing `/`), `.`/`..` segments, and any segment outside
 * `[A-Za-z0-9][A-Za-z0-9._-]*` (max 255 chars per segment, 1024 in all).
 */
export function validateStoragePath(path: unknown): string {
	if (typeof path !== 'string') {
		throw new StorageError('bad_path', `invalid storage path: expected a string, got ${typeof path}`);
	}
	if (path.length === 0) reject(path, 'empty');
	if (path.includes('\0')) reject(path, 'contains NUL');
	if (path.includes('\\')) reject(path, 'contains a backslash');
	if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) reject(path, 'absolute paths are not allowed');
	if (path.length > MAX_PATH_LENGTH) reject(path, `longer than ${MAX_PATH_LENGTH} characters`);
	for (const segment of path.split('/')) {
		if (segment === '') reject(path, 'empty path segment');
		if (segment === '.' || segment === '..') reject(path, `"${segment}" segments are not allowed`);
		if (segment.length > MAX_SEGMENT_LENGTH) reject(path, `segment longer than ${MAX_SEGMENT_LENGTH} characters`);
		if (!SEGMENT.test(segment)) {
			reject(path, 'segments must start with a letter or digit and contain only letters, digits, ".", "_" and "-"');
		}
	}
	return path;
}
