// npm run bench:enqueue — what the SQL enqueue path (db/migrations/0003_pgboss_enqueue.sql) costs:
//   1. latency from `insert into video_jobs` (autocommit) to a LISTEN-ing pg-boss worker holding
//      the job, against raw pg-boss send() on a notify queue;
//   2. the cost of the video_jobs triggers on a 5,000-row insert, against the same insert with the
//      user triggers disabled, and against the floor: the same insert plus the writes the triggers
//      exist to make (events, notifications, content's video columns, pg-boss jobs) as plain
//      set-based statements, and against "direct" (issue 25, goal ≤ 1.3×): the job rows, their
//      events and their pg-boss jobs written by three plain insert … select.
// Runs on its own throwaway embedded Postgres; prints a summary table at the end.
import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { Job } from 'pg-boss';
import {
	fmt,
	median,
	onCleanup,
	percentile,
	printTable,
	runBench,
	section,
	seedBusiness,
	seedContents,
	startBenchBoss,
	startBenchDatabase,
	waitUntil
} from './common.ts';

const LATENCY_N = Number(process.env.BENCH_LATENCY_N ?? 300);
const WARMUP = 20;
const BULK_N = 5000;
const BULK_RUNS = Number(process.env.BENCH_BULK_RUNS ?? 3);
const TARGET_P50_MS = 5;
const RAW_QUEUE = 'bench.raw';

interface LatencyResult {
	samples: number[];
	/** Time until the INSERT / send() call itself returned (includes the commit). */
	callMs: number[];
}

function summary(r: LatencyResult) {
	return {
		p50: percentile(r.samples, 50),
		p95: percentile(r.samples, 95),
		p99: percentile(r.samples, 99),
		max: Math.max(...r.samples),
		callP50: percentile(r.callMs, 50)
	};
}

