// Starts the whole product in this process: database (embedded unless DATABASE_URL), migrations,
// the worker (unless RUN_WORKER=false) and the built web app. Used by `npm start` and `npm run demo`.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadConfig, provideConfig, resolveVaultRootKey, type Config } from '../config/index.ts';
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

/**
 * What the web bundle is built from: the app itself, the shared folders it imports through its
 * aliases (svelte.config.js), and the build configuration. A change in any of them means a rebuild.
 */
export const WEB_BUILD_INPUTS = [
	'web',
	'worker',
	'heygen',
	'storage',
	'log',
	'config',
	'db',
	'svelte.config.js',
	'vite.config.ts',
	'package.json'
];

function newestInput(): number {
	return Math.max(
		...WEB_BUILD_INPUTS.map((p) => path.join(root, p))
			.filter(existsSync)
			.map((p) => (statSync(p).isDirectory() ? newestMtime(p) : statSync(p).mtimeMs))
	);
}

/**
 * Builds the SvelteKit app when build/ is missing or older than the sources. The build's own output
 * (adapter notes, chunk warnings, plugin timings) is kept back and shown only if it fails; meanwhile
 * `progress` hears one line, and on a terminal a running count of seconds.
 */
export async function ensureBuilt(progress: (msg: string) => void = () => {}): Promise<void> {
	const handler = path.join(root, 'build', 'handler.js');
	if (existsSync(handler) && statSync(handler).mtimeMs >= newestInput()) return;
	const started = Date.now();
	const line = 'Building the web app (first start, or its sources changed; up to a minute)';
	const tty = process.stdout.isTTY;
	if (tty) process.stdout.write(`  ${line}…`);
	else progress(`${line}…`);
	const ticker = tty ? setInterval(() => process.stdout.write(`\r  ${line}… ${Math.round((Date.now() - started) / 1000)} s`), 1000) : null;
	const child = spawn(process.execPath, [path.join(root, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], {
		cwd: root,
		stdio: ['ignore', 'pipe', 'pipe']
	});
	let output = '';
	child.stdout.on('data', (c: Buffer) => (output += String(c)));
	child.stderr.on('data', (c: Buffer) => (output += String(c)));
	const code = await new Promise<number | null>((resolve, reject) => {
		child.once('error', reject);
		child.once('close', resolve);
	}).finally(() => ticker && clearInterval(ticker));
	const took = `${((Date.now() - started) / 1000).toFixed(1)} s`;
	if (tty) process.stdout.write(`\r  ${line}… done in ${took}\n`);
	else if (code === 0) progress(`Web app built in ${took}`);
	if (code !== 0) {
		process.stderr.write(output);
		throw new Error('The web app failed to build; see the output above.');
	}
}

/**
 * The built app's server code keeps its own database pool and LISTEN connection; it puts a
 * function to close them at this well-known symbol (web/lib/server/shutdown.ts), so that they are
 * closed before the worker and Postgres stop rather than cut off by them.
 */
const WEB_STOP = Symbol.for('heygen-video-jobs.web.stop');

type NodeHandler = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

export interface WebServer {
	server: Server;
	url: string;
	port: number;
	/** The settings the web app runs with: the ones given, with ORIGIN set to `url`. */
	config: Config;
	/** Closes the server and its connections, then the app's pool and LISTEN connection. */
	close(): Promise<void>;
}

/**
 * Serves the built web app (build/handler.js) with node:http: `npm start`, `npm run web` and the
 * benchmarks all serve it this way. It listens first and loads the app after: the app must know
 * its own origin before it loads (SvelteKit's CSRF check and Better Auth's cookies use ORIGIN;
 * without it adapter-node assumes https), and with port 0 the origin is only known once
 * listening. Requests that arrive in between get a 503.
 */
export async function serveWeb(config: Config, opts: { keepAliveTimeoutMs?: number } = {}): Promise<WebServer> {
	let handler: NodeHandler | null = null;
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
	if (opts.keepAliveTimeoutMs !== undefined) server.keepAliveTimeout = opts.keepAliveTimeoutMs;
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(config.PORT, config.HOST, resolve);
	});
	const close = async () => {
		await new Promise<void>((resolve) => {
			server.close(() => resolve());
			server.closeAllConnections();
		});
		const stopWeb = (globalThis as Record<symbol, unknown>)[WEB_STOP] as (() => Promise<void>) | undefined;
		await stopWeb?.();
	};
	try {
		const { port } = server.address() as AddressInfo;
		const url = config.ORIGIN ?? `http://${config.HOST}:${port}`;
		const runtime: Config = { ...config, ORIGIN: url };
		// The web app gets its settings as a value (web/lib/server/config.ts). adapter-node alone
		// reads ORIGIN from process.env, when build/handler.js loads: the one variable set here.
		provideConfig(runtime);
		process.env.ORIGIN = url;
		({ handler } = (await import(pathToFileURL(path.join(root, 'build', 'handler.js')).href)) as { handler: NodeHandler });
		return { server, url, port, config: runtime, close };
	} catch (err) {
		await close();
		throw err;
	}
}

export interface RunningApp {
	url: string;
	databaseUrl: string;
	config: Config;
	log: Logger;
	/**
	 * Stops the web, then the worker, then the embedded Postgres, telling `stopped` after each
	 * ("web", "worker", "database"; by default a log line "web stopped" and so on).
	 */
	stop(stopped?: (part: string) => void): Promise<void>;
}

export async function startApp(env: Record<string, string | undefined> = process.env): Promise<RunningApp> {
	const config = loadConfig(env);
	const log = createLogger({ level: config.LOG_LEVEL, name: 'app' });
	// Before anything with timeouts starts: the build takes the CPU for a while.
	await ensureBuilt((m) => log.info(m));
	const database = await resolveDatabase(config, (m) => log.debug({ postgres: m }));
	// A database given by DATABASE_URL is not ours to stop: no stage to announce for it.
	const stops: Array<{ part: string | null; stop: () => Promise<void> }> = [
		{ part: database.embedded ? 'database' : null, stop: () => database.stop() }
	];
	const stop = async (stopped = (part: string) => log.info(`${part} stopped`)) => {
		for (const s of [...stops].reverse()) {
			try {
				await s.stop();
				if (s.part) stopped(s.part);
			} catch (err) {
				log.error({ err: { message: (err as Error).message }, part: s.part }, 'shutdown step failed');
			}
		}
	};
	try {
		await migrate(database.url, { log: (m) => log.info(m), vaultRootKey: resolveVaultRootKey(config) });
		const runtime: Config = { ...config, DATABASE_URL: database.url };
		if (runtime.RUN_WORKER) {
			const { startWorker } = await import('../worker/index.ts');
			const worker = await startWorker({ databaseUrl: database.url, config: runtime, log });
			stops.push({ part: 'worker', stop: () => worker.stop() });
		}
		const web = await serveWeb(runtime);
		// Stopping runs these in reverse: the web (server, then its pool), then the worker, then Postgres.
		stops.push({ part: 'web', stop: () => web.close() });
		const url = web.url;
		log.info({ url, database: database.embedded ? `embedded (${database.embedded.dataDir})` : 'DATABASE_URL' }, 'ready');
		return { url, databaseUrl: database.url, config: web.config, log, stop };
	} catch (err) {
		await stop();
		throw err;
	}
}

export { stopOnSignals } from '../worker/shutdown.ts';
