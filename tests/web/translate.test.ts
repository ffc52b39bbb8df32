/**
 * The content page's Translate form (issue 21), over HTTP against the built app: one translation
 * job per ticked language from one form post and one INSERT statement; every refusal (unknown
 * language, a language already on its way, a source that is not finished, another business's
 * video) is a form error that names what is wrong and leaves no row; the same works without
 * JavaScript. No worker runs here, so the rows stay exactly as the insert left them; the browser
 * test (tests/browser/translate.test.ts) runs a translation to the end.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { FTYP } from '../helpers/mp4.ts';
import type { TestDatabase } from '../helpers/db.ts';
import { webTest, type Owner } from '../helpers/web-fixtures.ts';
import { type Client, configureHeyGen, createBusiness, createContent, generateVideo, readEvents, signUp } from './harness.ts';

const test = webTest;
test.override({ appOptions: { worker: false } });

const LANGUAGES = ['English (United States)', 'French (France)', 'German (Germany)', 'Japanese (Japan)', 'Spanish (Spain)'];

/** A finished avatar video of `owner`'s business, moved there by SQL as the worker would (no worker runs here). */
async function finishedVideo(db: TestDatabase, owner: Pick<Owner, 'client' | 'businessId'>, title = 'To translate') {
	await configureHeyGen(owner.client, owner.businessId);
	const contentId = await createContent(owner.client, owner.businessId, 'Hello from the bakery.', title);
	const jobId = await generateVideo(owner.client, owner.businessId, contentId);
	await moveTo(db, jobId, 'completed');
	// HeyGen's list, as the worker stores it when a key is saved.
	await db.sql('select heygen_languages_replace($1::text[])', [LANGUAGES]);
	return { contentId, jobId, page: `/b/${owner.businessId}/content/${contentId}` };
}

const STEPS = {
	submitting: `update video_jobs set status = 'submitting', submit_count = 1 where id = $1`,
	rendering: `update video_jobs set status = 'rendering', heygen_video_id = 'hv-' || left(id::text, 8) where id = $1`,
	transferring: `update video_jobs set status = 'transferring', heygen_url = 'https://heygen.example/' || id || '.mp4' where id = $1`,
	completed: `update video_jobs set status = 'completed', storage_path = 'videos/' || id || '.mp4', video_url = 'https://cdn.example/' || id || '.mp4', size_bytes = 12345 where id = $1`
} as const;

async function moveTo(db: TestDatabase, jobId: string, status: keyof typeof STEPS): Promise<void> {
	for (const [s, update] of Object.entries(STEPS)) {
		await db.sql(update, [jobId]);
		if (s === status) return;
	}
}

/** The Translate form's hidden key, as the page rendered it. */
async function translateKey(client: Client, page: string): Promise<string> {
	const { text } = await client.html(page);
	const m = /name="translateKey" value="([0-9a-f-]{36})"/.exec(text);
	if (!m) throw new Error(`no Translate form on ${page}`);
	return m[1]!;
}

/** The form's fields: one `languages` pair per ticked language (a field that repeats). */
async function fields(client: Client, page: string, sourceJobId: string, languages: string[], extra: Record<string, string> = {}) {
	return [
		['sourceJobId', sourceJobId],
		['translateKey', await translateKey(client, page)],
		['mode', 'speed'],
		['captions', 'on'],
		...languages.map((l) => ['languages', l]),
		...Object.entries(extra)
	] as [string, string][];
}

async function translations(db: TestDatabase, sourceJobId: string) {
	const { rows } = await db.sql(
		`select id, kind, output_language, business_id, content_id, options, requested_by, status, xmin::text as xmin, cmin::text as cmin
		 from video_jobs where source_job_id = $1 order by output_language`,
		[sourceJobId]
	);
	return rows;
}

/** A language's row of the content page's language list (its HTML). */
const rowOf = (html: string, jobId: string) => new RegExp(`<li data-job="${jobId}"[^>]*>[\\s\\S]*?</li>`).exec(html)?.[0] ?? '';

