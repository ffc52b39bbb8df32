import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { vaultEnv } from './db.ts';

export interface WorkerProcess {
	child: ChildProcess;
	output: string[];
	/** Resolves once the worker logged that it started. */
	ready: Promise<void>;
	kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Worker processes still running: killed when this test process exits, however the tests ended. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
	for (const child of live) child.kill('SIGKILL');
});

/** `npm run worker` as a real child process, with backoffs shrunk for tests. */
export function spawnWorker(env: Record<string, string>): WorkerProcess {
	const child = spawn(process.execPath, [path.resolve('worker/main.ts')], {
		env: {
			PATH: process.env.PATH ?? '',
			LOG_LEVEL: 'debug',
			POLL_INITIAL_SECONDS: '0.05',
			POLL_MAX_SECONDS: '0.2',
			RETRY_BASE_SECONDS: '0.05',
			RETRY_MAX_SECONDS: '0.3',
			WORKER_MONITOR_SECONDS: '1',
			WORKER_SHUTDOWN_SECONDS: '5',
			...vaultEnv(),
			...env
		},
		stdio: ['ignore', 'pipe', 'pipe']
	});
	live.add(child);
	child.once('exit', () => live.delete(child));
	const output: string[] = [];
	const { promise: ready, resolve: onReady, reject: onFail } = Promise.withResolvers<void>();
	const collect = (chunk: Buffer) => {
		const text = String(chunk);
		output.push(text);
		if (text.includes('worker started')) onReady();
	};
	child.stdout!.on('data', collect);
	child.stderr!.on('data', collect);
	const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
	exited.then((code) => onFail(new Error(`worker exited with ${code} before it started:\n${output.join('')}`)));
	return {
		child,
		output,
		ready,
		kill: async (signal = 'SIGKILL') => {
			if (child.exitCode === null && child.signalCode === null) child.kill(signal);
			return exited;
		}
	};
}
