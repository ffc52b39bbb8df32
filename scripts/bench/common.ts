// Shared helpers for the benchmarks (npm run bench:enqueue, npm run bench:pipeline): a throwaway
// embedded Postgres, seeding, a LISTEN on video_jobs, the worker as a child process, memory
// sampling from /proc, statistics and table output. Everything runs on 127.0.0.1 and cleans up
// after itself, also on Ctrl-C.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../db/embedded.ts';
import { migrate } from '../../db/migrate.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SIM_KEY = 'sim-test-key';

// ---------------------------------------------------------------------------------------------
// Cleanup registry: every resource registers how to release it; run once, in reverse order.

const cleanups: Array<{ name: string; fn: () => Promise<unknown> }> = [];
let cleaning: Promise<void> | null = null;

export function onCleanup(name: string, fn: () => Promise<unknown>): () => void {
	const entry = { name, fn };
	cleanups.push(entry);
	return () => {
		const i = cleanups.indexOf(entry);
		if (i >= 0) cleanups.splice(i, 1);
	};
}

export function runCleanups(): Promise<void> {
	return (cleaning ??= (async () => {
		while (cleanups.length) {
			const { name, fn } = cleanups.pop()!;
			try {
				await withTimeout(fn(), 30_000, `cleanup ${name}`);
			} catch (err) {
				console.error(`cleanup ${name} failed: ${(err as Error).message}`);
			}
		}
	})());
}

/** Runs a bench main function with cleanup on success, failure and SIGINT/SIGTERM. */
export async function runBench(name: string, main: () => Promise<void>): Promise<void> {
	let interrupted = false;
	for (const sig of ['SIGINT', 'SIGTERM'] as const) {
		process.once(sig, () => {
			interrupted = true;
			console.error(`\n${name}: ${sig}, cleaning up…`);
			void runCleanups().then(() => process.exit(130));
		});
	}
	const started = performance.now();
	let code = 0;
	try {
		await main();
	} catch (err) {
		code = 1;
		console.error(`\n${name} failed: ${(err as Error).stack ?? String(err)}`);
	} finally {
		await runCleanups();
	}
	if (interrupted) return;
	console.log(`\n${name}: finished in ${((performance.now() - started) / 1000).toFixed(1)} s${code ? ' (with errors)' : ''}`);
	// Handles left by libraries (pg pools already ended, timers unref'd) must not keep us alive.
	process.exit(code);
}

// ---------------------------------------------------------------------------------------------
// Small utilities

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
	});
	return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Resolves when `check()` is true; re-checked on every `event` of `emitter` (no polling).
 * Rejects after timeoutMs with the message from `describe()`.
 */
export function waitUntil(emitter: EventEmitter, event: string, check: () => boolean, timeoutMs: number, describe: () => string): Promise<void> {
	if (check()) return Promise.resolve();
	return new Promise((resolve, reject) => {
		const onEvent = () => {
			if (!check()) return;
			cleanup();
			resolve();
		};
		const timer = setTimeout(() => {
			cleanup();
			reject(new Error(`timed out after ${timeoutMs} ms: ${describe()}`));
		}, timeoutMs);
		const cleanup = () => {
			clearTimeout(timer);
			emitter.off(event, onEvent);
		};
		emitter.on(event, onEvent);
	});
}

/** Nearest-rank percentile of an unsorted sample. */
export function percentile(values: readonly number[], p: number): number {
	if (!values.length) return Number.NaN;
	const sorted = [...values].sort((a, b) => a - b);
	const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
	return sorted[rank - 1]!;
}

export function median(values: readonly number[]): number {
	if (!values.length) return Number.NaN;
	const s = [...values].sort((a, b) => a - b);
	const mid = Math.floor(s.length / 2);
	return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : String(n));
export const mb = (bytes: number): number => bytes / (1024 * 1024);

/** Prints a left-aligned table; the first row is the header. */
export function printTable(title: string, rows: string[][]): void {
	const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
	const line = (r: string[]) => r.map((cell, c) => (cell ?? '').padEnd(widths[c]!)).join('  ').trimEnd();
	console.log(`\n${title}`);
	console.log(line(rows[0]!));
	console.log(widths.map((w) => '-'.repeat(w)).join('  '));
	for (const r of rows.slice(1)) console.log(line(r));
}

