// The benchmarks' throwaway embedded Postgres, seeding, a LISTEN on video_jobs and wait sampling.
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../db/embedded.ts';
import { migrate } from '../../db/migrate.ts';
import { onCleanup } from './run.ts';
import { fmt } from './stats.ts';

export const SIM_KEY = 'sim-test-key';

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
