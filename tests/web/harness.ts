/**
 * Starts the built web app in this test process against a test database, the HeyGen simulator and
 * (optionally) the worker, the way `npm start` runs it: build/handler.js served by node:http on
 * 127.0.0.1 with a random port. Plus a small HTTP client with a cookie jar that talks to form
 * actions the way the browser does (same Origin, `use:enhance` JSON results).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import * as devalue from 'devalue';
import { loadConfig } from '../../config/index.ts';
import { ensureBuilt, serveWeb } from '../../scripts/app.ts';
import { startHeyGenSimulator, type HeyGenSimulator, type HeyGenSimulatorOptions } from '../../heygen/simulator/server.ts';
import type { PipelineSettings } from '../../worker/context.ts';
import { vaultEnv, type TestDatabase } from '../helpers/db.ts';
import { FAST_SETTINGS, startPipeline, type Pipeline } from '../helpers/pipeline.ts';

export interface TestApp {
	url: string;
	sim: HeyGenSimulator;
	pipeline: Pipeline | null;
	storageDir: string;
	dataDir: string;
	server: Server;
	/** Log lines the app wrote (pino JSON), for secret scanning. */
	logs: string[];
	stop(): Promise<void>;
}

export async function startTestApp(
	db: TestDatabase,
	opts: {
		renderMs?: number;
		worker?: boolean;
		env?: Record<string, string>;
		sim?: HeyGenSimulatorOptions;
		settings?: Partial<PipelineSettings>;
	} = {}
): Promise<TestApp> {
	// Built once for the whole run by tests/setup/global-postgres.ts; this only checks it is current.
	await ensureBuilt();
	const sim = await startHeyGenSimulator({ renderMs: opts.renderMs ?? 300, ...opts.sim });
	const pipeline =
		opts.worker === false
			? null
			: await startPipeline(db, { sim, ...(opts.settings && { worker: { settings: { ...FAST_SETTINGS, ...opts.settings } } }) });
	const storageDir = pipeline?.storageDir ?? mkdtempSync(path.join(tmpdir(), 'hvj-web-videos-'));
	const dataDir = mkdtempSync(path.join(tmpdir(), 'hvj-web-data-'));
	// Parsed like npm start does and handed to the app as a value (scripts/app.ts).
	const config = loadConfig({
		...process.env,
		DATABASE_URL: db.url,
		HEYGEN_API_URL: sim.url,
		HEYGEN_TIMEOUT_MS: '2000',
		STORAGE_DIR: storageDir,
		DATA_DIR: dataDir,
		LOG_LEVEL: 'info',
		...vaultEnv(),
		...opts.env
	});
	// Capture the app's log lines (see web/lib/server/log.ts) for the "key never logged" checks.
	const logs: string[] = [];
	(globalThis as Record<symbol, unknown>)[Symbol.for('heygen-video-jobs.web.logDestination')] = new Writable({
		write(chunk, _enc, cb) {
			logs.push(String(chunk));
			cb();
		}
	});

	// Served as `npm start` serves it (scripts/app.ts), on a random port of 127.0.0.1.
	const web = await serveWeb({ ...config, HOST: '127.0.0.1', PORT: 0 });
	const { url, server } = web;
	return {
		url,
		sim,
		pipeline,
		storageDir,
		dataDir,
		server,
		logs,
		async stop() {
			await web.close();
			await pipeline?.stop();
			if (!pipeline) rmSync(storageDir, { recursive: true, force: true });
			await sim.close();
			rmSync(dataDir, { recursive: true, force: true });
		}
	};
}

export interface ActionResult {
	type: 'success' | 'failure' | 'redirect' | 'error';
	status: number;
	location?: string;
	data?: any;
	error?: any;
}

/** A browser-like HTTP client: cookie jar, same-origin form posts. */
export class Client {
	readonly base: string;
	readonly cookies = new Map<string, string>();

	constructor(base: string) {
		this.base = base;
	}

