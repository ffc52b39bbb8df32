import type { Config } from '../config/index.ts';
import { runningEmbeddedUrl, startEmbeddedPostgres, type EmbeddedDatabase } from './embedded.ts';
import path from 'node:path';

/**
 * DATABASE_URL when set; otherwise the embedded Postgres under DATA_DIR, started here and stopped
 * by the returned stop().
 */
export async function resolveDatabase(
	config: Config,
	log: (msg: string) => void = () => {},
	opts: { shareRunning?: boolean } = {}
): Promise<{ url: string; embedded: EmbeddedDatabase | null; stop(): Promise<void> }> {
	if (config.DATABASE_URL) return { url: config.DATABASE_URL, embedded: null, stop: async () => {} };
	// CLIs (db:migrate, jobs) join an app that is already running on the same data directory.
	const running = opts.shareRunning ? runningEmbeddedUrl(config.DATA_DIR) : null;
	if (running) return { url: running, embedded: null, stop: async () => {} };
	const embedded = await startEmbeddedPostgres({ dataDir: path.resolve(config.DATA_DIR), onLog: log });
	return { url: embedded.url, embedded, stop: () => embedded.stop() };
}
