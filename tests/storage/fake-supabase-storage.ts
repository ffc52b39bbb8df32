import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small fake of the Supabase Storage HTTP API, just what the adapter uses:
 * - standard upload `POST|PUT /storage/v1/object/<bucket>/<path>` (honours `x-upsert`),
 * - TUS `POST /storage/v1/upload/resumable`, `PATCH|HEAD|DELETE /storage/v1/upload/resumable/<id>`;
 *   like the real server, every TUS request to an object that already exists is refused with 409
 *   "The resource already exists" unless it carries `x-upsert: true` (the server reads the header
 *   on each request, not only on the POST that created the upload),
 * - `GET /storage/v1/object/info/<bucket>/<path>`, `DELETE /storage/v1/object/<bucket>`,
 *   `POST /storage/v1/object/sign/<bucket>/<path>`.
 * Every request is recorded; `fault` can answer any request instead of the normal handler.
 */

export interface RecordedRequest {
	n: number;
	method: string;
	pathname: string;
	headers: Record<string, string | string[] | undefined>;
	bodyBytes: number;
}

export interface TusUpload {
	id: string;
	length: number;
	offset: number;
	metadata: Record<string, string>;
	upsert: boolean;
	parts: Buffer[];
	/** `{offset, bytes}` of every accepted PATCH, in order. */
	patches: Array<{ offset: number; bytes: number }>;
	terminated: boolean;
	completed: boolean;
}

export interface StoredFakeObject {
	bytes: Buffer;
	contentType: string | undefined;
	via: 'standard' | 'tus';
}

export type FaultReply =
	| { status: number; body?: string; headers?: Record<string, string> }
	/** Store the first `keepBytes` bytes of this PATCH, then answer `status` (a half-received chunk). */
	| { partialPatch: { keepBytes: number; status: number } }
	| undefined;

export interface FakeStorageServer {
	url: string;
	key: string;
	requests: RecordedRequest[];
	objects: Map<string, StoredFakeObject>;
	uploads: Map<string, TusUpload>;
	/** Return a reply to override the normal handling of a request (called before the body is read). */
	fault: ((req: RecordedRequest) => FaultReply) | undefined;
	/** Location origin override for TUS create (to test the origin guard). */
	locationOrigin: string | undefined;
	/** Awaited before a request is handled (e.g. to hold a request open). */
	gate: ((req: RecordedRequest) => Promise<void>) | undefined;
	/** Called after each accepted PATCH. */
	onPatch: ((upload: TusUpload) => void) | undefined;
	close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
	const parts: Buffer[] = [];
	for await (const chunk of req) parts.push(chunk as Buffer);
	return Buffer.concat(parts);
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
	res.writeHead(status, { 'content-type': 'application/json', ...headers });
	res.end(JSON.stringify(body));
}

function parseMetadata(header: string | undefined): Record<string, string> {
	const out: Record<string, string> = {};
	for (const pair of (header ?? '').split(',')) {
		const [k, v] = pair.trim().split(' ');
		if (k) out[k] = Buffer.from(v ?? '', 'base64').toString('utf8');
	}
	return out;
}

