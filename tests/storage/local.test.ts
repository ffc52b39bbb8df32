import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import nodePath from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
	createLocalStorage,
	createStorage,
	resolveLocalPath,
	StorageError,
	sweepPartials,
	type LocalVideoStorage
} from '../../storage/index.ts';
import { nodeDisk, type Disk } from '../../storage/disk.ts';
import { deferred, expectedHash, listFiles, pseudoRandomBytes, rejectionOf, sha256OfFile, webStream } from './helpers.ts';

const PATH = 'videos/6f1c2a8e-0b7c-4b8e-9d51-3c1d2e4f5a6b/0a1b2c3d-1111-2222-3333-444455556666/job-1.mp4';
const MP4 = { contentType: 'video/mp4' };

let dir: string;
let storage: LocalVideoStorage;

beforeEach(async () => {
	dir = await mkdtemp(nodePath.join(tmpdir(), 'storage-local-'));
	storage = createLocalStorage({ dir });
});

afterEach(async () => {
	await rm(dir, { recursive: true, force: true });
});

async function expectStorageError(promise: Promise<unknown>, code: StorageError['code']): Promise<StorageError> {
	const err = await rejectionOf(promise);
	expect(err).toBeInstanceOf(StorageError);
	expect((err as StorageError).code).toBe(code);
	return err as StorageError;
}

describe('local storage: round trip', () => {
	it('streams a multi-MB Node stream to disk byte for byte and returns path, bytes and url', async () => {
		const total = 5 * 1024 * 1024 + 123;
		const want = await expectedHash(total, 'round-trip');
		const stored = await storage.put(PATH, Readable.from(pseudoRandomBytes(total, 'round-trip')), {
			...MP4,
			expectedBytes: total
		});
		expect(stored).toEqual({ path: PATH, bytes: total, url: `/media/${PATH}` });
		const file = nodePath.join(dir, ...PATH.split('/'));
		expect(await sha256OfFile(file)).toEqual(want);
		expect(await listFiles(dir)).toEqual([nodePath.join(...PATH.split('/'))]);
		expect(existsSync(storage.resolve(PATH))).toBe(true);
		expect(storage.resolve(PATH)).toBe(file);
	});

	it('accepts a web ReadableStream and a plain async iterable, without expectedBytes', async () => {
		const total = 2 * 1024 * 1024 + 5;
		const want = await expectedHash(total, 'web');
		const web = webStream(pseudoRandomBytes(total, 'web'));
		expect((await storage.put('a/web.mp4', web, MP4)).bytes).toBe(total);
		expect(await sha256OfFile(storage.resolve('a/web.mp4'))).toEqual(want);

		const iterable = pseudoRandomBytes(total, 'web');
		expect((await storage.put('a/iter.mp4', iterable, MP4)).bytes).toBe(total);
		expect(await sha256OfFile(storage.resolve('a/iter.mp4'))).toEqual(want);
	});

	it('stores an empty body when zero bytes are expected', async () => {
		const stored = await storage.put('a/empty.mp4', Readable.from([]), { ...MP4, expectedBytes: 0 });
		expect(stored.bytes).toBe(0);
		expect((await stat(storage.resolve('a/empty.mp4'))).size).toBe(0);
	});

	it('uses publicBaseUrl for urls, via createStorage too', async () => {
		const s = await createStorage({ kind: 'local', dir, publicBaseUrl: 'https://cdn.example.com/files/' });
		expect(s.kind).toBe('local');
		expect(s.url('videos/b/c/j.mp4')).toBe('https://cdn.example.com/files/videos/b/c/j.mp4');
		expect(storage.url('videos/b/c/j.mp4')).toBe('/media/videos/b/c/j.mp4');
	});

	it('remove deletes the object and is a no-op when it is missing', async () => {
		await storage.put(PATH, Readable.from([Buffer.from('abc')]), { ...MP4, expectedBytes: 3 });
		expect(existsSync(storage.resolve(PATH))).toBe(true);
		await storage.remove(PATH);
		expect(existsSync(storage.resolve(PATH))).toBe(false);
		await expect(storage.remove(PATH)).resolves.toBeUndefined();
		expect(await listFiles(dir)).toEqual([]);
	});
});

