// `npm run dev` (vite dev): what npm start does around the web app, in the dev server's process.
// vite.config.ts calls this before the first request: the database (DATABASE_URL or the embedded
// Postgres under DATA_DIR, migrated), the worker unless RUN_WORKER=false, and the settings handed
// to the app as a value (web/lib/server/config.ts) rather than through process.env.
import { loadConfig, provideConfig, resolveVaultRootKey } from '../config/index.ts';
import { resolveDatabase } from '../db/database-url.ts';
import { migrate } from '../db/migrate.ts';
import { createLogger } from '../log/logger.ts';
import { startWorker } from '../worker/index.ts';

export async function startDevBackend(env: Record<string, string | undefined> = process.env): Promise<{ stop(): Promise<void> }> {
	const config = loadConfig(env);
	const log = createLogger({ level: config.LOG_LEVEL, name: 'dev' });
	const database = await resolveDatabase(config, (m) => log.debug({ postgres: m }));
	try {
		await migrate(database.url, { log: (m) => log.info(m), vaultRootKey: resolveVaultRootKey(config) });
		const runtime = { ...config, DATABASE_URL: database.url };
		provideConfig(runtime);
		const worker = runtime.RUN_WORKER ? await startWorker({ databaseUrl: database.url, config: runtime, log }) : null;
		log.info({ database: database.embedded ? 'embedded' : 'DATABASE_URL', worker: Boolean(worker) }, 'dev backend ready');
		return {
			async stop() {
				await worker?.stop().catch(() => {});
				await database.stop().catch(() => {});
			}
		};
	} catch (err) {
		await database.stop().catch(() => {});
		throw err;
	}
}
