// Request and reply helpers shared by the simulator's routes.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DOC_URL, type SimEndpoint } from './types.ts';

export function loadAsset(name: string): Buffer {
	return readFileSync(new URL(`./${name}`, import.meta.url));
}

export class HttpFail {
	status: number;
	body: unknown;
	headers: Record<string, string>;
	constructor(status: number, body: unknown, headers: Record<string, string> = {}) {
		this.status = status;
		this.body = body;
		this.headers = headers;
	}
}

export function apiError(code: string, message: string, param?: string): { error: Record<string, string> } {
	return { error: { code, message, ...(param && { param }), doc_url: DOC_URL } };
}

export function s3Error(code: string, message: string): string {
	return `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${randomBytes(8).toString('hex').toUpperCase()}</RequestId></Error>\n`;
}

export function endpointOf(method: string, path: string): SimEndpoint | null {
	if (method === 'POST' && path === '/v3/videos') return 'generate';
	if (method === 'GET' && path === '/v3/videos/statuses') return 'statuses';
	if (method === 'GET' && /^\/v3\/videos\/[^/]+$/.test(path)) return 'status';
	if (method === 'GET' && path === '/v3/avatars/looks') return 'avatars';
	if (method === 'GET' && path === '/v3/voices') return 'voices';
	if (method === 'GET' && path === '/v3/users/me') return 'account';
	if (method === 'POST' && path === '/v3/video-translations/batches') return 'translate';
	if (method === 'GET' && /^\/v3\/video-translations\/batches\/[^/]+$/.test(path)) return 'translationBatch';
	if (method === 'GET' && path === '/v3/video-translations/statuses') return 'translationStatuses';
	if (method === 'GET' && path === '/v3/video-translations/languages') return 'languages';
	if (method === 'GET' && path === '/v3/video-translations') return 'translationList';
	if (method === 'GET' && /^\/v3\/video-translations\/[^/]+$/.test(path)) return 'translation';
	if (method === 'POST' && path === '/v3/assets') return 'assets';
	if ((method === 'GET' || method === 'HEAD') && path.startsWith('/files/')) return 'files';
	if (/^\/v[12]\//.test(path)) return 'retired';
	return null;
}

export function isObj(v: unknown): v is Record<string, unknown> {
	return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function readBody(req: IncomingMessage, limit = 2 * 1024 * 1024): Promise<string> {
	return new Promise((resolve, reject) => {
		const chunks: Buffer[] = [];
		let size = 0;
		req.on('data', (c: Buffer) => {
			size += c.length;
			if (size > limit) {
				reject(new HttpFail(413, apiError('payload_too_large', 'Request body too large')));
				req.destroy();
				return;
			}
			chunks.push(c);
		});
		req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
		req.on('error', reject);
	});
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
	const text = JSON.stringify(body);
	res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
	res.end(text);
}
