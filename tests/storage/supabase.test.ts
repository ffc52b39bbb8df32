import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import nodePath from 'node:path';
import { Readable } from 'node:stream';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createStorage, StorageError } from '../../storage/index.ts';
import { createSupabaseStorage, TUS_CHUNK_BYTES, type SupabaseVideoStorage } from '../../storage/supabase.ts';
import { startFakeStorage, type FakeStorageServer } from './fake-supabase-storage.ts';
import { deferred, expectedHash, pseudoRandomBytes, rejectionOf, sha256, webStream } from './helpers.ts';

const KEY = 'sb-service-role-KEY-d41d8cd98f00b204e9800998ecf8427e';
const PATH = 'videos/6f1c2a8e-0b7c-4b8e-9d51-3c1d2e4f5a6b/0a1b2c3d-1111-2222-3333-444455556666/job-1.mp4';
const OBJECT_KEY = `videos/${PATH}`; // bucket "videos" + path
const MP4 = { contentType: 'video/mp4' };
const MiB = 1024 * 1024;
const TUS = '/storage/v1/upload/resumable';

let server: FakeStorageServer;
let storage: SupabaseVideoStorage;
let spoolDir: string;

beforeEach(async () => {
	server = await startFakeStorage(KEY);
	spoolDir = await mkdtemp(nodePath.join(tmpdir(), 'storage-spool-'));
	storage = createSupabaseStorage({ url: server.url, serviceRoleKey: KEY, retryDelaysMs: [], tmpDir: spoolDir });
});

afterEach(async () => {
	await server.close();
	await rm(spoolDir, { recursive: true, force: true });
});

const methodsAndPaths = () => server.requests.map((r) => `${r.method} ${r.pathname.startsWith(`${TUS}/`) ? `${TUS}/<id>` : r.pathname}`);
const patches = () => server.requests.filter((r) => r.method === 'PATCH');

async function expectStorageError(promise: Promise<unknown>, code: StorageError['code']): Promise<StorageError> {
	const err = await rejectionOf(promise);
	expect(err).toBeInstanceOf(StorageError);
	expect((err as StorageError).code).toBe(code);
	return err as StorageError;
}

function expectNoKey(err: unknown): void {
	const e = err as Error;
	expect(e.message).not.toContain(KEY);
	expect(String(e.stack)).not.toContain(KEY);
	expect(inspect(e, { depth: 10, showHidden: true })).not.toContain(KEY);
	expect(JSON.stringify(e)).not.toContain(KEY);
}

