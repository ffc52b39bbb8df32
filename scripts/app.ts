// Starts the whole product in this process: database (embedded unless DATABASE_URL), migrations,
// the worker (unless RUN_WORKER=false) and the built web app. Used by `npm start` and `npm run demo`.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfig, type Config } from '../db/config.ts';
import { resolveDatabase } from '../db/database-url.ts';
import { migrate } from '../db/migrate.ts';
import { createLogger, type Logger } from '../log/logger.ts';

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
export function ensureBuilt(log: (msg: string) => void = () => {}): void {
	const handler = path.join(root, 'build', 'handler.js');
	const sources = Math.max(newestMtime(path.join(root, 'web')), statSync(path.join(root, 'svelte.config.js')).mtimeMs);
	if (existsSync(handler) && statSync(handler).mtimeMs >= sources) return;
	log('Building the web app (first start, or its sources changed)…');
	const r = spawnSync(process.execPath, [path.join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
	if (r.status !== 0) throw new Error('The web app failed to build; see the output above.');
}

export interface RunningApp {
	url: string;
	databaseUrl: string;
	config: Config;
	log: Logger;
	stop(): Promise<void>;
}

export async function startApp(env: Record<string, string | undefined> = process.env): Promise<RunningApp> {
	const config = loadConfig(env);
	const log = createLogger({ level: config.LOG_LEVEL, name: 'app' });
	const database = await resolveDatabase(config, (m) => log.debug({ postgres: m }));
	const stops: Array<() => Promise<void>> = [() => database.stop()];
	const stop = async () => {
		for (const s of stops.reverse()) await s().catch((err) => log.error({ err: { message: err.message } }, 'shutdown step failed'));
	};
	try {
		await migrate(database.url, { log: (m) => log.info(m) });
		// The web app's server code reads its settings from the environment like everything else.
		Object.assign(process.env, env, { DATABASE_URL: database.url });
		const runtime = loadConfig(process.env);
		if (runtime.RUN_WORKER) {
			const { startWorker } = await import('../worker/index.ts');
			const worker = await startWorker({ databaseUrl: database.url, config: runtime, log });
			stops.push(() => worker.stop());
		}
		ensureBuilt((m) => log.info(m));
		// Listen first: the app must know its own origin before it loads (SvelteKit's CSRF check and
		// Better Auth's cookies use ORIGIN; without it adapter-node assumes https).
		let handler: ((req: IncomingMessage, res: ServerResponse, next: () => void) => void) | null = null;
		const server = createServer((req, res) => {
			if (!handler) {
				res.statusCode = 503;
				res.end('Starting…');
				return;
			}
			handler(req, res, () => {
				res.statusCode = 404;
				res.end('Not found');
			});
		});
		await new Promise<void>((resolve, reject) => {
			server.once('error', reject);
			server.listen(runtime.PORT, runtime.HOST, resolve);
		});
		stops.push(
			() =>
				new Promise<void>((resolve) => {
					server.close(() => resolve());
					server.closeAllConnections();
				})
		);
		const address = server.address();
		const port = typeof address === 'object' && address ? address.port : runtime.PORT;
		const url = runtime.ORIGIN ?? `http://${runtime.HOST}:${port}`;
		process.env.ORIGIN = url;
		({ handler } = await import(pathToFileURL(path.join(root, 'build', 'handler.js')).href));
		log.info({ url, database: database.embedded ? `embedded (${database.embedded.dataDir})` : 'DATABASE_URL' }, 'ready');
		return { url, databaseUrl: database.url, config: runtime, log, stop };
	} catch (err) {
		await stop();
		throw err;
	}
}

export { stopOnSignals } from '../worker/shutdown.ts';
