// Benchmark runs: a cleanup registry (every resource says how to release it; run once, in reverse,
// also on Ctrl-C), the run wrapper, timeouts and waiting on events.
import type { EventEmitter } from 'node:events';

const cleanups: Array<{ name: string; fn: () => Promise<unknown> }> = [];
let cleaning: Promise<void> | null = null;

export function onCleanup(name: string, fn: () => Promise<unknown>): () => void {
	const entry = { name, fn };
	cleanups.push(entry);
	return () => {
		const i = cleanups.indexOf(entry);
		if (i >= 0) cleanups.splice(i, 1);
	};
}

export function runCleanups(): Promise<void> {
	return (cleaning ??= (async () => {
		while (cleanups.length) {
			const { name, fn } = cleanups.pop()!;
			try {
				await withTimeout(fn(), 30_000, `cleanup ${name}`);
			} catch (err) {
				console.error(`cleanup ${name} failed: ${(err as Error).message}`);
			}
		}
	})());
}

/** Runs a bench main function with cleanup on success, failure and SIGINT/SIGTERM. */
export async function runBench(name: string, main: () => Promise<void>): Promise<void> {
	let interrupted = false;
	for (const sig of ['SIGINT', 'SIGTERM'] as const) {
		process.once(sig, () => {
			interrupted = true;
			console.error(`\n${name}: ${sig}, cleaning up…`);
			void runCleanups().then(() => process.exit(130));
		});
	}
	const started = performance.now();
	let code = 0;
	try {
		await main();
	} catch (err) {
		code = 1;
		console.error(`\n${name} failed: ${(err as Error).stack ?? String(err)}`);
	} finally {
		await runCleanups();
	}
	if (interrupted) return;
	console.log(`\n${name}: finished in ${((performance.now() - started) / 1000).toFixed(1)} s${code ? ' (with errors)' : ''}`);
	// Handles left by libraries (pg pools already ended, timers unref'd) must not keep us alive.
	process.exit(code);
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
	});
	return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Resolves when `check()` is true; re-checked on every `event` of `emitter` (no polling).
 * Rejects after timeoutMs with the message from `describe()`.
 */
export function waitUntil(
	emitter: EventEmitter,
	event: string,
	check: () => boolean,
	timeoutMs: number,
	describe: () => string
): Promise<void> {
	if (check()) return Promise.resolve();
	return new Promise((resolve, reject) => {
		const onEvent = () => {
			if (!check()) return;
			cleanup();
			resolve();
		};
		const timer = setTimeout(() => {
			cleanup();
			reject(new Error(`timed out after ${timeoutMs} ms: ${describe()}`));
		}, timeoutMs);
		const cleanup = () => {
			clearTimeout(timer);
			emitter.off(event, onEvent);
		};
		emitter.on(event, onEvent);
	});
}