	cookieHeader(): string {
		return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
	}

	#store(res: Response): void {
		for (const line of res.headers.getSetCookie()) {
			const [pair, ...attrs] = line.split(';');
			const i = pair!.indexOf('=');
			const name = pair!.slice(0, i).trim();
			const value = pair!.slice(i + 1).trim();
			const expired = attrs.some((a) => /^\s*max-age=0\s*$/i.test(a)) || value === '';
			if (expired) this.cookies.delete(name);
			else this.cookies.set(name, value);
		}
	}

	async fetch(p: string, init: RequestInit = {}): Promise<Response> {
		const headers = new Headers(init.headers);
		if (this.cookies.size) headers.set('cookie', this.cookieHeader());
		const res = await fetch(new URL(p, this.base), { redirect: 'manual', ...init, headers });
		this.#store(res);
		return res;
	}

	async get(p: string, headers: Record<string, string> = {}): Promise<Response> {
		return this.fetch(p, { headers: { accept: 'text/html', ...headers } });
	}

	async html(p: string): Promise<{ status: number; text: string; res: Response }> {
		const res = await this.get(p);
		return { status: res.status, text: await res.text(), res };
	}

	/** A form action as `use:enhance` sends it: returns SvelteKit's ActionResult. Pairs for a field that repeats. */
	async action(
		p: string,
		fields: Record<string, string> | [string, string][],
		headers: Record<string, string> = {}
	): Promise<ActionResult> {
		const res = await this.fetch(p, {
			method: 'POST',
			headers: {
				origin: this.base,
				accept: 'application/json',
				'x-sveltekit-action': 'true',
				'content-type': 'application/x-www-form-urlencoded',
				...headers
			},
			body: new URLSearchParams(fields).toString()
		});
		const text = await res.text();
		let json: any;
		try {
			json = JSON.parse(text);
		} catch {
			return { type: 'error', status: res.status, error: text };
		}
		const data = typeof json.data === 'string' ? devalue.parse(json.data) : json.data;
		return { type: json.type, status: json.status ?? res.status, location: json.location, data, error: json.error };
	}

	/** A plain (no JavaScript) form post: the raw response. */
	async post(p: string, fields: Record<string, string> | [string, string][], headers: Record<string, string> = {}): Promise<Response> {
		return this.fetch(p, {
			method: 'POST',
			headers: { origin: this.base, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', ...headers },
			body: new URLSearchParams(fields).toString()
		});
	}
}

let seq = 0;

/** Signs up a fresh user and logs in; the client holds its session. */
export async function signUp(app: { url: string }, name = 'Test User'): Promise<{ client: Client; email: string; password: string }> {
	const client = new Client(app.url);
	const email = `user${Date.now().toString(36)}${seq++}@example.com`;
	const password = 'correct horse battery';
	const r = await client.action('/signup', { name, email, password });
	if (r.type !== 'redirect') throw new Error(`sign-up failed: ${JSON.stringify(r)}`);
	// Sign-up never signs in (it answers a taken email like a new one): log in as a person would.
	const login = await client.action('/login', { email, password });
	if (login.type !== 'redirect') throw new Error(`log-in after sign-up failed: ${JSON.stringify(login)}`);
	return { client, email, password };
}

export async function createBusiness(client: Client, name = 'Acme Videos'): Promise<string> {
	const r = await client.action('/b?/create', { name });
	if (r.type !== 'redirect' || !r.location) throw new Error(`create business failed: ${JSON.stringify(r)}`);
	return r.location.split('/')[2]!;
}

export async function createContent(
	client: Client,
	businessId: string,
	body = 'Hello! This is our weekly update.',
	title = 'Weekly update'
): Promise<string> {
	const r = await client.action(`/b/${businessId}/content/new`, { title, body });
	if (r.type !== 'redirect' || !r.location) throw new Error(`create content failed: ${JSON.stringify(r)}`);
	return r.location.split('/')[4]!;
}