export function section(title: string): void {
	console.log(`\n== ${title}`);
}

// ---------------------------------------------------------------------------------------------
// Database

export interface BenchDatabase {
	url: string;
	pool: pg.Pool;
	dir: string;
	/** PID of this bench's postmaster (read from postmaster.pid). */
	postmasterPid: number | null;
}

/** A fresh embedded Postgres in a mkdtemp directory, migrated; stopped and removed at cleanup. */
export async function startBenchDatabase(label: string): Promise<BenchDatabase> {
	const dir = await mkdtemp(path.join(tmpdir(), `hvj-bench-${label}-`));
	onCleanup('remove database directory', () => rm(dir, { recursive: true, force: true }));
	const t0 = performance.now();
	const db = await startEmbeddedPostgres({ dataDir: dir, persistent: false });
	onCleanup('stop embedded postgres', () => db.stop());
	await migrate(db.url);
	let postmasterPid: number | null = null;
	try {
		postmasterPid = Number(readFileSync(path.join(db.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]) || null;
	} catch {
		// the pid is informational only
	}
	const pool = new pg.Pool({ connectionString: db.url, max: 6, application_name: `bench-${label}` });
	pool.on('error', () => {});
	onCleanup('close bench pool', () => pool.end());
	const { rows } = await pool.query<{ v: string }>(`select current_setting('server_version') as v`);
	console.log(
		`postgres ${rows[0]!.v} (embedded, fsync=on) in ${dir}, port ${db.port}, postmaster pid ${postmasterPid ?? '?'}; ` +
			`started + migrated in ${fmt((performance.now() - t0) / 1000)} s`
	);
	return { url: db.url, pool, dir, postmasterPid };
}

/** A business with the simulator's avatar, voice and key. */
export async function seedBusiness(pool: pg.Pool, name: string): Promise<string> {
	const { rows } = await pool.query<{ id: string }>(
		`insert into businesses (name, heygen_avatar_id, heygen_voice_id) values ($1, 'sim-avatar-anna', 'sim-voice-en-1') returning id`,
		[name]
	);
	const id = rows[0]!.id;
	await pool.query('select set_heygen_key($1, $2)', [id, SIM_KEY]);
	return id;
}

/** `n` pieces of content for a business (one active job per content, so one each per job). */
export async function seedContents(pool: pg.Pool, businessId: string, n: number): Promise<string[]> {
	const { rows } = await pool.query<{ id: string }>(
		`insert into content (business_id, title, body)
		 select $1, 'Bench post ' || g, 'Bench script number ' || g || '. Hello from the benchmark.'
		 from generate_series(1, $2::int) g
		 returning id`,
		[businessId, n]
	);
	return rows.map((r) => r.id);
}

export interface JobEvent {
	id: string;
	business_id: string;
	content_id: string;
	status: string;
	at: number;
}

/** One LISTEN video_jobs connection; emits 'event' (JobEvent) for every transition. */
export async function listenVideoJobs(url: string): Promise<{ events: EventEmitter; close(): Promise<void> }> {
	const client = new pg.Client({ connectionString: url, application_name: 'bench-listen' });
	client.on('error', () => {});
	await client.connect();
	const events = new EventEmitter();
	events.setMaxListeners(0);
	client.on('notification', (msg) => {
		if (msg.channel !== 'video_jobs' || !msg.payload) return;
		const at = performance.now();
		const p = JSON.parse(msg.payload) as Omit<JobEvent, 'at'>;
		events.emit('event', { ...p, at } satisfies JobEvent);
	});
	await client.query('listen video_jobs');
	let closed: Promise<void> | null = null;
	const close = () => (closed ??= client.end().catch(() => {}));
	onCleanup('close LISTEN connection', close);
	return { events, close };
}

// ---------------------------------------------------------------------------------------------
// Worker child process and memory

export interface ProcMemory {
	rssMB: number;
	hwmMB: number;
}

/** VmRSS and VmHWM (peak RSS) of a live process, in MiB; null once it has exited. */
export function procMemory(pid: number): ProcMemory | null {
	let text: string;
	try {
		text = readFileSync(`/proc/${pid}/status`, 'utf8');
	} catch {
		return null;
	}
	const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN);
	return { rssMB: kb('VmRSS') / 1024, hwmMB: kb('VmHWM') / 1024 };
}

