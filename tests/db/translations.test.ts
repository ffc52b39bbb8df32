/**
 * The SQL contract of translation jobs (issue 21): the one-statement insert, what it defaults, and
 * every refusal as a clear error (SQLSTATE and the column or constraint it names) that leaves no
 * row, no event and no pg-boss job behind.
 */
import { describe, expect } from 'vitest';
import { listHeyGenLanguages, saveHeyGenLanguages } from '../../db/heygen-languages.ts';
import type { TestDatabase } from '../helpers/db.ts';
import { pgError } from '../helpers/db.ts';
import { addContent, completedJob, dbTest as it, insertJob, pgbossJobs, seedBusiness } from '../helpers/fixtures.ts';

const LANGUAGES = ['Spanish (Spain)', 'German', 'Japanese', 'French (France)'];

/** The SQL contract's insert, as another service writes it. */
const translate = (db: TestDatabase, source: string, languages: string[], extra = '') =>
	db.sql<{ id: string }>(
		`insert into video_jobs (kind, source_job_id, output_language${extra ? ', options' : ''})
		 select 'translation', $1, unnest($2::text[])${extra ? `, $3::jsonb` : ''} returning id`,
		extra ? [source, languages, extra] : [source, languages]
	);

async function counts(db: TestDatabase, businessId: string) {
	const { rows } = await db.sql<{ jobs: number; events: number }>(
		`select (select count(*)::int from video_jobs where business_id = $1 and kind = 'translation') as jobs,
		        (select count(*)::int from video_job_events e join video_jobs j on j.id = e.job_id
		          where j.business_id = $1 and j.kind = 'translation') as events`,
		[businessId]
	);
	const boss = (await pgbossJobs(db)).length;
	return { ...rows[0]!, boss };
}

