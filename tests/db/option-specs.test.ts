import { describe, expect } from 'vitest';
import {
	OPTION_SPECS,
	RETIRED_OPTIONS,
	TRANSLATION_MODES,
	TRANSLATION_OPTION_SPECS,
	translationOptionsSchema,
	v3Options,
	videoOptionsSchema
} from '../../heygen/options.ts';
import { pgError } from '../helpers/db.ts';
import { completedJob, dbTest as it, insertJob, seedBusiness } from '../helpers/fixtures.ts';

/** One definition of the allowed options: the database's table and heygen/options.ts agree. */
describe('video option specs', () => {
	it('video_job_option_specs holds exactly OPTION_SPECS and RETIRED_OPTIONS (edit both in a new migration)', async ({ db }) => {
		const { rows } = await db.sql(
			`select key, kind, enum_values, min::float8 as min, max::float8 as max, pattern, max_length, hint from video_job_option_specs
			 where job_kind = 'avatar' order by position`
		);
		const fromTs = [
			...OPTION_SPECS.map((s) => ({
				key: s.key,
				kind: s.kind,
				enum_values: 'values' in s ? [...s.values] : null,
				min: 'min' in s ? s.min : null,
				max: 'max' in s ? s.max : null,
				pattern: 'pattern' in s ? s.pattern : null,
				max_length: 'maxLength' in s ? s.maxLength : null,
				hint: 'hint' in s ? s.hint : null
			})),
			...Object.entries(RETIRED_OPTIONS).map(([key, hint]) => ({
				key,
				kind: 'retired',
				enum_values: null,
				min: null,
				max: null,
				pattern: null,
				max_length: null,
				hint
			}))
		];
		expect(rows).toEqual(fromTs);
	});

	it('the translation rows hold exactly TRANSLATION_OPTION_SPECS, defaults included', async ({ db }) => {
		const { rows } = await db.sql(
			`select key, kind, enum_values, pattern, max_length, hint, default_value from video_job_option_specs
			 where job_kind = 'translation' order by position`
		);
		expect(rows).toEqual(
			TRANSLATION_OPTION_SPECS.map((s) => ({
				key: s.key,
				kind: s.kind,
				enum_values: 'values' in s ? [...s.values] : null,
				pattern: 'pattern' in s ? s.pattern : null,
				max_length: 'maxLength' in s ? s.maxLength : null,
				hint: 'hint' in s ? s.hint : null,
				default_value: 'default' in s ? s.default : null
			}))
		);
	});

	it('the app schema and the database accept and refuse the same translation options', async ({ db }) => {
		const { contentId } = await seedBusiness(db, { name: 'Translating Co' });
		const source = await completedJob(db, contentId);
		const cases: Array<[Record<string, unknown>, boolean]> = [
			[
				{ mode: TRANSLATION_MODES[1], captions: false, audio_only: true, speech_enhancement: true, remove_music: true, title: 'Hola' },
				true
			],
			[{ mode: 'fast' }, false],
			[{ captions: 'yes' }, false],
			[{ resolution: '4k' }, false],
			[{ title: '' }, false]
		];
		for (const [i, [options, ok]] of cases.entries()) {
			expect(translationOptionsSchema.safeParse(options).success, JSON.stringify(options)).toBe(ok);
			const insert = db.sql(
				`insert into video_jobs (kind, source_job_id, output_language, options) values ('translation', $1, $2, $3) returning id`,
				[source, `Language ${i}`, JSON.stringify(options)]
			);
			if (ok) await insert;
			else expect((await pgError(insert)).column, JSON.stringify(options)).toBe('options');
		}
	});

	it('the app schema and the database accept and refuse the same values', async ({ db }) => {
		const { contentId, businessId } = await seedBusiness(db);
		const cases: Array<[Record<string, unknown>, boolean]> = [
			[
				{
					resolution: '4k',
					aspect_ratio: '4:5',
					captions: true,
					engine: 'avatar_v',
					voice_pitch: -50,
					voice_locale: 'pt-BR',
					remove_background: false,
					background_color: '#00ff00',
					title: 'x'
				},
				true
			],
			[{ resolution: '4K' }, false],
			[{ voice_pitch: 50.5 }, false],
			[{ voice_locale: 'en_US' }, false],
			[{ title: 't'.repeat(200) }, true],
			[{ title: 't'.repeat(201) }, false],
			[{ dimension: { width: 1920, height: 1080 } }, false],
			[{ test: false }, false]
		];
		for (const [options, ok] of cases) {
			expect(videoOptionsSchema.safeParse(options).success, JSON.stringify(options)).toBe(ok);
			const insert = db.sql('insert into video_jobs (content_id, options) values ($1, $2) returning id, options', [
				contentId,
				JSON.stringify(options)
			]);
			if (ok) {
				const { rows } = await insert;
				expect(rows[0].options, JSON.stringify(options)).toEqual(options);
				await db.sql(`update video_jobs set status = 'canceled' where id = $1`, [rows[0].id]);
			} else {
				// Refused by the option check, naming the option: not by some unrelated error.
				const err = await pgError(insert);
				const key = Object.keys(options)[0]!;
				expect({ code: err.code, names: err.message.includes(key) }, `${JSON.stringify(options)}: ${err.message}`).toEqual({
					code: '23514',
					names: true
				});
			}
		}
		const { rows } = await db.sql('select count(*)::int as n from video_jobs where business_id = $1', [businessId]);
		expect(rows[0].n).toBe(cases.filter(([, ok]) => ok).length);
	});

	it('rows made before v3 keep their options; the worker reads them as v3', async ({ db }) => {
		const { contentId } = await seedBusiness(db, { name: 'Old Co' });
		const id = await insertJob(db, contentId);
		// As if written before migration 0012 (the check runs on insert only).
		await db.sql('alter table video_jobs disable trigger video_jobs_before_update');
		await db.sql(
			`update video_jobs set options = '{"dimension":{"width":720,"height":1280},"test":true,"caption":true,"avatar_style":"circle"}' where id = $1`,
			[id]
		);
		await db.sql('alter table video_jobs enable trigger video_jobs_before_update');
		await db.sql(`update video_jobs set status = 'canceled' where id = $1`, [id]);
		// A later update (the cancel above) neither refuses nor rewrites the old options.
		const { rows } = await db.sql('select status, options from video_jobs where id = $1', [id]);
		expect(rows[0]).toEqual({
			status: 'canceled',
			options: { dimension: { width: 720, height: 1280 }, test: true, caption: true, avatar_style: 'circle' }
		});
		expect(v3Options(rows[0].options)).toEqual({ aspect_ratio: '9:16', resolution: '720p', captions: true });
	});
});