describe('supabase storage: standard upload (≤ 6 MB)', () => {
	it('uploads a 1 MB body with one standard request, upsert, content type and exact bytes', async () => {
		const total = 1_000_000;
		const want = await expectedHash(total, 'small');
		const stored = await storage.put(PATH, Readable.from(pseudoRandomBytes(total, 'small')), {
			...MP4,
			expectedBytes: total
		});
		expect(stored).toEqual({
			path: PATH,
			bytes: total,
			url: `${server.url}/storage/v1/object/public/videos/${PATH}`
		});
		expect(methodsAndPaths()).toEqual([`POST /storage/v1/object/${OBJECT_KEY}`]);
		const req = server.requests[0]!;
		expect(req.headers['x-upsert']).toBe('true');
		expect(req.headers['content-type']).toBe('video/mp4');
		expect(req.headers.authorization).toBe(`Bearer ${KEY}`);
		expect(req.bodyBytes).toBe(total);
		const object = server.objects.get(OBJECT_KEY)!;
		expect(object.via).toBe('standard');
		expect(sha256(object.bytes)).toBe(want.hash);
	});

	it('overwrites an existing object (upsert)', async () => {
		await storage.put(PATH, Readable.from([Buffer.from('first')]), { ...MP4, expectedBytes: 5 });
		await storage.put(PATH, Readable.from([Buffer.from('second!')]), { ...MP4, expectedBytes: 7 });
		expect(server.objects.get(OBJECT_KEY)!.bytes.toString()).toBe('second!');
	});

	it('a small body of unknown length goes through the standard endpoint', async () => {
		const stored = await storage.put(PATH, pseudoRandomBytes(100_000, 'u'), MP4);
		expect(stored.bytes).toBe(100_000);
		expect(methodsAndPaths()).toEqual([`POST /storage/v1/object/${OBJECT_KEY}`]);
		expect(sha256(server.objects.get(OBJECT_KEY)!.bytes)).toBe((await expectedHash(100_000, 'u')).hash);
	});

	it('a size mismatch fails before anything is sent', async () => {
		const short = await expectStorageError(
			storage.put(PATH, Readable.from(pseudoRandomBytes(999_999)), { ...MP4, expectedBytes: 1_000_000 }),
			'size_mismatch'
		);
		expect(short.message).toContain('got 999999 bytes, expected 1000000');
		await expectStorageError(
			storage.put(PATH, Readable.from(pseudoRandomBytes(1_000_001)), { ...MP4, expectedBytes: 1_000_000 }),
			'size_mismatch'
		);
		expect(server.requests).toEqual([]);
		expect(server.objects.size).toBe(0);
	});

	it('a server error surfaces as upload_failed with the status and without the key', async () => {
		server.fault = (r) =>
			r.method === 'POST'
				? {
						status: 500,
						body: JSON.stringify({
							statusCode: '500',
							error: 'internal',
							message: `db exploded while checking Bearer ${KEY} (apikey ${KEY})`
						})
					}
				: undefined;
		const err = await expectStorageError(
			storage.put(PATH, Readable.from([Buffer.alloc(1000, 1)]), { ...MP4, expectedBytes: 1000 }),
			'upload_failed'
		);
		expect(err.status).toBe(500);
		expect(err.message).toContain('HTTP 500');
		expect(err.message).toContain('db exploded');
		expect(err.message).toContain('[redacted]');
		expectNoKey(err);
		expect(server.objects.size).toBe(0);
	});

	it('aborting while the server holds the request fails with aborted (signal reaches supabase-js fetch)', async () => {
		const arrived = deferred();
		const never = deferred();
		server.gate = async (r) => {
			if (r.method === 'POST') {
				arrived.resolve();
				await never.promise;
			}
		};
		const controller = new AbortController();
		const put = storage.put(PATH, Readable.from([Buffer.alloc(1000, 1)]), {
			...MP4,
			expectedBytes: 1000,
			signal: controller.signal
		});
		await arrived.promise;
		controller.abort(new Error('job cancelled'));
		const err = await expectStorageError(put, 'aborted');
		expect(err.message).toBe(`upload of ${JSON.stringify(PATH)} was aborted`);
		expect(server.objects.size).toBe(0);
	});

	it('a connection failure surfaces as upload_failed without the key', async () => {
		await server.close();
		const err = await expectStorageError(
			storage.put(PATH, Readable.from([Buffer.alloc(10, 1)]), { ...MP4, expectedBytes: 10 }),
			'upload_failed'
		);
		expectNoKey(err);
	});
});

