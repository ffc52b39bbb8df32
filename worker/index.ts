import { PgBoss, type Job } from 'pg-boss';
import { resolveVaultRootKey, type Config } from '../config/index.ts';
import { createDb, type DbHandle } from '../db/client.ts';
import type { PipelineContext, PipelineSettings } from './context.ts';
import { createHeyGenClient, type HeyGenClient } from '../heygen/index.ts';
import { JobStore } from './job-store.ts';
import { listenForKeyChanges } from './key-invalidation.ts';
import { retirementRunner } from './endpoint-retirements.ts';
import { languageRefresher } from './languages.ts';
import { pauseProber } from './heygen-pause.ts';
import { createWebhookApi, type WebhookApi } from '../heygen/webhooks.ts';
import { createLogger, type Logger } from '../log/logger.ts';
import { STEP_LIST, TASK_LIST, taskWorkOptions, workOptions } from './steps/registry.ts';
import type { z } from 'zod';
import { createStorage, PARTIAL_MAX_AGE_MS, sweepPartials, type VideoStorage } from '../storage/index.ts';

export const PARTIAL_SWEEP_INTERVAL_MS = 15_000;

export interface WorkerOptions {
	databaseUrl: string;
	config: Config;
	log?: Logger;
	storage?: VideoStorage;
	heygen?: (apiKey: string) => HeyGenClient;
	webhooks?: (apiKey: string) => WebhookApi;
	settings?: Partial<PipelineSettings>;
	/** pg-boss monitor interval; tests shorten it so a killed worker's jobs come back quickly. */
	monitorIntervalSeconds?: number;
	sweepIntervalMs?: number;
	/** How often to look for `.partial` files no live transfer owns (local storage). */
	partialSweepIntervalMs?: number;
	concurrency?: number;
}

export interface RunningWorker {
	boss: PgBoss;
	ctx: PipelineContext;
	stop(): Promise<void>;
}

export function settingsFromConfig(config: Config): PipelineSettings {
	return {
		pollInitialMs: config.POLL_INITIAL_SECONDS * 1000,
		pollMaxMs: config.POLL_MAX_SECONDS * 1000,
		retryBaseMs: config.RETRY_BASE_SECONDS * 1000,
		retryMaxMs: config.RETRY_MAX_SECONDS * 1000,
		maxSubmits: config.MAX_SUBMITS,
		maxTransfers: config.MAX_TRANSFERS,
		downloadStallMs: config.DOWNLOAD_STALL_SECONDS * 1000,
		slotWaitMs: config.SLOT_WAIT_SECONDS * 1000,
		pauseProbeMs: config.HEYGEN_PAUSE_PROBE_SECONDS * 1000,
		pauseProbeMaxMs: Math.max(config.HEYGEN_PAUSE_PROBE_SECONDS, config.HEYGEN_PAUSE_PROBE_MAX_SECONDS) * 1000,
		trustedOrigin: new URL(config.HEYGEN_API_URL).origin,
		// where each business's webhook endpoint points (worker/webhook-registration.ts)
		...(config.ORIGIN && { publicUrl: config.ORIGIN })
	};
}

export function storageFromConfig(config: Config): Promise<VideoStorage> {
	return config.STORAGE === 'supabase'
		? createStorage({
				kind: 'supabase',
				url: config.SUPABASE_URL!,
				serviceRoleKey: config.SUPABASE_SERVICE_ROLE_KEY!,
				bucket: config.SUPABASE_BUCKET
			})
		: createStorage({ kind: 'local', dir: config.storageDir, publicBaseUrl: '/media' });
}

/**
 * Starts pg-boss workers for every step of worker/steps/registry.ts. Many processes may run this against one
 * database: pg-boss fetches with SKIP LOCKED and every step re-checks the job's state under a row
 * lock, so there is no double work and no coordinator.
 */
