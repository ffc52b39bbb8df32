/**
 * Makes the month partitions of video_job_events ahead of time (video_job_history_ensure_partitions,
 * migration 0029): when the worker starts, then once a day on the sweep's beat. Each call is cheap
 * when the months exist; several workers may call it at once (it serialises itself). A failure is
 * logged and tried again at a later sweep: events of a month without a partition still land in the
 * default partition, so nothing is refused meanwhile.
 */
import { sql } from 'kysely';
import type { PipelineContext } from './context.ts';

const PARTITIONS_EVERY_MS = 24 * 3600_000;
const RETRY_AFTER_MS = 15 * 60_000;

export interface HistoryPartitions {
	/** Ensures the partitions if the last success is a day old (or there was none). */
	wake(): void;
	/** Resolves when no call is running. */
	idle(): Promise<void>;
}

export function historyPartitions(ctx: PipelineContext): HistoryPartitions {
	let running: Promise<void> | null = null;
	let notBefore = 0;

	async function ensure(): Promise<void> {
		try {
			const { rows } = await sql<{ made: number }>`select video_job_history_ensure_partitions() as made`.execute(ctx.store.db);
			notBefore = Date.now() + PARTITIONS_EVERY_MS;
			if (rows[0]?.made) ctx.log.info({ made: rows[0].made }, 'made month partitions of video_job_events');
		} catch (err) {
			notBefore = Date.now() + RETRY_AFTER_MS;
			ctx.log.warn({ err: { message: (err as Error).message } }, 'could not make the month partitions of video_job_events');
		}
	}

	return {
		wake() {
			if (running || Date.now() < notBefore) return;
			running = ensure().finally(() => {
				running = null;
			});
		},
		async idle() {
			while (running) await running;
		}
	};
}