await runBench('bench:enqueue', async () => {
	const db = await startBenchDatabase('enqueue');
	const { pool } = db;

	// ---- seed -------------------------------------------------------------------------------
	const latencyBiz = await seedBusiness(pool, 'Bench latency');
	const latencyContents = await seedContents(pool, latencyBiz, WARMUP + LATENCY_N);
	const bulkBiz = await seedBusiness(pool, 'Bench bulk');
	await seedContents(pool, bulkBiz, BULK_N);
	await pool.query('analyze');

	// ---- a LISTEN-ing pg-boss worker on video.submit and on a raw notify queue -------------
	const { boss, stop: stopBoss } = await startBenchBoss(db, 'bench-boss', { max: 4, supervise: false });
	await boss.createQueue(RAW_QUEUE, { notify: true });

	const received = new Map<string, number>();
	const arrivals = new EventEmitter();
	arrivals.setMaxListeners(0);
	// Polling must not be what delivers: the backstop poll is 30 s, far above any sample.
	const workOpts = { batchSize: 1, pollingIntervalSeconds: 30, notifyPollingIntervalSeconds: 30 };
	await boss.work('video.submit', workOpts, async (jobs: Job<{ jobId: string }>[]) => {
		const at = performance.now();
		for (const j of jobs) received.set(j.data.jobId, at);
		arrivals.emit('job');
	});
	await boss.work(RAW_QUEUE, workOpts, async (jobs: Job<unknown>[]) => {
		const at = performance.now();
		for (const j of jobs) received.set(j.id, at);
		arrivals.emit('job');
	});

	const client = new pg.Client({ connectionString: db.url, application_name: 'bench-insert' });
	await client.connect();
	onCleanup('close insert client', () => client.end());

	const measure = async (n: number, enqueue: (i: number) => Promise<string>): Promise<LatencyResult> => {
		const samples: number[] = [];
		const callMs: number[] = [];
		for (let i = 0; i < n; i++) {
			const t0 = performance.now();
			const key = await enqueue(i);
			const t1 = performance.now();
			await waitUntil(
				arrivals,
				'job',
				() => received.has(key),
				5_000,
				() => `job ${key} (#${i}) never reached the worker`
			);
			samples.push(received.get(key)! - t0);
			callMs.push(t1 - t0);
		}
		return { samples, callMs };
	};

	section(`1. enqueue → LISTEN-ing pg-boss worker (${LATENCY_N} sequential single-row autocommits, ${WARMUP} warm-up discarded)`);
	let next = 0;
	const sqlInsert = async () => {
		const contentId = latencyContents[next++]!;
		const { rows } = await client.query<{ id: string }>('insert into video_jobs (content_id) values ($1) returning id', [contentId]);
		return rows[0]!.id;
	};
	const rawSend = async (i: number) => {
		const id = await boss.send(RAW_QUEUE, { i });
		if (!id) throw new Error('send() returned no id');
		return id;
	};
	await measure(WARMUP, sqlInsert);
	await measure(WARMUP, rawSend);
	const sqlRes = await measure(LATENCY_N, sqlInsert);
	const rawRes = await measure(LATENCY_N, rawSend);
	const s = summary(sqlRes);
	const r = summary(rawRes);
	const verdict = s.p50 <= TARGET_P50_MS ? 'PASS' : 'MISS';
	printTable('enqueue latency, ms (start of call → handler holds the job)', [
		['path', 'p50', 'p95', 'p99', 'max', 'call p50'],
		['SQL insert into video_jobs (trigger)', fmt(s.p50, 2), fmt(s.p95, 2), fmt(s.p99, 2), fmt(s.max, 2), fmt(s.callP50, 2)],
		['raw pg-boss send() (baseline)', fmt(r.p50, 2), fmt(r.p95, 2), fmt(r.p99, 2), fmt(r.max, 2), fmt(r.callP50, 2)]
	]);
	console.log(`('call p50' = the INSERT/send() round trip alone, commit included)`);
	console.log(`target: SQL insert p50 ≤ ${TARGET_P50_MS} ms → ${verdict} (p50 ${fmt(s.p50, 2)} ms; ${fmt(s.p50 / r.p50, 2)}× raw send())`);

	const { rows: queuedRows } = await pool.query<{ n: number }>(
		`select count(*)::int as n from pgboss.job where name = 'video.submit' and state = 'completed'`
	);
	console.log(`video.submit jobs completed by the bench handler: ${queuedRows[0]!.n} (expected ${WARMUP + LATENCY_N})`);
	await stopBoss();

	// ---- trigger cost -----------------------------------------------------------------------
	section(
		`2. trigger cost: one ${BULK_N}-row insert into video_jobs (median of ${BULK_RUNS}, after 1 warm-up each; each run in a rolled-back transaction)`
	);
	const withTrigger = `insert into video_jobs (content_id) select id from content where business_id = $1`;
	// With the user triggers off nothing fills in the defaults, so the columns they would resolve are given.
	const explicit = `insert into video_jobs (content_id, business_id, script, avatar_id, voice_id)
		select c.id, c.business_id, c.body, b.heygen_avatar_id, b.heygen_voice_id
		from content c join businesses b on b.id = c.business_id where c.business_id = $1`;
	const variants = [
		{ key: 'trigger', label: 'triggers on:  insert (content_id) select …', sql: withTrigger, disable: null },
		{ key: 'trigger-explicit', label: 'triggers on:  insert (all columns) select …', sql: explicit, disable: null },
		{ key: 'before-only', label: 'before-insert row trigger only (after-insert off)', sql: explicit, disable: 'video_jobs_after_insert' },
		{ key: 'none', label: 'triggers off: insert (all columns) select …', sql: explicit, disable: 'user' }
	] as const;
	const times = new Map<string, number[]>(variants.map((v) => [v.key, []]));
	// A rolled-back insert leaves its index entries behind until a vacuum: without one, every run
	// would insert into bigger indexes than the run before, and variant order would bias medians.
	const settle = () => client.query('vacuum video_jobs, video_job_events, content, pgboss.job_common');
	const jobCounts: number[] = [];
	for (let run = 0; run <= BULK_RUNS; run++) {
		for (const v of variants) {
			await client.query('begin');
			try {
				if (v.disable) await client.query(`alter table video_jobs disable trigger ${v.disable}`);
				const before = await client.query<{ n: number }>(`select count(*)::int as n from pgboss.job where name = 'video.submit'`);
				const t0 = performance.now();
				const res = await client.query(v.sql, [bulkBiz]);
				const ms = performance.now() - t0;
				if (res.rowCount !== BULK_N) throw new Error(`${v.key}: inserted ${res.rowCount} rows, expected ${BULK_N}`);
				const after = await client.query<{ n: number }>(`select count(*)::int as n from pgboss.job where name = 'video.submit'`);
				const created = after.rows[0]!.n - before.rows[0]!.n;
				const expected = v.disable ? 0 : BULK_N;
				if (created !== expected) throw new Error(`${v.key}: ${created} pg-boss jobs created, expected ${expected}`);
				if (run > 0) {
					times.get(v.key)!.push(ms);
					if (v.key === 'trigger') jobCounts.push(created);
				}
			} finally {
				await client.query('rollback');
				await settle();
			}
		}
	}
	// ---- floor: the writes every enqueue must make, without trigger machinery ----------------
	// Each as one set-based statement over the freshly inserted rows, timed separately and summed.
	// content_guard (a plpgsql row trigger on content) is off here because at top level it refuses
	// these columns; the update sets updated_at itself, so it writes the same index entries.
	const floorSteps = [
		{ key: 'insert', label: 'insert video_jobs (triggers off)', sql: explicit },
		{
			key: 'events',
			label: `insert ${BULK_N} video_job_events`,
			sql: `insert into video_job_events (job_id, business_id, content_id, from_status, to_status, detail, actor)
				select id, business_id, content_id, null, status, jsonb_build_object('attempt', attempt), session_user from video_jobs where business_id = $1`
		},
		{
			key: 'notify',
			label: `${BULK_N} pg_notify('video_jobs', …)`,
			sql: `select count(pg_notify('video_jobs', json_build_object('event_id', e.id, 'id', e.job_id, 'content_id', e.content_id,
				'business_id', e.business_id, 'status', e.to_status)::text)) from video_job_events e where e.business_id = $1`
		},
		{
			key: 'content',
			label: `update ${BULK_N} content rows' video columns`,
			sql: `update content c set heygen_video_id = null, heygen_status = j.status::text, heygen_url = null, updated_at = now()
				from video_jobs j where j.content_id = c.id and j.business_id = $1`
		},
		{
			key: 'boss',
			label: `pgboss_enqueue_many (${BULK_N} jobs)`,
			sql: `select count(*) from pgboss_enqueue_many('video.submit',
				array(select jsonb_build_object('jobId', id) from video_jobs where business_id = $1 order by id),
				array(select id::text from video_jobs where business_id = $1 order by id))`
		}
	] as const;
	/** Each step's time per run (first run discarded), all steps of a run in one rolled-back transaction. */
	const timeSteps = async (steps: ReadonlyArray<{ key: string; sql: string }>, what: string) => {
		const stepTimes = new Map<string, number[]>(steps.map((f) => [f.key, []]));
		for (let run = 0; run <= BULK_RUNS; run++) {
			await client.query('begin');
			try {
				await client.query('alter table video_jobs disable trigger user');
				await client.query('alter table content disable trigger content_guard');
				for (const f of steps) {
					const t0 = performance.now();
					await client.query(f.sql, [bulkBiz]);
					if (run > 0) stepTimes.get(f.key)!.push(performance.now() - t0);
				}
				const { rows } = await client.query<{ n: number }>(
					`select count(*)::int as n from pgboss.job where name = 'video.submit' and singleton_key in (select id::text from video_jobs where business_id = $1)`,
					[bulkBiz]
				);
				if (rows[0]!.n !== BULK_N) throw new Error(`${what}: ${rows[0]!.n} pg-boss jobs created, expected ${BULK_N}`);
			} finally {
				await client.query('rollback');
				await settle();
			}
		}
		return stepTimes;
	};
	const floorTimes = await timeSteps(floorSteps, 'floor');
	const floorMed = (k: string) => median(floorTimes.get(k)!);
	const tFloor = floorSteps.reduce((sum, f) => sum + floorMed(f.key), 0);

	// ---- direct (issue 25): the job rows, their events and their pg-boss jobs by three plain inserts --
	const directSteps = [
		floorSteps[0],
		floorSteps[1],
		{
			key: 'boss-direct',
			label: `insert ${BULK_N} pgboss.job rows … select`,
			sql: `insert into pgboss.job (name, data, singleton_key, policy)
				select 'video.submit', jsonb_build_object('jobId', id), id::text, q.policy
				from video_jobs, pgboss.queue q where business_id = $1 and q.name = 'video.submit'`
		}
	] as const;
	const directTimes = await timeSteps(directSteps, 'direct');
	const directMed = (k: string) => median(directTimes.get(k)!);
	const tDirect = directSteps.reduce((sum, f) => sum + directMed(f.key), 0);

	const med = (k: string) => median(times.get(k)!);
	const tOn = med('trigger');
	const tOnExplicit = med('trigger-explicit');
	const tOff = med('none');
	/** Every run's time, rounded to a millisecond. */
	const eachRun = (ms: number[]) => ms.map((t) => fmt(t, 0)).join(' / ');
	printTable(`${BULK_N}-row insert, ms`, [
		['variant', 'median', 'runs', 'per row µs', 'pg-boss jobs'],
		...variants.map((v) => [
			v.label,
			fmt(med(v.key)),
			eachRun(times.get(v.key)!),
			fmt((med(v.key) / BULK_N) * 1000),
			v.disable ? '0' : String(BULK_N)
		])
	]);
	console.log(
		`pg-boss jobs created by the with-trigger runs: ${jobCounts.join(', ')} (asserted = ${BULK_N} each, and 0 with triggers off)`
	);
	printTable(`floor: the same ${BULK_N} rows and the writes the triggers make for them, as plain statements, ms`, [
		['step', 'median', 'runs'],
		...floorSteps.map((f) => [f.label, fmt(floorMed(f.key)), eachRun(floorTimes.get(f.key)!)]),
		['sum (floor)', fmt(tFloor), '']
	]);
	printTable(`direct: the same ${BULK_N} rows, their events and their pg-boss jobs by three plain insert … select, ms`, [
		['step', 'median', 'runs'],
		...directSteps.map((f) => [f.label, fmt(directMed(f.key)), eachRun(directTimes.get(f.key)!)]),
		['sum (direct)', fmt(tDirect), '']
	]);
	console.log(
		`floor = ${fmt(tFloor / med('none'), 2)}× the insert without triggers; with triggers = ${fmt(med('trigger') / med('none'), 2)}× the insert without triggers, ${fmt(med('trigger') / tFloor, 2)}× the floor`
	);

	console.log(
		`trigger overhead per row: ${fmt(((tOn - tOff) / BULK_N) * 1000)} µs (content_id-only insert) / ${fmt(((tOnExplicit - tOff) / BULK_N) * 1000)} µs (same statement)`
	);

	printTable('bench:enqueue summary', [
		['measure', 'value', 'target', 'result'],
		[
			'SQL insert → worker p50 / p95 / p99 (ms)',
			`${fmt(s.p50, 2)} / ${fmt(s.p95, 2)} / ${fmt(s.p99, 2)}`,
			`p50 ≤ ${TARGET_P50_MS}`,
			verdict
		],
		['raw send() → worker p50 / p95 / p99 (ms)', `${fmt(r.p50, 2)} / ${fmt(r.p95, 2)} / ${fmt(r.p99, 2)}`, 'baseline', ''],
		[`${BULK_N}-row insert, triggers on (ms)`, fmt(tOn), '', `${BULK_N} pg-boss jobs`],
		[`${BULK_N}-row insert, triggers off (ms)`, fmt(tOff), '', ''],
		[`${BULK_N}-row floor: insert + its writes as plain statements (ms)`, fmt(tFloor), '', `${fmt(tFloor / tOff, 2)}× triggers off`],
		['triggers on ÷ triggers off', `${fmt(tOn / tOff, 2)}×`, '≤ 2×', tOn / tOff <= 2 ? 'PASS' : 'MISS'],
		[
			`${BULK_N}-row insert with triggers ÷ direct (three plain insert … select, ${fmt(tDirect)} ms)`,
			`${fmt(tOn / tDirect, 2)}×`,
			'≤ 1.3×',
			tOn / tDirect <= 1.3 ? 'PASS' : 'MISS'
		],
		['trigger overhead per row (µs)', fmt(((tOn - tOff) / BULK_N) * 1000), '', '']
	]);
});
