import type { Session } from './tenancy.ts';

/**
 * Recently verified sessions, by the signed session cookie, for a few seconds: a page view then
 * costs no session queries or signature checks. Logging out here drops the entry at once; a
 * session revoked by another process stays usable here for at most TTL_MS.
 */
const TTL_MS = 10_000;
const MAX = 20_000;
const entries = new Map<string, { at: number; value: Session }>();

export function cachedSession(cookie: string, now = Date.now()): Session | null {
	const e = entries.get(cookie);
	if (!e) return null;
	if (now - e.at > TTL_MS || e.value.session.expiresAt.getTime() <= now) {
		entries.delete(cookie);
		return null;
	}
	return e.value;
}

export function rememberSession(cookie: string, value: Session, now = Date.now()): void {
	if (entries.size >= MAX) {
		// Oldest first (Map keeps insertion order).
		let n = MAX / 10;
		for (const k of entries.keys()) {
			entries.delete(k);
			if (--n <= 0) break;
		}
	}
	entries.set(cookie, { at: now, value });
}

export function forgetSession(cookie: string | undefined): void {
	if (cookie) entries.delete(cookie);
}

/** The signed session cookie (Better Auth adds the __Secure- prefix on https). */
export function sessionCookie(cookies: { get(name: string): string | undefined }): string | undefined {
	return cookies.get('avatarvideos.session_token') ?? cookies.get('__Secure-avatarvideos.session_token');
}
