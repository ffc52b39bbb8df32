import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { startHeyGenSimulator, type HeyGenSimulator } from '../../heygen/simulator/server.ts';
import { createTestDatabase, vaultEnv, type TestDatabase } from './db.ts';

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

/** A database, a simulator and a storage folder for worker processes; all torn down after the suite. */
export function workerProcessRig(renderMs: number) {
	const rig = {} as { db: TestDatabase; sim: HeyGenSimulator; storageDir: string; start(env?: Record<string, string>): WorkerProcess };
	const workers: WorkerProcess[] = [];
	beforeAll(async () => {
		rig.db = await createTestDatabase();
		rig.sim = await startHeyGenSimulator({ renderMs });
		rig.storageDir = mkdtempSync(path.join(tmpdir(), 'hvj-workers-'));
	});
	afterAll(async () => {
		for (const w of workers) await w.kill();
		await rig.sim?.close();
		await rig.db?.drop();
		rmSync(rig.storageDir, { recursive: true, force: true });
	});
	rig.start = (env = {}) => {
		const w = spawnWorker({ DATABASE_URL: rig.db.url, HEYGEN_API_URL: rig.sim.url, STORAGE_DIR: rig.storageDir, ...env });
		workers.push(w);
		return w;
	};
	return rig;
}
