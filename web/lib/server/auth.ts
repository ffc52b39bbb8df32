import type { Cookies } from '@sveltejs/kit';
import { APIError, betterAuth, type Auth } from 'better-auth';
import { parseSetCookieHeader, toCookieOptions } from 'better-auth/cookies';
import { authOptions } from './auth-options.ts';
import { config } from './config.ts';
import { database } from './db.ts';
import { resolveAuthSecret } from './secret.ts';

type AppAuth = Auth<ReturnType<typeof authOptions>>;

let instance: AppAuth | null = null;

/**
 * The Better Auth instance (email + password, sessions in the project's Postgres). Created on the
 * first request: its base URL is ORIGIN when configured, else the URL the app was first reached at.
 * Its HTTP API is not mounted; the app calls it from form actions (CSRF-checked by SvelteKit).
 */
export function auth(origin: string): AppAuth {
	if (!instance) {
		const c = config();
		instance = betterAuth(
			authOptions({ pool: database().pool, secret: resolveAuthSecret(c.AUTH_SECRET, c.DATA_DIR), baseURL: c.ORIGIN ?? origin })
		) as AppAuth;
	}
	return instance;
}

/** Copies the Set-Cookie headers of a Better Auth call onto the SvelteKit response. */
export function applyAuthCookies(headers: Headers, cookies: Cookies): void {
	for (const line of headers.getSetCookie()) {
		for (const [name, attrs] of parseSetCookieHeader(line)) {
			const o = toCookieOptions(attrs);
			cookies.set(name, attrs.value, {
				path: o.path ?? '/',
				httpOnly: o.httpOnly ?? true,
				secure: o.secure ?? false,
				sameSite: o.sameSite ?? 'lax',
				...(o.maxAge !== undefined && { maxAge: o.maxAge }),
				...(o.expires !== undefined && { expires: o.expires }),
				...(o.domain !== undefined && { domain: o.domain })
			});
		}
	}
}

export interface AuthFailure {
	status: number;
	code: string;
	message: string;
}

/** Better Auth's error (status, code, message) or null for anything else. */
export function authFailure(err: unknown): AuthFailure | null {
	if (!(err instanceof APIError)) return null;
	const body = (err.body ?? {}) as { code?: string; message?: string };
	return { status: err.statusCode, code: body.code ?? 'UNKNOWN', message: body.message ?? err.message };
}