export async function startFakeStorage(key: string): Promise<FakeStorageServer> {
	let n = 0;
	const state: FakeStorageServer = {
		url: '',
		key,
		requests: [],
		objects: new Map(),
		uploads: new Map(),
		fault: undefined,
		locationOrigin: undefined,
		gate: undefined,
		onPatch: undefined,
		close: async () => {}
	};

	const authorized = (req: IncomingMessage) => req.headers.authorization === `Bearer ${key}`;

	async function handle(req: IncomingMessage, res: ServerResponse, record: RecordedRequest): Promise<void> {
		const method = req.method ?? 'GET';
		const pathname = record.pathname;
		const tusBase = '/storage/v1/upload/resumable';

		if (!authorized(req)) {
			await readBody(req);
			return json(res, 400, { statusCode: '403', error: 'Unauthorized', message: 'invalid signature' });
		}

		await state.gate?.(record);
		const fault = state.fault?.(record);
		if (fault && 'status' in fault) {
			const body = await readBody(req);
			record.bodyBytes = body.byteLength;
			res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
			res.end(fault.body ?? '');
			return;
		}

		// ---- TUS ----
		const exists409 = async (objectKey: string): Promise<boolean> => {
			if (!state.objects.has(objectKey) || req.headers['x-upsert'] === 'true') return false;
			record.bodyBytes = (await readBody(req)).byteLength;
			json(res, 409, { statusCode: '409', error: 'Duplicate', message: 'The resource already exists' });
			return true;
		};
		if (pathname === tusBase && method === 'POST') {
			const created = parseMetadata(req.headers['upload-metadata'] as string | undefined);
			if (await exists409(`${created.bucketName}/${created.objectName}`)) return;
			await readBody(req);
			if (req.headers['tus-resumable'] !== '1.0.0') return json(res, 412, { message: 'tus-resumable required' });
			const length = Number(req.headers['upload-length']);
			if (!Number.isSafeInteger(length)) return json(res, 400, { message: 'upload-length required' });
			const metadata = parseMetadata(req.headers['upload-metadata'] as string | undefined);
			const id = Buffer.from(`${metadata.bucketName}/${metadata.objectName}/${randomUUID()}`).toString('base64url');
			state.uploads.set(id, {
				id,
				length,
				offset: 0,
				metadata,
				upsert: req.headers['x-upsert'] === 'true',
				parts: [],
				patches: [],
				terminated: false,
				completed: false
			});
			res.writeHead(201, {
				location: `${state.locationOrigin ?? state.url}${tusBase}/${id}`,
				'tus-resumable': '1.0.0'
			});
			res.end();
			return;
		}
		if (pathname.startsWith(`${tusBase}/`)) {
			const upload = state.uploads.get(pathname.slice(tusBase.length + 1));
			if (!upload || upload.terminated) {
				await readBody(req);
				return json(res, 404, { message: 'upload not found' });
			}
			if (await exists409(`${upload.metadata.bucketName}/${upload.metadata.objectName}`)) return;
			if (method === 'HEAD') {
				res.writeHead(200, {
					'upload-offset': String(upload.offset),
					'upload-length': String(upload.length),
					'cache-control': 'no-store',
					'tus-resumable': '1.0.0'
				});
				res.end();
				return;
			}
			if (method === 'DELETE') {
				await readBody(req);
				upload.terminated = true;
				res.writeHead(204, { 'tus-resumable': '1.0.0' });
				res.end();
				return;
			}
			if (method === 'PATCH') {
				const body = await readBody(req);
				record.bodyBytes = body.byteLength;
				if (req.headers['content-type'] !== 'application/offset+octet-stream') {
					return json(res, 415, { message: 'bad content-type' });
				}
				if (Number(req.headers['upload-offset']) !== upload.offset) {
					return json(res, 409, { message: `offset mismatch: server at ${upload.offset}` });
				}
				if (upload.offset + body.byteLength > upload.length) return json(res, 413, { message: 'beyond upload length' });
				let accepted = body;
				if (fault && 'partialPatch' in fault) accepted = body.subarray(0, fault.partialPatch.keepBytes);
				upload.parts.push(Buffer.from(accepted));
				upload.patches.push({ offset: upload.offset, bytes: accepted.byteLength });
				upload.offset += accepted.byteLength;
				if (upload.offset === upload.length) {
					upload.completed = true;
					const objectKey = `${upload.metadata.bucketName}/${upload.metadata.objectName}`;
					state.objects.set(objectKey, {
						bytes: Buffer.concat(upload.parts),
						contentType: upload.metadata.contentType,
						via: 'tus'
					});
				}
				state.onPatch?.(upload);
				if (fault && 'partialPatch' in fault) return json(res, fault.partialPatch.status, { message: 'connection lost' });
				res.writeHead(204, { 'upload-offset': String(upload.offset), 'tus-resumable': '1.0.0' });
				res.end();
				return;
			}
		}

		// ---- standard object API ----
		const infoPrefix = '/storage/v1/object/info/';
		if (method === 'GET' && pathname.startsWith(infoPrefix)) {
			const objectKey = decodeURIComponent(pathname.slice(infoPrefix.length));
			const object = state.objects.get(objectKey);
			if (!object) return json(res, 400, { statusCode: '404', code: 'NoSuchKey', error: 'not_found', message: 'Object not found' });
			return json(res, 200, { id: randomUUID(), name: objectKey, size: object.bytes.byteLength });
		}
		const signPrefix = '/storage/v1/object/sign/';
		if (method === 'POST' && pathname.startsWith(signPrefix)) {
			const body = JSON.parse((await readBody(req)).toString('utf8')) as { expiresIn: number };
			const objectKey = decodeURIComponent(pathname.slice(signPrefix.length));
			if (!state.objects.has(objectKey)) {
				return json(res, 400, { statusCode: '404', code: 'NoSuchKey', error: 'not_found', message: 'Object not found' });
			}
			return json(res, 200, { signedURL: `/object/sign/${objectKey}?token=tok-${body.expiresIn}` });
		}
		const objectPrefix = '/storage/v1/object/';
		if (pathname.startsWith(objectPrefix)) {
			const rest = decodeURIComponent(pathname.slice(objectPrefix.length));
			if (method === 'DELETE' && !rest.includes('/')) {
				const body = JSON.parse((await readBody(req)).toString('utf8')) as { prefixes: string[] };
				const removed = [];
				for (const p of body.prefixes) if (state.objects.delete(`${rest}/${p}`)) removed.push({ name: p });
				return json(res, 200, removed);
			}
			// Authenticated download (supabase-js `download`).
			if (method === 'GET') {
				const object = state.objects.get(rest);
				if (!object) return json(res, 400, { statusCode: '404', code: 'NoSuchKey', error: 'not_found', message: 'Object not found' });
				res.writeHead(200, { 'content-type': object.contentType ?? 'application/octet-stream', 'content-length': object.bytes.byteLength });
				res.end(object.bytes);
				return;
			}
			if (method === 'POST' || method === 'PUT') {
				const body = await readBody(req);
				record.bodyBytes = body.byteLength;
				if (state.objects.has(rest) && method === 'POST' && req.headers['x-upsert'] !== 'true') {
					return json(res, 400, { statusCode: '409', error: 'Duplicate', message: 'The resource already exists' });
				}
				state.objects.set(rest, {
					bytes: body,
					contentType: req.headers['content-type'] as string | undefined,
					via: 'standard'
				});
				return json(res, 200, { Key: rest, Id: randomUUID() });
			}
		}
		await readBody(req);
		json(res, 404, { message: `no route for ${method} ${pathname}` });
	}

	const server = createServer((req, res) => {
		const record: RecordedRequest = {
			n: ++n,
			method: req.method ?? 'GET',
			pathname: new URL(req.url ?? '/', 'http://x').pathname,
			headers: { ...req.headers },
			bodyBytes: 0
		};
		state.requests.push(record);
		handle(req, res, record).catch((err: unknown) => {
			if (!res.headersSent) json(res, 500, { message: String(err) });
			else res.destroy();
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	state.url = `http://127.0.0.1:${port}`;
	state.close = () =>
		new Promise<void>((resolve) => {
			server.closeAllConnections();
			server.close(() => resolve());
		});
	return state;
}
