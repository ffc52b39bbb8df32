// Finding 14 of issue 11: `.partial` files that no live transfer owns (left by a SIGKILLed worker)
// are removed within a minute, while a live transfer's temp file is never touched by the sweep.
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import nodePath from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLocalStorage, PARTIAL_MAX_AGE_MS, PARTIAL_TOUCH_MS, sweepPartials } from '../../storage/index.ts';
import { PARTIAL_SWEEP_INTERVAL_MS } from '../../worker/index.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { startPipeline, type Pipeline } from '../helpers/pipeline.ts';
import { deferred } from './helpers.ts';

const PATH = 'videos/6f1c2a8e-0b7c-4b8e-9d51-3c1d2e4f5a6b/0a1b2c3d-1111-2222-3333-444455556666/job-1.mp4';

/** Re-checks `cond` until it holds (a filesystem change has no event to wait on portably). */
async function until(cond: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await cond())) {
		if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 25));
	}
}

const exists = (f: string) =>
	stat(f).then(
		() => true,
		() => false
	);
const partialsIn = async (d: string) => (await readdir(d)).filter((n) => n.endsWith('.partial'));
const ago = (ms: number) => new Date(Date.now() - ms);

it('leftovers are gone within a minute of the transfer dying, live files are refreshed well inside that', () => {
	expect(PARTIAL_MAX_AGE_MS + PARTIAL_SWEEP_INTERVAL_MS).toBeLessThanOrEqual(60_000);
	expect(PARTIAL_TOUCH_MS * 2).toBeLessThanOrEqual(PARTIAL_MAX_AGE_MS);
});

describe('sweepPartials and live writes', () => {
	let dir: string;
	beforeEach(async () => {
		dir = await mkdtemp(nodePath.join(tmpdir(), 'partials-'));
	});
	afterEach(async () => {
		await rm(dir, { recursive: true, force: true });
	});

	it('never removes the temp file of a write in progress, however old it looks', async () => {
		const storage = createLocalStorage({ dir });
		const gate = deferred<void>();
		const started = deferred<void>();
		async function* body() {
			yield new Uint8Array(1000);
			started.resolve();
			await gate.promise;
			yield new Uint8Array(1000);
		}
		const put = storage.put(PATH, body(), { contentType: 'video/mp4', expectedBytes: 2000 });
		await started.promise;
		const parent = nodePath.dirname(storage.resolve(PATH));
		await until(async () => (await partialsIn(parent).catch(() => [])).length === 1, 5_000, 'the temp file');
		const [temp] = await partialsIn(parent);
		await utimes(nodePath.join(parent, temp!), ago(2 * 3600_000), ago(2 * 3600_000));

		expect(await sweepPartials(dir, PARTIAL_MAX_AGE_MS)).toEqual([]);
		expect(await exists(nodePath.join(parent, temp!))).toBe(true);
		gate.resolve();
		expect((await put).bytes).toBe(2000);
		expect(await partialsIn(parent)).toEqual([]);
	});

	it('removes a leftover older than PARTIAL_MAX_AGE_MS and keeps one that was touched recently', async () => {
		await mkdir(nodePath.join(dir, 'videos'), { recursive: true });
		const orphan = nodePath.join(dir, 'videos', '.a.mp4.0123456789abcdef.partial');
		const recent = nodePath.join(dir, 'videos', '.b.mp4.fedcba9876543210.partial');
		await writeFile(orphan, 'x');
		await writeFile(recent, 'x');
		await utimes(orphan, ago(PARTIAL_MAX_AGE_MS + 1000), ago(PARTIAL_MAX_AGE_MS + 1000));
		await utimes(recent, ago(5_000), ago(5_000));
		expect(await sweepPartials(dir, PARTIAL_MAX_AGE_MS)).toEqual([orphan]);
		expect(await exists(recent)).toBe(true);
	});
});

describe('the worker sweeps while it runs, not only at start-up', () => {
	let db: TestDatabase;
	let pipeline: Pipeline;
	beforeAll(async () => {
		db = await createTestDatabase();
		pipeline = await startPipeline(db, { worker: { partialSweepIntervalMs: 200 } });
	});
	afterAll(async () => {
		await pipeline?.stop();
		await db?.drop();
	});

	it('a .partial a killed transfer left behind goes; one another live process keeps touching stays', async () => {
		const sub = nodePath.join(pipeline.storageDir, 'videos', 'b1', 'c1');
		await mkdir(sub, { recursive: true });
		// As left by a worker SIGKILLed PARTIAL_MAX_AGE_MS ago, after this worker had started.
		const orphan = nodePath.join(sub, '.job.mp4.0123456789abcdef.partial');
		const othersLive = nodePath.join(sub, '.job2.mp4.1111111111111111.partial');
		await writeFile(orphan, 'half a video');
		await writeFile(othersLive, 'another worker is writing this');
		await utimes(orphan, ago(PARTIAL_MAX_AGE_MS + 500), ago(PARTIAL_MAX_AGE_MS + 500));
		await until(async () => !(await exists(orphan)), 5_000, 'the leftover to be removed');
		expect(await exists(othersLive)).toBe(true);
		expect(pipeline.logs.join('')).toMatch(/removed stale partial downloads/);
	});
});
