// The worker as a child process, and its memory and CPU time read from /proc.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onCleanup, withTimeout } from './run.ts';
import { median, fmt } from './stats.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

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

/** CPU seconds of a postmaster and its children (backends, walwriter, autovacuum, …), live or exited. */
export function postgresCpuSeconds(postmasterPid: number): number {
	// Children that have exited (autovacuum workers, closed connections) count in the
	// postmaster's cutime/cstime once reaped; without them a meter could go backwards.
	const pm = statFields(postmasterPid);
	let total = pm ? (Number(pm[11]) + Number(pm[12]) + Number(pm[13]) + Number(pm[14])) / CLK_TCK : Number.NaN;
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
	const start = {
		t: performance.now(),
		worker: procCpuSeconds(workerPid),
		pg: postmasterPid ? postgresCpuSeconds(postmasterPid) : Number.NaN,
		self: self()
	};
	return {
		/** Percent of one core for each, over the time since the meter was created. */
		stop() {
			const secs = (performance.now() - start.t) / 1000;
			const pct = (a: number, b: number) => ((b - a) / secs) * 100;
			return {
				worker: pct(start.worker, procCpuSeconds(workerPid)),
				postgres: postmasterPid ? pct(start.pg, postgresCpuSeconds(postmasterPid)) : Number.NaN,
				bench: pct(start.self, self()),
				/** Seconds the meter ran. */
				secs
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
/**
 * How `npm run worker` starts the worker (package.json), so the benchmark measures the same: the
 * live heap at 10,000 rendering jobs is ~45 MiB, but with V8's default limits the heap grew to
 * ~400 MiB of RSS before it collected garbage (issue 13; a heap snapshot showed no per-job state).
 * An old space of 96 MiB is about twice that live heap; at 128 MiB, polling 2,000 jobs a second in
 * batches of 500 took the RSS to 157 MiB, at 96 MiB to 151 MiB, keeping up all the same.
 */
export const WORKER_NODE_FLAGS = ['--max-semi-space-size=2', '--max-old-space-size=96'];
export const WORKER_ENV = { MALLOC_ARENA_MAX: '2' };

/**
 * `opts.script` runs another worker in its place (the same-work baseline, scripts/bench/bare-worker.ts);
 * `opts.nodeArgs` are extra node flags (e.g. `--import` of scripts/bench/count-queries.ts).
 */
export function spawnWorker(label: string, env: Record<string, string>, opts: { script?: string; nodeArgs?: string[] } = {}): WorkerChild {
	const script = opts.script ?? 'worker/main.ts';
	const child = spawn(process.execPath, [...WORKER_NODE_FLAGS, ...(opts.nodeArgs ?? []), path.join(ROOT, script)], {
		cwd: ROOT,
		env: {
			PATH: process.env.PATH ?? '',
			// The bench database's Vault root key (startBenchDatabase): without it no key can be read.
			...(process.env.VAULT_ROOT_KEY && { VAULT_ROOT_KEY: process.env.VAULT_ROOT_KEY }),
			...WORKER_ENV,
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
	const { promise: ready, resolve: onReady, reject: onFail } = Promise.withResolvers<void>();
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
