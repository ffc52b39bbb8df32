import { inspect } from 'node:util';
import { errorText } from './body.ts';
import { StorageError } from './types.ts';

/** Builds StorageErrors that never carry the service key (in the message or anywhere in `cause`). */
export interface SecretGuard {
	fail(code: StorageError['code'], message: string, path: string | undefined, extra?: { status?: number; cause?: unknown }): StorageError;
	/** Last line of defence: whatever escapes a public method becomes a key-free StorageError. */
	sanitize(err: unknown, path: string | undefined, fallback: StorageError['code']): StorageError;
}

export function secretGuard(key: string): SecretGuard {
	const redact = (text: string): string =>
		text
			.split(key)
			.join('[redacted]')
			.replace(/(bearer\s+)[^\s"',;]+/gi, '$1[redacted]');
	// Keep an error as `cause` only if nothing reachable from it mentions the key.
	const safeCause = (cause: unknown): unknown =>
		cause === undefined || inspect(cause, { depth: 6, showHidden: true }).includes(key) ? undefined : cause;

	const fail: SecretGuard['fail'] = (code, message, path, extra = {}) =>
		new StorageError(code, redact(message), {
			...(path === undefined ? {} : { path }),
			...(extra.status === undefined ? {} : { status: extra.status }),
			cause: safeCause(extra.cause)
		});

	const sanitize: SecretGuard['sanitize'] = (err, path, fallback) => {
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
	};
	return { fail, sanitize };
}

/** HTTP status of a supabase-js StorageApiError (when there is one) plus the error as cause. */
export function statusOf(err: unknown): { status?: number; cause: unknown } {
	const status = (err as { status?: unknown } | null)?.status;
	return typeof status === 'number' ? { status, cause: err } : { cause: err };
}