const count = async (db: TestDatabase, sql: string, params: unknown[]) => (await db.sql(sql, params)).rows[0].n as number;

describe('Translate on the content page', () => {
	test('one post makes one translation job per ticked language, all in one INSERT statement', async ({ db, owner }) => {
		const { contentId, jobId, page } = await finishedVideo(db, owner);
		const { text } = await owner.client.html(page);
		// The form offers HeyGen's languages, captions ticked.
		for (const l of LANGUAGES) expect(text).toContain(`value="${l}"`);
		expect(text).toMatch(/<input type="checkbox" name="captions" checked/);

		const langs = ['Spanish (Spain)', 'German (Germany)', 'Japanese (Japan)'];
		const r = await owner.client.action(`${page}?/translate`, await fields(owner.client, page, jobId, langs, { mode: 'precision' }));
		expect(r).toMatchObject({ type: 'success', data: { form: 'translate', created: 3 } });
		expect(r.data.message).toBe('Translating into Spanish (Spain), German (Germany), Japanese (Japan). Watch each language below.');

		const rows = await translations(db, jobId);
		const { rows: user } = await db.sql('select id from auth_users where email = $1', [owner.email]);
		expect(rows.map(({ xmin: _x, cmin: _c, id: _i, ...r }) => r)).toEqual(
			[...langs].sort().map((l) => ({
				kind: 'translation',
				output_language: l,
				business_id: owner.businessId,
				content_id: contentId,
				options: { mode: 'precision', captions: true },
				requested_by: `user:${user[0].id}`,
				status: 'queued'
			}))
		);
		// One statement: the rows share their transaction (xmin) and the command within it (cmin).
		expect(new Set(rows.map((x) => `${x.xmin}/${x.cmin}`)).size).toBe(1);
		// Each has its queued event and its pg-boss job, like any job.
		expect(await count(db, `select count(*)::int as n from video_job_events where job_id = any($1::uuid[])`, [rows.map((x) => x.id)])).toBe(
			3
		);

		// The page lists the three languages under the video, with their status.
		const after = (await owner.client.html(page)).text;
		for (const l of langs) expect(after).toMatch(new RegExp(`data-language="${l.replace(/[()]/g, '\\$&')}" data-status="queued"`));
	});

	test('posting the same form again (a double click, a reload) makes nothing new', async ({ db, owner }) => {
		const { jobId, page } = await finishedVideo(db, owner);
		const f = await fields(owner.client, page, jobId, ['French (France)', 'German (Germany)']);
		expect(await owner.client.action(`${page}?/translate`, f)).toMatchObject({ type: 'success', data: { created: 2 } });
		const again = await owner.client.action(`${page}?/translate`, f);
		expect(again).toMatchObject({ type: 'success', data: { created: 0 } });
		expect(again.data.message).toMatch(/already started/);
		expect(await translations(db, jobId)).toHaveLength(2);
	});

	test('captions off and Speed are stored as chosen', async ({ db, owner }) => {
		const { jobId, page } = await finishedVideo(db, owner);
		const f = (await fields(owner.client, page, jobId, ['French (France)'])).filter(([k]) => k !== 'captions');
		expect(await owner.client.action(`${page}?/translate`, f)).toMatchObject({ type: 'success' });
		expect((await translations(db, jobId))[0].options).toEqual({ mode: 'speed', captions: false });
	});
});

