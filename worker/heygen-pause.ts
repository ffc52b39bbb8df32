/**
 * The circuit breaker for a HeyGen account (issue 22). HeyGen's 402 (no credit) or 401 (key
 * rejected) at submit says nothing about the job: instead of failing it, the business is paused
 * (SQL: heygen_pause_business) and the job waits in queued with its submit given back; the submit
 * claim holds every queued job of a paused business back, other businesses go on as before.
 *
 * The prober asks GET /v3/users/me with the business's key, first after `pauseProbeMs`, then with
 * doubling gaps up to `pauseProbeMaxMs`, and resumes the business (resume_heygen, which wakes its
 * queued jobs) once the key is accepted and credits are left. Saving a key resumes at once in SQL.
 */
import { isHeyGenError } from '../heygen/index.ts';
import type { PipelineContext } from './context.ts';
import type { PauseReason } from './job-store.ts';

/** HeyGen's error codes (heygen/errors.ts) that pause the business instead of failing the job. */
const PAUSING: Record<string, PauseReason> = { insufficient_credit: 'insufficient_credit', invalid_api_key: 'key_rejected' };

/**
 * If `err` is HeyGen refusing the account, pauses the business and gives the job back; true when it
 * did. A 401 for `usedKey` says nothing about a key saved since the submit read it: then the job
 * goes back to queued (the trigger enqueues its submit) and is sent again with the new key, and
 * nothing is paused.
 */
export async function pauseOnAccountRefusal(
	ctx: PipelineContext,
	job: { id: string; business_id: string; submit_count: number },
	err: unknown,
	usedKey: string
): Promise<boolean> {
	if (!isHeyGenError(err)) return false;
	const reason = PAUSING[err.code];
	if (!reason) return false;
	if (reason === 'key_rejected') {
		ctx.store.forgetKeys(job.business_id);
		const current = await ctx.store.apiKey(job.business_id);
		if (current !== null && current !== usedKey) {
			const requeued = await ctx.store.update(job.id, ['submitting'], {
				status: 'queued',
				submit_count: Math.max(job.submit_count - 1, 0),
				last_error: null
			});
			ctx.log.info(
				{ jobId: job.id, businessId: job.business_id },
				'HeyGen rejected a key replaced meanwhile; job sent again with the new key'
			);
			return requeued !== undefined;
		}
	}
	const moved = await ctx.store.pauseBusiness(job.id, reason, err.message);
	ctx.log.warn({ jobId: job.id, businessId: job.business_id, reason }, 'HeyGen refused the account; business paused, job back in queued');
	return moved;
}

export interface PauseProber {
	/** Probe the paused businesses that are due (the worker's sweep calls this). */
	wake(): void;
	/** Resolves when no probe is running. */
	idle(): Promise<void>;
}

export function pauseProber(ctx: PipelineContext): PauseProber {
	const { pauseProbeMs, pauseProbeMaxMs } = ctx.settings;
	/** Per paused business: when to ask next and the gap after that. */
	const schedule = new Map<string, { at: number; gapMs: number }>();
	let running: Promise<void> | null = null;
	let again = false;

	async function probe(businessId: string): Promise<boolean> {
		const key = await ctx.store.apiKey(businessId);
		if (!key) return false;
		try {
			const { credits } = await ctx.heygen(key).account();
			// Unknown (null) is not "none": HeyGen will say 402 again if it is.
			return credits.remaining === null || credits.remaining > 0;
		} catch (err) {
			const code = isHeyGenError(err) ? err.code : 'unexpected';
			ctx.log.debug({ businessId, code }, 'HeyGen account still refused');
			return false;
		}
	}

	async function round(): Promise<void> {
		const paused = await ctx.store.pausedBusinesses();
		const now = Date.now();
		for (const id of schedule.keys()) if (!paused.some((p) => p.id === id)) schedule.delete(id);
		for (const { id, reason } of paused) {
			const next = schedule.get(id) ?? { at: now + pauseProbeMs, gapMs: pauseProbeMs };
			if (!schedule.has(id)) schedule.set(id, next);
			if (next.at > now) continue;
			if ((await probe(id)) && (await ctx.store.resumeHeyGen(id))) {
				schedule.delete(id);
				ctx.log.info({ businessId: id, reason }, 'HeyGen accepts the account again; business resumed');
				continue;
			}
			const gapMs = Math.min(next.gapMs * 2, pauseProbeMaxMs);
			schedule.set(id, { at: Date.now() + next.gapMs, gapMs });
		}
	}

	function run(): void {
		if (running) {
			again = true;
			return;
		}
		again = false;
		running = round()
			.catch((err: unknown) => ctx.log.warn({ err: { message: (err as Error).message } }, 'HeyGen pause probe failed'))
			.finally(() => {
				running = null;
				if (again) run();
			});
	}

	return {
		wake: run,
		async idle() {
			while (running) await running;
		}
	};
}