describe('translation jobs in SQL', () => {
	it('one statement makes one queued job per language, with content, business and defaults from the source', async ({ db }) => {
		await db.sql('select heygen_languages_replace($1)', [LANGUAGES]);
		const { businessId, contentId } = await seedBusiness(db, { name: 'Polyglot' });
		const source = await completedJob(db, contentId);
		const { rows } = await translate(db, source, LANGUAGES.slice(0, 3));
		expect(rows).toHaveLength(3);
		const { rows: jobs } = await db.sql(
			`select kind, status, business_id, content_id, source_job_id, output_language, options, script, avatar_id, voice_id
			 from video_jobs where id = any($1::uuid[]) order by output_language`,
			[rows.map((r) => r.id)]
		);
		expect(jobs).toEqual(
			['German', 'Japanese', 'Spanish (Spain)'].map((output_language) => ({
				kind: 'translation',
				status: 'queued',
				business_id: businessId,
				content_id: contentId,
				source_job_id: source,
				output_language,
				options: { captions: true },
				script: null,
				avatar_id: null,
				voice_id: null
			}))
		);
		// Each has its submit step and its first event, which says what it is.
		for (const { id } of rows) expect((await pgbossJobs(db, id)).map((j) => j.name)).toEqual(['video.submit']);
		const { rows: events } = await db.sql(`select detail from video_job_events where job_id = $1`, [rows[0]!.id]);
		expect(events[0].detail).toMatchObject({ kind: 'translation', source_job_id: source, attempt: 1 });
		// The content still shows its own video, not the translations.
		const { rows: content } = await db.sql(`select heygen_status, video_long_url from content where id = $1`, [contentId]);
		expect(content[0]).toEqual({ heygen_status: 'completed', video_long_url: 'https://s/x.mp4' });
		// Options given override the kind's defaults.
		const other = await translate(db, source, ['French (France)'], JSON.stringify({ captions: false, mode: 'precision' }));
		const { rows: opts } = await db.sql(`select options from video_jobs where id = $1`, [other.rows[0]!.id]);
		expect(opts[0].options).toEqual({ captions: false, mode: 'precision' });
	});

	it('a translation does not block a new render of the content, nor the other way round', async ({ db }) => {
		const { contentId } = await seedBusiness(db, { name: 'Both' });
		const source = await completedJob(db, contentId);
		await translate(db, source, ['German']);
		const render = await insertJob(db, contentId);
		expect(render).toMatch(/^[0-9a-f-]{36}$/);
		await translate(db, source, ['Japanese']);
	});

	type Refusal = [name: string, run: (db: TestDatabase, s: Ctx) => Promise<unknown>, code: string, names: RegExp, field: Field];
	interface Ctx {
		source: string;
		queuedSource: string;
		foreignSource: string;
		businessId: string;
		contentId: string;
	}
	type Field = { column: string } | { constraint: string };

	const refusals: Refusal[] = [
		[
			'the source is not completed',
			(db, s) => translate(db, s.queuedSource, ['German']),
			'23514',
			/queued; only a completed video/,
			{ column: 'source_job_id' }
		],
		[
			'the source does not exist',
			(db) => translate(db, '00000000-0000-4000-8000-000000000000', ['German']),
			'23503',
			/no such video job/,
			{ column: 'source_job_id' }
		],
		[
			'no source',
			(db) => db.sql(`insert into video_jobs (kind, output_language) values ('translation', 'German')`),
			'23502',
			/source_job_id is required/,
			{ column: 'source_job_id' }
		],
		[
			'the source is of another business',
			(db, s) =>
				db.sql(`insert into video_jobs (kind, business_id, source_job_id, output_language) values ('translation', $1, $2, 'German')`, [
					s.businessId,
					s.foreignSource
				]),
			'23503',
			/belongs to another business/,
			{ column: 'source_job_id' }
		],
		[
			'an unknown language',
			(db, s) => translate(db, s.source, ['German', 'Klingon']),
			'23514',
			/"Klingon" is not one of HeyGen's language names/,
			{ column: 'output_language' }
		],
		[
			'no language',
			(db, s) => db.sql(`insert into video_jobs (kind, source_job_id) values ('translation', $1)`, [s.source]),
			'23502',
			/output_language is required/,
			{ column: 'output_language' }
		],
		[
			'the same language twice in one insert',
			(db, s) => translate(db, s.source, ['Japanese', 'Japanese']),
			'23505',
			/already has an active translation into Japanese/,
			{ constraint: 'video_jobs_one_active_translation' }
		],
		...(['script', 'avatar_id', 'voice_id'] as const).map((col): Refusal => [
			`${col} given`,
			(db, s) =>
				db.sql(`insert into video_jobs (kind, source_job_id, output_language, ${col}) values ('translation', $1, 'German', 'x')`, [
					s.source
				]),
			'23514',
			new RegExp(`video_jobs.${col}: a translation keeps the source video's words, avatar and voice`),
			{ column: col }
		]),
		[
			'an avatar option',
			(db, s) => translate(db, s.source, ['German'], '{"resolution":"4k"}'),
			'23514',
			/unknown key "resolution" for a translation; allowed keys: mode, captions/,
			{ column: 'options' }
		],
		[
			'a bad mode',
			(db, s) => translate(db, s.source, ['German'], '{"mode":"fast"}'),
			'23514',
			/options.mode must be one of speed, precision/,
			{ column: 'options' }
		],
		[
			'captions not a boolean',
			(db, s) => translate(db, s.source, ['German'], '{"captions":"yes"}'),
			'23514',
			/options.captions must be true or false/,
			{ column: 'options' }
		],
		[
			'an unknown kind',
			(db, s) => db.sql(`insert into video_jobs (kind, content_id) values ('dubbing', $1)`, [s.contentId]),
			'23514',
			/kind must be avatar or translation/,
			{ column: 'kind' }
		]
	];

	it.for(refusals)('refused: %s, leaving no row, no event and no pg-boss job', async ([_name, run, code, names, field], { db }) => {
		await db.sql('select heygen_languages_replace($1)', [LANGUAGES]);
		const { businessId, contentId } = await seedBusiness(db, { name: `Refusals ${_name}` });
		const other = await seedBusiness(db, { name: `Other ${_name}` });
		const ctx: Ctx = {
			source: await completedJob(db, contentId),
			queuedSource: await insertJob(db, await addContent(db, businessId)),
			foreignSource: await completedJob(db, other.contentId),
			businessId,
			contentId
		};
		// One active translation already: the duplicate is refused, the rest of the statement with it.
		await translate(db, ctx.source, ['Japanese']);
		const before = await counts(db, businessId);
		const err = await pgError(run(db, ctx));
		expect({ code: err.code, message: err.message }).toEqual({ code, message: expect.stringMatching(names) });
		if ('column' in field) expect(err.column).toBe(field.column);
		else expect(err.constraint).toBe(field.constraint);
		expect(await counts(db, businessId)).toEqual(before);
	});

	it('a language already being translated is refused by name, also when the first is still queued', async ({ db }) => {
		const { contentId } = await seedBusiness(db, { name: 'Twice' });
		const source = await completedJob(db, contentId);
		const [first] = (await translate(db, source, ['German'])).rows;
		const err = await pgError(translate(db, source, ['German']));
		expect([err.code, err.constraint, err.message]).toEqual([
			'23505',
			'video_jobs_one_active_translation',
			expect.stringContaining(`already has an active translation into German (job ${first!.id}, queued)`)
		]);
		// Once it is finished, the language can be translated again.
		await db.sql(`select cancel_video_job($1)`, [first!.id]);
		expect((await translate(db, source, ['German'])).rows).toHaveLength(1);
	});

	it('with no language list yet, any well-formed name is accepted (HeyGen judges it)', async ({ db }) => {
		await db.sql('delete from heygen_languages');
		const { contentId } = await seedBusiness(db, { name: 'Early' });
		const source = await completedJob(db, contentId);
		expect((await translate(db, source, ['Klingon'])).rows).toHaveLength(1);
		const err = await pgError(translate(db, source, ['bad\u0001name']));
		expect([err.code, err.column]).toEqual(['23514', 'output_language']);
	});

	it('heygen_languages_replace keeps the list it has when given none, and drops names HeyGen no longer lists', async ({ db }) => {
		await db.sql('select heygen_languages_replace($1)', [LANGUAGES]);
		const err = await pgError(db.sql(`select heygen_languages_replace('{}')`));
		expect([err.code, err.message]).toEqual(['22023', expect.stringContaining('the list is empty; the current list is kept')]);
		expect(await saveHeyGenLanguages(db.db, ['Japanese', 'German', 'German'])).toBe(2);
		expect(await listHeyGenLanguages(db.db)).toEqual(['German', 'Japanese']);
	});

	it('kind, source and language are fixed once the job exists', async ({ db }) => {
		const { contentId } = await seedBusiness(db, { name: 'Fixed' });
		const source = await completedJob(db, contentId);
		const [t] = (await translate(db, source, ['German'])).rows;
		for (const set of [`output_language = 'Japanese'`, `kind = 'avatar'`, `source_job_id = null`]) {
			const err = await pgError(db.sql(`update video_jobs set ${set} where id = $1`, [t!.id]));
			expect([err.code, err.message], set).toEqual(['23514', expect.stringContaining('kind, source, language')]);
		}
	});
});