/** Samples a process's memory every intervalMs until stopped (a measurement, not a wait). */
export function sampleMemory(pid: number, intervalMs: number) {
	const samples: Array<ProcMemory & { at: number }> = [];
	const take = () => {
		const m = procMemory(pid);
		if (m) samples.push({ ...m, at: performance.now() });
	};
	take();
	const timer = setInterval(take, intervalMs);
	return {
		samples,
		stop() {
			clearInterval(timer);
			take();
			const rss = samples.map((s) => s.rssMB);
			return {
				count: samples.length,
				peakRssMB: Math.max(...rss),
				medianRssMB: median(rss),
				firstHwmMB: samples[0]?.hwmMB ?? Number.NaN,
				lastHwmMB: samples.at(-1)?.hwmMB ?? Number.NaN
			};
		}
	};
}

// CPU time from /proc (USER_HZ is 100 on Linux).
const CLK_TCK = 100;

function statFields(pid: number | string): string[] | null {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
		// Fields after the parenthesised command name: state is [0], ppid [1], utime [11], stime [12].
		return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
	} catch {
		return null;
	}
}

/** User + system CPU seconds a live process has used so far. */
export function procCpuSeconds(pid: number): number {
	const f = statFields(pid);
	return f ? (Number(f[11]) + Number(f[12])) / CLK_TCK : Number.NaN;
}

/** CPU seconds of a postmaster and its current children (backends, walwriter, …). */
export function postgresCpuSeconds(postmasterPid: number): number {
	let total = procCpuSeconds(postmasterPid);
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		const f = statFields(entry);
		if (f && Number(f[1]) === postmasterPid) total += (Number(f[11]) + Number(f[12])) / CLK_TCK;
	}
	return total;
}

/** CPU use of the worker, Postgres and this process (simulator, listener) over a stretch of time. */
export function cpuMeter(workerPid: number, postmasterPid: number | null) {
	const self = () => {
		const u = process.cpuUsage();
		return (u.user + u.system) / 1e6;
	};
	const start = { t: performance.now(), worker: procCpuSeconds(workerPid), pg: postmasterPid ? postgresCpuSeconds(postmasterPid) : Number.NaN, self: self() };
	return {
		/** Percent of one core for each, over the time since the meter was created. */
		stop() {
			const secs = (performance.now() - start.t) / 1000;
			const pct = (a: number, b: number) => ((b - a) / secs) * 100;
			return {
				worker: pct(start.worker, procCpuSeconds(workerPid)),
				postgres: postmasterPid ? pct(start.pg, postgresCpuSeconds(postmasterPid)) : Number.NaN,
				bench: pct(start.self, self())
			};
		}
	};
}

export const fmtCpu = (c: { worker: number; postgres: number; bench: number }): string =>
	`worker ${fmt(c.worker, 0)}%, postgres ${fmt(c.postgres, 0)}%, bench+simulator ${fmt(c.bench, 0)}% of one core (${cpus().length} cores)`;

export interface WorkerChild {
	child: ChildProcess;
	pid: number;
	/** Resolves once the worker logged "worker started". */
	ready: Promise<void>;
	/** Log lines (pino JSON) seen so far, counted by msg; plus the last lines for diagnostics. */
	messages: Map<string, number>;
	tail: string[];
	stop(): Promise<number | null>;
}

/**
 * `node worker/main.ts` as a child process, so its memory is measured alone. Logs at info (the
 * product's default level) are parsed only to count messages and to see "worker started".
 */