describe('local storage: durability', () => {
	/** The real disk, recording each step as `<step> <what>` (temp file, target, dir); repeated writes count once. */
	function recordingDisk(steps: string[], target: string): Disk {
		const names = new Map<unknown, string>();
		const what = (p: string) => (p.endsWith('.partial') ? 'temp' : p === target ? 'target' : p === nodePath.dirname(target) ? 'dir' : p);
		const note = (step: string) => {
			if (steps.at(-1) !== step) steps.push(step);
		};
		return {
			async create(file) {
				const handle = await nodeDisk.create(file);
				names.set(handle, what(file));
				note(`create ${what(file)}`);
				return handle;
			},
			async write(handle, chunk) {
				await nodeDisk.write(handle, chunk);
				note(`write ${names.get(handle)}`);
			},
			openDir: (d) => nodeDisk.openDir(d),
			async fsync(handle, p) {
				// What the fsync covers: for the temp file, every byte written so far.
				const size = p.endsWith('.partial') ? ` (${(await handle.stat()).size} bytes)` : '';
				await nodeDisk.fsync(handle, p);
				note(`fsync ${what(p)}${size}`);
			},
			async rename(from, to) {
				await nodeDisk.rename(from, to);
				note(`rename ${what(from)} -> ${what(to)}`);
			}
		};
	}

	it('fsyncs the temp file after its last write and before the rename, then fsyncs the directory', async () => {
		const steps: string[] = [];
		const durable = createLocalStorage({ dir, disk: recordingDisk(steps, resolveLocalPath(dir, PATH)) });
		const total = 300_000;
		await durable.put(PATH, Readable.from(pseudoRandomBytes(total, 'durable')), { ...MP4, expectedBytes: total });
		expect(steps).toEqual(['create temp', 'write temp', `fsync temp (${total} bytes)`, 'rename temp -> target', 'fsync dir']);
	});
});

describe('local storage: failures leave nothing behind', () => {
	it('a body shorter than expectedBytes fails with size_mismatch and leaves no file and no partial', async () => {
		const err = await expectStorageError(
			storage.put(PATH, Readable.from(pseudoRandomBytes(1_000_000)), { ...MP4, expectedBytes: 1_000_001 }),
			'size_mismatch'
		);
		expect(err.message).toContain('got 1000000 bytes, expected 1000001');
		expect(err.path).toBe(PATH);
		expect(existsSync(storage.resolve(PATH))).toBe(false);
		expect(await listFiles(dir)).toEqual([]);
	});

	it('a body longer than expectedBytes fails early, stops reading the source and keeps the old object', async () => {
		await storage.put(PATH, Readable.from([Buffer.from('old video')]), { ...MP4, expectedBytes: 9 });
		let pulled = 0;
		const source = async function* () {
			for await (const chunk of pseudoRandomBytes(10_000_000, 'long', [100_000])) {
				pulled += chunk.byteLength;
				yield chunk;
			}
		};
		const err = await expectStorageError(storage.put(PATH, source(), { ...MP4, expectedBytes: 250_000 }), 'size_mismatch');
		expect(err.message).toContain('more than 250000 bytes arrived');
		// Stopped right after the chunk that crossed the limit (plus at most one read-ahead chunk).
		expect(pulled).toBeLessThanOrEqual(400_000);
		expect(await readFile(storage.resolve(PATH), 'utf8')).toBe('old video');
		expect(await listFiles(dir)).toEqual([nodePath.join(...PATH.split('/'))]);
	});

	it('an erroring source fails with io, names the cause and leaves nothing', async () => {
		const source = async function* () {
			yield Buffer.alloc(300_000, 1);
			yield Buffer.alloc(300_000, 2);
			throw new Error('upstream connection reset');
		};
		const err = await expectStorageError(storage.put(PATH, source(), MP4), 'io');
		expect(err.message).toContain('reading the source stream failed: upstream connection reset');
		expect(existsSync(storage.resolve(PATH))).toBe(false);
		expect(await listFiles(dir)).toEqual([]);
	});

	it('an erroring web ReadableStream fails with io and leaves nothing', async () => {
		let pulls = 0;
		const web = new ReadableStream<Uint8Array>({
			pull(controller) {
				pulls++;
				if (pulls <= 3) controller.enqueue(new Uint8Array(100_000).fill(pulls));
				else controller.error(new Error('HeyGen CDN hung up'));
			}
		});
		const err = await expectStorageError(storage.put(PATH, web, { ...MP4, expectedBytes: 1_000_000 }), 'io');
		expect(err.message).toContain('HeyGen CDN hung up');
		expect(await listFiles(dir)).toEqual([]);
	});

	it('aborting while the source is stalled fails with aborted, destroys the source and leaves nothing', async () => {
		const firstChunkRead = deferred();
		let reads = 0;
		const stalled = new Readable({
			read() {
				reads++;
				if (reads === 1) {
					this.push(Buffer.alloc(500_000, 7));
				} else {
					firstChunkRead.resolve(); // …and never push again: a stalled download
				}
			}
		});
		const controller = new AbortController();
		const put = storage.put(PATH, stalled, { ...MP4, expectedBytes: 2_000_000, signal: controller.signal });
		await firstChunkRead.promise;
		controller.abort(new Error('job cancelled'));
		const err = await expectStorageError(put, 'aborted');
		expect(err.path).toBe(PATH);
		expect(stalled.destroyed).toBe(true);
		expect(await listFiles(dir)).toEqual([]);
	});

	it('an already-aborted signal fails with aborted before touching the disk', async () => {
		const controller = new AbortController();
		controller.abort();
		await expectStorageError(storage.put(PATH, Readable.from([Buffer.from('x')]), { ...MP4, signal: controller.signal }), 'aborted');
		expect(await listFiles(dir)).toEqual([]);
	});

	it('a write error (target is a directory) fails with io and removes the temp file', async () => {
		await mkdir(storage.resolve('a/taken.mp4'), { recursive: true });
		const err = await expectStorageError(storage.put('a/taken.mp4', Readable.from([Buffer.from('abc')]), MP4), 'io');
		expect(err.message).toContain('writing "a/taken.mp4" failed');
		expect(await listFiles(dir)).toEqual([]);
	});
});

