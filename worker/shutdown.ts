import type { Logger } from '../log/logger.ts';

/**
 * Ctrl-C / SIGTERM: stop everything in order (no orphaned Postgres), once. A second Ctrl-C exits at
 * once; so does a stop that hangs past `hardLimitMs` (Postgres, in its own supervisor process,
 * stops by itself when this process goes away).
 *
 * Under `npm start` one Ctrl-C arrives twice: the terminal signals the whole foreground process
 * group and npm forwards its own copy to us. Repeats within REPEAT_MS are that echo, not a second
 * press.
 */
const REPEAT_MS = 500;

export function stopOnSignals(stop: () => Promise<void>, log: Logger, hardLimitMs = 30_000): void {
	let exiting = false;
	let firstAt = 0;
	for (const signal of ['SIGINT', 'SIGTERM'] as const) {
		process.on(signal, () => {
			if (exiting && Date.now() - firstAt < REPEAT_MS) return;
			if (exiting) {
				log.warn({ signal }, 'stopping now, without waiting for the shutdown to finish');
				process.exit(130);
			}
			exiting = true;
			firstAt = Date.now();
			log.info({ signal }, 'shutting down (press Ctrl-C again to stop at once)');
			setTimeout(() => {
				log.error({ afterMs: hardLimitMs }, 'shutdown did not finish in time; exiting');
				process.exit(1);
			}, hardLimitMs).unref();
			void stop().finally(() => process.exit(0));
		});
	}
}
