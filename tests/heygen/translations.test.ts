/**
 * The client's translation methods against the simulator: the batch-of-one create with its
 * Idempotency-Key (a repeat returns the same translation), the reply checks (a reply missing what
 * we read is a clear, retryable bad_response, never a crash or a half-read value), and a failed
 * translation's free text told in our own words.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildTranslationItem, createHeyGenClient, type HeyGenClient } from '../../heygen/index.ts';
import { startHeyGenSimulator, type HeyGenSimulator } from '../../heygen/simulator/server.ts';
import { translationFailure } from '../../heygen/translation-failure.ts';
import { heygenError } from '../helpers/heygen-sim.ts';

let sim: HeyGenSimulator;
let client: HeyGenClient;
beforeAll(async () => {
	sim = await startHeyGenSimulator({ renderMs: 0 });
	client = createHeyGenClient({ baseUrl: sim.url, apiKey: sim.apiKey, timeoutMs: 5000 });
});
afterAll(async () => {
	await sim.close();
});
afterEach(() => sim.reset());

const req = (key: string) => ({
	source: { type: 'url' as const, url: `${sim.url}/previews/avatar.mp4` },
	outputLanguage: 'German',
	options: { captions: true },
	callbackId: `job-${key}:1`,
	idempotencyKey: `video-job:${key}:attempt-1`
});

describe('translations through the client', () => {
	it('the same Idempotency-Key returns the same translation; HeyGen made one', async () => {
		const first = await client.createTranslation(req('a'));
		const again = await client.createTranslation(req('a'));
		expect(again).toEqual(first);
		expect([...sim.videos.values()].filter((v) => v.translation)).toHaveLength(1);
		const t = await client.getTranslation(first.translationId);
		expect(t).toMatchObject({ id: first.translationId, status: 'completed', error: null });
		expect([t.videoUrl, t.srtUrl, t.vttUrl].every((u) => u?.startsWith(sim.url))).toBe(true);
		expect(await client.findTranslation('job-a:1')).toBe(first.translationId);
		expect(await client.findTranslation('job-b:1')).toBeNull();
	});

	it("maps every option onto HeyGen's field names, captions on unless turned off", () => {
		const item = buildTranslationItem({
			...req('x'),
			options: { mode: 'precision', audio_only: true, speech_enhancement: true, remove_music: true, title: 'Hola' }
		});
		expect(item).toEqual({
			video: { type: 'url', url: `${sim.url}/previews/avatar.mp4` },
			output_languages: ['German'],
			mode: 'precision',
			enable_caption: true,
			translate_audio_only: true,
			enable_speech_enhancement: true,
			disable_music_track: true,
			title: 'Hola',
			callback_id: 'job-x:1'
		});
		expect(buildTranslationItem({ ...req('y'), options: { captions: false } })['enable_caption']).toBe(false);
	});

	it.for([
		['a translation without its id', 'translation', () => client.getTranslation('t')],
		['a batch without its items', 'translationBatch', () => client.createTranslation(req('c'))],
		['a language list without languages', 'languages', () => client.listTranslationLanguages()]
	] as const)('a reply missing fields is a clear bad_response: %s', async ([, endpoint, call]) => {
		if (endpoint === 'translation') {
			const { translationId } = await client.createTranslation(req('t'));
			sim.videos.set('t', { ...sim.videos.get(translationId)!, id: 't' });
		}
		sim.setFaults({ badShape: { endpoint, times: 1 } });
		const err = await heygenError(call);
		expect([err.code, err.retryable]).toEqual(['bad_response', true]);
		expect(err.message).toMatch(/^HeyGen sent an unexpected reply to GET \/v3\/video-translations\S*: \S+/);
		expect(err.message).not.toContain(sim.apiKey);
	});

	it('an unknown language is refused by HeyGen with its parameter named', async () => {
		const err = await heygenError(() => client.createTranslation({ ...req('k'), outputLanguage: 'Klingon' }));
		expect([err.code, err.retryable, err.httpStatus]).toEqual(['invalid_parameter', false, 400]);
	});

	it('an upload over 32 MB is refused before it is sent', async () => {
		const err = await heygenError(() => client.uploadAsset(new Uint8Array(32 * 1024 * 1024 + 1), 'big.mp4', 'video/mp4'));
		expect([err.code, err.retryable]).toEqual(['source_unavailable', false]);
		expect(sim.requests.filter((r) => r.endpoint === 'assets')).toHaveLength(0);
	});

	it.for([
		['Video download failed: 403 from https://cdn.example/x.mp4', 'HeyGen could not download the original video to translate it.'],
		['No speech detected', 'HeyGen found no speech it could translate in the original video.'],
		['Unsupported target language', 'HeyGen cannot translate this video into the chosen language.'],
		[`internal ${'sim-test-key'} trace`, 'HeyGen could not translate the video.'],
		['', 'HeyGen reported the translation as failed without giving a reason.']
	] as const)('failure_message %j becomes our sentence', ([said, sentence]) => {
		expect(translationFailure({ message: said }, 'sim-test-key')).toEqual({ code: 'translation_failed', message: sentence });
	});
});