describe('local storage: concurrency', () => {
	it('concurrent puts to one path end with exactly one complete file and no partials', async () => {
		const total = 2 * 1024 * 1024 + 17;
		const seeds = ['w1', 'w2', 'w3', 'w4', 'w5'];
		const hashes = await Promise.all(seeds.map((seed) => expectedHash(total, seed)));
		const results = await Promise.all(
			seeds.map((seed) =>
				storage.put(PATH, Readable.from(pseudoRandomBytes(total, seed, [4096, 65_536, 3])), {
					...MP4,
					expectedBytes: total
				})
			)
		);
		expect(results.map((r) => r.bytes)).toEqual(seeds.map(() => total));
		const final = await sha256OfFile(storage.resolve(PATH));
		expect(final.bytes).toBe(total);
		expect(hashes.map((h) => h.hash)).toContain(final.hash);
		expect(await listFiles(dir)).toEqual([nodePath.join(...PATH.split('/'))]);
	});
});

describe('local storage: paths', () => {
	const bad: Array<[string, string]> = [
		['', 'empty'],
		['/etc/passwd', 'absolute'],
		['../escape.mp4', '".." segments'],
		['videos/../../escape.mp4', '".." segments'],
		['videos/./a.mp4', '"." segments'],
		['videos//a.mp4', 'empty path segment'],
		['videos/a/', 'empty path segment'],
		['videos\\a.mp4', 'backslash'],
		['videos/a\0.mp4', 'NUL'],
		['videos/.hidden.mp4', 'segments must start with a letter or digit'],
		['videos/a b.mp4', 'segments must start with a letter or digit'],
		['videos/%2e%2e/a.mp4', 'segments must start with a letter or digit'],
		['C:/videos/a.mp4', 'absolute'],
		[`videos/${'a'.repeat(256)}.mp4`, 'segment longer than 255'],
		[`${'a/'.repeat(520)}x.mp4`, 'longer than 1024']
	];

	it.each(bad)('put rejects %j with bad_path (%s) and writes nothing', async (path, reason) => {
		const err = await expectStorageError(storage.put(path, Readable.from([Buffer.from('x')]), MP4), 'bad_path');
		expect(err.message).toContain('invalid storage path');
		expect(err.message).toContain(reason);
		expect(await listFiles(dir)).toEqual([]);
	});

	it('destroys the body it was given when the path is rejected', async () => {
		const body = Readable.from([Buffer.from('x')]);
		await expectStorageError(storage.put('../x.mp4', body, MP4), 'bad_path');
		expect(body.destroyed).toBe(true);
	});

	it('names the offending path in the message', async () => {
		const err = await expectStorageError(storage.put('../x.mp4', Readable.from([]), MP4), 'bad_path');
		expect(err.message).toBe('invalid storage path "../x.mp4": ".." segments are not allowed');
		expect(err.path).toBe('../x.mp4');
	});

	it('url, remove and resolveLocalPath validate too', async () => {
		expect(() => storage.url('../x')).toThrow(StorageError);
		await expectStorageError(storage.remove('/abs'), 'bad_path');
		await expectStorageError(storage.remove('a/../../b'), 'bad_path');
		expect(() => resolveLocalPath(dir, 'a/../../etc/passwd')).toThrow(/invalid storage path/);
		expect(resolveLocalPath(dir, 'videos/b/c/j.mp4')).toBe(nodePath.join(nodePath.resolve(dir), 'videos', 'b', 'c', 'j.mp4'));
	});
});

