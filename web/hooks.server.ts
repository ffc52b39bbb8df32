import type { Handle, HandleServerError, ServerInit } from '@sveltejs/kit';
import { sequence } from '@sveltejs/kit/hooks';
import { randomUUID } from 'node:crypto';
import { auth } from '$lib/server/auth.ts';
import { provideConfig } from '$config/index.ts';
import { config } from '$lib/server/config.ts';
import { errInfo, log } from '$lib/server/log.ts';
import '$lib/server/shutdown.ts';

/**
 * npm start / npm run web / npm run dev hand the app its settings, DATABASE_URL included
 * (scripts/app.ts, scripts/dev-backend.ts). A bare `node build` without DATABASE_URL gets the same
 * zero-setup database as npm start: the embedded Postgres under DATA_DIR, migrated.
 */
export const init: ServerInit = async () => {
	const c = config();
	if (c.DATABASE_URL) return;
	const [{ resolveDatabase }, { migrate }] = await Promise.all([import('$db/database-url.ts'), import('$db/migrate.ts')]);
	const database = await resolveDatabase(c, (m) => log().debug({ postgres: m }));
	await migrate(database.url, { log: (m) => log().info(m) });
	provideConfig({ ...c, DATABASE_URL: database.url });
	const stop = () => database.stop().catch(() => {});
	process.once('sveltekit:shutdown', () => void stop());
	process.once('SIGINT', () => void stop().finally(() => process.exit(0)));
	process.once('SIGTERM', () => void stop().finally(() => process.exit(0)));
	log().info({ database: 'embedded' }, 'database ready');
};

// Routes that never look at the session: skip the session lookup for them.
const NO_SESSION = new Set(['/healthz', '/metrics']);

/**
 * Better Auth session (httpOnly cookie) → event.locals.user, checked in the database on every
 * request (no cookie cache), so a session that was logged out or deleted is refused at once.
 */
const session: Handle = async ({ event, resolve }) => {
	event.locals.user = null;
	event.locals.session = null;
	event.locals.memberships = new Map();
	const path = event.url.pathname;
	if (!NO_SESSION.has(path) && !path.startsWith('/api/heygen/webhook/') && hasSessionCookie(event.cookies.getAll())) {
		const found = await auth(event.url.origin).api.getSession({ headers: event.request.headers });
		if (found) {
			event.locals.user = { id: found.user.id, name: found.user.name, email: found.user.email };
			event.locals.session = { id: found.session.id, expiresAt: new Date(found.session.expiresAt) };
		}
	}
	return resolve(event);
};

/** Without a session token there is nothing to look up (a visitor who never logged in). */
function hasSessionCookie(cookies: { name: string }[]): boolean {
	return cookies.some((c) => /^(__Secure-)?avatarvideos\.session_token$/.test(c.name));
}

let heygenOrigin: string | null = null;

/** HEYGEN_API_URL's origin (the simulator in development), allowed for images and media. */
function heygenSource(): string {
	if (heygenOrigin === null) {
		heygenOrigin = '';
		try {
			const origin = new URL(config().HEYGEN_API_URL).origin;
			// Only a plain origin can go into a CSP source list.
			if (/^https?:\/\/[A-Za-z0-9.:[\]-]+$/.test(origin)) heygenOrigin = origin;
		} catch {}
	}
	return heygenOrigin;
}

/** kit.csp (svelte.config.js) builds the policy with the nonce; this only adds the HeyGen origin. */
function withHeyGenSource(policy: string): string {
	const origin = heygenSource();
	if (!origin) return policy;
	return policy.replace(
		/(^|;\s*)(img-src|media-src)([^;]*)/g,
		(_m, sep: string, name: string, rest: string) => `${sep}${name}${rest} ${origin}`
	);
}

const securityHeaders: Handle = async ({ event, resolve }) => {
	const response = await resolve(event);
	const h = response.headers;
	try {
		h.set('x-content-type-options', 'nosniff');
		h.set('referrer-policy', 'strict-origin-when-cross-origin');
		h.set('x-frame-options', 'DENY');
		h.set('permissions-policy', 'camera=(), microphone=(), geolocation=(), payment=()');
		h.set('cross-origin-opener-policy', 'same-origin');
		const policy = h.get('content-security-policy');
		if (policy) h.set('content-security-policy', withHeyGenSource(policy));
		// Pages and their data show a business's data: never store them in a shared cache.
		if (event.locals.user && !h.has('cache-control')) h.set('cache-control', 'private, no-store');
	} catch {
		// Immutable headers (a proxied response): leave them as they are.
	}
	return response;
};

export const handle = sequence(session, securityHeaders);

export const handleError: HandleServerError = ({ error, event, status, message }) => {
	if (status === 404) return { message: 'Not found' };
	const errorId = randomUUID().slice(0, 8);
	log().error({ errorId, status, route: event.route.id, method: event.request.method, err: errInfo(error) }, 'request failed');
	return { message: status >= 500 ? 'Something went wrong on our side. Try again in a moment.' : message, errorId };
};
