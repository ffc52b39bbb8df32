// An `npm …` command run as a terminal runs it: in a process group of its own, so that Ctrl-C
// (SIGINT to the whole group) reaches npm and the app alike. Used by the CLI tests and by
// bench:web's first-start timing.
import { spawn, type ChildProcess } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';

export type Exit = { code: number | null; signal: NodeJS.Signals | null };

export interface NpmChild {
	child: ChildProcess;
	/** stdout and stderr so far, interleaved as they arrived. */
	output(): string;
	exited: Promise<Exit>;
}

/** Starts `npm <args>` in the project folder with only PATH, HOME and `env` in its environment. */
export function startNpm(args: string[], env: Record<string, string>): NpmChild {
	const child = spawn('npm', args, {
		cwd: path.resolve(import.meta.dirname, '..'),
		env: { PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}`, HOME: process.env.HOME ?? tmpdir(), ...env },
		stdio: ['ignore', 'pipe', 'pipe'],
		detached: true // its own process group, like a terminal's foreground job
	});
	let out = '';
	child.stdout!.on('data', (c: Buffer) => (out += String(c)));
	child.stderr!.on('data', (c: Buffer) => (out += String(c)));
	const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
	return { child, output: () => out, exited };
}

/** Resolves with the first match of `pattern` in the output; rejects if the command exits first or `ms` pass. */
export async function waitForOutput(run: NpmChild, pattern: RegExp, ms: number): Promise<RegExpExecArray> {
	return new Promise<RegExpExecArray>((resolve, reject) => {
		// Re-checked on every chunk of output; the timer fires even if the command goes quiet.
		const timer = setTimeout(() => finish(new Error(`no ${pattern} within ${ms} ms:\n${run.output()}`)), ms);
		const check = () => {
			const m = pattern.exec(run.output());
			if (m) finish(null, m);
		};
		const finish = (err: Error | null, m?: RegExpExecArray) => {
			clearTimeout(timer);
			run.child.stdout!.off('data', check);
			run.child.stderr!.off('data', check);
			if (err) reject(err);
			else resolve(m!);
		};
		run.child.stdout!.on('data', check);
		run.child.stderr!.on('data', check);
		void run.exited.then(() => {
			check();
			finish(new Error(`exited before ${pattern}:\n${run.output()}`));
		});
		check();
	});
}

/**
 * Sends Ctrl-C to the group; resolves with whether it ended cleanly and how long the stop took.
 * npm itself ends by SIGINT after the app has exited 0 (the shell it runs the script in saw the
 * signal too), exactly as in a terminal: that is clean; an exit code other than 0 is not. Still
 * running after `ms`: the group is killed and this throws.
 */
export async function ctrlC(run: NpmChild, ms = 10_000): Promise<{ clean: boolean; ms: number }> {
	const started = Date.now();
	process.kill(-run.child.pid!, 'SIGINT');
	const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), ms).unref());
	const exit = await Promise.race([run.exited, timeout]);
	if (exit === 'timeout') {
		process.kill(-run.child.pid!, 'SIGKILL');
		throw new Error(`still running ${ms / 1000} s after Ctrl-C:\n${run.output()}`);
	}
	return { clean: exit.code === 0 || exit.signal === 'SIGINT', ms: Date.now() - started };
}
