/**
 * Contract test against HeyGen's own schemas (heygen/schemas/v3-subset.json, from HeyGen's CLI):
 * every request the client builds (every option, every endpoint) and every reply the simulator
 * gives (every route, every render state, errors) validates, with no field the schema does not
 * declare. The schemas are OpenAPI 3.0 flavoured; `openApiToJsonSchema` below turns them into
 * plain JSON Schema for ajv:
 * - `nullable: true` admits null;
 * - an object with declared properties and no `additionalProperties` is closed (false): an
 *   undeclared field fails. An object declared with no properties at all (`properties: {}`, e.g.
 *   the bulk status item's `error`) is free-form in HeyGen's spec and stays open;
 * - `discriminator` + `oneOf`: each branch gets its discriminator value as a `const`, read from the
 *   branch's own text ("Must be 'avatar_v'") or from the field that names the variant, since the
 *   CLI's copy dropped the component names the mapping points at.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHeyGenClient, OPTION_SPECS, type HeyGenClient, type VideoOptions } from '../../heygen/index.ts';
import { USED_ROUTES } from '../../heygen/schemas/extract.ts';
import { startHeyGenSimulator, type HeyGenSimulator, type SimBilling } from '../../heygen/simulator/server.ts';
import { createWebhookApi } from '../../heygen/webhooks.ts';
import { finishRender } from '../helpers/heygen-sim.ts';

type Json = Record<string, any>;
const subset = JSON.parse(readFileSync(new URL('../../heygen/schemas/v3-subset.json', import.meta.url), 'utf8')) as {
	source: string;
	licence: string;
	endpoints: Record<string, { request: Json | null; response: Json | null; query: string[] }>;
};

/** HeyGen's error envelope (HEYGEN_API.md §6, developers.heygen.com/docs/error-codes); the CLI's schemas carry none. */
const ERROR_ENVELOPE: Json = {
	type: 'object',
	required: ['error'],
	properties: {
		error: {
			type: 'object',
			required: ['code', 'message'],
			properties: {
				code: { type: 'string' },
				message: { type: 'string' },
				param: { type: 'string', nullable: true },
				doc_url: { type: 'string' }
			}
		}
	}
};

/** The value a discriminated branch stands for, or undefined when the branch does not say. */
function branchValue(branch: Json, prop: string, values: string[]): string | undefined {
	const said = /Must be '([^']+)'/.exec(String(branch['properties']?.[prop]?.['description'] ?? ''))?.[1];
	if (said && values.includes(said)) return said;
	const own = Object.keys(branch['properties'] ?? {}).filter((k) => k !== prop && values.includes(k));
	return own.length === 1 ? own[0] : undefined;
}

