import { sql, type Selectable, type Updateable } from 'kysely';
import type { Database } from '../db/client.ts';
import { readHeyGenKey } from '../db/heygen-key.ts';
import type { VideoJobs, VideoJobStatus } from '../db/types.ts';
import type { QueueName } from './queues.ts';

export type VideoJob = Selectable<VideoJobs>;

/** What a poll reads of a job: its progress, not its script or options (a batch holds hundreds). */
export const POLL_COLUMNS = [
	'id',
	'business_id',
	'kind',
	'status',
	'heygen_video_id',
	'deadline',
	'created_at',
	'last_heygen_status',
	'submit_count',
	'poll_count',
	'transfer_count'
] as const;
export type PollJob = Pick<VideoJob, (typeof POLL_COLUMNS)[number]>;
export type JobPatch = Updateable<VideoJobs>;

/** Why HeyGen refuses a business's submits (businesses.heygen_paused_reason). */
export type PauseReason = 'insufficient_credit' | 'key_rejected';

export interface NextStep {
	queue: QueueName;
	delayMs?: number;
}

export type ClaimedSubmit =
	| { outcome: 'gone' }
	| { outcome: 'wait'; job: VideoJob; inFlight: number; limit: number }
	| { outcome: 'paused'; job: VideoJob; reason: PauseReason }
	| { outcome: 'started' | 'resumed'; job: VideoJob };

/**
 * The worker's only way to change a job: lock the row, check it is still in a state the step
 * expects (a cancel or a duplicate delivery may have moved it on), apply the change and enqueue
 * the next step in the same transaction. The SQL status machine validates the transition and
 * records the event, so a crash between any two steps loses nothing.
 */
export class JobStore {
	readonly db: Database;
	readonly actor: string;
	readonly keyTtlMs: number;
	private readonly keys = new Map<string, { key: string | null; until: number }>();
	private keyGeneration = 0;
	private keyCaching = true;
	constructor(db: Database, opts: { actor?: string; keyTtlMs?: number } = {}) {
		this.db = db;
		this.actor = opts.actor ?? 'worker';
		this.keyTtlMs = opts.keyTtlMs ?? 10_000;
	}

	async get(jobId: string): Promise<VideoJob | undefined> {
		return this.db.selectFrom('video_jobs').selectAll().where('id', '=', jobId).executeTakeFirst();
	}

	/** What a batch of due polls needs of its jobs, in one read; missing ids are left out. */
	async getForPoll(jobIds: readonly string[]): Promise<PollJob[]> {
		if (jobIds.length === 0) return [];
		return this.db
			.selectFrom('video_jobs')
			.select(POLL_COLUMNS)
			.where('id', '=', sql<string>`any(${[...jobIds]}::uuid[])`)
			.execute();
	}

	/**
	 * The business's HeyGen key from Vault. Kept in memory (never logged) for a few seconds so that
	 * thousands of polls do not each decrypt it. The worker drops the copy as soon as the key is
	 * replaced or removed (worker/key-invalidation.ts) and does not cache while it cannot hear that.
	 */
	async apiKey(businessId: string): Promise<string | null> {
		const cached = this.keyCaching ? this.keys.get(businessId) : undefined;
		if (cached && cached.until > Date.now()) return cached.key;
		const generation = this.keyGeneration;
		const key = await readHeyGenKey(this.db, businessId);
		// A change announced while this read was in flight may not be in what it read: do not keep it.
		if (this.keyCaching && generation === this.keyGeneration) this.keys.set(businessId, { key, until: Date.now() + this.keyTtlMs });
		return key;
	}

	forgetKeys(businessId: string | null): void {
		this.keyGeneration++;
		if (businessId === null) this.keys.clear();
		else this.keys.delete(businessId);
	}

	setKeyCaching(enabled: boolean): void {
		this.keyCaching = enabled;
		if (!enabled) this.forgetKeys(null);
	}

