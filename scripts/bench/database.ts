// The benchmarks' throwaway embedded Postgres, seeding, a LISTEN on video_jobs and wait sampling.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { connectionConfig } from '../../db/client.ts';
import { startEmbeddedPostgres } from '../../db/embedded.ts';
import { migrate } from '../../db/migrate.ts';
import { onCleanup } from './run.ts';
import { fmt, printTable } from './stats.ts';

export const SIM_KEY = 'sim-test-key';

/** BENCH_PROFILE=1: record every statement (triggers' included) with pg_stat_statements and print the top ones. */
export const PROFILE = process.env.BENCH_PROFILE === '1';
const PROFILE_FLAGS = ['-c', 'shared_preload_libraries=pg_stat_statements', '-c', 'pg_stat_statements.track=all'];

/** When the statement counters were last reset: the status timings cover the same stretch. */
let profileSince = new Date(0);

async function resetCounters(db: pg.Pool | pg.Client): Promise<void> {
	const { rows } = await db.query<{ at: Date }>('select pg_stat_statements_reset(), now() as at');
	profileSince = rows[0]!.at;
}

async function resetProfile(url: string): Promise<void> {
	const client = new pg.Client(url);
	await client.connect();
	try {
		await client.query('create extension if not exists pg_stat_statements');
		await resetCounters(client);
	} finally {
		await client.end();
	}
}

/** With BENCH_PROFILE=1: the statements that took the most server time since the last call, then resets. */
export async function printProfile(pool: pg.Pool, title: string, top = 25): Promise<void> {
	if (!PROFILE) return;
	if (top === 0) return resetCounters(pool);
	const steps = await pool.query<{ s: string; n: number; avg: number; p50: number; max: number }>(
		`select to_status::text as s, count(*)::int as n, avg(d)::float8 as avg, (percentile_cont(0.5) within group (order by d))::float8 as p50, max(d)::float8 as max
		 from (select to_status, at, extract(epoch from at - lag(at) over (partition by job_id order by id)) as d from video_job_events) x
		 where d is not null and at >= $1 group by 1 order by 1`,
		[profileSince]
	);
	printTable(`profile: time each status was reached after the job's previous one (ms): ${title}`, [
		['status', 'jobs', 'avg', 'p50', 'max'],
		...steps.rows.map((r) => [r.s, String(r.n), fmt(r.avg * 1000, 0), fmt(r.p50 * 1000, 0), fmt(r.max * 1000, 0)])
	]);
	const { rows } = await pool.query<{ ms: number; calls: number; rows: number; mean_us: number; query: string; toplevel: boolean }>(
		`select round(total_exec_time)::int as ms, calls::int, rows::int, round(1000 * total_exec_time / greatest(calls, 1))::int as mean_us,
		        toplevel, regexp_replace(query, '\\s+', ' ', 'g') as query
		 from pg_stat_statements where query not like '%pg_stat_statements%' and (toplevel or $2)
		 order by total_exec_time desc limit $1`,
		[top, process.env.BENCH_PROFILE_NESTED !== '0']
	);
	printTable(`profile (pg_stat_statements, server time): ${title}`, [
		['ms', 'calls', 'rows', 'µs/call', 'top', 'statement'],
		...rows.map((r) => [String(r.ms), String(r.calls), String(r.rows), String(r.mean_us), r.toplevel ? 'y' : 'n', r.query.slice(0, 150)])
	]);
	await resetCounters(pool);
}

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
	const db = await startEmbeddedPostgres({ dataDir: dir, persistent: false, postgresFlags: PROFILE ? PROFILE_FLAGS : [] });
	onCleanup('stop embedded postgres', () => db.stop());
	// Everything this bench starts (web app, workers) reads VAULT_ROOT_KEY from the environment.
	process.env.VAULT_ROOT_KEY ??= randomBytes(32).toString('base64url');
	await migrate(db.url, { vaultRootKey: process.env.VAULT_ROOT_KEY });
	if (PROFILE) await resetProfile(db.url);
	let postmasterPid: number | null = null;
	try {
		postmasterPid = Number(readFileSync(path.join(db.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]) || null;
	} catch {
		// the pid is informational only
	}
	const pool = new pg.Pool({
		...connectionConfig(db.url, { applicationName: `bench-${label}`, vaultRootKey: process.env.VAULT_ROOT_KEY }),
		max: 6
	});
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
