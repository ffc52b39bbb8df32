import { PgBoss } from 'pg-boss';
import type { BenchDatabase } from './database.ts';
import { onCleanup } from './run.ts';

/**
 * A started pg-boss of the benchmark's own (LISTEN/NOTIFY, no cron), named `name` in
 * pg_stat_activity. `stop` stops it gracefully; a run cut short stops it at cleanup.
 */
export async function startBenchBoss(
	db: BenchDatabase,
	name: string,
	opts: { max: number; supervise: boolean }
): Promise<{ boss: PgBoss; stop(): Promise<void> }> {
	const boss = new PgBoss({
		connectionString: db.url,
		max: opts.max,
		application_name: name,
		useListenNotify: true,
		supervise: opts.supervise,
		schedule: false,
		openTelemetry: { enabled: false }
	});
	boss.on('error', (err) => console.error('pg-boss error:', err.message));
	await boss.start();
	const forget = onCleanup(`stop ${name}`, () => boss.stop({ graceful: false }));
	return {
		boss,
		async stop() {
			await boss.stop({ graceful: true, timeout: 5_000 });
			forget();
		}
	};
}