describe('live status', () => {
	test("each translation's events reach the content page's stream, saying which job and language they are", async ({ db, owner }) => {
		const { contentId, jobId, page } = await finishedVideo(db, owner);
		// Replay from the last event before the action: events that commit before the stream's
		// LISTEN is in place (a busy machine) still arrive, from the replay.
		const { rows } = await db.sql('select coalesce(max(id), 0)::bigint as id from video_job_events');
		const res = await owner.client.get(`/b/${owner.businessId}/events?content=${contentId}&since=${rows[0].id}`, {
			accept: 'text/event-stream'
		});
		const reading = readEvents(res, (ev) => ev.filter((e) => e.data.kind === 'translation').length >= 2);
		const r = await owner.client.action(
			`${page}?/translate`,
			await fields(owner.client, page, jobId, ['French (France)', 'German (Germany)'])
		);
		expect(r.type).toBe('success');
		const events = (await reading).filter((e) => e.data.kind === 'translation');
		const ids = Object.fromEntries((await translations(db, jobId)).map((x) => [x.output_language, x.id]));
		expect(
			events
				.map((e) => ({ jobId: e.data.jobId, language: e.data.outputLanguage, status: e.data.status }))
				.sort((a, b) => a.language.localeCompare(b.language))
		).toEqual([
			{ jobId: ids['French (France)'], language: 'French (France)', status: 'queued' },
			{ jobId: ids['German (Germany)'], language: 'German (Germany)', status: 'queued' }
		]);
	});
});

describe('refusals are form errors that name what is wrong, and leave no row', () => {
	test('a language HeyGen does not have: named, and none of the others is made either', async ({ db, owner }) => {
		const { jobId, page } = await finishedVideo(db, owner);
		const r = await owner.client.action(`${page}?/translate`, await fields(owner.client, page, jobId, ['German (Germany)', 'Klingon']));
		expect(r.type).toBe('failure');
		expect(r.status).toBe(409);
		expect(r.data).toMatchObject({
			form: 'translate',
			message: 'HeyGen does not translate into “Klingon”. Choose languages from the list.',
			languages: ['German (Germany)', 'Klingon']
		});
		expect(await translations(db, jobId)).toEqual([]);
		expect(await count(db, `select count(*)::int as n from video_job_events where detail->>'source_job_id' = $1`, [jobId])).toBe(0);
	});

	test('a language that is already being translated: named; the other languages of the post are not made', async ({ db, owner }) => {
		const { jobId, page } = await finishedVideo(db, owner);
		expect(await owner.client.action(`${page}?/translate`, await fields(owner.client, page, jobId, ['Spanish (Spain)']))).toMatchObject({
			type: 'success',
			data: { created: 1 }
		});
		const r = await owner.client.action(
			`${page}?/translate`,
			await fields(owner.client, page, jobId, ['French (France)', 'Spanish (Spain)'])
		);
		expect(r).toMatchObject({
			type: 'failure',
			status: 409,
			data: { message: 'This video is already being translated into Spanish (Spain). Wait for it to finish or cancel it first.' }
		});
		expect((await translations(db, jobId)).map((x) => x.output_language)).toEqual(['Spanish (Spain)']);
	});

	test('a video that is not finished cannot be translated', async ({ db, owner }) => {
		const { contentId, jobId, page } = await finishedVideo(db, owner);
		// A newer render of the same content, still rendering.
		const rendering = await generateVideo(owner.client, owner.businessId, contentId);
		await moveTo(db, rendering, 'rendering');
		const r = await owner.client.action(`${page}?/translate`, await fields(owner.client, page, rendering, ['French (France)']));
		expect(r).toMatchObject({
			type: 'failure',
			status: 409,
			data: { message: 'Only a finished video can be translated; this one is rendering.' }
		});
		expect(await translations(db, rendering)).toEqual([]);
		expect(await translations(db, jobId)).toEqual([]);
	});

	test('no language ticked, or a mode that does not exist: named by the form', async ({ db, owner }) => {
		const { jobId, page } = await finishedVideo(db, owner);
		const none = await owner.client.action(`${page}?/translate`, await fields(owner.client, page, jobId, []));
		expect(none).toMatchObject({ type: 'failure', status: 400, data: { errors: { languages: 'Choose at least one language.' } } });
		const mode = await owner.client.action(
			`${page}?/translate`,
			await fields(owner.client, page, jobId, ['French (France)'], { mode: 'turbo' })
		);
		expect(mode).toMatchObject({ type: 'failure', status: 400, data: { errors: { mode: 'Choose Speed or Precision.' } } });
		const nul = await owner.client.action(`${page}?/translate`, await fields(owner.client, page, jobId, ['Fr\u0000ench']));
		expect(nul).toMatchObject({
			type: 'failure',
			status: 400,
			data: { errors: { 'languages.0': 'That is not one of HeyGen’s languages.' } }
		});
		// Without JavaScript too, the page it redirects to says it (the mode has no field of its own to stand by).
		const plain = await owner.client.post(
			`${page}?/translate`,
			await fields(owner.client, page, jobId, ['French (France)'], { mode: 'turbo' })
		);
		expect(plain.status).toBe(303);
		expect((await owner.client.html(page)).text).toMatch(/data-testid="translate-error">Choose Speed or Precision\.</);
		expect(await translations(db, jobId)).toEqual([]);
	});

	test("another business's video: not found, through this business's page or the other's", async ({ app, db, owner }) => {
		const mine = await finishedVideo(db, owner);
		const { client: stranger } = await signUp(app, 'Stranger');
		const strangerBiz = await createBusiness(stranger, 'Stranger Co');
		const theirs = await finishedVideo(db, { client: stranger, businessId: strangerBiz });
		// Their video id in my Translate form…
		const f = await fields(owner.client, mine.page, theirs.jobId, ['French (France)']);
		expect((await owner.client.action(`${mine.page}?/translate`, f)).status).toBe(404);
		// …or my form posted to their page.
		expect((await owner.client.action(`${theirs.page}?/translate`, f)).status).toBe(404);
		expect(await translations(db, theirs.jobId)).toEqual([]);
		expect(await translations(db, mine.jobId)).toEqual([]);
	});

	test('before HeyGen’s list has been read, the page says when it will be there', async ({ db, owner }) => {
		const { page } = await finishedVideo(db, owner);
		await db.sql('delete from heygen_languages');
		const { text } = await owner.client.html(page);
		expect(text).toContain('data-testid="no-languages"');
		expect(text).toMatch(/list of languages loads once a HeyGen API key is saved/);
		expect(text).not.toContain('name="translateKey"');
	});
});