function openApiToJsonSchema(s: unknown): unknown {
	if (Array.isArray(s)) return s.map(openApiToJsonSchema);
	if (typeof s !== 'object' || s === null) return s;
	const o: Json = {};
	for (const [k, v] of Object.entries(s)) {
		const props = () => Object.fromEntries(Object.entries(v as Json).map(([p, ps]) => [p, openApiToJsonSchema(ps)]));
		o[k] = k === 'properties' ? props() : openApiToJsonSchema(v);
	}
	if (o['discriminator'] && Array.isArray(o['oneOf'])) {
		const prop = o['discriminator'].propertyName as string;
		const values = Object.keys(o['discriminator'].mapping ?? {});
		const found = (o['oneOf'] as Json[]).map((b) => branchValue(b, prop, values));
		const left = values.filter((v) => !found.includes(v));
		if (found.filter((f) => f === undefined).length === 1 && left.length === 1) found[found.indexOf(undefined)] = left[0];
		if (found.some((f) => f === undefined))
			throw new Error(`cannot tell the branches of a discriminator on ${prop} (${values.join(', ')})`);
		o['oneOf'] = (o['oneOf'] as Json[]).map((b, i) => {
			const tagged = { ...b['properties']?.[prop], const: found[i] };
			return { ...b, properties: { ...b['properties'], [prop]: tagged } };
		});
		delete o['discriminator'];
	}
	if (o['properties'] && Object.keys(o['properties']).length > 0 && o['additionalProperties'] === undefined)
		o['additionalProperties'] = false;
	if (o['nullable'] === true) {
		delete o['nullable'];
		if (typeof o['type'] === 'string') {
			o['type'] = [o['type'], 'null'];
			if (Array.isArray(o['enum'])) o['enum'] = [...o['enum'], null];
		} else return { anyOf: [{ type: 'null' }, o] };
	}
	return o;
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const ajv = addFormats(new Ajv({ allErrors: true, strict: true }));
const validators = new Map<string, ValidateFunction>();
function validator(name: string, schema: Json): ValidateFunction {
	let v = validators.get(name);
	if (!v) validators.set(name, (v = ajv.compile(openApiToJsonSchema(schema) as Json)));
	return v;
}

/** The subset's key for a request, e.g. `GET /v3/videos/{video_id}` for GET /v3/videos/abc (literal routes win). */
function routeOf(method: string, path: string): string | undefined {
	const keys = Object.keys(subset.endpoints).filter((k) => k.startsWith(`${method} `));
	const literal = keys.find((k) => k === `${method} ${path}`);
	if (literal) return literal;
	return keys.find((k) => new RegExp(`^${k.slice(method.length + 1).replace(/\{\w+\}/g, '[^/]+')}$`).test(path));
}

interface Exchange {
	method: string;
	path: string;
	query: string[];
	route: string | undefined;
	body: unknown;
	status: number;
	reply: unknown;
}

/** Validation problems of one exchange (empty when it matches HeyGen's schemas). */
function problems(x: Exchange): string[] {
	const name = `${x.method} ${x.path}`;
	if (!x.route) return [`${name}: not a route of the schema subset`];
	const spec = subset.endpoints[x.route]!;
	const out: string[] = [];
	const unknownQuery = x.query.filter((q) => !spec.query.includes(q));
	if (unknownQuery.length) out.push(`${name}: query parameters not in the spec: ${unknownQuery.join(', ')}`);
	if (x.body !== undefined) {
		if (!spec.request) out.push(`${name}: sends a body; the spec takes none`);
		else {
			const v = validator(`${x.route} request`, spec.request);
			if (!v(x.body)) out.push(`${name} request: ${ajv.errorsText(v.errors)}`);
		}
	}
	if (x.reply !== undefined) {
		const ok = x.status >= 200 && x.status < 300;
		const v = ok ? spec.response && validator(`${x.route} response`, spec.response) : validator('error envelope', ERROR_ENVELOPE);
		if (v && !v(x.reply)) out.push(`${name} reply ${x.status}: ${ajv.errorsText(v.errors)} in ${JSON.stringify(x.reply).slice(0, 300)}`);
	}
	return out;
}

describe('the vendored schema subset', () => {
	it('names its source and licence and covers every route the product calls', () => {
		expect(subset.source).toMatch(/HeyGen CLI .*heygen-cli/);
		expect(subset.licence).toMatch(/Apache-2\.0/);
		for (const r of USED_ROUTES) expect(Object.keys(subset.endpoints)).toContain(r);
		for (const r of [
			'POST /v3/video-translations',
			'GET /v3/video-translations/{video_translation_id}',
			'POST /v3/assets',
			'GET /v3/webhooks/events'
		]) {
			expect(Object.keys(subset.endpoints)).toContain(r);
		}
	});

	it('every schema in it compiles (discriminators resolved, undeclared fields refused)', () => {
		for (const [route, spec] of Object.entries(subset.endpoints)) {
			if (spec.request) validator(`${route} request`, spec.request);
			if (spec.response) validator(`${route} response`, spec.response);
		}
		const v = validator('POST /v3/videos request', subset.endpoints['POST /v3/videos']!.request!);
		expect(v({ type: 'avatar', avatar_id: 'a', script: 'Hi', voice_id: 'v', not_a_field: 1 })).toBe(false);
		expect(v({ type: 'avatar', avatar_id: 'a', script: 'Hi', voice_id: 'v', engine: { type: 'avatar_iv' } })).toBe(true);
		expect(v({ type: 'avatar', avatar_id: 'a', engine: { type: 'avatar_vi' } })).toBe(false);
	});
});

describe('client requests and simulator replies match HeyGen v3 schemas', () => {
	let sim: HeyGenSimulator;
	let client: HeyGenClient;
	const exchanges: Exchange[] = [];

	/** fetch that records each request and the reply it got (the client reads the original). */
	const recording: typeof fetch = async (input, init) => {
		const url = new URL(String(input));
		const res = await fetch(input, init);
		const text = await res.clone().text();
		let reply: unknown;
		try {
			reply = text === '' ? undefined : JSON.parse(text);
		} catch {
			reply = undefined; // not JSON (a proxy's HTML page): not HeyGen's contract
		}
		const method = init?.method ?? 'GET';
		exchanges.push({
			method,
			path: url.pathname,
			query: [...url.searchParams.keys()],
			route: routeOf(method, url.pathname),
			// A multipart upload is checked as the schema describes it: one `file` field.
			body:
				typeof init?.body === 'string'
					? JSON.parse(init.body)
					: init?.body instanceof FormData
						? Object.fromEntries([...init.body.keys()].map((k) => [k, 'binary']))
						: undefined,
			status: res.status,
			reply
		});
		return res;
	};

	beforeAll(async () => {
		sim = await startHeyGenSimulator({ renderMs: 600_000 });
		client = createHeyGenClient({ baseUrl: sim.url, apiKey: sim.apiKey, fetch: recording });
	});
	afterAll(async () => {
		await sim?.close();
	});

	/** Runs `fn`, then returns what it exchanged with the simulator, checked against the schemas. */
	async function checked(fn: () => Promise<unknown>): Promise<Exchange[]> {
		const from = exchanges.length;
		await fn().catch(() => {});
		const made = exchanges.slice(from);
		expect(made.length).toBeGreaterThan(0);
		expect(made.flatMap(problems)).toEqual([]);
		return made;
	}

	const req = {
		script: 'Hello there.',
		avatarId: 'sim-avatar-anna',
		voiceId: 'sim-voice-en-1',
		callbackId: 'job-1',
		idempotencyKey: 'k-1'
	};
	let n = 0;
	const generate = (options: VideoOptions, extra: Partial<typeof req> & { callbackUrl?: string } = {}) =>
		client.generateVideo({ ...req, idempotencyKey: `contract-${++n}`, options, ...extra });

	/** Every value worth sending for every option of heygen/options.ts. */
	function optionSamples(): VideoOptions[] {
		const out: VideoOptions[] = [];
		const strings: Record<string, string[]> = {
			title: ['A title', 'x'],
			background_color: ['#1a2b3c', '#FFFFFF'],
			voice_locale: ['en-US', 'de', 'zh-Hans-CN']
		};
		for (const s of OPTION_SPECS) {
			const values: unknown[] =
				s.kind === 'boolean'
					? [true, false]
					: s.kind === 'enum'
						? [...s.values]
						: s.kind === 'number'
							? [s.min, (s.min + s.max) / 2, s.max]
							: strings[s.key]!;
			expect(values.length, s.key).toBeGreaterThan(0);
			for (const v of values) out.push({ [s.key]: v } as VideoOptions);
		}
		const first = (s: (typeof OPTION_SPECS)[number]) =>
			s.kind === 'boolean' ? true : s.kind === 'enum' ? s.values[0] : s.kind === 'number' ? s.max : strings[s.key]![0];
		out.push(Object.assign({}, ...OPTION_SPECS.map((s) => ({ [s.key]: first(s) }))));
		return out;
	}

	it('POST /v3/videos: every option of heygen/options.ts, alone and all together, and a callback URL', async () => {
		const samples = optionSamples();
		expect(samples.length).toBeGreaterThan(OPTION_SPECS.length);
		for (const options of samples) {
			const [x] = await checked(() => generate(options));
			expect(x!.status, JSON.stringify(options)).toBe(200);
		}
		const [x] = await checked(() => generate({}, { callbackUrl: 'https://example.com/hook' }));
		expect((x!.body as Json)['callback_url']).toBe('https://example.com/hook');
	});

	it('GET /v3/videos/{video_id} and the bulk status route in every render state', async () => {
		const ids: Record<string, string> = {};
		for (const state of ['pending', 'processing', 'completed', 'failed', 'captioned']) {
			ids[state] = (await generate(state === 'captioned' ? { captions: true } : {})).videoId;
		}
		sim.videos.get(ids['processing']!)!.createdAt = Date.now() - 300_000;
		finishRender(sim, ids['completed']!);
		finishRender(sim, ids['captioned']!);
		const failed = sim.videos.get(ids['failed']!)!;
		failed.failWith = { code: 'RENDER_FAILED', message: 'Video render failed.' };
		finishRender(sim, failed.id);
		for (const [state, id] of Object.entries(ids)) {
			const [x] = await checked(() => client.getVideoStatus(id));
			expect((x!.reply as Json)['data']['status']).toBe(state === 'captioned' ? 'completed' : state);
		}
		const [bulk] = await checked(() => client.getVideoStatuses([...Object.values(ids), 'no-such-video']));
		expect(new Set((bulk!.reply as Json)['data'].map((d: Json) => d['status']))).toEqual(
			new Set(['queued', 'processing', 'completed', 'failed', 'not_found'])
		);
	});

	it('looks, voices (every page, by language) and the account of every billing type', async () => {
		await checked(() => client.listAvatars());
		await checked(() => client.listVoices());
		await checked(() => client.listVoices({ language: 'German' }));
		const billings: SimBilling[] = [
			{ billing_type: 'wallet', wallet: { currency: 'usd', remaining_balance: 12.5 } },
			{
				billing_type: 'subscription',
				subscription: { plan: 'pro', credits: { premium_credits: { remaining: 300 }, add_on_credits: { remaining: 20 } } }
			},
			{
				billing_type: 'usage_based',
				usage_based: { included_credits: 100, remaining_credits: 40, spending_cap_usd: 50, spending_current_usd: 10 }
			}
		];
		for (const b of billings) {
			sim.billing = b;
			await checked(() => client.account());
		}
	});

	it('webhook endpoints: create, list, delete (and delete of one already gone)', async () => {
		const hooks = createWebhookApi({ baseUrl: sim.url, apiKey: sim.apiKey, fetch: recording });
		let id = '';
		await checked(async () => (id = (await hooks.createEndpoint('https://example.com/api/heygen/webhook/b1')).id));
		await checked(() => hooks.listEndpoints());
		await checked(() => hooks.deleteEndpoint(id));
		const [gone] = await checked(() => hooks.deleteEndpoint(id));
		expect(gone!.status).toBe(404);
		const [bad] = await checked(() => hooks.createEndpoint('ftp://nowhere'));
		expect(bad!.status).toBe(400);
	});

	it('webhook history: GET /v3/webhooks/events, every page, by entity', async () => {
		const hooks = createWebhookApi({ baseUrl: sim.url, apiKey: sim.apiKey, fetch: recording });
		// Nobody listens at this URL: the deliveries fail, the history keeps the events all the same.
		const endpoint = await hooks.createEndpoint('http://127.0.0.1:9/api/heygen/webhook/b2');
		const ids: string[] = [];
		for (let i = 0; i < 3; i++) {
			const id = (await generate({})).videoId;
			ids.push(id);
			finishRender(sim, id);
			await client.getVideoStatus(id); // the render ends when HeyGen is next asked
		}
		const [first] = await checked(() => hooks.listEvents({ limit: 2 }));
		const page1 = (first!.reply as Json)['data'] as Json[];
		expect(page1.map((e) => e['event_data']['video_id'])).toEqual([ids[2], ids[1]]);
		expect((first!.reply as Json)['has_more']).toBe(true);
		const [second] = await checked(() => hooks.listEvents({ limit: 2, token: (first!.reply as Json)['next_token'] }));
		expect(((second!.reply as Json)['data'] as Json[]).map((e) => e['event_data']['video_id'])).toEqual([ids[0]]);
		const [one] = await checked(() => hooks.listEvents({ entityId: ids[1]! }));
		expect(((one!.reply as Json)['data'] as Json[]).map((e) => [e['event_type'], e['event_data']['video_id']])).toEqual([
			['avatar_video.success', ids[1]]
		]);
		const [bad] = await checked(() => hooks.listEvents({ token: '!!' }));
		expect(bad!.status).toBe(400);
		await hooks.deleteEndpoint(endpoint.id);
	});

	it('video translations: languages, asset upload, batch create (URL and asset sources, every option), get, statuses and list in every state', async () => {
		const [langs] = await checked(() => client.listTranslationLanguages());
		expect((langs!.reply as Json)['data']['languages']).toContain('German');
		const src = (await generate({})).videoId;
		finishRender(sim, src);
		const url = (await client.getVideoStatus(src)).videoUrl!;
		let assetId = '';
		await checked(async () => ({ assetId } = await client.uploadAsset(sim.mp4, 'source.mp4', 'video/mp4')));
		const ids: Record<string, string> = {};
		const every = {
			mode: 'precision',
			captions: true,
			audio_only: false,
			speech_enhancement: true,
			remove_music: true,
			title: 'T'
		} as const;
		for (const [state, source, options] of [
			['pending', { type: 'url', url }, {}],
			['processing', { type: 'asset_id', assetId }, { mode: 'speed' }],
			['completed', { type: 'url', url }, every],
			['failed', { type: 'asset_id', assetId }, { captions: false }]
		] as const) {
			const made = await checked(() =>
				client
					.createTranslation({
						source,
						outputLanguage: 'German',
						options,
						callbackId: `contract-${state}`,
						idempotencyKey: `contract-t-${state}`
					})
					.then((r) => (ids[state] = r.translationId))
			);
			expect(made.map((x) => `${x.method} ${x.route} ${x.status}`)).toEqual([
				'POST POST /v3/video-translations/batches 202',
				'GET GET /v3/video-translations/batches/{batch_id} 200'
			]);
		}
		sim.videos.get(ids['processing']!)!.createdAt = Date.now() - 300_000;
		finishRender(sim, ids['completed']!);
		const failed = sim.videos.get(ids['failed']!)!;
		failed.failWith = { code: '', message: 'Could not download the source video.' };
		finishRender(sim, failed.id);
		for (const [state, id] of Object.entries(ids)) {
			const [x] = await checked(() => client.getTranslation(id));
			expect((x!.reply as Json)['data']['status']).toBe(state === 'processing' ? 'running' : state);
		}
		const [bulk] = await checked(() => client.getTranslationStatuses([...Object.values(ids), 'no-such-translation']));
		expect(new Set((bulk!.reply as Json)['data'].map((d: Json) => d['status']))).toEqual(
			new Set(['queued', 'processing', 'completed', 'failed', 'not_found'])
		);
		await checked(() => client.findTranslation('contract-pending'));
	});

	const faults: Array<[string, () => void, () => Promise<unknown>, number]> = [
		['401 unauthorized', () => sim.setFaults({ badKey: { times: 1 } }), () => client.account(), 401],
		['402 insufficient_credit', () => sim.setFaults({ noCredit: { times: 1 } }), () => generate({}), 402],
		['400 invalid_parameter', () => sim.setFaults({ invalidParameter: { param: 'script', times: 1 } }), () => generate({}), 400],
		['404 unknown avatar', () => {}, () => generate({}, { avatarId: 'nope' }), 404],
		['404 unknown voice', () => {}, () => generate({}, { voiceId: 'nope' }), 404],
		['404 unknown video', () => {}, () => client.getVideoStatus('nope'), 404],
		['404 unknown translation', () => {}, () => client.getTranslation('nope'), 404],
		[
			'500 on a translation create',
			() => sim.setFaults({ serverError: { status: 500, endpoint: 'translate', times: 1 } }),
			() =>
				client.createTranslation({
					source: { type: 'url', url: 'https://example.com/v.mp4' },
					outputLanguage: 'German',
					options: {},
					callbackId: 'contract-500',
					idempotencyKey: 'contract-500'
				}),
			500
		],
		[
			'400 unknown language',
			() => {},
			() =>
				client.createTranslation({
					source: { type: 'url', url: 'https://example.com/v.mp4' },
					outputLanguage: 'Klingon',
					options: {},
					callbackId: 'contract-400',
					idempotencyKey: 'contract-400'
				}),
			400
		],
		[
			'429 on translation statuses',
			() => sim.setFaults({ rateLimit: { retryAfter: 1, endpoint: 'translationStatuses', times: 1 } }),
			() => client.getTranslationStatuses(['a']),
			429
		],
		[
			'404 bulk route missing',
			() => sim.setFaults({ routeMissing: { endpoint: 'statuses', times: 1 } }),
			() => client.getVideoStatuses(['a', 'b']),
			404
		],
		['409 request_in_progress', () => sim.setFaults({ inProgress: { times: 1 } }), () => generate({}), 409],
		['429 rate limited', () => sim.setFaults({ rateLimit: { retryAfter: 1, times: 1 } }), () => client.listVoices(), 429],
		['500 internal_error', () => sim.setFaults({ serverError: { status: 500, times: 1 } }), () => client.account(), 500],
		['503 service_unavailable', () => sim.setFaults({ serverError: { status: 503, times: 1 } }), () => client.account(), 503],
		['400 with the key echoed', () => sim.setFaults({ echoKeyError: { form: 'hex', times: 1 } }), () => client.account(), 400]
	];
	it.each(faults)('error reply: %s', async (_name, inject, call, status) => {
		inject();
		const made = await checked(call);
		expect(made.at(-1)!.status).toBe(status);
		sim.clearFaults();
	});

	it('every route the client called is one the product declares it uses (heygen/schemas/extract.ts)', () => {
		const called = new Set(exchanges.map((x) => x.route));
		expect([...called].filter((r) => !r || !USED_ROUTES.includes(r))).toEqual([]);
		expect([...USED_ROUTES].filter((r) => !called.has(r))).toEqual([]);
	});
});
