import client from 'prom-client';
import { sql, type Selectable } from 'kysely';
import type { VideoJobStepDurations } from '$db/types.ts';
import { metricCode } from '$heygen/errors.ts';
import { JOB_STATUSES } from '$db/job-states.ts';
import { STEP_LIST } from '../../../worker/steps/registry.ts';
import { db } from './db.ts';
import { liveHub } from './live.ts';
import { registerWebhookMetrics } from './webhook-metrics.ts';

/**
 * Prometheus metrics. Job figures are read from the database at scrape time (cached 5 s), so
 * every web process reports the same numbers whichever of them served the job, and they are right
 * even for jobs made by plain SQL or another process's worker. Durations and failures come from
 * counters a trigger keeps (db/migrations/0015_indexes.sql), so a scrape never reads the audit trail.
 *   video_jobs{status}                        current jobs by status
 *   video_queue_depth{queue}                  pg-boss jobs waiting (created/retry) per step
 *   video_render_seconds / video_transfer_seconds   histograms of every finished render/transfer
 * (steps, their queues and their histograms: worker/steps/registry.ts)
 *   video_heygen_failures_total{code}         jobs that failed, by HeyGen (or pipeline) error code
 *   web_sse_subscribers, web_live_events_delivered_total   live status fan-out
 *   heygen_webhook_deliveries_total{outcome}  webhook deliveries received by this process
 * plus the default process metrics (RSS, CPU, event loop lag).
 */
type Stage = 'render' | 'transfer';
/** The steps whose stage has a duration histogram, from the registry. */
const TIMED = STEP_LIST.flatMap((s) => (s.duration ? [s.duration] : []));

type Snapshot = Awaited<ReturnType<typeof snapshot>>;
interface Histogram {
	/** Cumulative counts per finite upper bound, in order. */
	buckets: { le: number; n: number }[];
	count: number;
	sum: number;
}

let registry: client.Registry | null = null;
let cache: { at: number; value: Promise<Snapshot> } | null = null;

/** Per stage and finite bucket: the observations up to `le`, all of them, and their seconds (sums of the columns). */
type BucketRow = Pick<Selectable<VideoJobStepDurations>, 'le'> & {
	step: Stage;
	n: Selectable<VideoJobStepDurations>['observations'];
	total: Selectable<VideoJobStepDurations>['observations'];
	sum: Selectable<VideoJobStepDurations>['seconds'];
};

async function histograms(): Promise<Record<Stage, Histogram>> {
	// Raw: the buckets come from a set-returning SQL function (video_job_duration_buckets).
	const { rows } = await sql<BucketRow>`
		select s.step, b.le,
			coalesce((select sum(d.observations) from video_job_step_durations d where d.step = s.step and d.le <= b.le), 0)::float8 as n,
			coalesce((select sum(d.observations) from video_job_step_durations d where d.step = s.step), 0)::float8 as total,
			coalesce((select sum(d.seconds) from video_job_step_durations d where d.step = s.step), 0)::float8 as sum
		from unnest(${TIMED.map((d) => d.stage)}::text[]) s (step)
		cross join unnest(video_job_duration_buckets()) b (le)
		where b.le < 'infinity'
		order by s.step, b.le`.execute(db());
	const out = Object.fromEntries(TIMED.map((d) => [d.stage, { buckets: [], count: 0, sum: 0 }])) as unknown as Record<Stage, Histogram>;
	for (const r of rows) {
		const h = out[r.step];
		h.buckets.push({ le: r.le, n: r.n });
		h.count = r.total;
		h.sum = r.sum;
	}
	return out;
}

async function snapshot() {
	const [byStatus, queue, durations, failures] = await Promise.all([
		db()
			.selectFrom('video_jobs')
			.select((eb) => ['status', eb.cast<number>(eb.fn.countAll(), 'integer').as('n')])
			.groupBy('status')
			.execute(),
		// pgboss.job is pg-boss's table, outside the schema db/types.ts describes: counted in a subquery.
		db()
			.selectFrom('video_job_states as s')
			.where('s.queue', 'is not', null)
			.select((eb) => [
				's.queue as name',
				sql<number>`(select count(*)::int from pgboss.job j where j.name = ${eb.ref('s.queue')} and j.state in ('created', 'retry'))`.as(
					'n'
				)
			])
			.execute(),
		histograms(),
		db()
			.selectFrom('video_job_failure_counts')
			.select((eb) => ['error_code as code', eb.cast<number>(eb.fn.sum('failures'), 'float8').as('n')])
			.groupBy('error_code')
			.execute()
	]);
	return { byStatus, queue, durations, failures };
}

function currentSnapshot(): Promise<Snapshot> {
	if (!cache || Date.now() - cache.at > 5_000) {
		const value = snapshot();
		cache = { at: Date.now(), value };
		value.catch(() => (cache = null));
	}
	return cache.value;
}

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
		for (const b of h.buckets) lines.push(`${this.name}_bucket{le="${b.le}"} ${b.n}`);
		lines.push(`${this.name}_bucket{le="+Inf"} ${h.count}`, `${this.name}_sum ${h.sum}`, `${this.name}_count ${h.count}`);
		return lines.join('\n') + '\n';
	}
}

const dbHistograms = TIMED.map((d) => new DbHistogram(d.metric, d.help, async () => (await currentSnapshot()).durations[d.stage]));

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
			for (const st of JOB_STATUSES) this.set({ status: st }, s.byStatus.find((x) => x.status === st)?.n ?? 0);
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
			for (const { queue: q } of STEP_LIST) this.set({ queue: q }, s.queue.find((x) => x.name === q)?.n ?? 0);
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
	registerWebhookMetrics(r);
	registry = r;
	return r;
}

export async function renderMetrics(): Promise<{ body: string; contentType: string }> {
	const r = metricsRegistry();
	const parts = [await r.metrics(), ...(await Promise.all(dbHistograms.map((h) => h.text())))];
	return { body: parts.join('\n'), contentType: r.contentType };
}
