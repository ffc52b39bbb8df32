// bench:pipeline phase "latency": how long after HeyGen (the simulator) finishes a render does the
// transfer start? 100 videos with webhooks and 100 polling only (the default 5 s → 8 s schedule),
// in the same run, renders spread evenly over 1–15 min (BENCH_LATENCY_RENDER_S=min-max seconds).
// The web app (for the webhook route) runs in this process like `npm run web`; the worker is a
// child process with the product's default poll settings and no ORIGIN, so it registers nothing:
// the webhook business is registered here the way saving its key in the settings page does.
import path from 'node:path';
import { createDb } from '../../db/client.ts';
import type { HeyGenSimulator } from '../../heygen/simulator/server.ts';
import { registerWebhook } from '../../heygen/webhook-registration.ts';
import { loadConfig } from '../../config/index.ts';
import { ensureBuilt, serveWeb } from '../app.ts';
import { fmt, median, onCleanup, percentile, seedContents, spawnWorker, type BenchDatabase } from './common.ts';

export const POLL_ONLY_KEY = 'sim-poll-only-key';

export interface LatencyResult {
	rows: string[][];
}

async function startWeb(db: BenchDatabase, sim: HeyGenSimulator, dataDir: string): Promise<string> {
	await ensureBuilt((m) => console.log(m));
	const config = loadConfig({
		...process.env,
		DATABASE_URL: db.url,
		HEYGEN_API_URL: sim.url,
		DATA_DIR: dataDir,
		RUN_WORKER: 'false',
		LOG_LEVEL: 'warn',
		HOST: '127.0.0.1',
		PORT: '0'
	});
	const web = await serveWeb(config);
	onCleanup('stop web server', () => web.close());
	return web.url;
}

async function business(db: BenchDatabase, name: string, key: string): Promise<string> {
	const { rows } = await db.pool.query<{ id: string }>(
		`insert into businesses (name, heygen_avatar_id, heygen_voice_id) values ($1, 'sim-avatar-anna', 'sim-voice-en-1') returning id`,
		[name]
	);
	await db.pool.query('select set_heygen_key($1, $2)', [rows[0]!.id, key]);
	return rows[0]!.id;
}

export async function completionLatency(
	db: BenchDatabase,
	sim: HeyGenSimulator,
	workerEnv: Record<string, string>,
	opts: { n: number; minS: number; maxS: number; simKey: string }
): Promise<LatencyResult> {
	const web = await startWeb(db, sim, path.join(db.dir, 'web-data'));
	const hooked = await business(db, 'Bench latency (webhooks)', opts.simKey);
	const polled = await business(db, 'Bench latency (polling only)', POLL_ONLY_KEY);
	const handle = createDb(db.url, { max: 2, vaultRootKey: process.env.VAULT_ROOT_KEY });
	onCleanup('close latency db', () => handle.close());
	const reg = await registerWebhook(handle.db, { baseUrl: sim.url, businessId: hooked, apiKey: opts.simKey, origin: web });
	if (!reg.ok) throw new Error(`webhook registration failed: ${reg.message}`);
	console.log(`web app (webhook route) at ${web}; webhook registered for the first business; worker: default poll schedule, no ORIGIN`);

	// The same render lengths for both modes, spread evenly over [min, max].
	const renders = Array.from({ length: opts.n }, (_, i) => Math.round((opts.minS + ((opts.maxS - opts.minS) * (i + 0.5)) / opts.n) * 1000));
	const worker = spawnWorker('latency', workerEnv);
	await worker.ready;
	const t0 = Date.now();
	for (const biz of [hooked, polled]) {
		const contents = await seedContents(db.pool, biz, opts.n);
		await db.pool.query(
			`insert into video_jobs (content_id, options)
			 select c, jsonb_build_object('title', '[sim renderMs=' || r || ']') from unnest($1::uuid[], $2::int[]) as u (c, r)`,
			[contents, renders]
		);
	}
	const total = 2 * opts.n;
	const deadline = t0 + (opts.maxS + 120) * 1000;
	let last = '';
	for (;;) {
		const { rows } = await db.pool.query<{ n: number; failed: number }>(
			`select count(*) filter (where status in ('completed', 'failed', 'canceled'))::int as n, count(*) filter (where status = 'failed')::int as failed
			 from video_jobs where business_id = any($1)`,
			[[hooked, polled]]
		);
		const line = `${rows[0]!.n}/${total} finished (${rows[0]!.failed} failed) after ${fmt((Date.now() - t0) / 1000, 0)} s`;
		if (line !== last && Math.floor((Date.now() - t0) / 60_000) !== Math.floor((Date.now() - t0 - 5000) / 60_000)) console.log(`  ${line}`);
		last = line;
		if (rows[0]!.n >= total) break;
		if (Date.now() > deadline) throw new Error(`latency phase timed out: ${line}`);
		await new Promise((r) => setTimeout(r, 5000));
	}
	await worker.stop();

	const rows: string[][] = [];
	for (const [label, biz] of [
		['webhooks', hooked],
		['polling only (5 s → 6 s)', polled]
	] as const) {
		const { rows: jobs } = await db.pool.query<{ video: string; at: Date }>(
			`select j.heygen_video_id as video, e.at from video_jobs j
			 join video_job_events e on e.job_id = j.id and e.to_status = 'transferring'
			 where j.business_id = $1`,
			[biz]
		);
		const delays: number[] = [];
		const calls: number[] = [];
		for (const j of jobs) {
			const v = sim.videos.get(j.video);
			if (!v?.completedAt) continue;
			delays.push((j.at.getTime() - v.completedAt) / 1000);
			calls.push(v.statusCalls);
		}
		const msg = `${label}: ${delays.length}/${opts.n} videos; render finished → transfer started p50 ${fmt(median(delays), 2)} s, p95 ${fmt(percentile(delays, 95), 2)} s, max ${fmt(Math.max(...delays), 2)} s; status calls per video: mean ${fmt(calls.reduce((a, b) => a + b, 0) / Math.max(1, calls.length), 1)}, max ${Math.max(...calls)}`;
		console.log(msg);
		rows.push([
			`render finished → transfer started, ${label} (s)`,
			`p50 ${fmt(median(delays), 2)} / p95 ${fmt(percentile(delays, 95), 2)}`,
			label === 'webhooks'
				? '≤ 1 s'
				: `≤ 5 s median (n8n fixed 30 s: 15.05 s); ${fmt(calls.reduce((a, b) => a + b, 0) / Math.max(1, calls.length), 1)} status calls/video`,
			label === 'webhooks' ? (median(delays) <= 1 ? 'PASS' : 'MISS') : median(delays) <= 5 ? 'PASS' : 'MISS'
		]);
	}
	const outcomes = await fetch(`${web}/metrics`).then((r) => r.text());
	console.log(
		`webhook deliveries: ${[...outcomes.matchAll(/^heygen_webhook_deliveries_total\{outcome="(\w+)"\} (\d+)$/gm)]
			.filter((m) => m[2] !== '0')
			.map((m) => `${m[1]}=${m[2]}`)
			.join(' ')}`
	);
	return { rows };
}