	/**
	 * Applies `patch` if the job is in one of `from`; returns the updated row, or undefined when the
	 * job has moved on (then nothing is written and nothing is enqueued).
	 */
	async update(jobId: string, from: readonly VideoJobStatus[], patch: JobPatch, next?: NextStep): Promise<VideoJob | undefined> {
		// One statement (migration 0017): lock, status check, update, enqueue, atomically.
		const { rows } =
			await sql<VideoJob>`select * from video_jobs_apply(${jobId}::uuid, ${[...from]}::video_job_status[], ${JSON.stringify(patch)}::jsonb,
			${this.actor}, ${next?.queue ?? null}, ${next?.delayMs ? next.delayMs / 1000 : null}::float8)`.execute(this.db);
		return rows[0];
	}

	/**
	 * Counts one more try of a step if the job is in one of `from`: one UPDATE, which locks the row
	 * and re-checks the status after any wait, so it needs no transaction around it.
	 */
	async countTry(jobId: string, from: readonly VideoJobStatus[], counter: 'transfer_count'): Promise<VideoJob | undefined> {
		return this.db
			.updateTable('video_jobs')
			.set((eb) => ({ [counter]: eb(counter, '+', 1) }))
			.where('id', '=', jobId)
			.where('status', 'in', [...from])
			.returningAll()
			.executeTakeFirst();
	}

	/**
	 * Many `update`s in one round trip: each job is locked, checked against its `from`, changed and
	 * its next step enqueued exactly as by `update` (one event per transition, written by the
	 * video_jobs triggers). Returns the rows that changed, by id.
	 */
	async updateMany(
		items: ReadonlyArray<{ jobId: string; from: readonly VideoJobStatus[]; patch: JobPatch; next?: NextStep }>
	): Promise<Map<string, VideoJob>> {
		if (items.length === 0) return new Map();
		const payload = items.map((i) => ({
			id: i.jobId,
			from: i.from,
			patch: i.patch,
			...(i.next && { queue: i.next.queue, delay_seconds: i.next.delayMs ? i.next.delayMs / 1000 : null })
		}));
		const { rows } = await sql<VideoJob>`select * from video_jobs_apply_many(${JSON.stringify(payload)}::jsonb, ${this.actor})`.execute(
			this.db
		);
		return new Map(rows.map((r) => [r.id, r]));
	}

	/**
	 * Runs `fn` while no other delivery of a step for this job runs it: a second delivery waits
	 * here until the first is done, then finds the job moved on. A transaction-level advisory lock,
	 * so a worker that dies mid-step releases it, and cancels (row updates) are never blocked.
	 */
	async exclusive<T>(jobId: string, fn: () => Promise<T>): Promise<T> {
		return this.db.transaction().execute(async (trx) => {
			await sql`select pg_advisory_xact_lock(hashtextextended(${jobId}, 7341902120))`.execute(trx);
			return fn();
		});
	}

	/**
	 * The start of a submit, in one transaction committed before HeyGen is called:
	 * - a job already `submitting` (a crashed or retried submit) is resumed with its saved key;
	 * - a `queued` job starts only while the business has fewer than `heygen_concurrency` jobs
	 *   submitting or rendering (the business row is locked, so two workers cannot both take the
	 *   last slot); it gets its Idempotency-Key, derived from the job id and attempt, saved here;
	 * - otherwise the job stays queued, no attempt is counted, and the submit step is scheduled
	 *   again after `waitMs` (a freed slot wakes it sooner; see migration 0012).
	 */
	async claimSubmit(jobId: string, waitMs: number): Promise<ClaimedSubmit> {
		// One statement (video_jobs_claim_submit, migration 0017). The function returns its rows all
		// at once (PL/pgSQL), so the claim outcome it sets is read after it ran.
		const { rows } = await sql<VideoJob & { _claim: string }>`
			select v.*, current_setting('video_jobs.claim', true) as _claim
			from video_jobs_claim_submit(${jobId}::uuid, ${waitMs / 1000}::float8, ${this.actor}) v`.execute(this.db);
		const row = rows[0];
		if (!row) return { outcome: 'gone' };
		const { _claim: claim, ...job } = row;
		const wait = /^wait:(\d+):(\d+)$/.exec(claim);
		if (wait) return { outcome: 'wait', job, inFlight: Number(wait[1]), limit: Number(wait[2]) };
		const paused = /^paused:(insufficient_credit|key_rejected)$/.exec(claim);
		if (paused) return { outcome: 'paused', job, reason: paused[1] as PauseReason };
		if (claim !== 'started' && claim !== 'resumed') throw new Error(`video_jobs_claim_submit gave an unknown outcome: ${claim}`);
		return { outcome: claim, job };
	}

