import type { Membership, SessionUser } from '$lib/server/tenancy.ts';

declare global {
	namespace App {
		interface Locals {
			/** The signed-in user (Better Auth session), or null. */
			user: SessionUser | null;
			session: { id: string; expiresAt: Date } | null;
			/** requireMembership's per-request cache, by business id. */
			memberships: Map<string, Promise<Membership | null>>;
		}
		interface Error {
			message: string;
			/** Quoted in the log line, so a reported error can be found. */
			errorId?: string;
		}
		interface PageState {}
		interface Platform {}
	}
}

export {};