/** Key (checked against the simulator), avatar and voice, as a person would save them. */
export async function configureHeyGen(client: Client, businessId: string, key = 'sim-test-key'): Promise<void> {
	const k = await client.action(`/b/${businessId}/settings?/saveKey`, { apiKey: key });
	if (k.type !== 'success') throw new Error(`save key failed: ${JSON.stringify(k)}`);
	const v = await client.action(`/b/${businessId}/settings?/saveVoice`, { avatarId: 'sim-avatar-anna', voiceId: 'sim-voice-en-1' });
	if (v.type !== 'success') throw new Error(`save voice failed: ${JSON.stringify(v)}`);
}

/** The hidden idempotency key the content page rendered into its Generate form. */
export async function generateFormKey(client: Client, businessId: string, contentId: string): Promise<string> {
	const { text } = await client.html(`/b/${businessId}/content/${contentId}`);
	const m = /name="idempotencyKey" value="([0-9a-f-]{36})"/.exec(text);
	if (!m) throw new Error('no idempotency key in the content page');
	return m[1]!;
}

export const GENERATE_DEFAULTS = { aspect: '16:9', resolution: '720p' };

/** Reads an SSE stream until `until` says stop (or the timeout); returns the parsed events. */
export async function readEvents(
	res: Response,
	until: (events: { id: string | null; event: string; data: any }[]) => boolean,
	timeoutMs = 10_000
): Promise<{ id: string | null; event: string; data: any }[]> {
	const events: { id: string | null; event: string; data: any }[] = [];
	const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
	let buf = '';
	const timer = setTimeout(() => void reader.cancel().catch(() => {}), timeoutMs);
	try {
		for (;;) {
			const { value, done } = await reader.read();
			if (done) break;
			buf += value;
			let i: number;
			while ((i = buf.indexOf('\n\n')) >= 0) {
				const block = buf.slice(0, i);
				buf = buf.slice(i + 2);
				let id: string | null = null;
				let event = 'message';
				const data: string[] = [];
				for (const line of block.split('\n')) {
					if (line.startsWith('id: ')) id = line.slice(4);
					else if (line.startsWith('event: ')) event = line.slice(7);
					else if (line.startsWith('data: ')) data.push(line.slice(6));
				}
				if (data.length) events.push({ id, event, data: JSON.parse(data.join('\n')) });
			}
			if (until(events)) break;
		}
	} finally {
		clearTimeout(timer);
		await reader.cancel().catch(() => {});
	}
	return events;
}

/** The owner invites `email` to the business and the invited person (signed in as it) accepts. */
export async function inviteAndAccept(
	owner: Client,
	businessId: string,
	invitee: Client,
	email: string,
	role: 'admin' | 'member' = 'member'
): Promise<void> {
	const r = await owner.action(`/b/${businessId}/members?/invite`, { email, role });
	if (r.type !== 'success') throw new Error(`invite failed: ${JSON.stringify(r)}`);
	const { text } = await invitee.html('/b');
	const m = /name="invitationId" value="([0-9a-f-]{36})"/.exec(text);
	if (!m) throw new Error('no invitation on the invitee’s Businesses page');
	const a = await invitee.action('/b?/accept', { invitationId: m[1]! });
	if (a.type !== 'redirect' || a.location !== `/b/${businessId}`) throw new Error(`accept failed: ${JSON.stringify(a)}`);
}

/** Clicks Generate on a content page as `client` would (the form's own idempotency key); returns the job id. */
export async function generateVideo(
	client: Client,
	businessId: string,
	contentId: string,
	fields: Record<string, string> = GENERATE_DEFAULTS
): Promise<string> {
	const r = await client.action(`/b/${businessId}/content/${contentId}?/generate`, {
		...fields,
		idempotencyKey: await generateFormKey(client, businessId, contentId)
	});
	if (r.type !== 'success') throw new Error(`generate failed: ${JSON.stringify(r)}`);
	return r.data.jobId as string;
}
