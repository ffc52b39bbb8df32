/**
 * A small in-memory fixed-window limiter for the few actions worth guarding in one process: sign
 * in / sign up (password guessing) and API key checks (each one calls HeyGen). Several web
 * processes each keep their own counts, which still bounds guessing per process.
 */
export class RateLimiter {
	#hits = new Map<string, { count: number; resetAt: number }>();
	#limit: number;
	#windowMs: number;

	constructor(limit: number, windowMs: number) {
		this.#limit = limit;
		this.#windowMs = windowMs;
	}

	/** Counts one attempt; returns the seconds to wait when over the limit, else 0. */
	hit(key: string, now = Date.now()): number {
		if (this.#hits.size > 10_000) {
			for (const [k, v] of this.#hits) if (v.resetAt <= now) this.#hits.delete(k);
		}
		const entry = this.#hits.get(key);
		if (!entry || entry.resetAt <= now) {
			this.#hits.set(key, { count: 1, resetAt: now + this.#windowMs });
			return 0;
		}
		entry.count++;
		return entry.count > this.#limit ? Math.ceil((entry.resetAt - now) / 1000) : 0;
	}

	reset(key: string): void {
		this.#hits.delete(key);
	}
}

export const loginLimiter = new RateLimiter(10, 10 * 60_000);
/** Current-password checks on the account page, per user. */
export const passwordLimiter = new RateLimiter(10, 10 * 60_000);
export const signupLimiter = new RateLimiter(20, 60 * 60_000);
export const keyCheckLimiter = new RateLimiter(20, 10 * 60_000);
/** Invitations per inviting user: enough for a team, too few to probe the email space. */
export const inviteLimiter = new RateLimiter(20, 60 * 60_000);
