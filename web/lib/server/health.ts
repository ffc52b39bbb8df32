import { sql } from 'kysely';
import { db } from './db.ts';

export interface Health {
	status: 'ok' | 'degraded' | 'down';
	database: { ok: boolean; latencyMs?: number; error?: string };
	worker: { ok: boolean; live: number; lastHeartbeat: string | null; note?: string };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
	return Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms).unref())]);
}

/**
 * Database reachable (a query within 2 s) and worker alive: pg-boss registers every worker process
 * in pgboss.instance and moves its heartbeat_on every few seconds; a worker is live while it has
 * missed fewer than three beats (pg-boss's own rule). 'down' (HTTP 503) only when the database is
 * unreachable: without a worker the site still works and jobs wait, so that is 'degraded' (200).
 */
export async function checkHealth(): Promise<Health> {
	const started = performance.now();
	try {
		await withTimeout(sql`select 1`.execute(db()), 2_000);
	} catch (err) {
		return {
			status: 'down',
			database: { ok: false, error: (err as Error).message.slice(0, 200) },
			worker: { ok: false, live: 0, lastHeartbeat: null, note: 'unknown: database unreachable' }
		};
	}
	const latencyMs = Math.round((performance.now() - started) * 10) / 10;
	let worker: Health['worker'];
	try {
		// Raw: pgboss.instance is pg-boss's table, outside the public schema that db/types.ts describes.
		const { rows } = await withTimeout(
			sql<{ live: number; last: Date | null }>`
				select count(*) filter (where stopped_on is null and heartbeat_on >= now() - heartbeat_seconds * 3 * interval '1 second')::int as live,
				       max(heartbeat_on) as last
				from pgboss.instance where name = 'video-worker'`.execute(db()),
			2_000
		);
		const r = rows[0]!;
		worker = { ok: r.live > 0, live: r.live, lastHeartbeat: r.last ? r.last.toISOString() : null };
		if (!worker.ok) worker.note = 'no worker has sent a heartbeat recently: jobs will wait until one runs (npm start or npm run worker)';
	} catch (err) {
		worker = { ok: false, live: 0, lastHeartbeat: null, note: `could not read pgboss.instance: ${(err as Error).message.slice(0, 200)}` };
	}
	return { status: worker.ok ? 'ok' : 'degraded', database: { ok: true, latencyMs }, worker };
}
