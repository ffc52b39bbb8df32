import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { loadConfig } from '../../config/index.ts';
import type { VideoJobStatus } from '../../db/types.ts';
import { startWorker, type RunningWorker, type WorkerOptions } from '../../worker/index.ts';
import { createLogger } from '../../log/logger.ts';
import { createStorage } from '../../storage/index.ts';
import { startHeyGenSimulator, type HeyGenSimulator } from '../../heygen/simulator/server.ts';
import { vaultEnv, type TestDatabase } from './db.ts';

/** Settings that make every backoff tiny, so fault tests finish in seconds. */
export const FAST_SETTINGS = {
	pollInitialMs: 50,
	pollMaxMs: 200,
	retryBaseMs: 50,
	retryMaxMs: 300,
	maxSubmits: 5,
	maxTransfers: 6,
	downloadStallMs: 2000,
	slotWaitMs: 1000
};

export interface Pipeline {
	sim: HeyGenSimulator;
	worker: RunningWorker;
	storageDir: string;
	/** Every log line the worker wrote, for secret scanning. */
	logs: string[];
	stop(): Promise<void>;
}

export async function startPipeline(
	db: TestDatabase,
	opts: { renderMs?: number; env?: Record<string, string>; worker?: Partial<WorkerOptions>; sim?: HeyGenSimulator } = {}
): Promise<Pipeline> {
	const sim = opts.sim ?? (await startHeyGenSimulator({ renderMs: opts.renderMs ?? 0 }));
	const storageDir = mkdtempSync(path.join(tmpdir(), 'hvj-videos-'));
	const logs: string[] = [];
	const sink = new Writable({
		write(chunk, _enc, cb) {
			logs.push(String(chunk));
			cb();
		}
	});
	const config = loadConfig({ HEYGEN_API_URL: sim.url, LOG_LEVEL: 'debug', STORAGE_DIR: storageDir, ...vaultEnv(), ...opts.env });
	const worker = await startWorker({
		databaseUrl: db.url,
		config,
		log: createLogger({ level: 'debug', destination: sink }),
		storage: await createStorage({ kind: 'local', dir: storageDir, publicBaseUrl: '/media' }),
		settings: FAST_SETTINGS,
		monitorIntervalSeconds: 1,
		sweepIntervalMs: 1000,
		...opts.worker
	});
	return {
		sim,
		worker,
		storageDir,
		logs,
		stop: async () => {
			await worker.stop();
			if (!opts.sim) await sim.close();
			rmSync(storageDir, { recursive: true, force: true });
		}
	};
}

/**
 * Resolves with the job row once its status is one of `statuses`. LISTENs on video_jobs before
 * reading the row, so a change between the two cannot be missed.
 */
export async function waitForStatus(
	db: TestDatabase,
	jobId: string,
	statuses: VideoJobStatus | VideoJobStatus[],
	timeoutMs = 20_000
): Promise<Record<string, any>> {
	const want = new Set(Array.isArray(statuses) ? statuses : [statuses]);
	let row: Record<string, any> | undefined;
	const reached = async () => {
		row = (await db.sql('select * from video_jobs where id = $1', [jobId])).rows[0];
		return !!row && want.has(row.status);
	};
	try {
		await waitUntil(db, reached, timeoutMs);
	} catch (err) {
		if (!(err instanceof WaitTimeout)) throw err;
		throw new Error(
			`job ${jobId} did not reach ${[...want].join('|')} within ${timeoutMs} ms (status ${row?.status}, last_error ${row?.last_error}, error ${row?.error_code}: ${row?.error_message})`,
			{ cause: err }
		);
	}
	return row!;
}

class WaitTimeout extends Error {}

/**
 * Resolves once `check` holds: LISTENs on video_jobs first, then checks again at every job status
 * change (for conditions a status change brings about, like a paused business).
 */
export async function waitUntil(db: TestDatabase, check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
	const listener = new pg.Client(db.url);
	await listener.connect();
	try {
		let wake: () => void = () => {};
		listener.on('notification', () => wake());
		await listener.query('listen video_jobs');
		const deadline = Date.now() + timeoutMs;
		while (!(await check())) {
			const left = deadline - Date.now();
			if (left <= 0) throw new WaitTimeout(`condition not met within ${timeoutMs} ms`);
			await new Promise<void>((resolve) => {
				const t = setTimeout(resolve, left);
				wake = () => {
					clearTimeout(t);
					resolve();
				};
			});
		}
	} finally {
		await listener.end();
	}
}

export async function eventTrail(db: TestDatabase, jobId: string): Promise<string[]> {
	const { rows } = await db.sql<{ from_status: string | null; to_status: string }>(
		'select from_status, to_status from video_job_events where job_id = $1 order by id',
		[jobId]
	);
	return rows.map((r) => `${r.from_status ?? '∅'}→${r.to_status}`);
}

export const HAPPY_TRAIL = ['∅→queued', 'queued→submitting', 'submitting→rendering', 'rendering→transferring', 'transferring→completed'];
