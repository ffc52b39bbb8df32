import { getRequestEvent } from '$app/server';
import { APIError, betterAuth, type Auth, type BetterAuthPlugin } from 'better-auth';
import { sveltekitCookies } from 'better-auth/svelte-kit';
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
		const options = authOptions({
			pool: database().pool,
			secret: resolveAuthSecret(c.AUTH_SECRET, c.DATA_DIR),
			baseURL: c.ORIGIN ?? origin
		});
		// Cookies Better Auth sets (sign-in, sign-out, refreshed session) go onto the SvelteKit response.
		const plugins: BetterAuthPlugin[] = [...(options.plugins ?? []), sveltekitCookies(getRequestEvent)];
		instance = betterAuth({ ...options, plugins }) as AppAuth;
	}
	return instance;
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
