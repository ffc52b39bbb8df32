import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitForOutput } from '../../scripts/npm-child.ts';
import { endWithTest, postgresProcessesFor, postgresStopped, startGroup } from '../helpers/processes.ts';

/** `npm run demo`: the first thing a newcomer runs must render a video end to end and stop cleanly. */
describe('npm run demo', () => {
	const dataDir = mkdtempSync(path.join(tmpdir(), 'hvj-demo-'));
	afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

	it('renders one video end to end, prints each step and where the file is, and stops on Ctrl-C', async () => {
		const env = { DATA_DIR: dataDir, PORT: '0', DEMO_RENDER_MS: '500', POLL_INITIAL_SECONDS: '0.2' };
		const run = endWithTest(startGroup(process.execPath, [path.resolve('scripts/demo.ts')], env), dataDir);
		await waitForOutput(run, /Press Ctrl-C/, 60_000);
		const out = run.output();
		const steps = [...out.matchAll(/\d+\.\d s {2}(\w+)/g)].map((m) => m[1]);
		expect(steps).toEqual(['queued', 'submitting', 'rendering', 'transferring', 'completed']);
		const file = /Video stored: (\S+) \((\d+) bytes\)/.exec(out);
		expect(file, out).not.toBeNull();
		expect(existsSync(file![1]!)).toBe(true);
		// The thumbnail and the subtitles are stored beside it, for the player's poster and captions.
		const thumb = /Thumbnail: {4}(\S+\.jpg)/.exec(out);
		const subs = /Subtitles: {4}(\S+\.srt)/.exec(out);
		expect(thumb && existsSync(thumb[1]!), out).toBe(true);
		expect(subs && existsSync(subs[1]!), out).toBe(true);
		// ...and translated into Spanish by the SQL contract's insert, with its captions.
		const spanish = [...out.matchAll(/Spanish \(Spain\): (\w+) \(/g)].map((m) => m[1]);
		expect(spanish, out).toEqual(['queued', 'submitting', 'rendering', 'transferring', 'completed']);
		const translated = /Translated: {3}(\S+\.mp4) \(Spanish \(Spain\)/.exec(out);
		const vtt = /Captions: {5}(\S+\.vtt)/.exec(out);
		expect(translated && existsSync(translated[1]!) && vtt && existsSync(vtt[1]!), out).toBe(true);
		expect(out).toMatch(/Log in as demo@example\.com/);
		run.child.kill('SIGINT');
		expect(await run.exited).toEqual({ code: 0, signal: null });
		// Ctrl-C says what it stops, then each part as it stops, in order.
		expect(run.output().slice(out.length), run.output()).toMatch(
			/Stopping the demo: the web app, the worker, the database, then the simulator…\s+web stopped\s+worker stopped\s+database stopped\s+simulator stopped\s*$/
		);
		await postgresStopped(dataDir);
		expect(postgresProcessesFor(dataDir)).toEqual([]);
	}, 90_000);
});