describe('a finished translation on the page', () => {
	test('plays from the language switcher (also without JavaScript) with its own WebVTT captions', async ({ app, db, owner }) => {
		const { contentId, jobId, page } = await finishedVideo(db, owner);
		expect(await owner.client.action(`${page}?/translate`, await fields(owner.client, page, jobId, ['French (France)']))).toMatchObject({
			type: 'success'
		});
		const [fr] = await translations(db, jobId);
		// What the worker stores for a translation with captions: the MP4, HeyGen's VTT (and its SRT).
		const dir = path.join(app.storageDir, owner.businessId, contentId);
		mkdirSync(dir, { recursive: true });
		writeFileSync(path.join(dir, `${fr.id}.mp4`), FTYP);
		const vtt = 'WEBVTT\n\nNOTE as HeyGen wrote it\n\n00:00:00.000 --> 00:00:01.500 line:90%\nBonjour !\n';
		writeFileSync(path.join(dir, `${fr.id}.vtt`), vtt);
		writeFileSync(path.join(dir, `${fr.id}.srt`), '1\n00:00:00,000 --> 00:00:01,500\nBonjour (SRT)\n');
		await moveTo(db, fr.id, 'transferring');
		const stored = `videos/${owner.businessId}/${contentId}/${fr.id}`;
		await db.sql(
			`update video_jobs set status = 'completed', storage_path = $2 || '.mp4', video_url = '/x', size_bytes = $3,
			 vtt_path = $2 || '.vtt', subtitles_path = $2 || '.srt' where id = $1`,
			[fr.id, stored, FTYP.length]
		);

		const media = `/media/${owner.businessId}/${contentId}/${fr.id}`;
		const { text } = await owner.client.html(page);
		expect(text).toMatch(/data-language="French \(France\)" data-status="completed"/);
		expect(text).toContain(`href="?play=${fr.id}"`);
		// The switcher's link, followed without JavaScript: the page plays French, with French captions.
		const french = (await owner.client.html(`${page}?play=${fr.id}`)).text;
		expect(french).toMatch(new RegExp(`<video [^>]*src="${media}\\.mp4"`));
		expect(french).toMatch(new RegExp(`<track kind="captions" src="${media}\\.vtt"[^>]*label="French \\(France\\) captions"`));
		// The stored WebVTT as HeyGen made it (cue settings and notes kept), not the SRT converted.
		const res = await owner.client.get(`${media}.vtt`);
		expect(res.headers.get('content-type')).toBe('text/vtt; charset=utf-8');
		expect(await res.text()).toBe(vtt);
	});
});

