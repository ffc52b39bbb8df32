import client from 'prom-client';
import { sql } from 'kysely';
import { metricCode } from '$heygen/errors.ts';
import { db } from './db.ts';
import { liveHub } from './live.ts';

/**
 * Prometheus metrics. Job figures are read from the database at scrape time (cached 5 s), so
 * every web process reports the same numbers whichever of them served the job, and they are right
 * even for jobs made by plain SQL or another process's worker.
 *   video_jobs{status}                        current jobs by status
 *   video_queue_depth{queue}                  pg-boss jobs waiting (created/retry) per step
 *   video_render_seconds / video_transfer_seconds   histograms of every finished render/transfer
 *   video_heygen_failures_total{code}         jobs that failed, by HeyGen (or pipeline) error code
 *   web_sse_subscribers, web_live_events_delivered_total   live status fan-out
 * plus the default process metrics (RSS, CPU, event loop lag).
 */
const BUCKETS = [5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600];

interface Snapshot {
	byStatus: { status: string; n: number }[];
	queue: { name: string; n: number }[];
	render: Histogram;
	transfer: Histogram;
	failures: { code: string; n: number }[];
}
interface Histogram {
	buckets: number[];
	count: number;
	sum: number;
}

let registry: client.Registry | null = null;
let cache: { at: number; value: Promise<Snapshot> } | null = null;

async function histogram(kind: 'render' | 'transfer'): Promise<Histogram> {
	const [from, to] = kind === 'render' ? ['rendering', 'transferring'] : ['transferring', 'completed'];
	const { rows } = await sql<{ count: number; sum: string | null; buckets: number[] }>`
		with steps as (
			select to_status, lag(to_status) over w as prev, extract(epoch from at - lag(at) over w)::float8 as secs
			from video_job_events
			window w as (partition by job_id order by id)
		), d as (
			select secs from steps where to_status = ${to}::video_job_status and prev = ${from}::video_job_status
		)
		select (select count(*)::int from d) as count, (select sum(secs) from d) as sum,
			array(select (select count(*)::int from d where d.secs <= u.le) from unnest(${BUCKETS}::float8[]) with ordinality as u (le, i) order by u.i) as buckets`.execute(db());
	const r = rows[0]!;
	return { count: r.count, sum: Number(r.sum ?? 0), buckets: r.buckets ?? [] };
}

async function snapshot(): Promise<Snapshot> {
	const [byStatus, queue, render, transfer, failures] = await Promise.all([
		sql<{ status: string; n: number }>`select status::text, count(*)::int as n from video_jobs group by status`.execute(db()),
		sql<{ name: string; n: number }>`
			select name, count(*)::int as n from pgboss.job
			where name in ('video.submit', 'video.poll', 'video.transfer') and state in ('created', 'retry')
			group by name`.execute(db()),
		histogram('render'),
		histogram('transfer'),
		sql<{ code: string; n: number }>`
			select coalesce(detail->>'error_code', 'unknown') as code, count(*)::int as n
			from video_job_events where to_status = 'failed' group by 1`.execute(db())
	]);
	return { byStatus: byStatus.rows, queue: queue.rows, render, transfer, failures: failures.rows };
}

function currentSnapshot(): Promise<Snapshot> {
	if (!cache || Date.now() - cache.at > 5_000) {
		const value = snapshot();
		cache = { at: Date.now(), value };
		value.catch(() => (cache = null));
	}
	return cache.value;
}

const STATUSES = ['queued', 'submitting', 'rendering', 'transferring', 'completed', 'failed', 'canceled'];
const QUEUES = ['video.submit', 'video.poll', 'video.transfer'];

/** A histogram whose values come from the database: prom-client has no setter for that. */
class DbHistogram {
	name: string;
	help: string;
	get: () => Promise<Histogram>;
	constructor(name: string, help: string, get: () => Promise<Histogram>) {
		this.name = name;
		this.help = help;
		this.get = get;
	}
	async text(): Promise<string> {
		const h = await this.get();
		const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
		BUCKETS.forEach((le, i) => lines.push(`${this.name}_bucket{le="${le}"} ${h.buckets[i] ?? 0}`));
		lines.push(`${this.name}_bucket{le="+Inf"} ${h.count}`, `${this.name}_sum ${h.sum}`, `${this.name}_count ${h.count}`);
		return lines.join('\n') + '\n';
	}
}

const histograms = [
	new DbHistogram('video_render_seconds', 'Time HeyGen took to render a video (rendering to transferring), every job so far.', async () => (await currentSnapshot()).render),
	new DbHistogram('video_transfer_seconds', 'Time to copy a finished video into storage (transferring to completed), every job so far.', async () => (await currentSnapshot()).transfer)
];

function metricsRegistry(): client.Registry {
	if (registry) return registry;
	const r = new client.Registry();
	client.collectDefaultMetrics({ register: r });
	new client.Gauge({
		name: 'video_jobs',
		help: 'Video jobs by current status.',
		labelNames: ['status'],
		registers: [r],
		async collect() {
			const s = await currentSnapshot();
			this.reset();
			for (const st of STATUSES) this.set({ status: st }, s.byStatus.find((x) => x.status === st)?.n ?? 0);
		}
	});
	new client.Gauge({
		name: 'video_queue_depth',
		help: 'Pipeline steps waiting in pg-boss (created or retry), by queue.',
		labelNames: ['queue'],
		registers: [r],
		async collect() {
			const s = await currentSnapshot();
			this.reset();
			for (const q of QUEUES) this.set({ queue: q }, s.queue.find((x) => x.name === q)?.n ?? 0);
		}
	});
	new client.Counter({
		name: 'video_heygen_failures_total',
		help: 'Video jobs that failed, by error code (HeyGen codes such as invalid_api_key, insufficient_credit, or pipeline codes). Counts every failure so far.',
		labelNames: ['code'],
		registers: [r],
		async collect() {
			const s = await currentSnapshot();
			this.reset();
			// Labels from a fixed set: a code HeyGen made up (or a message echoed into one) is `other`.
			const byCode = new Map<string, number>();
			for (const f of s.failures) byCode.set(metricCode(f.code), (byCode.get(metricCode(f.code)) ?? 0) + f.n);
			for (const [code, n] of byCode) this.inc({ code }, n);
		}
	});
	new client.Gauge({
		name: 'web_sse_subscribers',
		help: 'Browsers connected to the live status stream of this process.',
		registers: [r],
		collect() {
			this.set(liveHub().subscriberCount);
		}
	});
	new client.Counter({
		name: 'web_live_events_delivered_total',
		help: 'Live status events written to browsers by this process.',
		registers: [r],
		collect() {
			this.reset();
			this.inc(liveHub().delivered);
		}
	});
	registry = r;
	return r;
}

export async function renderMetrics(): Promise<{ body: string; contentType: string }> {
	const r = metricsRegistry();
	const parts = [await r.metrics(), ...(await Promise.all(histograms.map((h) => h.text())))];
	return { body: parts.join('\n'), contentType: r.contentType };
}
