/**
 * Processes a test starts must end with the test, pass or fail (a timeout included): each runs in
 * a process group of its own, and `endWithTest` kills the whole group when the test finishes if it
 * is still running. Apps that run an embedded Postgres stop it through its supervisor when they go
 * away; `postgresStopped` waits for that (the postmaster removing its pid file) and kills a
 * postmaster that outlives it.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, watch } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { onTestFinished } from 'vitest';
import type { Exit, NpmChild } from '../../scripts/npm-child.ts';

/** `command args` in a process group of its own, with only PATH, HOME and `env` in its environment. */
export function startGroup(command: string, args: string[], env: Record<string, string>): NpmChild {
	const child = spawn(command, args, {
		env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), ...env },
		stdio: ['ignore', 'pipe', 'pipe'],
		detached: true
	});
	let out = '';
	child.stdout!.on('data', (c: Buffer) => (out += String(c)));
	child.stderr!.on('data', (c: Buffer) => (out += String(c)));
	const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
	return { child, output: () => out, exited };
}

const running = (run: NpmChild) => run.child.exitCode === null && run.child.signalCode === null;

/** SIGKILLs the process group of `run` (the app and everything it started in its group). */
export async function killGroup(run: NpmChild): Promise<void> {
	if (!running(run)) return;
	try {
		process.kill(-run.child.pid!, 'SIGKILL');
	} catch {
		// the group is already gone
	}
	await run.exited;
}

/**
 * When the current test finishes (passed, failed or timed out): kills `run`'s group if it still
 * runs and, for an app with an embedded Postgres in `dataDir`, makes sure that Postgres is gone too.
 */
export function endWithTest(run: NpmChild, dataDir?: string): NpmChild {
	onTestFinished(async () => {
		await killGroup(run);
		if (dataDir) await postgresStopped(dataDir, 15_000, { kill: true });
	});
	return run;
}

/** Command lines of running Postgres processes whose arguments name `dataDir`. */
export function postgresProcessesFor(dataDir: string): string[] {
	const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
	return ps.split('\n').filter((l) => l.includes('postgres') && l.includes(dataDir));
}

/**
 * Resolves once the Postgres of `dataDir` (an app's DATA_DIR; Postgres lives in its `pg` folder)
 * has stopped: the postmaster removes `postmaster.pid` as the last step of its shutdown. Watches for
 * that instead of polling. After `ms`: with `kill`, SIGKILLs the postmaster it names; else rejects.
 */
export async function postgresStopped(dataDir: string, ms = 10_000, opts: { kill?: boolean } = {}): Promise<void> {
	const pgDir = path.join(dataDir, 'pg');
	const pidFile = path.join(pgDir, 'postmaster.pid');
	if (!existsSync(pgDir)) return;
	const gone = await new Promise<boolean>((resolve) => {
		const watcher = watch(pgDir, () => {
			if (!existsSync(pidFile)) done(true);
		});
		const timer = setTimeout(() => done(false), ms);
		function done(ok: boolean) {
			clearTimeout(timer);
			watcher.close();
			resolve(ok);
		}
		// Checked after the watch started, so a removal in between is not missed.
		if (!existsSync(pidFile)) done(true);
	});
	if (gone) return;
	const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
	if (!opts.kill) throw new Error(`Postgres (pid ${pid}) still running for ${dataDir} ${ms} ms after its app stopped`);
	try {
		process.kill(pid, 'SIGKILL');
	} catch {
		// it ended meanwhile
	}
}
