// npm run worker: the pipeline alone, for scaling out (many processes may share one database).
import { loadConfig, resolveVaultRootKey } from '../config/index.ts';
import { resolveDatabase } from '../db/database-url.ts';
import { migrate } from '../db/migrate.ts';
import { startWorker } from './index.ts';
import { createLogger } from '../log/logger.ts';
import { stopOnSignals } from './shutdown.ts';

const config = loadConfig();
const log = createLogger({ level: config.LOG_LEVEL, name: 'worker' });
const database = await resolveDatabase(config, (m) => log.debug({ postgres: m }));
await migrate(database.url, { log: (m) => log.info(m), vaultRootKey: resolveVaultRootKey(config) });
const worker = await startWorker({ databaseUrl: database.url, config, log });

stopOnSignals(async () => {
	await worker.stop();
	log.info('worker stopped');
	await database.stop();
	if (database.embedded) log.info('database stopped');
}, log);
