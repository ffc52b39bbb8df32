import { sql, type Selectable, type Updateable } from 'kysely';
import type { Database } from '../db/client.ts';
import type { VideoJobs, VideoJobStatus } from '../db/types.ts';
import type { QueueName } from './queues.ts';

export type VideoJob = Selectable<VideoJobs>;
export type JobPatch = Updateable<VideoJobs>;

export interface NextStep {
	queue: QueueName;
	delayMs?: number;
}

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

	/**
	 * The business's HeyGen key from Vault. Kept in memory (never logged) for a few seconds so that
	 * thousands of polls do not each decrypt it. The worker drops the copy as soon as the key is
	 * replaced or removed (worker/key-invalidation.ts) and does not cache while it cannot hear that.
	 */
	async apiKey(businessId: string): Promise<string | null> {
		const cached = this.keyCaching ? this.keys.get(businessId) : undefined;
		if (cached && cached.until > Date.now()) return cached.key;
		const generation = this.keyGeneration;
		const { rows } = await sql<{ key: string | null }>`select get_heygen_key(${businessId}) as key`.execute(this.db);
		const key = rows[0]?.key ?? null;
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
	async update(
		jobId: string,
		from: readonly VideoJobStatus[],
		patch: JobPatch | ((job: VideoJob) => JobPatch),
		next?: NextStep
	): Promise<VideoJob | undefined> {
		// Few round trips on purpose: polls run this thousands of times a minute.
		return this.db.transaction().execute(async (trx) => {
			const job = await trx
				.selectFrom('video_jobs')
				.selectAll()
				.select(sql<string>`set_config('video_jobs.actor', ${this.actor}, true)`.as('_actor'))
				.where('id', '=', jobId)
				.forUpdate()
				.executeTakeFirst();
			if (!job || !from.includes(job.status)) return undefined;
			const { _actor: _, ...current } = job;
			const changes = typeof patch === 'function' ? patch(current) : patch;
			const updated = await trx.updateTable('video_jobs').set(changes).where('id', '=', jobId).returningAll().executeTakeFirstOrThrow();
			if (next) {
				// At most one pending pg-boss job per step and video job: a webhook wake-up and a
				// scheduled poll must not grow into two poll chains.
				const startAfter = next.delayMs ? sql`now() + make_interval(secs => ${next.delayMs / 1000})` : sql`null`;
				await sql`select pgboss_cancel_for_video_jobs(array[${jobId}::uuid], array[${next.queue}]),
				                 pgboss_enqueue(${next.queue}, ${JSON.stringify({ jobId })}::jsonb, ${startAfter}, ${jobId})`.execute(trx);
			}
			return updated;
		});
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

	async fail(jobId: string, from: readonly VideoJobStatus[], code: string, message: string): Promise<VideoJob | undefined> {
		return this.update(jobId, from, { status: 'failed', error_code: code, error_message: message.slice(0, 2000) });
	}

	/** Re-runs orphaned steps and fails jobs past their deadline; see video_jobs_sweep() in SQL. */
	async sweep(): Promise<Array<{ job_id: string; action: string }>> {
		const { rows } = await sql<{ job_id: string; action: string }>`select * from video_jobs_sweep()`.execute(this.db);
		return rows;
	}
}
