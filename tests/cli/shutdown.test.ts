import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ctrlC, startNpm, waitForOutput as waitFor } from '../../scripts/npm-child.ts';
import { endWithTest, postgresProcessesFor, postgresStopped } from '../helpers/processes.ts';

/**
 * Ctrl-C in a terminal, for real: `npm start` / `npm run demo` run in a process group of their own
 * and SIGINT goes to the whole group, as a terminal sends it (so npm forwards a second copy to the
 * app, as it does in a terminal). The app must stop in order within 10 s, exit 0, leave no
 * Postgres behind and print no error line (and, piped, no colour code) on the way. Whatever happens, each test ends the
 * processes it started (tests/helpers/processes.ts).
 */
const ERROR_LINE = /error|unhandled|terminating connection|exception|"level":(50|60)/i;

/** The app stops Postgres before it exits: once it has, nothing of that Postgres is left. */
async function expectPostgresGone(dataDir: string): Promise<void> {
	await postgresStopped(dataDir);
	expect(postgresProcessesFor(dataDir)).toEqual([]);
}

/** Ctrl-C to `run`: it stops cleanly, logs no error and leaves no Postgres of `dataDir` running. */
async function expectCleanStop(run: Parameters<typeof ctrlC>[0], dataDir: string): Promise<{ ms: number; out: string }> {
	const { clean, ms } = await ctrlC(run);
	const out = run.output();
	expect(clean, out).toBe(true);
	// Its output goes to a pipe here, as to a log file: no colour codes in it.
	expect(out.includes('\x1b['), out).toBe(false);
	expect(
		out.split('\n').filter((l) => ERROR_LINE.test(l)),
		out
	).toEqual([]);
	await expectPostgresGone(dataDir);
	return { ms, out };
}

describe('Ctrl-C', () => {
	const dirs: string[] = [];
	const dataDir = () => {
		const d = mkdtempSync(path.join(tmpdir(), 'hvj-stop-'));
		dirs.push(d);
		return d;
	};
	const npm = (args: string[], env: Record<string, string>) => endWithTest(startNpm(args, env), env.DATA_DIR);
	afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

	it('npm start: after serving pages, stops cleanly within 10 s', async () => {
		const dir = dataDir();
		const run = npm(['start'], { DATA_DIR: dir, PORT: '0' });
		const url = (await waitFor(run, /App running at (http:\/\/\S+)/, 60_000))[1]!;
		expect((await fetch(`${url}/login`)).status).toBe(200);
		expect((await fetch(`${url}/healthz`)).status).toBe(200);
		const { ms, out } = await expectCleanStop(run, dir);
		expect(ms).toBeLessThan(10_000);
		// Each stage is said as it ends, in the order the README gives: web, worker, then Postgres.
		const stages = [...out.matchAll(/"msg":"(shutting down|\w+ stopped)/g)].map((m) => m[1]);
		expect(stages, out).toEqual(['shutting down', 'web stopped', 'worker stopped', 'database stopped']);
	}, 90_000);

	it('npm run demo: Ctrl-C while a video renders stops cleanly within 10 s; a rerun reuses the demo content', async () => {
		const dir = dataDir();
		const env = { DATA_DIR: dir, PORT: '0', DEMO_RENDER_MS: '60000', POLL_INITIAL_SECONDS: '0.2' };
		const first = npm(['run', 'demo'], env);
		const content = (await waitFor(first, /insert into video_jobs \(content_id, options\) values \('([0-9a-f-]{36})'/, 60_000))[1];
		await waitFor(first, /\d s {2}rendering/, 60_000);
		await expectCleanStop(first, dir);

		// The rerun renders the same content item again. The job the first run left rendering ends
		// either way scripts/demo.ts allows: the demo cancels it, or the new worker fails it first
		// (the new simulator does not know its video). Only then can the new job be inserted (one
		// active job per content), so a completed rerun proves it ended.
		const second = npm(['run', 'demo'], { ...env, DEMO_RENDER_MS: '300' });
		await waitFor(second, /Press Ctrl-C/, 60_000);
		const out = second.output();
		// The demo's log level hides the app's log lines: it says what it stops on the console.
		expect(out).toContain(`insert into video_jobs (content_id, options) values ('${content}'`);
		expect(out).toMatch(/\d s {2}completed/);
		expect(out).toMatch(new RegExp(`Watch it: +http://127\\.0\\.0\\.1:\\d+/b/[0-9a-f-]{36}/content/${content}`));
		const stopped = await expectCleanStop(second, dir);
		expect(stopped.out.slice(out.length)).toMatch(
			/Stopping the demo: .*\n\s+web stopped\n\s+worker stopped\n\s+database stopped\n\s+simulator stopped\n/
		);
	}, 180_000);
});
