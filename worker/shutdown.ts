import type { Logger } from '../log/logger.ts';

/** Ctrl-C / SIGTERM: stop everything cleanly (no orphaned postgres), once. */
export function stopOnSignals(stop: () => Promise<void>, log: Logger): void {
	let exiting = false;
	for (const signal of ['SIGINT', 'SIGTERM'] as const) {
		process.on(signal, () => {
			if (exiting) return;
			exiting = true;
			log.info({ signal }, 'shutting down');
			void stop().finally(() => process.exit(0));
		});
	}
}
