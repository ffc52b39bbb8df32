// npm start: everything in one process. With no DATABASE_URL an embedded Postgres starts with its
// data under DATA_DIR (.data/), migrations run, the web app is built if needed, and the worker runs
// in-process (RUN_WORKER=false for the web alone, as `npm run web` does).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, loadConfig } from '../db/config.ts';
import { resolveDatabase } from '../db/database-url.ts';
import { DataDirLockedError } from '../db/embedded.ts';
import { migrate } from '../db/migrate.ts';
import { createLogger } from '../worker/logger.ts';

const root = path.resolve(import.meta.dirname, '..');

function newestMtime(dir: string): number {
	let newest = 0;
	for (const entry of readdirSync(dir, { withFileTypes: true })) {
		const p = path.join(dir, entry.name);
		newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
	}
	return newest;
}

/** Builds the SvelteKit app when build/ is missing or older than the sources. */
export function ensureBuilt(log: (msg: string) => void): void {
	const handler = path.join(root, 'build', 'handler.js');
	const sources = Math.max(newestMtime(path.join(root, 'web')), statSync(path.join(root, 'svelte.config.js')).mtimeMs);
	if (existsSync(handler) && statSync(handler).mtimeMs >= sources) return;
	log('Building the web app (first start or sources changed)…');
	const r = spawnSync(process.execPath, [path.join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
	if (r.status !== 0) throw new Error('The web app failed to build; see the output above.');
}

async function main() {
	const config = loadConfig();
	const log = createLogger({ level: config.LOG_LEVEL, name: 'app' });
	const database = await resolveDatabase(config, (m) => log.debug({ postgres: m }));
	const stopAll: Array<() => Promise<void>> = [() => database.stop()];
	let exiting = false;
	const shutdown = async (signal: string) => {
		if (exiting) return;
		exiting = true;
		log.info({ signal }, 'shutting down');
		for (const stop of stopAll.reverse()) await stop().catch((err) => log.error({ err: { message: err.message } }, 'shutdown step failed'));
		process.exit(0);
	};
	process.on('SIGINT', () => void shutdown('SIGINT'));
	process.on('SIGTERM', () => void shutdown('SIGTERM'));

	await migrate(database.url, { log: (m) => log.info(m) });
	// The web app's server code reads its database from the environment like everything else.
	process.env.DATABASE_URL = database.url;
	const runtimeConfig = loadConfig();

	if (runtimeConfig.RUN_WORKER) {
		const { startWorker } = await import('../worker/index.ts');
		const worker = await startWorker({ databaseUrl: database.url, config: runtimeConfig, log });
		stopAll.push(() => worker.stop());
	}

	ensureBuilt((m) => log.info(m));
	const { handler } = await import(pathToFileURL(path.join(root, 'build', 'handler.js')).href);
	const server = createServer((req, res) =>
		handler(req, res, () => {
			res.statusCode = 404;
			res.end('Not found');
		})
	);
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(runtimeConfig.PORT, runtimeConfig.HOST, resolve);
	});
	stopAll.push(
		() =>
			new Promise<void>((resolve) => {
				server.close(() => resolve());
				server.closeAllConnections();
			})
	);
	const address = server.address();
	const port = typeof address === 'object' && address ? address.port : runtimeConfig.PORT;
	const url = `http://${runtimeConfig.HOST}:${port}`;
	log.info({ url, database: database.embedded ? `embedded (${database.embedded.dataDir})` : 'DATABASE_URL' }, 'ready');
	console.log(`\n  App running at ${url}\n  Press Ctrl-C to stop.\n`);
}

main().catch((err) => {
	if (err instanceof ConfigError || err instanceof DataDirLockedError) console.error(`\n${err.message}\n`);
	else console.error(err);
	process.exit(1);
});