describe('supabase storage: resumable (TUS) upload (> 6 MB)', () => {
	it('uploads 20 MiB as 6 MiB chunks (last one smaller) and the reassembled bytes are exact', async () => {
		const total = 20 * MiB;
		const want = await expectedHash(total, 'tus');
		const stored = await storage.put(PATH, Readable.from(pseudoRandomBytes(total, 'tus')), {
			...MP4,
			expectedBytes: total
		});
		expect(stored.bytes).toBe(total);
		expect(methodsAndPaths()).toEqual([`POST ${TUS}`, ...Array(4).fill(`PATCH ${TUS}/<id>`)]);

		const create = server.requests[0]!;
		expect(create.headers.authorization).toBe(`Bearer ${KEY}`);
		expect(create.headers['x-upsert']).toBe('true');
		expect(create.headers['tus-resumable']).toBe('1.0.0');
		expect(create.headers['upload-length']).toBe(String(total));

		const [upload] = [...server.uploads.values()];
		expect(upload!.metadata).toEqual({
			bucketName: 'videos',
			objectName: PATH,
			contentType: 'video/mp4',
			cacheControl: '3600'
		});
		expect(TUS_CHUNK_BYTES).toBe(6 * MiB);
		expect(upload!.patches).toEqual([
			{ offset: 0, bytes: 6 * MiB },
			{ offset: 6 * MiB, bytes: 6 * MiB },
			{ offset: 12 * MiB, bytes: 6 * MiB },
			{ offset: 18 * MiB, bytes: 2 * MiB }
		]);
		for (const p of patches()) {
			expect(p.headers['content-type']).toBe('application/offset+octet-stream');
			expect(p.headers['tus-resumable']).toBe('1.0.0');
		}
		expect(patches().map((p) => p.headers['upload-offset'])).toEqual(['0', `${6 * MiB}`, `${12 * MiB}`, `${18 * MiB}`]);
		const object = server.objects.get(OBJECT_KEY)!;
		expect(object.via).toBe('tus');
		expect(object.contentType).toBe('video/mp4');
		expect(object.bytes.byteLength).toBe(total);
		expect(sha256(object.bytes)).toBe(want.hash);
	});

	it('overwrites an existing object through TUS: x-upsert on every request, new bytes stored', async () => {
		server.objects.set(OBJECT_KEY, { bytes: Buffer.from('old'), contentType: 'video/mp4', via: 'standard' });
		const total = 13 * MiB;
		await storage.put(PATH, Readable.from(pseudoRandomBytes(total, 'again')), { ...MP4, expectedBytes: total });
		const object = server.objects.get(OBJECT_KEY)!;
		expect(object.via).toBe('tus');
		expect(sha256(object.bytes)).toBe((await expectedHash(total, 'again')).hash);
		expect(server.requests.length).toBeGreaterThan(1);
		for (const r of server.requests) expect(r.headers['x-upsert'], `${r.method} ${r.pathname}`).toBe('true');
	});

	it('the fake refuses a TUS write to an existing object without x-upsert, like the real server', async () => {
		server.objects.set(OBJECT_KEY, { bytes: Buffer.from('old'), contentType: 'video/mp4', via: 'standard' });
		const res = await fetch(`${server.url}${TUS}`, {
			method: 'POST',
			headers: {
				authorization: `Bearer ${KEY}`,
				'tus-resumable': '1.0.0',
				'upload-length': '10',
				'upload-metadata': `bucketName ${Buffer.from('videos').toString('base64')},objectName ${Buffer.from(PATH).toString('base64')}`
			}
		});
		expect(res.status).toBe(409);
		expect(await res.text()).toContain('The resource already exists');
		expect(server.objects.get(OBJECT_KEY)!.bytes.toString()).toBe('old');
	});

	it('an exact multiple of 6 MiB ends with a full chunk', async () => {
		const total = 12 * MiB;
		await storage.put(PATH, pseudoRandomBytes(total, 'even'), { ...MP4, expectedBytes: total });
		expect([...server.uploads.values()][0]!.patches.map((p) => p.bytes)).toEqual([6 * MiB, 6 * MiB]);
		expect(sha256(server.objects.get(OBJECT_KEY)!.bytes)).toBe((await expectedHash(total, 'even')).hash);
	});

	it('a body of unknown length above 6 MB is spooled to disk, then sent via TUS with its exact length', async () => {
		const total = 13 * MiB + 3;
		const stored = await storage.put(PATH, webStream(pseudoRandomBytes(total, 'spool')), MP4);
		expect(stored.bytes).toBe(total);
		expect(server.requests[0]!.headers['upload-length']).toBe(String(total));
		expect([...server.uploads.values()][0]!.patches.map((p) => p.bytes)).toEqual([6 * MiB, 6 * MiB, MiB + 3]);
		expect(sha256(server.objects.get(OBJECT_KEY)!.bytes)).toBe((await expectedHash(total, 'spool')).hash);
		expect(await readdir(spoolDir)).toEqual([]);
	});

	it('a short body never completes the upload: size_mismatch, upload terminated, old object kept', async () => {
		server.objects.set(OBJECT_KEY, { bytes: Buffer.from('old'), contentType: 'video/mp4', via: 'standard' });
		const total = 20 * MiB;
		const err = await expectStorageError(
			storage.put(PATH, Readable.from(pseudoRandomBytes(total - 5)), { ...MP4, expectedBytes: total }),
			'size_mismatch'
		);
		expect(err.message).toContain(`got ${total - 5} bytes, expected ${total}`);
		const [upload] = [...server.uploads.values()];
		expect(upload!.completed).toBe(false);
		expect(upload!.terminated).toBe(true);
		expect(upload!.offset).toBeLessThanOrEqual(18 * MiB); // the incomplete last chunk was never sent
		expect(server.objects.get(OBJECT_KEY)!.bytes.toString()).toBe('old');
	});

	it('a long body is cut off before the final chunk: size_mismatch, nothing stored', async () => {
		const total = 20 * MiB;
		const err = await expectStorageError(
			storage.put(PATH, Readable.from(pseudoRandomBytes(total + 1)), { ...MP4, expectedBytes: total }),
			'size_mismatch'
		);
		expect(err.message).toContain(`more than ${total} bytes arrived`);
		const [upload] = [...server.uploads.values()];
		expect(upload!.completed).toBe(false);
		expect(upload!.terminated).toBe(true);
		expect(server.objects.has(OBJECT_KEY)).toBe(false);
	});

	it('a PATCH rejected by the server surfaces as upload_failed, without retry or the key, and terminates', async () => {
		server.fault = (r) =>
			r.method === 'PATCH' && patches().length === 2
				? { status: 403, body: JSON.stringify({ message: `row-level security for token ${KEY}` }) }
				: undefined;
		const err = await expectStorageError(
			storage.put(PATH, Readable.from(pseudoRandomBytes(20 * MiB)), { ...MP4, expectedBytes: 20 * MiB }),
			'upload_failed'
		);
		expect(err.status).toBe(403);
		expect(err.message).toContain('PATCH failed with HTTP 403');
		expect(err.message).toContain('row-level security');
		expectNoKey(err);
		expect(patches()).toHaveLength(2);
		expect(methodsAndPaths().at(-1)).toBe(`DELETE ${TUS}/<id>`);
		expect(server.objects.size).toBe(0);
	});

	it('a failing create (5xx) surfaces as upload_failed after the configured retries', async () => {
		const retrying = createSupabaseStorage({ url: server.url, serviceRoleKey: KEY, retryDelaysMs: [0, 0] });
		server.fault = (r) => (r.method === 'POST' ? { status: 503, body: `overloaded; caller Bearer ${KEY}` } : undefined);
		const err = await expectStorageError(
			retrying.put(PATH, Readable.from(pseudoRandomBytes(7 * MiB)), { ...MP4, expectedBytes: 7 * MiB }),
			'upload_failed'
		);
		expect(err.status).toBe(503);
		expect(err.message).toContain('create (POST) failed with HTTP 503');
		expectNoKey(err);
		expect(methodsAndPaths()).toEqual([`POST ${TUS}`, `POST ${TUS}`, `POST ${TUS}`]);
	});

	it('resumes after a half-received chunk: HEAD for the offset, resend the rest, exact bytes', async () => {
		const retrying = createSupabaseStorage({ url: server.url, serviceRoleKey: KEY, retryDelaysMs: [0] });
		let faulted = false;
		server.fault = (r) => {
			if (r.method === 'PATCH' && !faulted && patches().length === 2) {
				faulted = true;
				return { partialPatch: { keepBytes: MiB, status: 502 } };
			}
			return undefined;
		};
		const total = 20 * MiB;
		await retrying.put(PATH, Readable.from(pseudoRandomBytes(total, 'resume')), { ...MP4, expectedBytes: total });
		expect(methodsAndPaths()).toEqual([
			`POST ${TUS}`,
			`PATCH ${TUS}/<id>`,
			`PATCH ${TUS}/<id>`,
			`HEAD ${TUS}/<id>`,
			`PATCH ${TUS}/<id>`,
			`PATCH ${TUS}/<id>`,
			`PATCH ${TUS}/<id>`
		]);
		expect([...server.uploads.values()][0]!.patches).toEqual([
			{ offset: 0, bytes: 6 * MiB },
			{ offset: 6 * MiB, bytes: MiB },
			{ offset: 7 * MiB, bytes: 6 * MiB },
			{ offset: 13 * MiB, bytes: 6 * MiB },
			{ offset: 19 * MiB, bytes: MiB }
		]);
		expect(sha256(server.objects.get(OBJECT_KEY)!.bytes)).toBe((await expectedHash(total, 'resume')).hash);
	});

	it('destroys the source body when the upload fails before reading it', async () => {
		server.fault = (r) => (r.method === 'POST' ? { status: 500, body: 'down' } : undefined);
		const body = Readable.from(pseudoRandomBytes(7 * MiB));
		await expectStorageError(storage.put(PATH, body, { ...MP4, expectedBytes: 7 * MiB }), 'upload_failed');
		expect(body.destroyed).toBe(true);
	});

	it('refuses an upload Location on another origin (the key never leaves the Storage host)', async () => {
		server.locationOrigin = 'http://203.0.113.7:9';
		const err = await expectStorageError(
			storage.put(PATH, Readable.from(pseudoRandomBytes(7 * MiB)), { ...MP4, expectedBytes: 7 * MiB }),
			'upload_failed'
		);
		expect(err.message).toContain('upload location is on http://203.0.113.7:9');
		expect(methodsAndPaths()).toEqual([`POST ${TUS}`]);
	});

	it('aborting mid-upload fails with aborted, stops sending and terminates the upload', async () => {
		const firstPatch = deferred();
		server.onPatch = () => firstPatch.resolve();
		const controller = new AbortController();
		let pulled = 0;
		const source = async function* () {
			for await (const chunk of pseudoRandomBytes(40 * MiB, 'abort', [MiB])) {
				pulled += chunk.byteLength;
				yield chunk;
			}
		};
		const put = storage.put(PATH, source(), { ...MP4, expectedBytes: 40 * MiB, signal: controller.signal });
		await firstPatch.promise;
		controller.abort(new Error('job cancelled'));
		const err = await expectStorageError(put, 'aborted');
		expect(err.path).toBe(PATH);
		const [upload] = [...server.uploads.values()];
		expect(upload!.completed).toBe(false);
		expect(upload!.terminated).toBe(true);
		expect(pulled).toBeLessThan(40 * MiB);
		expect(server.objects.size).toBe(0);
	});
});

