import { closeDatabase } from './db.ts';
import { stopLiveHub } from './live.ts';

/**
 * What the process hosting the built app (scripts/app.ts) calls once the HTTP server has closed:
 * the LISTEN connection and the pool end here, before Postgres stops, so stopping never shows up
 * as "connection terminated" errors or a reconnect attempt. A symbol on globalThis because the
 * host loads this code from the build, not from these sources.
 */
export const WEB_STOP = Symbol.for('heygen-video-jobs.web.stop');

(globalThis as Record<symbol, unknown>)[WEB_STOP] = async (): Promise<void> => {
	await stopLiveHub().catch(() => {});
	await closeDatabase().catch(() => {});
};