describe('local storage: memory', () => {
	it('writes a lazily generated 300 MB stream with RSS growth under 100 MB', async () => {
		const total = 300 * 1024 * 1024;
		const baseline = process.memoryUsage().rss;
		let peak = baseline;
		const source = async function* () {
			let n = 0;
			// 64 KiB chunks, like an HTTP response body (1 MiB chunks leave ~70 MB of garbage between GCs).
			for await (const chunk of pseudoRandomBytes(total, 'big', [64 * 1024])) {
				if (++n % 64 === 0) peak = Math.max(peak, process.memoryUsage().rss);
				yield chunk;
			}
		};
		const stored = await storage.put('videos/big/big/big.mp4', Readable.from(source()), {
			...MP4,
			expectedBytes: total
		});
		peak = Math.max(peak, process.memoryUsage().rss);
		expect(stored.bytes).toBe(total);
		expect((await stat(storage.resolve('videos/big/big/big.mp4'))).size).toBe(total);
		const growthMb = (peak - baseline) / (1024 * 1024);
		expect(growthMb).toBeLessThan(100);
		expect(await listFiles(dir)).toEqual([nodePath.join('videos', 'big', 'big', 'big.mp4')]);
	}, 120_000);
});

describe('sweepPartials', () => {
	it('removes only .partial temp files older than the cutoff, recursively', async () => {
		const sub = nodePath.join(dir, 'videos', 'b', 'c');
		await mkdir(sub, { recursive: true });
		const old1 = nodePath.join(sub, '.job.mp4.0123456789abcdef.partial');
		const old2 = nodePath.join(dir, '.x.mp4.fedcba9876543210.partial');
		const fresh = nodePath.join(sub, '.job2.mp4.1111111111111111.partial');
		const oldVideo = nodePath.join(sub, 'job.mp4');
		const oldLookalike = nodePath.join(sub, 'notes.partial');
		for (const f of [old1, old2, fresh, oldVideo, oldLookalike]) await writeFile(f, 'x');
		const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
		for (const f of [old1, old2, oldVideo, oldLookalike]) await utimes(f, twoHoursAgo, twoHoursAgo);

		const removed = await sweepPartials(dir, 3600_000);
		expect(removed.sort()).toEqual([old1, old2].sort());
		expect(await listFiles(dir)).toEqual(
			[
				nodePath.join('videos', 'b', 'c', '.job2.mp4.1111111111111111.partial'),
				nodePath.join('videos', 'b', 'c', 'job.mp4'),
				nodePath.join('videos', 'b', 'c', 'notes.partial')
			].sort()
		);
	});

	it('returns nothing for a missing directory', async () => {
		expect(await sweepPartials(nodePath.join(dir, 'nope'), 0)).toEqual([]);
	});
});

describe('local storage: read (a stored source uploaded to HeyGen for a translation)', () => {
	it('returns what was stored, refuses a larger object and names a missing one', async () => {
		const bytes = Buffer.alloc(4096, 7);
		await storage.put(PATH, Readable.from([bytes]), MP4);
		expect(Buffer.from(await storage.read(PATH, 4096)).equals(bytes)).toBe(true);
		const big = await expectStorageError(storage.read(PATH, 4095), 'too_large');
		expect(big.message).toContain('4096 bytes, more than 4095');
		await expectStorageError(storage.read(PATH.replace('job-1', 'job-2'), 4096), 'not_found');
		await expectStorageError(storage.read('../etc/passwd', 4096), 'bad_path');
	});
});