export function spawnWorker(label: string, env: Record<string, string>): WorkerChild {
	const child = spawn(process.execPath, [path.join(ROOT, 'worker/main.ts')], {
		cwd: ROOT,
		env: {
			PATH: process.env.PATH ?? '',
			LOG_LEVEL: 'info',
			WORKER_SHUTDOWN_SECONDS: '5',
			...env,
			// For experiments: BENCH_WORKER_X=… in the bench's environment becomes X=… in the worker's.
			...Object.fromEntries(
				Object.entries(process.env)
					.filter(([k, v]) => k.startsWith('BENCH_WORKER_') && v !== undefined)
					.map(([k, v]) => [k.slice('BENCH_WORKER_'.length), v as string])
			)
		},
		stdio: ['ignore', 'pipe', 'pipe']
	});
	const pid = child.pid;
	if (pid === undefined) throw new Error(`worker ${label} did not start`);
	const messages = new Map<string, number>();
	const tail: string[] = [];
	let onReady: () => void = () => {};
	let onFail: (e: Error) => void = () => {};
	const ready = new Promise<void>((resolve, reject) => {
		onReady = resolve;
		onFail = reject;
	});
	// For experiments: BENCH_ECHO_WORKER=<regex> prints the worker's matching output lines.
	const echo = process.env.BENCH_ECHO_WORKER ? new RegExp(process.env.BENCH_ECHO_WORKER) : null;
	let partial = '';
	const collect = (chunk: Buffer) => {
		const text = partial + String(chunk);
		const lines = text.split('\n');
		partial = lines.pop() ?? '';
		for (const line of lines) {
			if (!line) continue;
			if (echo?.test(line)) console.log(`  [worker ${label}] ${line}`);
			tail.push(line);
			if (tail.length > 40) tail.shift();
			let msg = line;
			try {
				msg = (JSON.parse(line) as { msg?: string }).msg ?? line;
			} catch {
				// not JSON: count the raw line
			}
			messages.set(msg, (messages.get(msg) ?? 0) + 1);
			if (msg === 'worker started') onReady();
		}
	};
	child.stdout!.on('data', collect);
	child.stderr!.on('data', collect);
	const exited = new Promise<number | null>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
	void exited.then((code) => onFail(new Error(`worker ${label} exited (${code}) before it started:\n${tail.join('\n')}`)));
	let stopping: Promise<number | null> | null = null;
	const stop = () =>
		(stopping ??= (async () => {
			if (child.exitCode !== null || child.signalCode !== null) return exited;
			child.kill('SIGTERM');
			try {
				return await withTimeout(exited, 15_000, `worker ${label} graceful stop`);
			} catch {
				child.kill('SIGKILL');
				return withTimeout(exited, 5_000, `worker ${label} kill`);
			}
		})());
	onCleanup(`stop worker ${label}`, stop);
	return { child, pid, ready: withTimeout(ready, 60_000, `worker ${label} start`), messages, tail, stop };
}

/**
 * Samples pg_stat_activity for the given application names every intervalMs (a measurement):
 * where their connections spend their time (idle = waiting on the client, or a wait event).
 */
export function sampleWaits(pool: pg.Pool, applicationNames: string[], intervalMs: number) {
	const counts = new Map<string, number>();
	let samples = 0;
	let busy = false;
	const take = async () => {
		if (busy) return;
		busy = true;
		try {
			const { rows } = await pool.query<{ k: string; n: number }>(
				`select application_name || ' ' || coalesce(state, '?') ||
				        case when state = 'active' then ' ' || coalesce(wait_event_type || ':' || wait_event, 'on CPU') else '' end as k,
				        count(*)::int as n
				 from pg_stat_activity where application_name = any($1) and pid <> pg_backend_pid() group by 1`,
				[applicationNames]
			);
			samples++;
			for (const r of rows) counts.set(r.k, (counts.get(r.k) ?? 0) + r.n);
		} catch {
			// a failed sample is skipped
		} finally {
			busy = false;
		}
	};
	const timer = setInterval(() => void take(), intervalMs);
	return {
		/** Average number of connections in each state, busiest first. */
		stop(): Array<[string, number]> {
			clearInterval(timer);
			return [...counts].map(([k, n]) => [k, n / Math.max(1, samples)] as [string, number]).sort((a, b) => b[1] - a[1]);
		}
	};
}