describe('cancel and retry, per language', () => {
	test('cancel one language, the other keeps going; the canceled one says why and can be retried', async ({ db, owner }) => {
		const { jobId, page } = await finishedVideo(db, owner);
		await owner.client.action(`${page}?/translate`, await fields(owner.client, page, jobId, ['French (France)', 'Japanese (Japan)']));
		const [fr, ja] = await translations(db, jobId);
		expect(await owner.client.action(`${page}?/cancel`, { jobId: fr.id })).toMatchObject({ type: 'success' });
		const statuses = async () => Object.fromEntries((await translations(db, jobId)).map((x) => [x.output_language, x.status]));
		expect(await statuses()).toEqual({ 'French (France)': 'canceled', 'Japanese (Japan)': 'queued' });

		// The page shows each language with its own state and action (Retry for French, Cancel for Japanese).
		const { text } = await owner.client.html(page);
		expect(rowOf(text, fr.id)).toMatch(/data-status="canceled"/);
		expect(rowOf(text, fr.id)).toMatch(/Canceled by Owner \d+/);
		expect(rowOf(text, fr.id)).toMatch(/action="\?\/retry"[\s\S]*Retry/);
		expect(rowOf(text, ja.id)).toMatch(/action="\?\/cancel"[\s\S]*Cancel/);

		expect(await owner.client.action(`${page}?/retry`, { jobId: fr.id })).toMatchObject({ type: 'success' });
		expect(await statuses()).toEqual({ 'French (France)': 'queued', 'Japanese (Japan)': 'queued' });
		// Retrying a language that is on its way is refused by SQL; the message stands in that language's row
		// (a plain post: redirected back to the page, which shows it).
		const again = await owner.client.post(`${page}?/retry`, { jobId: ja.id });
		expect(again.status).toBe(303);
		expect(again.headers.get('location')).toBe(page);
		const refused = (await owner.client.html(page)).text;
		expect(rowOf(refused, ja.id)).toContain('Only a failed or canceled video can be retried.');
		expect(rowOf(refused, fr.id)).not.toContain('Only a failed or canceled video can be retried.');
	});
});

describe('without JavaScript', () => {
	test('a plain form post makes the jobs and the page it redirects to lists them', async ({ db, owner }) => {
		const { jobId, page } = await finishedVideo(db, owner);
		const res = await owner.client.post(
			`${page}?/translate`,
			await fields(owner.client, page, jobId, ['German (Germany)', 'French (France)'])
		);
		expect(res.status).toBe(303);
		expect(res.headers.get('location')).toBe(page);
		const html = (await owner.client.html(page)).text;
		expect(html).toMatch(/data-language="German \(Germany\)" data-status="queued"/);
		expect(html).toMatch(/data-language="French \(France\)" data-status="queued"/);
		expect((await translations(db, jobId)).map((x) => x.output_language)).toEqual(['French (France)', 'German (Germany)']);
	});

	test('a refusal redirects to the page with the message, the form open and the languages still ticked', async ({ db, owner }) => {
		const { jobId, page } = await finishedVideo(db, owner);
		const res = await owner.client.post(`${page}?/translate`, await fields(owner.client, page, jobId, ['Japanese (Japan)', 'Klingon']));
		expect(res.status).toBe(303);
		expect(res.headers.get('location')).toBe(page);
		const html = (await owner.client.html(page)).text;
		expect(html).toContain('HeyGen does not translate into “Klingon”. Choose languages from the list.');
		expect(html).toMatch(/<details class="translate[^"]*" open/);
		expect(html).toMatch(/value="Japanese \(Japan\)" checked/);
		expect(await translations(db, jobId)).toEqual([]);
	});
});