	async fail(jobId: string, from: readonly VideoJobStatus[], code: string, message: string): Promise<VideoJob | undefined> {
		return this.update(jobId, from, { status: 'failed', error_code: code, error_message: message.slice(0, 2000) });
	}

	/**
	 * HeyGen refused a submit for the account (402, 401): the business is paused and the job goes
	 * back to queued with its submit given back (heygen_pause_business, migration 0024). False when
	 * the job is no longer submitting.
	 */
	async pauseBusiness(jobId: string, reason: PauseReason, message: string): Promise<boolean> {
		const { rows } = await sql<{ ok: boolean }>`
			select heygen_pause_business(${jobId}::uuid, ${reason}, ${message}, ${this.actor}) as ok`.execute(this.db);
		return rows[0]?.ok === true;
	}

	/** The paused businesses that have a key to probe HeyGen with. */
	async pausedBusinesses(): Promise<Array<{ id: string; reason: PauseReason }>> {
		const rows = await this.db
			.selectFrom('businesses')
			.select(['id', 'heygen_paused_reason'])
			.where('heygen_paused_reason', 'is not', null)
			.where('heygen_secret_id', 'is not', null)
			.execute();
		return rows.map((r) => ({ id: r.id, reason: r.heygen_paused_reason as PauseReason }));
	}

	/** Lifts a pause and wakes the business's queued jobs (resume_heygen); false if it was not paused. */
	async resumeHeyGen(businessId: string): Promise<boolean> {
		const { rows } = await sql<{ ok: boolean }>`
			select set_config('video_jobs.actor', ${this.actor}, true), resume_heygen(${businessId}::uuid, 'credits_back') as ok`.execute(this.db);
		return rows[0]?.ok === true;
	}

	/**
	 * A content's scheduled auto-generated video is due: content_auto_generate_run (migration 0025)
	 * says what it did (made, waiting, rescheduled, refused, …).
	 */
	async runAutoGenerate(contentId: string): Promise<string> {
		const { rows } = await sql<{ outcome: string }>`
			select set_config('video_jobs.actor', ${this.actor}, true), content_auto_generate_run(${contentId}::uuid) as outcome`.execute(this.db);
		return rows[0]!.outcome;
	}

	/** Gives due schedules that lost their run a new one (content_auto_generate_sweep); returns how many. */
	async sweepSchedules(): Promise<number> {
		const { rows } = await sql<{ n: number }>`select content_auto_generate_sweep() as n`.execute(this.db);
		return rows[0]?.n ?? 0;
	}

	/** Records that a completed job's files are gone from storage, with its event; false if it already was. */
	async filesRemoved(jobId: string, reason: string): Promise<boolean> {
		const { rows } = await sql<{ ok: boolean }>`
			select set_config('video_jobs.actor', ${this.actor}, true), video_jobs_files_removed(${jobId}::uuid, ${reason}) as ok`.execute(this.db);
		return rows[0]?.ok === true;
	}

	/** Re-runs orphaned steps and fails jobs past their deadline; see video_jobs_sweep() in SQL. */
	async sweep(): Promise<Array<{ job_id: string; action: string }>> {
		const { rows } = await sql<{ job_id: string; action: string }>`select * from video_jobs_sweep()`.execute(this.db);
		return rows;
	}
}
