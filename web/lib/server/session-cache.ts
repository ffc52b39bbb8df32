import { COOKIE_CACHE_SECONDS } from './auth-options.ts';
import type { Session } from './tenancy.ts';

/**
 * Better Auth's cookie cache already spares the database on a page view, but checking the signed
 * cookies still costs three WebCrypto HMAC verifications, a zod parse and two structuredClones per
 * request — a third of a trivial page's CPU under load. This remembers, per process, the answer
 * Better Auth gave for an exact set of its cookies, for no longer than Better Auth itself would
 * accept them without asking the database: until the cookie cache's own expiry (maxAge after it
 * was issued) and never more than COOKIE_CACHE_SECONDS from now. So it never lets a session live
 * longer than the cookie cache does; logging out forgets the session's entries at once.
 *
 * The key is the exact cookie values (signed by the auth secret), so an entry is only ever found by
 * someone presenting the same credentials: nothing is shared between sessions or users.
 */

const MAX_ENTRIES = 10_000;

interface Entry {
	session: Session;
	until: number;
}

const entries = new Map<string, Entry>();

/** The auth cookies of a request (session token, cached session data, remember-me), as one key. */
export function sessionCookieKey(cookies: { name: string; value: string }[]): string | null {
	let key = '';
	let token = false;
	for (const c of cookies) {
		const name = c.name.startsWith('__Secure-') ? c.name.slice(9) : c.name;
		if (!name.startsWith('avatarvideos.')) continue;
		if (name === 'avatarvideos.session_token') token = true;
		key += `${c.name}=${c.value};`;
	}
	return token ? key : null;
}

/** The remembered session for these cookies, or null (none, or it ran out). */
export function rememberedSession(key: string, now = Date.now()): Session | null {
	const e = entries.get(key);
	if (!e) return null;
	if (e.until <= now) {
		entries.delete(key);
		return null;
	}
	return e.session;
}

/**
 * Remembers Better Auth's answer for these cookies until the session-data cookie among them
 * expires (without one, nothing is remembered). The cap of COOKIE_CACHE_SECONDS also covers a
 * session-data cookie Better Auth rejected and replaced from the database: its claimed expiry is
 * not trusted for longer than the cookie cache would trust a genuine one.
 */
export function rememberSession(key: string, cookies: { name: string; value: string }[], session: Session, now = Date.now()): void {
	const data = cookies.find((c) => /^(__Secure-)?avatarvideos\.session_data$/.test(c.name));
	const cacheExpiry = data ? cookieCacheExpiry(data.value) : null;
	if (cacheExpiry === null) return;
	const until = Math.min(cacheExpiry, session.session.expiresAt.getTime(), now + COOKIE_CACHE_SECONDS * 1000);
	if (until <= now) return;
	if (entries.size >= MAX_ENTRIES) sweep(now);
	// Shared by this session's requests as their locals.user and locals.session: read-only.
	Object.freeze(session.user);
	Object.freeze(session.session);
	entries.set(key, { session: Object.freeze(session), until });
}

/** Forgets every remembered entry of this session (after logout). */
export function forgetSession(sessionId: string): void {
	for (const [key, e] of entries) if (e.session.session.id === sessionId) entries.delete(key);
}

function sweep(now: number): void {
	for (const [key, e] of entries) if (e.until <= now) entries.delete(key);
	// Still full: drop the oldest half (Map keeps insertion order).
	if (entries.size >= MAX_ENTRIES) {
		let n = entries.size / 2;
		for (const key of entries.keys()) {
			if (n-- <= 0) break;
			entries.delete(key);
		}
	}
}

/** Better Auth's "compact" session-data cookie: base64url JSON with the cache's expiry (ms). */
function cookieCacheExpiry(value: string): number | null {
	try {
		const parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as { expiresAt?: unknown };
		return typeof parsed.expiresAt === 'number' && Number.isFinite(parsed.expiresAt) ? parsed.expiresAt : null;
	} catch {
		return null;
	}
}

/** For tests. */
export function rememberedCount(): number {
	return entries.size;
}
