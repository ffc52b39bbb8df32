// npm run bench:web — the web app under load, on loopback only, stopping by itself:
//   1. content page (the one with the Generate button, status steps and history) req/s and
//      p50/p95/p99 latency with 50 concurrent clients, each a signed-in browser session (keep-alive,
//      no think time, Set-Cookie honoured like a browser), against the trivial page /account in the
//      same run: both go through the same hooks (session cookie, CSP nonce, security headers) and
//      the same root layout, but /account has no load of its own, so the ratio is the cost of the
//      content page's own work (target: ≥ 0.5 of the trivial page's req/s, and p95 ≤ 50 ms). The
//      two pages alternate in rounds so that load from elsewhere on the machine hits both alike;
//   2. 1,000 concurrent SSE subscribers on one business: p95 delay from a status change's commit to
//      its arrival at every subscriber (target ≤ 100 ms);
//   3. the web process's RSS idle, under page load, and holding 1,000 streams.
// The app runs as a child process (build/handler.js behind node:http, like `npm run web`) so its
// memory and CPU are its own; one throwaway embedded Postgres; no worker (jobs are moved by SQL).
// BENCH_WEB_PROCESSES=N serves with N processes (node:cluster) to use more cores.
import { fork, type ChildProcess } from 'node:child_process';
import cluster from 'node:cluster';
import { Agent, request, type IncomingMessage } from 'node:http';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import os, { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from '../../db/embedded.ts';
import { loadConfig } from '../../config/index.ts';
import { ensureBuilt, serveWeb } from '../app.ts';
import { ctrlC, startNpm, waitForOutput } from '../npm-child.ts';
import {
	cpuMeter,
	fmt,
	onCleanup,
	percentile,
	printTable,
	procMemory,
	runBench,
	section,
	startBenchDatabase,
	withTimeout
} from './common.ts';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const CLIENTS = env('BENCH_CLIENTS', 50);
const PAGE_SECONDS = env('BENCH_PAGE_SECONDS', 10); // per page, split over the rounds
const ROUNDS = env('BENCH_ROUNDS', 2);
const SUBSCRIBERS = env('BENCH_SSE', 1000);
const CHANGES = env('BENCH_CHANGES', 10);
const TOTAL_TIMEOUT_MS = env('BENCH_TIMEOUT_SECONDS', 240) * 1000;
/** SSE streams being set up at once, at most; the time all may take to be live. */
const SSE_CONNECTING = env('BENCH_SSE_CONNECTING', 100);
const SSE_CONNECT_SECONDS = env('BENCH_SSE_CONNECT_SECONDS', 90);
/** The app's `retry:` (web/lib/server/sse.ts): how long EventSource waits before opening again. */
const SSE_RETRY_MS = 2000;
/** Issue 25: the web process under the page benchmark stays under this. */
const WEB_RSS_GOAL_MB = 250;

// ---- child: the app server ----

async function serve(): Promise<void> {
	const workers = Number(process.env.BENCH_WEB_PROCESSES ?? 1);
	if (workers > 1 && cluster.isPrimary) {
		// Several app processes sharing one port (node:cluster), as `npm run web` ×N behind a balancer would.
		const port = await freePort();
		for (let i = 0; i < workers; i++) cluster.fork({ BENCH_PORT: String(port) });
		let ready = 0;
		cluster.on('message', () => {
			if (++ready === workers) process.send!({ port, pids: Object.values(cluster.workers ?? {}).map((w) => w!.process.pid) });
		});
		process.on('disconnect', () => process.exit(0));
		process.on('SIGTERM', () => process.exit(0));
		return;
	}
	// Served as `npm run web` serves it; keep-alive connections outlive the pauses between rounds.
	const config = loadConfig({ ...process.env, HOST: '127.0.0.1', PORT: process.env.BENCH_PORT ?? '0' });
	const { port } = await serveWeb(config, { keepAliveTimeoutMs: 60_000 });
	process.send!({ port, pids: [process.pid] });
	process.on('disconnect', () => process.exit(0));
	process.on('SIGTERM', () => process.exit(0));
	// BENCH_PROFILE=dir: CPU profiles of the first round of each page (not start-up, sign-ups or SSE).
	const inspector = process.env.BENCH_PROFILE ? new Session() : null;
	process.on('message', async (m: { profile?: 'start' | 'stop'; name?: string }) => {
		if (!inspector) return;
		if (m.profile === 'start') {
			inspector.connect();
			await inspector.post('Profiler.setSamplingInterval', { interval: 200 });
			await inspector.post('Profiler.enable');
			await inspector.post('Profiler.start');
			process.send!({ profiling: true });
		} else if (m.profile === 'stop') {
			const { profile } = await inspector.post('Profiler.stop');
			const file = path.join(process.env.BENCH_PROFILE!, `web-${m.name ?? 'pages'}-${process.pid}.cpuprofile`);
			await writeFile(file, JSON.stringify(profile));
			inspector.disconnect();
			process.send!({ profiled: file });
		}
	});
}

// ---- parent ----

interface App {
	child: ChildProcess;
	base: string;
	port: number;
	/** The processes serving requests (one, or the cluster workers). */
	pids: number[];
}

async function startApp(databaseUrl: string, dataDir: string): Promise<App> {
	const child = fork(import.meta.filename, ['--serve'], {
		env: {
			...process.env,
			DATABASE_URL: databaseUrl,
			DATA_DIR: dataDir,
			STORAGE_DIR: path.join(dataDir, 'videos'),
			LOG_LEVEL: 'warn',
			RUN_WORKER: 'false',
			HEYGEN_API_URL: 'http://127.0.0.1:9'
		},
		stdio: ['ignore', 'inherit', 'inherit', 'ipc']
	});
	onCleanup('stop the web app', async () => {
		if (child.exitCode === null) {
			child.kill('SIGTERM');
			await new Promise((r) => child.once('exit', r));
		}
	});
	const { port, pids } = await withTimeout(
		new Promise<{ port: number; pids: number[] }>((resolve, reject) => {
			child.once('message', (m: { port: number; pids: number[] }) => resolve(m));
			child.once('exit', (code) => reject(new Error(`the app exited (${code}) before listening`)));
		}),
		30_000,
		'the app to listen'
	);
	return { child, base: `http://127.0.0.1:${port}`, port, pids };
}

function rssMB(pids: number[]): number {
	return pids.reduce((sum, pid) => sum + (procMemory(pid)?.rssMB ?? Number.NaN), 0);
}

/** One HTTP request on a keep-alive agent; resolves with status, body and elapsed ms. */
function httpGet(
	agent: Agent,
	port: number,
	p: string,
	headers: Record<string, string>
): Promise<{ status: number; ms: number; bytes: number; setCookie: string[] }> {
	const t0 = performance.now();
	return new Promise((resolve, reject) => {
		const req = request({ host: '127.0.0.1', port, path: p, agent, headers }, (res) => {
			let bytes = 0;
			res.on('data', (c: Buffer) => (bytes += c.length));
			res.on('end', () =>
				resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0, bytes, setCookie: res.headers['set-cookie'] ?? [] })
			);
			res.on('error', reject);
		});
		req.on('error', reject);
		req.end();
	});
}

