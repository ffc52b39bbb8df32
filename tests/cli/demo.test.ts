import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

/** `npm run demo`: the first thing a newcomer runs must render a video end to end and stop cleanly. */
describe('npm run demo', () => {
	const dataDir = mkdtempSync(path.join(tmpdir(), 'hvj-demo-'));
	afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

	it('renders one video end to end, prints each step and where the file is, and stops on Ctrl-C', async () => {
		const child = spawn(process.execPath, [path.resolve('scripts/demo.ts')], {
			env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir, PORT: '0', DEMO_RENDER_MS: '500', POLL_INITIAL_SECONDS: '0.2' },
			stdio: ['ignore', 'pipe', 'pipe']
		});
		let out = '';
		const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
		await new Promise<void>((resolve, reject) => {
			const timer = setTimeout(() => reject(new Error(`demo did not finish:\n${out}`)), 60_000);
			const onData = (c: Buffer) => {
				out += String(c);
				if (out.includes('Press Ctrl-C')) {
					clearTimeout(timer);
					resolve();
				}
			};
			child.stdout.on('data', onData);
			child.stderr.on('data', onData);
			void exited.then(() => reject(new Error(`demo exited early:\n${out}`)));
		});
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
		expect(out).toMatch(/Log in as demo@example\.com/);
		child.kill('SIGINT');
		expect(await exited).toBe(0);
	}, 90_000);
});