export async function startWorker(opts: WorkerOptions): Promise<RunningWorker> {
	const { config } = opts;
	const log = (opts.log ?? createLogger({ level: config.LOG_LEVEL })).child({ component: 'worker' });
	const concurrency = opts.concurrency ?? config.WORKER_CONCURRENCY;
	// Its pool reads keys from Vault, so it carries the Vault root key; pg-boss's own pool does not.
	const handle: DbHandle = createDb(opts.databaseUrl, {
		max: Math.min(50, concurrency + 5),
		applicationName: 'video-worker',
		vaultRootKey: resolveVaultRootKey(config)
	});
	const ctx: PipelineContext = {
		store: new JobStore(handle.db),
		heygen:
			opts.heygen ?? ((apiKey) => createHeyGenClient({ baseUrl: config.HEYGEN_API_URL, apiKey, timeoutMs: config.HEYGEN_TIMEOUT_MS })),
		webhooks:
			opts.webhooks ?? ((apiKey) => createWebhookApi({ baseUrl: config.HEYGEN_API_URL, apiKey, timeoutMs: config.HEYGEN_TIMEOUT_MS })),
		storage: opts.storage ?? (await storageFromConfig(config)),
		log,
		settings: { ...settingsFromConfig(config), ...opts.settings }
	};
	const monitor = opts.monitorIntervalSeconds ?? config.WORKER_MONITOR_SECONDS;
	const boss = new PgBoss({
		connectionString: opts.databaseUrl,
		max: 10,
		application_name: 'video-worker-boss',
		useListenNotify: true,
		supervise: true,
		schedule: false,
		monitorIntervalSeconds: monitor,
		superviseIntervalSeconds: monitor,
		instanceName: 'video-worker',
		openTelemetry: { enabled: false }
	});
	// A key replaced or removed from SQL leaves its old account's webhook endpoint to retire: the
	// same NOTIFY that drops the cached key wakes that (and so does the sweep, for retries).
	const retirements = retirementRunner(ctx);
	// The same NOTIFY refreshes HeyGen's translation languages with the saved key (and the sweep
	// keeps them a day fresh).
	const languages = languageRefresher(ctx);
	// Paused businesses (HeyGen said 402/401) are probed on the sweep's beat, each on its own backoff.
	const prober = pauseProber(ctx);
	const keyChanges = listenForKeyChanges(opts.databaseUrl, ctx.store, log, (businessId) => {
		retirements.wake();
		languages.wake(businessId);
	});
	let stopping: Promise<void> | null = null;
	boss.on('error', (err) => {
		// pg-boss can still be closing a connection when Postgres stops right after it: once we are
		// stopping, "terminating connection" (57P01) is the expected end, not an error to report.
		if (stopping && ((err as { code?: unknown }).code === '57P01' || /connection terminated/i.test(err.message))) return;
		log.error({ err: { message: err.message } }, 'pg-boss error');
	});
	boss.on('warning', (w: { message: string }) => log.warn({ warning: w.message }, 'pg-boss warning'));
	await boss.start();

	const malformed = (queue: string, job: Job<unknown>, issue: string | undefined) => {
		log.error({ queue, pgbossId: job.id, issue }, 'malformed job payload; dropped');
		return { id: job.id, status: 'deadletter' as const, output: { error: 'malformed payload' } };
	};
	const outcome = (queue: string, job: Job<unknown>, item: unknown, result: PromiseSettledResult<void>) => {
		if (result.status === 'fulfilled') return { id: job.id, status: 'completed' as const };
		// Unexpected (database unavailable, a bug): pg-boss retries the step with backoff.
		const message = (result.reason as Error)?.message ?? String(result.reason);
		log.error({ queue, ...(item as object), err: { message } }, 'step crashed; pg-boss will retry it');
		return { id: job.id, status: 'failed' as const, output: { error: message } };
	};
	// One runner for every step and task: parse each payload, hand the valid ones to the handler as a batch.
	const run =
		<P>(queue: string, payload: z.ZodType<P>, handle: (items: P[]) => Promise<PromiseSettledResult<void>[]>) =>
		async (jobs: Job<unknown>[]) => {
			const valid: Array<{ job: Job<unknown>; item: P }> = [];
			const results: Array<ReturnType<typeof malformed> | ReturnType<typeof outcome>> = [];
			for (const job of jobs) {
				const parsed = payload.safeParse(job.data);
				if (parsed.success) valid.push({ job, item: parsed.data });
				else results.push(malformed(queue, job, parsed.error.issues[0]?.message));
			}
			let settled: PromiseSettledResult<void>[];
			try {
				settled = await handle(valid.map((v) => v.item));
			} catch (reason) {
				settled = valid.map(() => ({ status: 'rejected', reason }));
			}
			valid.forEach((v, i) => results.push(outcome(queue, v.job, v.item, settled[i]!)));
			return results;
		};

	const options = workOptions(concurrency, config.POLL_BATCH_SIZE);
	for (const step of STEP_LIST)
		await boss.work(
			step.queue,
			options[step.queue],
			run(step.queue, step.payload, (items) =>
				step.handler(
					ctx,
					items.map((i) => i.jobId)
				)
			)
		);
	for (const task of TASK_LIST)
		await boss.work(
			task.queue,
			taskWorkOptions(task, concurrency),
			run(task.queue, task.payload, (items) => task.handler(ctx, items))
		);

	// Temp files of a transfer that died mid-download (a SIGKILLed worker): gone within
	// PARTIAL_MAX_AGE_MS + the interval, i.e. well within a minute. Live downloads touch theirs.
	const storageDir = ctx.storage.kind === 'local' ? (ctx.storage as { dir?: string }).dir : undefined;
	const sweepTemps = async () => {
		if (!storageDir) return;
		try {
			const removed = await sweepPartials(storageDir, PARTIAL_MAX_AGE_MS);
			if (removed.length) log.info({ removed: removed.length }, 'removed stale partial downloads');
		} catch (err) {
			log.warn({ err: { message: (err as Error).message } }, 'partial download sweep failed');
		}
	};
	void sweepTemps();
	const partialTimer = setInterval(() => void sweepTemps(), opts.partialSweepIntervalMs ?? PARTIAL_SWEEP_INTERVAL_MS);
	partialTimer.unref();

	const sweep = async () => {
		retirements.wake();
		languages.wake(null);
		prober.wake();
		try {
			for (const r of await ctx.store.sweep()) log.warn(r, 'sweep');
			const rescheduled = await ctx.store.sweepSchedules();
			if (rescheduled) log.warn({ rescheduled }, 'sweep: scheduled videos that had lost their run');
		} catch (err) {
			log.error({ err: { message: (err as Error).message } }, 'sweep failed');
		}
	};
	const sweepTimer = setInterval(sweep, opts.sweepIntervalMs ?? 30_000);
	sweepTimer.unref();
	log.info({ concurrency }, 'worker started');

	return {
		boss,
		ctx,
		stop: () =>
			(stopping ??= (async () => {
				clearInterval(sweepTimer);
				clearInterval(partialTimer);
				// Finish in-flight steps within the timeout; anything still running after that is
				// handed back to pg-boss (its heartbeat stops, so another worker retries it).
				await boss.stop({ graceful: true, timeout: config.WORKER_SHUTDOWN_SECONDS * 1000 });
				await keyChanges.stop();
				await retirements.idle();
				await languages.idle();
				await prober.idle();
				await handle.close();
				log.info('worker stopped');
			})())
	};
}
