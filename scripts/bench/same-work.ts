// The pipeline's same-work baseline (issue 25) and the round-trip counter both runs share: a bare
// pg-boss worker (scripts/bench/bare-worker.ts) moving N videos through create → status →
// download + row, against the same simulator, database and video size as the pipeline.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { HeyGenSimulator } from '../../heygen/simulator/server.ts';
import { startBenchBoss } from './boss.ts';
import { type BenchDatabase } from './database.ts';
import { cpuMeter, fmtCpu, ROOT, spawnWorker, type WorkerChild } from './process.ts';
import { withTimeout } from './run.ts';
import { fmt } from './stats.ts';

/** Node flags that load the statement counter (scripts/bench/count-queries.ts) into a child. */
export const COUNT_QUERIES_ARGS = ['--import', path.join(ROOT, 'scripts/bench/count-queries.ts')];

/** Statements a child counted so far: asks it (SIGUSR2) and waits for its answer in `file`. */
export async function queriesSent(child: WorkerChild, file: string): Promise<number> {
	const read = async () => (await readFile(file, 'utf8').catch(() => '0 0')).split(' ').map(Number) as [number, number];
	const [seq] = await read();
	child.child.kill('SIGUSR2');
	return withTimeout(
		(async () => {
			for (;;) {
				const [now, count] = await read();
				if (now > seq) return count;
				await new Promise((r) => setTimeout(r, 5));
			}
		})(),
		5_000,
		'the statement count of a worker'
	);
}

export interface SameWorkResult {
	rate: number;
	cpuMsPerVideo: number;
	queriesPerVideo: number;
}

/**
 * N videos through the bare worker, all enqueued in one insert; timed until the last video's row is
 * written. `title` carries the simulator's per-video size (`[sim sizeBytes=…]`), as for the pipeline.
 */
export async function sameWorkBaseline(
	db: BenchDatabase,
	sim: HeyGenSimulator,
	opts: { n: number; title: string; storageDir: string; key: string; concurrency: number }
): Promise<SameWorkResult> {
	await db.pool.query(`create table if not exists bare_videos (id text primary key, heygen_video_id text not null, path text not null,
		created_at timestamptz not null default now())`);
	await db.pool.query('truncate bare_videos');
	const countFile = path.join(db.dir, 'bare-queries.txt');
	const worker = spawnWorker(
		'bare',
		{
			DATABASE_URL: db.url,
			HEYGEN_API_URL: sim.url,
			STORAGE_DIR: path.join(opts.storageDir, 'bare'),
			BARE_HEYGEN_KEY: opts.key,
			BARE_TITLE: opts.title,
			WORKER_CONCURRENCY: String(opts.concurrency),
			BENCH_QUERY_COUNT_FILE: countFile
		},
		{ script: 'scripts/bench/bare-worker.ts', nodeArgs: COUNT_QUERIES_ARGS }
	);
	await worker.ready;
	const { boss, stop } = await startBenchBoss(db, 'bench-bare-enqueue', { max: 2, supervise: false });
	const rows = async () => (await db.pool.query<{ n: number }>('select count(*)::int as n from bare_videos')).rows[0]!.n;
	const run = async (n: number, prefix: string) => {
		const t0 = performance.now();
		await boss.insert(
			'bare.create',
			Array.from({ length: n }, (_, i) => ({ data: { id: `${prefix}-${i}` } }))
		);
		const deadline = t0 + 150_000;
		for (let done = await rows(); done < n; done = await rows()) {
			if (performance.now() > deadline) throw new Error(`bare worker: ${done}/${n} videos stored in 150 s`);
			await new Promise((r) => setTimeout(r, 10));
		}
		return (performance.now() - t0) / 1000;
	};
	// A warm-up round, not measured, as for the pipeline.
	const warmN = Math.min(60, opts.n);
	await run(warmN, 'warm');
	await db.pool.query('truncate bare_videos');
	const q0 = await queriesSent(worker, countFile);
	const cpu = cpuMeter(worker.pid, db.postmasterPid);
	const secs = await run(opts.n, 'run');
	const use = cpu.stop();
	const q1 = await queriesSent(worker, countFile);
	await stop();
	await worker.stop();
	const rate = opts.n / secs;
	const cpuMsPerVideo = (((use.worker + use.postgres) / 100) * use.secs * 1000) / opts.n;
	const workerCpuMs = ((use.worker / 100) * use.secs * 1000) / opts.n;
	const queriesPerVideo = (q1 - q0) / opts.n;
	console.log(
		`bare pg-boss worker, same work: ${opts.n} videos in ${fmt(secs, 2)} s = ${fmt(rate)} videos/s; ` +
			`${fmt(queriesPerVideo, 1)} DB round trips per video; CPU ${fmt(workerCpuMs, 2)} ms worker + postgres = ${fmt(cpuMsPerVideo, 2)} ms per video (${fmtCpu(use)})`
	);
	return { rate, cpuMsPerVideo, queriesPerVideo };
}
