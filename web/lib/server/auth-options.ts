import type { BetterAuthOptions } from 'better-auth';
import type pg from 'pg';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH } from './password-policy.ts';

/**
 * Better Auth's options for this app, without SvelteKit imports so scripts and tests can build the
 * same instance. Table and column names match db/migrations/0010_auth_accounts.sql; Better Auth
 * never migrates anything itself.
 */
export function authOptions(opts: { pool: pg.Pool; secret: string; baseURL: string }): BetterAuthOptions {
	return {
		appName: 'Avatar videos',
		baseURL: opts.baseURL,
		secret: opts.secret,
		database: opts.pool,
		telemetry: { enabled: false },
		emailAndPassword: {
			enabled: true,
			// The full policy (zxcvbn strength) is checked by the sign-up form first.
			minPasswordLength: MIN_PASSWORD_LENGTH,
			maxPasswordLength: MAX_PASSWORD_LENGTH,
			// Without auto sign-in Better Auth answers a taken email like a new one (after hashing the
			// password all the same), so sign-up cannot tell anyone which emails have accounts.
			autoSignIn: false,
			requireEmailVerification: false
		},
		session: {
			modelName: 'auth_sessions',
			expiresIn: 60 * 60 * 24 * 30,
			updateAge: 60 * 60 * 24,
			// No cookie cache: every request checks its session in the database, so logging out (or a
			// session deleted by any process) ends it at once, not when a signed cookie runs out.
			cookieCache: { enabled: false },
			fields: {
				expiresAt: 'expires_at',
				createdAt: 'created_at',
				updatedAt: 'updated_at',
				ipAddress: 'ip_address',
				userAgent: 'user_agent',
				userId: 'user_id'
			}
		},
		user: {
			modelName: 'auth_users',
			fields: { emailVerified: 'email_verified', createdAt: 'created_at', updatedAt: 'updated_at' }
		},
		account: {
			modelName: 'auth_accounts',
			fields: {
				accountId: 'account_id',
				providerId: 'provider_id',
				userId: 'user_id',
				accessToken: 'access_token',
				refreshToken: 'refresh_token',
				idToken: 'id_token',
				accessTokenExpiresAt: 'access_token_expires_at',
				refreshTokenExpiresAt: 'refresh_token_expires_at',
				createdAt: 'created_at',
				updatedAt: 'updated_at'
			}
		},
		verification: {
			modelName: 'auth_verifications',
			fields: { expiresAt: 'expires_at', createdAt: 'created_at', updatedAt: 'updated_at' }
		},
		advanced: {
			cookiePrefix: 'avatarvideos',
			useSecureCookies: opts.baseURL.startsWith('https:')
		},
		logger: { level: 'error' }
	};
}