/** Sends a message to the app process and waits for its answer carrying `key`. */
function ask(child: ChildProcess, message: object, key: string): Promise<unknown> {
	return withTimeout(
		new Promise((resolve) => {
			const onMessage = (m: Record<string, unknown>) => {
				if (!(key in m)) return;
				child.off('message', onMessage);
				resolve(m[key]);
			};
			child.on('message', onMessage);
			child.send(message);
		}),
		30_000,
		`the app to answer ${key}`
	);
}

async function formPost(base: string, p: string, fields: Record<string, string>): Promise<string> {
	const res = await fetch(`${base}${p}`, {
		method: 'POST',
		redirect: 'manual',
		headers: { origin: base, accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' },
		body: new URLSearchParams(fields)
	});
	if (res.status !== 303) throw new Error(`${p}: HTTP ${res.status}`);
	return res.headers
		.getSetCookie()
		.map((c) => c.split(';')[0]!)
		.join('; ');
}

/**
 * `npm start` with a data directory of its own, as on a first run after `npm install`: seconds
 * until the URL it prints answers (the database is created and migrated on the way), then Ctrl-C.
 */
async function firstStart(): Promise<number> {
	const dataDir = await mkdtemp(path.join(tmpdir(), 'hvj-bench-first-start-'));
	onCleanup('remove first-start data directory', () => rm(dataDir, { recursive: true, force: true }));
	const t0 = performance.now();
	const run = startNpm(['start'], { DATA_DIR: dataDir, PORT: String(await freePort()), HOST: '127.0.0.1' });
	onCleanup('stop first-start app', async () => {
		if (run.child.exitCode === null && run.child.signalCode === null) await ctrlC(run, 20_000);
	});
	const url = (await waitForOutput(run, /App running at (\S+)/, 120_000))[1]!;
	const res = await fetch(url, { redirect: 'manual' });
	const secs = (performance.now() - t0) / 1000;
	if (res.status >= 500) throw new Error(`${url} answered HTTP ${res.status}`);
	await ctrlC(run, 20_000);
	console.log(`npm start, fresh data directory: ${url} answered HTTP ${res.status} ${fmt(secs, 2)} s after the command started`);
	return secs;
}

async function main(): Promise<void> {
	const deadline = setTimeout(() => {
		console.error(`\nbench:web: still running after ${TOTAL_TIMEOUT_MS / 1000} s; stopping.`);
		process.kill(process.pid, 'SIGTERM');
	}, TOTAL_TIMEOUT_MS);
	deadline.unref();

	section('first start: npm start with a fresh data directory, until its URL answers');
	const firstStartSecs = await firstStart();

	section('setup');
	const db = await startBenchDatabase('web');
	const dataDir = await mkdtemp(path.join(tmpdir(), 'hvj-bench-web-data-'));
	onCleanup('remove app data directory', () => rm(dataDir, { recursive: true, force: true }));
	let t0 = performance.now();
	await ensureBuilt((m) => console.log(m));
	console.log(`web app build checked in ${fmt((performance.now() - t0) / 1000)} s`);
	const app = await startApp(db.url, dataDir);
	const pid = app.pids;
	console.log(`web app pid ${pid.join(', ')} at ${app.base}${pid.length > 1 ? ` (${pid.length} processes, node:cluster)` : ''}`);

	// One business with its settings and a piece of content with some history; one member signed
	// in CLIENTS times (a session per client), so every request does the full session + membership
	// check. (Sign-ups are rate-limited per address; log-ins that succeed are not.)
	const { rows: biz } = await db.pool.query<{ id: string }>(
		`insert into businesses (name, heygen_avatar_id, heygen_voice_id) values ('Bench Co', 'sim-avatar-anna', 'sim-voice-en-1') returning id`
	);
	const businessId = biz[0]!.id;
	await db.pool.query(`select set_heygen_key($1, 'bench-not-a-real-key')`, [businessId]);
	const { rows: ct } = await db.pool.query<{ id: string }>(
		`insert into content (business_id, title, body) values ($1, 'Benchmark post', $2) returning id`,
		[businessId, 'Hello from the benchmark. '.repeat(40)]
	);
	const contentId = ct[0]!.id;
	// Five earlier videos in the history (canceled: no worker runs here).
	for (let i = 0; i < 5; i++) {
		const { rows } = await db.pool.query<{ id: string }>(`insert into video_jobs (content_id) values ($1) returning id`, [contentId]);
		await db.pool.query(`select cancel_video_job($1, 'bench history')`, [rows[0]!.id]);
	}
	t0 = performance.now();
	const account = { email: 'bench@example.com', password: 'quiet harbour lamp 48' };
	// Sign-up never signs in (it answers a taken email like a new one): every client logs in.
	await formPost(app.base, '/signup', { name: 'Bench', ...account });
	const sessions: string[] = [];
	for (let i = 0; i < CLIENTS; i++) sessions.push(await formPost(app.base, '/login', account));
	await db.pool.query(`insert into business_members (business_id, user_id, role) select $1, id, 'member' from auth_users`, [businessId]);
	console.log(`${CLIENTS} sessions signed in in ${fmt((performance.now() - t0) / 1000)} s`);
	const contentPath = `/b/${businessId}/content/${contentId}`;
	// BENCH_PATH measures another page in place of the content page (e.g. /b/<id>/jobs).
	const pages = [
		{ name: 'trivial page /account', path: '/account' },
		{ name: 'content page', path: process.env.BENCH_PATH ?? contentPath }
	];
	const rssIdle = rssMB(pid);

	// ---- 1. pages under load ----
	const roundSeconds = PAGE_SECONDS / ROUNDS;
	section(`pages: ${CLIENTS} concurrent clients, ${ROUNDS} rounds of ${fmt(roundSeconds)} s per page, alternating`);
	const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
	onCleanup('close the page agent', async () => agent.destroy());
	// Each client keeps its cookies up to date from Set-Cookie, as a browser does (Better Auth
	// renews the session cookie that way).
	const jars = sessions.map((c) => new Map(c.split('; ').map((kv) => [kv.slice(0, kv.indexOf('=')), kv] as const)));
	const sessionCookie = (i: number) => [...jars[i % CLIENTS]!.values()].join('; ');
	const get = async (i: number, p: string) => {
		const r = await httpGet(agent, app.port, p, { cookie: sessionCookie(i), accept: 'text/html' });
		for (const c of r.setCookie) {
			const kv = c.split(';')[0]!;
			const name = kv.slice(0, kv.indexOf('='));
			if (kv.endsWith('=') || /max-age=0\b/i.test(c)) jars[i % CLIENTS]!.delete(name);
			else jars[i % CLIENTS]!.set(name, kv);
		}
		return r;
	};
	for (const page of pages) {
		const first = await get(0, page.path);
		if (first.status !== 200) throw new Error(`${page.path} answered HTTP ${first.status}`);
		console.log(`${page.name}: ${fmt(first.bytes / 1024)} KiB of HTML`);
	}
	// Warm-up: JIT, pools, prepared statements on every pooled connection.
	await Promise.all(
		Array.from({ length: CLIENTS }, async (_, i) => {
			for (let k = 0; k < 10; k++) for (const page of pages) await get(i, page.path);
		})
	);
	const results = pages.map(() => ({ latencies: [] as number[], errors: 0, seconds: 0, web: 0, postgres: 0, bench: 0 }));
	let rssPeak = 0;
	const memTimer = setInterval(() => (rssPeak = Math.max(rssPeak, rssMB(pid))), 200);
	const profiling = Boolean(process.env.BENCH_PROFILE) && pid.length === 1;
	if (profiling) await mkdir(process.env.BENCH_PROFILE!, { recursive: true });
	const profiles: string[] = [];
	for (let round = 0; round < ROUNDS; round++) {
		for (const [k, page] of pages.entries()) {
			const res = results[k]!;
			const profile = profiling && round === 0;
			if (profile) await ask(app.child, { profile: 'start' }, 'profiling');
			const cpus = pid.map((p) => cpuMeter(p, null));
			const cpu = cpuMeter(pid[0]!, db.postmasterPid);
			const started = performance.now();
			const until = started + roundSeconds * 1000;
			await Promise.all(
				Array.from({ length: CLIENTS }, async (_, i) => {
					while (performance.now() < until) {
						const r = await get(i, page.path);
						if (r.status !== 200) res.errors++;
						res.latencies.push(r.ms);
					}
				})
			);
			const seconds = (performance.now() - started) / 1000;
			const use = cpu.stop();
			// CPU-seconds, to average as % of a core over the whole time below.
			res.web += (cpus.reduce((sum, m) => sum + m.stop().worker, 0) * seconds) / 100;
			res.postgres += (use.postgres * seconds) / 100;
			res.bench += (use.bench * seconds) / 100;
			res.seconds += seconds;
			if (profile)
				profiles.push(
					(await ask(app.child, { profile: 'stop', name: page.path === '/account' ? 'trivial' : 'content' }, 'profiled')) as string
				);
		}
	}
	if (profiles.length)
		console.log(`CPU profiles of the web process (first round, sampled every 200 µs, which slows it): ${profiles.join(', ')}`);
	clearInterval(memTimer);
	agent.destroy();
	const rate = (r: (typeof results)[number]) => r.latencies.length / r.seconds;
	// (A process that exits while sampled can make a share come out a little below zero.)
	const share = (cpuSeconds: number, seconds: number) => fmt(Math.max(0, (100 * cpuSeconds) / seconds), 0);
	const pct = (r: (typeof results)[number]) =>
		`${share(r.web, r.seconds)} / ${share(r.postgres, r.seconds)} / ${share(r.bench, r.seconds)}`;
	printTable(`pages, ${CLIENTS} concurrent signed-in clients`, [
		['page', 'requests', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'errors', 'CPU % web / pg / bench', 'web CPU ms per req'],
		...pages.map((page, k) => {
			const r = results[k]!;
			return [
				page.name,
				String(r.latencies.length),
				fmt(rate(r), 0),
				fmt(percentile(r.latencies, 50)),
				fmt(percentile(r.latencies, 95)),
				fmt(percentile(r.latencies, 99)),
				fmt(Math.max(...r.latencies)),
				String(r.errors),
				pct(r),
				fmt((1000 * r.web) / r.latencies.length, 2)
			];
		})
	]);
	const cores = os.cpus().length;
	const load = os.loadavg()[0]!;
	console.log(`${cores} cores, load average ${load.toFixed(1)}`);
	// The web process, Postgres and these clients share the cores; anything else running takes its
	// share from all of them alike, and latency under a closed loop of CLIENTS grows with it.
	if (load > cores)
		console.log(
			`note: the load average is above the core count: other work is running on this machine, so req/s are low and p95 high (the ratio and web CPU ms per req are less affected)`
		);
	const [trivial, content] = results as [(typeof results)[number], (typeof results)[number]];
	const ratio = rate(content) / rate(trivial);
	const pageP95 = percentile(content.latencies, 95);
	const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
	console.log(`target: content page req/s ≥ 0.5 × trivial page req/s → ${verdict(ratio >= 0.5)} (${fmt(ratio, 2)})`);
	console.log(`target: content page p95 ≤ 50 ms → ${verdict(pageP95 <= 50)} (${fmt(pageP95)} ms)`);
	const metrics = await (await fetch(`${app.base}/metrics`)).text();
	const metric = (name: string) => Number(new RegExp(`^${name} ([\\d.e+]+)$`, 'm').exec(metrics)?.[1] ?? Number.NaN) / (1024 * 1024);
	const heap = `V8 heap used ${fmt(metric('nodejs_heap_size_used_bytes'))} MB of ${fmt(metric('nodejs_heap_size_total_bytes'))} MB`;
	console.log(`after the load: ${heap}${pid.length > 1 ? ' (one of the processes)' : ''}`);

	// ---- 2. SSE fan-out ----
	section(`live status: ${SUBSCRIBERS} SSE subscribers, ${CHANGES} status changes`);
	const sseAgent = new Agent({ keepAlive: true, maxSockets: Infinity });
	onCleanup('close the SSE agent', async () => sseAgent.destroy());
	const arrivals = new Map<string, number[]>(); // `${jobId}:${status}` → arrival times (performance.now)
	const streams: IncomingMessage[] = [];
	let live = 0;
	let reconnects = 0;
	let resolveLive: () => void = () => {};
	const allLive = new Promise<void>((r) => (resolveLive = r));
	// At most SSE_CONNECTING streams being set up at once (each costs the app a session check, a
	// membership check and a replay query), as browsers arriving over a moment would; and a stream
	// that ends or fails is opened again, as EventSource does (retry: 2000, then Last-Event-ID). Opening
	// all 1,000 at once on a loaded machine sometimes left a few set-ups failed for good, and the
	// bench waited for them until it timed out.
	let connecting = 0;
	const waiting: Array<() => void> = [];
	const slot = async () => {
		while (connecting >= SSE_CONNECTING) await new Promise<void>((r) => waiting.push(r));
		connecting++;
	};
	const freeSlot = () => {
		connecting--;
		waiting.shift()?.();
	};
	/** Per subscriber: the last event id it saw (sent back as Last-Event-ID when it reopens, as EventSource does). */
	const lastIds = new Map<number, string>();
	const everLive = new Set<number>();
	let dropped = 0;
	let closing = false;
	const subscribe = async (i: number): Promise<void> => {
		await slot();
		let liveNow = false;
		let over = false;
		/** The stream ended or failed: open it again after the stream's retry delay, from its last event. */
		const retry = (why: string) => {
			if (over || closing) return;
			over = true;
			if (liveNow) dropped++;
			else {
				freeSlot();
				reconnects++;
			}
			if (reconnects + dropped <= 5)
				console.log(`SSE subscriber ${i}: ${why} ${liveNow ? 'while live' : 'before it was live'}; opening it again`);
			setTimeout(() => void subscribe(i), SSE_RETRY_MS);
		};
		const last = lastIds.get(i);
		const req = request({
			host: '127.0.0.1',
			port: app.port,
			path: `/b/${businessId}/events?content=${contentId}`,
			agent: sseAgent,
			headers: { cookie: sessionCookie(i), accept: 'text/event-stream', ...(last && { 'last-event-id': last }) }
		});
		req.on('response', (res) => {
			if (res.statusCode !== 200) {
				res.resume();
				return retry(`HTTP ${res.statusCode}`);
			}
			res.setEncoding('utf8');
			let buf = '';
			res.on('end', () => retry('stream ended'));
			res.on('error', (err) => retry(err.message));
			res.on('data', (chunk: string) => {
				const now = performance.now();
				buf += chunk;
				let k: number;
				while ((k = buf.indexOf('\n\n')) >= 0) {
					const block = buf.slice(0, k);
					buf = buf.slice(k + 2);
					if (block === ': live' && !liveNow) {
						liveNow = true;
						freeSlot();
						streams.push(res);
						if (!everLive.has(i)) {
							everLive.add(i);
							if (++live === SUBSCRIBERS) resolveLive();
						}
						continue;
					}
					const id = block.split('\n').find((l) => l.startsWith('id: '));
					if (id) lastIds.set(i, id.slice(4));
					const data = block.split('\n').find((l) => l.startsWith('data: '));
					if (!data) continue;
					const ev = JSON.parse(data.slice(6)) as { jobId: string; status: string };
					const key = `${ev.jobId}:${ev.status}`;
					let list = arrivals.get(key);
					if (!list) arrivals.set(key, (list = []));
					list.push(now);
				}
			});
		});
		req.on('error', (err) => retry(err.message));
		req.end();
	};
	t0 = performance.now();
	for (let i = 0; i < SUBSCRIBERS; i++) void subscribe(i);
	await withTimeout(
		allLive,
		SSE_CONNECT_SECONDS * 1000,
		`${SUBSCRIBERS} SSE subscribers to be live (${live} live, ${reconnects} reopened)`
	);
	if (reconnects) console.log(`${reconnects} stream(s) ended or failed before they were live and were opened again`);
	console.log(`${SUBSCRIBERS} subscribers connected and live in ${fmt((performance.now() - t0) / 1000)} s`);
	const rssSse = rssMB(pid);

	// Each change is its own transaction: insert a job (→ queued), then cancel it (→ canceled).
	// The clock starts just before COMMIT is sent, so commit time counts against us.
	const client = new pg.Client({ connectionString: db.url, application_name: 'bench-web-writer' });
	await client.connect();
	onCleanup('close the writer', () => client.end());
	const delays: number[] = [];
	const perChange: string[][] = [['change', 'delivered', 'p50 ms', 'p95 ms', 'max ms']];
	let jobId = '';
	for (let n = 0; n < CHANGES; n++) {
		const cancel = n % 2 === 1;
		await client.query('begin');
		if (cancel) await client.query(`select cancel_video_job($1, 'bench')`, [jobId]);
		else
			jobId = (await client.query<{ id: string }>(`insert into video_jobs (content_id) values ($1) returning id`, [contentId])).rows[0]!.id;
		const key = `${jobId}:${cancel ? 'canceled' : 'queued'}`;
		const commitAt = performance.now();
		await client.query('commit');
		const deadlineAt = performance.now() + 10_000;
		while ((arrivals.get(key)?.length ?? 0) < SUBSCRIBERS && performance.now() < deadlineAt) await new Promise((r) => setTimeout(r, 5));
		const times = (arrivals.get(key) ?? []).map((t) => t - commitAt);
		delays.push(...times);
		perChange.push([
			`${n + 1} ${cancel ? 'canceled' : 'queued'}`,
			`${times.length}/${SUBSCRIBERS}`,
			fmt(percentile(times, 50)),
			fmt(percentile(times, 95)),
			fmt(Math.max(...times))
		]);
		await new Promise((r) => setTimeout(r, 200));
	}
	printTable('SSE delivery after commit, per change', perChange);
	const sseP95 = percentile(delays, 95);
	const expected = SUBSCRIBERS * CHANGES;
	closing = true;
	if (dropped) console.log(`${dropped} live stream(s) ended during the changes and were reopened from their Last-Event-ID`);
	for (const s of streams) s.destroy();
	sseAgent.destroy();

	printTable('summary', [
		['measure', 'result', 'target', ''],
		[
			`content page req/s ÷ trivial page req/s, ${CLIENTS} clients, ${pid.length} web process${pid.length > 1 ? 'es' : ''}`,
			`${fmt(ratio, 2)} (${fmt(rate(content), 0)} ÷ ${fmt(rate(trivial), 0)})`,
			'≥ 0.5',
			verdict(ratio >= 0.5)
		],
		[
			`content page p95, ${CLIENTS} clients`,
			`${fmt(pageP95)} ms (trivial page ${fmt(percentile(trivial.latencies, 95))} ms)`,
			'≤ 50 ms',
			verdict(pageP95 <= 50)
		],
		[
			`SSE p95 delivery, ${SUBSCRIBERS} subscribers`,
			`${fmt(sseP95)} ms (${delays.length}/${expected} delivered, max ${fmt(Math.max(...delays))} ms)`,
			'≤ 100 ms',
			verdict(sseP95 <= 100 && delays.length === expected)
		],
		['first npm start: until the URL answers', `${fmt(firstStartSecs, 2)} s`, '≤ 5 s', verdict(firstStartSecs <= 5)],
		['web RSS idle (after sign-ups)', `${fmt(rssIdle)} MB`, '', ''],
		[
			`web RSS peak under page load${pid.length > 1 ? ` (${pid.length} processes, summed)` : ''}`,
			`${fmt(rssPeak)} MB (${heap})`,
			`< ${WEB_RSS_GOAL_MB} MB${pid.length > 1 ? ' per process' : ''}`,
			verdict(rssPeak / pid.length < WEB_RSS_GOAL_MB)
		],
		[`web RSS with ${SUBSCRIBERS} streams open`, `${fmt(rssSse)} MB`, '', '']
	]);
	console.log(`(${cores} cores, load average ${load.toFixed(1)} during the page rounds)`);
	if (delays.length < expected) throw new Error(`only ${delays.length} of ${expected} SSE deliveries arrived`);
}

if (process.argv.includes('--serve')) await serve();
else await runBench('bench:web', main);
