import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ctrlC, startNpm as npm, waitForOutput as waitFor } from '../../scripts/npm-child.ts';

/**
 * Ctrl-C in a terminal, for real: `npm start` / `npm run demo` run in a process group of their own
 * and SIGINT goes to the whole group, as a terminal sends it (so npm forwards a second copy to the
 * app, as it does in a terminal). The app must stop in order within 10 s, exit 0, leave no
 * Postgres behind and print no error line on the way.
 */
const ERROR_LINE = /error|unhandled|terminating connection|exception|"level":(50|60)/i;

async function postgresGone(dataDir: string): Promise<void> {
	// The supervisor stops Postgres when the app disconnects; give it its own few seconds.
	const { execFileSync } = await import('node:child_process');
	const deadline = Date.now() + 10_000;
	for (;;) {
		const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
		if (!ps.split('\n').some((l) => l.includes('postgres') && l.includes(dataDir))) return;
		if (Date.now() > deadline) throw new Error(`Postgres still running for ${dataDir}`);
		await new Promise((r) => setTimeout(r, 100));
	}
}

describe('Ctrl-C', () => {
	const dirs: string[] = [];
	const dataDir = () => {
		const d = mkdtempSync(path.join(tmpdir(), 'hvj-stop-'));
		dirs.push(d);
		return d;
	};
	afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

	it('npm start: after serving pages, stops cleanly within 10 s', async () => {
		const dir = dataDir();
		const run = npm(['start'], { DATA_DIR: dir, PORT: '0' });
		const url = (await waitFor(run, /App running at (http:\/\/\S+)/, 60_000))[1]!;
		expect((await fetch(`${url}/login`)).status).toBe(200);
		expect((await fetch(`${url}/healthz`)).status).toBe(200);
		const { clean, ms } = await ctrlC(run);
		const out = run.output();
		expect(clean, out).toBe(true);
		expect(ms).toBeLessThan(10_000);
		expect(out).toMatch(/shutting down/);
		expect(out).toMatch(/worker stopped/);
		expect(out.split('\n').filter((l) => ERROR_LINE.test(l)), out).toEqual([]);
		await postgresGone(dir);
	}, 90_000);

	it('npm run demo: Ctrl-C while a video renders stops cleanly within 10 s; a rerun reuses the demo content', async () => {
		const dir = dataDir();
		const env = { DATA_DIR: dir, PORT: '0', DEMO_RENDER_MS: '60000', POLL_INITIAL_SECONDS: '0.2' };
		const first = npm(['run', 'demo'], env);
		await waitFor(first, /\d s {2}rendering/, 60_000);
		const stop = await ctrlC(first);
		expect(stop.clean, first.output()).toBe(true);
		expect(first.output().split('\n').filter((l) => ERROR_LINE.test(l)), first.output()).toEqual([]);
		await postgresGone(dir);

		// The rerun cancels the job the first run left rendering and renders the same content item again.
		const second = npm(['run', 'demo'], { ...env, DEMO_RENDER_MS: '300' });
		await waitFor(second, /Press Ctrl-C/, 60_000);
		const out = second.output();
		expect(out).toMatch(/canceled the job a previous run left unfinished/);
		expect(out).toMatch(/\d s {2}completed/);
		expect(out).toMatch(/Watch it: +http:\/\/127\.0\.0\.1:\d+\/b\/[0-9a-f-]{36}\/content\/[0-9a-f-]{36}/);
		const again = await ctrlC(second);
		expect(again.clean, second.output()).toBe(true);
		expect(second.output().split('\n').filter((l) => ERROR_LINE.test(l)), second.output()).toEqual([]);
		await postgresGone(dir);
	}, 180_000);
});