describe('supabase storage: other operations', () => {
	it('url, remove and signedUrl', async () => {
		expect(storage.url(PATH)).toBe(`${server.url}/storage/v1/object/public/videos/${PATH}`);
		expect(server.objects.has(OBJECT_KEY)).toBe(false);
		await storage.put(PATH, Readable.from([Buffer.from('abc')]), { ...MP4, expectedBytes: 3 });
		expect(server.objects.has(OBJECT_KEY)).toBe(true);
		expect(await storage.signedUrl(PATH, 600)).toBe(`${server.url}/storage/v1/object/sign/${OBJECT_KEY}?token=tok-600`);
		await storage.remove(PATH);
		expect(server.objects.has(OBJECT_KEY)).toBe(false);
		expect(server.objects.size).toBe(0);
	});

	it('read returns the object, refuses a larger one and names a missing one, without the key', async () => {
		await storage.put(PATH, Readable.from([Buffer.from('abcdef')]), { ...MP4, expectedBytes: 6 });
		expect(Buffer.from(await storage.read(PATH, 6)).toString()).toBe('abcdef');
		expectNoKey(await expectStorageError(storage.read(PATH, 5), 'too_large'));
		expectNoKey(await expectStorageError(storage.read('videos/none.mp4', 6), 'not_found'));
		await storage.remove(PATH);
	});

	it('signedUrl of a missing object fails with io and no key', async () => {
		const err = await expectStorageError(storage.signedUrl('videos/none.mp4', 60), 'io');
		expect(err.message).toContain('Object not found');
		expectNoKey(err);
	});

	it('rejects bad paths with bad_path before any request', async () => {
		for (const bad of ['/abs.mp4', '../x.mp4', 'a//b.mp4', 'a\\b.mp4', 'a/\0.mp4']) {
			const err = await expectStorageError(storage.put(bad, Readable.from([Buffer.from('x')]), MP4), 'bad_path');
			expect(err.message).toContain(`invalid storage path ${JSON.stringify(bad)}`);
		}
		await expectStorageError(storage.remove('../x'), 'bad_path');
		expect(() => storage.url('../x')).toThrow(StorageError);
		expect(server.requests).toEqual([]);
	});

	it('createStorage builds the supabase adapter with the bucket from config', async () => {
		const s = await createStorage({ kind: 'supabase', url: `${server.url}/`, serviceRoleKey: KEY, bucket: 'media' });
		expect(s.kind).toBe('supabase');
		expect(s.bucket).toBe('media');
		expect(s.url('a/b.mp4')).toBe(`${server.url}/storage/v1/object/public/media/a/b.mp4`);
	});

	it('wrong credentials surface as upload_failed without echoing any key', async () => {
		const wrong = createSupabaseStorage({ url: server.url, serviceRoleKey: 'wrong-key-0123456789', retryDelaysMs: [] });
		const err = await expectStorageError(
			wrong.put(PATH, Readable.from([Buffer.from('abc')]), { ...MP4, expectedBytes: 3 }),
			'upload_failed'
		);
		expect(err.message).toContain('invalid signature');
		expect(err.message).not.toContain('wrong-key-0123456789');
	});
});
