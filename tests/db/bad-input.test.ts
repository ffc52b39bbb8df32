// Bad input through plain SQL: each is refused with a SQLSTATE and a message that names the
// problem, and leaves nothing behind (no job, no event, no pg-boss job, no half-written row).
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, inRolledBackTransaction, pgError, type TestDatabase } from '../helpers/db.ts';
import { addContent, seedBusiness } from '../helpers/fixtures.ts';
import { INVISIBLE_SCRIPTS } from '../helpers/invisible.ts';

interface Ctx {
	contentId: string;
	businessId: string;
	otherBusinessId: string;
	otherContentId: string;
	emptyBodyContentId: string;
	blankBodyContentId: string;
	longBodyContentId: string;
	noAvatarContentId: string;
	noVoiceContentId: string;
	noKeyContentId: string;
	busyContentId: string;
}

interface Case {
	name: string;
	sql: string;
	values: (c: Ctx) => unknown[];
	code: string;
	message: RegExp | ((c: Ctx) => string);
	constraint?: string;
	/** The stable code the app maps (0016); the message may change, this may not. */
	detail?: string;
}

const INSERT = (cols: string) =>
	`insert into video_jobs (${cols}) values (${cols
		.split(',')
		.map((_, i) => `$${i + 1}`)
		.join(', ')})`;

/** An insert of the main content with one bad column value. */
function badColumn(name: string, column: string, value: unknown, code: string, message: string | Case['message'], more: Extra = {}): Case {
	return { name, sql: INSERT(`content_id, ${column}`), values: (c) => [c.contentId, value], code, message: expected(message), ...more };
}

/** An insert that names only a content whose body or business lacks something. */
function badContent(name: string, content: keyof Ctx, code: string, message: string | Case['message'], more: Extra = {}): Case {
	return { name, sql: INSERT('content_id'), values: (c) => [c[content]], code, message: expected(message), ...more };
}

type Extra = Pick<Case, 'detail' | 'constraint'>;
const expected = (m: string | Case['message']): Case['message'] => (typeof m === 'string' ? () => m : m);

const JOB_CASES: Case[] = [
	{
		name: 'unknown content id',
		sql: INSERT('content_id'),
		values: () => ['00000000-0000-4000-8000-000000000000'],
		code: '23503',
		detail: 'content_not_found',
		message: () => 'video_jobs.content_id 00000000-0000-4000-8000-000000000000: no such content'
	},
	{
		name: 'content id that is not a uuid',
		sql: INSERT('content_id'),
		values: () => ['post-17'],
		code: '22P02',
		message: /invalid input syntax for type uuid: "post-17"/
	},
	{
		name: 'null content_id',
		sql: INSERT('content_id'),
		values: () => [null],
		code: '23502',
		detail: 'content_required',
		message: /^video_jobs\.content_id is required$/
	},
	{
		name: 'content of another business (explicit business_id mismatch)',
		sql: INSERT('content_id, business_id'),
		values: (c) => [c.otherContentId, c.businessId],
		code: '23503',
		detail: 'content_other_business',
		message: (c) => `video_jobs: content ${c.otherContentId} belongs to another business, not ${c.businessId}`
	},
	badContent(
		'empty script: content body empty and none given',
		'emptyBodyContentId',
		'23514',
		(c) => `video_jobs.script is empty: content ${c.emptyBodyContentId} has no body and no script was given`
	),
	badContent('whitespace-only content body', 'blankBodyContentId', '23514', /^video_jobs\.script is empty/),
	badColumn('whitespace-only script given', 'script', ' \n\t  ', '23514', /^video_jobs\.script is empty/),
	badColumn('empty script given (does not fall back to the body)', 'script', '', '23514', /^video_jobs\.script is empty/),
	badColumn(
		'script over 5,000 characters',
		'script',
		'x'.repeat(5001),
		'23514',
		'video_jobs.script is 5001 characters; HeyGen accepts at most 5000 per video',
		{ detail: 'script_too_long' }
	),
	badContent(
		'content body over 5,000 characters and no script',
		'longBodyContentId',
		'23514',
		'video_jobs.script is 6000 characters; HeyGen accepts at most 5000 per video',
		{ detail: 'script_too_long' }
	),
	badContent(
		'business without avatar',
		'noAvatarContentId',
		'23514',
		/^video_jobs\.avatar_id: business [0-9a-f-]{36} has no HeyGen avatar configured and none was given$/,
		{ detail: 'avatar_missing' }
	),
	badContent(
		'business without voice',
		'noVoiceContentId',
		'23514',
		/^video_jobs\.voice_id: business [0-9a-f-]{36} has no HeyGen voice configured and none was given$/,
		{ detail: 'voice_missing' }
	),
	badContent('business without key', 'noKeyContentId', '23514', /^video_jobs: business [0-9a-f-]{36} has no HeyGen API key$/, {
		detail: 'api_key_missing'
	}),
	badColumn(
		'invalid avatar_id given',
		'avatar_id',
		'anna; drop table x',
		'23514',
		'video_jobs.avatar_id "anna; drop table x" is not a valid HeyGen avatar id',
		{ detail: 'avatar_id_invalid' }
	),
	badColumn(
		'invalid voice_id given',
		'voice_id',
		'voice with spaces',
		'23514',
		'video_jobs.voice_id "voice with spaces" is not a valid HeyGen voice id',
		{ detail: 'voice_id_invalid' }
	),
	badContent(
		'second active job for the same content',
		'busyContentId',
		'23505',
		/^video_jobs: content [0-9a-f-]{36} already has an active video job [0-9a-f-]{36} \(queued\)$/,
		{ detail: 'active_job_exists', constraint: 'video_jobs_one_active_per_content' }
	),
	badColumn(
		"status other than queued on insert ('rendering')",
		'status',
		'rendering',
		'23514',
		'video_jobs.status must be queued for a new job, got rendering',
		{ detail: 'status_not_queued' }
	),
	badColumn(
		"status other than queued on insert ('completed')",
		'status',
		'completed',
		'23514',
		'video_jobs.status must be queued for a new job, got completed'
	),
	badColumn("status that is not in the enum ('done')", 'status', 'done', '22P02', 'invalid input value for enum video_job_status: "done"'),
	badColumn("options not an object ('[]')", 'options', '[]', '23514', 'video_jobs.options must be a JSON object, got array'),
	badColumn(
		'options a JSON string (\'"caption"\')',
		'options',
		'"caption"',
		'23514',
		'video_jobs.options must be a JSON object, got string'
	),
	badColumn('options that are not JSON', 'options', '{caption: true}', '22P02', /invalid input syntax for type json/),
	badColumn(
		'options with an unknown key',
		'options',
		'{"colour":"red"}',
		'23514',
		'video_jobs.options has unknown key "colour"; allowed keys: title, resolution, aspect_ratio, background_color, voice_speed, voice_pitch, voice_locale, captions, remove_background, engine'
	),
	badColumn(
		'retired v2 key dimension names its v3 replacement',
		'options',
		'{"dimension":{"width":1280,"height":720}}',
		'23514',
		'video_jobs.options.dimension is a HeyGen v1/v2 option that v3 does not have: use "resolution" (4k, 1080p, 720p) and "aspect_ratio" (16:9, 9:16, 4:5, 5:4, 1:1) instead'
	),
	badColumn(
		'retired v2 key test says v3 has no test mode',
		'options',
		'{"test":true}',
		'23514',
		/^video_jobs\.options\.test is a HeyGen v1\/v2 option that v3 does not have: HeyGen v3 has no test mode/
	),
	badColumn(
		'retired v2 key avatar_style',
		'options',
		'{"avatar_style":"normal"}',
		'23514',
		/^video_jobs\.options\.avatar_style is a HeyGen v1\/v2 option that v3 does not have: HeyGen v3 has no avatar style/
	),
	badColumn(
		'retired v2 key caption names captions',
		'options',
		'{"caption":true}',
		'23514',
		/^video_jobs\.options\.caption is a HeyGen v1\/v2 option that v3 does not have: use "captions"/
	),
	badColumn(
		'captions not boolean',
		'options',
		'{"captions":"yes"}',
		'23514',
		'video_jobs.options.captions must be true or false, got "yes"'
	),
	badColumn(
		"resolution not one of v3's",
		'options',
		'{"resolution":"8k"}',
		'23514',
		'video_jobs.options.resolution must be one of 4k, 1080p, 720p, got "8k"'
	),
	badColumn(
		'aspect_ratio auto is not offered',
		'options',
		'{"aspect_ratio":"auto"}',
		'23514',
		'video_jobs.options.aspect_ratio must be one of 16:9, 9:16, 4:5, 5:4, 1:1, got "auto"'
	),
	badColumn(
		'engine unknown',
		'options',
		'{"engine":"avatar_ii"}',
		'23514',
		'video_jobs.options.engine must be one of avatar_iv, avatar_v, avatar_iii, got "avatar_ii"'
	),
	badColumn(
		'title too long',
		'options',
		JSON.stringify({ title: 't'.repeat(201) }),
		'23514',
		/^video_jobs\.options\.title must be a string of 1 to 200 characters, got "t+/
	),
	badColumn('title empty', 'options', '{"title":""}', '23514', 'video_jobs.options.title must be a string of 1 to 200 characters, got ""'),
	badColumn(
		'bad background_color',
		'options',
		'{"background_color":"red"}',
		'23514',
		'video_jobs.options.background_color must be a colour like #1a2b3c, got "red"'
	),
	badColumn(
		'voice_speed above range',
		'options',
		'{"voice_speed":2}',
		'23514',
		'video_jobs.options.voice_speed must be a number from 0.5 to 1.5, got 2'
	),
	badColumn(
		'voice_pitch below range',
		'options',
		'{"voice_pitch":-51}',
		'23514',
		'video_jobs.options.voice_pitch must be a number from -50 to 50, got -51'
	),
	badColumn('voice_speed as a string', 'options', '{"voice_speed":"1.0"}', '23514', /^video_jobs\.options\.voice_speed must be a number/),
	badColumn(
		'voice_locale not a locale',
		'options',
		'{"voice_locale":"english please"}',
		'23514',
		'video_jobs.options.voice_locale must be a locale like en-US, got "english please"'
	),
	badColumn(
		'remove_background not boolean',
		'options',
		'{"remove_background":1}',
		'23514',
		'video_jobs.options.remove_background must be true or false, got 1'
	),
	badColumn('deadline in the past', 'deadline', new Date(Date.now() - 60_000), '23514', /^video_jobs\.deadline .* is in the past$/, {
		detail: 'deadline_past'
	}),
	badColumn(
		'worker-only column heygen_video_id on insert',
		'heygen_video_id',
		'hv-forged',
		'23514',
		'video_jobs: progress columns (heygen_*, storage_path, video_url, error_*, counters, timestamps) are set by the worker; leave them out of the insert',
		{ detail: 'progress_columns_set' }
	),
	badColumn(
		'worker-only column video_url on insert',
		'video_url',
		'https://forged/video.mp4',
		'23514',
		/are set by the worker; leave them out of the insert$/
	),
	badColumn('worker-only column attempt on insert', 'attempt', 3, '23514', /are set by the worker; leave them out of the insert$/),
	badColumn(
		'over-long idempotency_key',
		'idempotency_key',
		'k'.repeat(201),
		'23514',
		'new row for relation "video_jobs" violates check constraint "video_jobs_idempotency_key_check"',
		{ constraint: 'video_jobs_idempotency_key_check' }
	),
	badColumn('empty idempotency_key', 'idempotency_key', '', '23514', /video_jobs_idempotency_key_check/, {
		constraint: 'video_jobs_idempotency_key_check'
	}),
	badColumn(
		'worker-only v3 column heygen_idempotency_key on insert',
		'heygen_idempotency_key',
		'video-job:forged:attempt-1',
		'23514',
		'video_jobs: progress columns (heygen_idempotency_key, heygen_submitted_at, heygen_completed_at, thumbnail_path, subtitles_path, vtt_path) are set by the worker; leave them out of the insert'
	),
	badColumn(
		'avatar_id of 201 otherwise valid characters',
		'avatar_id',
		'a'.repeat(201),
		'23514',
		() => `video_jobs.avatar_id "${'a'.repeat(80)}" is not a valid HeyGen avatar id`,
		{ detail: 'avatar_id_invalid' }
	),
	badColumn(
		'voice_id with a line break inside',
		'voice_id',
		'voice\nen',
		'23514',
		'video_jobs.voice_id "voice\nen" is not a valid HeyGen voice id',
		{ detail: 'voice_id_invalid' }
	),
	// Rows are checked one by one as they are inserted: the first bad row names the error, and
	// the statement leaves nothing, not even the good rows before it.
	{
		name: 'two rows for the same content in one insert: the second sees the first',
		sql: `insert into video_jobs (content_id) values ($1), ($1)`,
		values: (c) => [c.contentId],
		code: '23505',
		detail: 'active_job_exists',
		constraint: 'video_jobs_one_active_per_content',
		message: /^video_jobs: content [0-9a-f-]{36} already has an active video job [0-9a-f-]{36} \(queued\)$/
	},
	{
		name: 'a control character in the last row of a multi-row insert',
		sql: `insert into video_jobs (content_id, script) values ($1, 'Fine.'), ($2, 'Also fine.'), ($3, $4)`,
		values: (c) => [c.contentId, c.otherContentId, c.longBodyContentId, 'Ding\u0007'],
		code: '23514',
		detail: 'script_control_character',
		message: () => 'video_jobs.script contains the control character U+0007 at position 5; only newlines and tabs are allowed'
	},
	{
		name: 'one content with an empty body among many in an insert … select',
		sql: `insert into video_jobs (content_id) select unnest($1::uuid[])`,
		values: (c) => [[c.contentId, c.otherContentId, c.emptyBodyContentId]],
		code: '23514',
		detail: 'script_empty',
		message: (c) => `video_jobs.script is empty: content ${c.emptyBodyContentId} has no body and no script was given`
	},
	{
		name: 'one bad row in a multi-row insert fails the whole statement',
		sql: `insert into video_jobs (content_id, options) values ($1, '{}'), ($2, '{"voice_speed": 9}')`,
		values: (c) => [c.contentId, c.otherContentId],
		code: '23514',
		message: /voice_speed must be a number from 0.5 to 1.5, got 9$/
	}
];

describe('bad input through plain SQL', () => {
	let db: TestDatabase;
	let ctx: Ctx;

	const snapshot = async () =>
		(
			await db.sql(`select (select count(*)::int from video_jobs) as jobs,
			                     (select count(*)::int from video_job_events) as events,
			                     (select count(*)::int from pgboss.job) as boss,
			                     (select count(*)::int from content) as content,
			                     (select count(*)::int from businesses) as businesses,
			                     (select count(*)::int from vault.secrets) as secrets,
			                     (select string_agg(concat_ws('|', id, heygen_video_id, heygen_status, heygen_url, video_long_url), ',' order by id) from content) as content_video`)
		).rows[0];

	beforeAll(async () => {
		db = await createTestDatabase();
		const main = await seedBusiness(db, { name: 'Main' });
		const other = await seedBusiness(db, { name: 'Other' });
		const noAvatar = await seedBusiness(db, { name: 'No avatar', avatar: null });
		const noVoice = await seedBusiness(db, { name: 'No voice', voice: null });
		const noKey = await seedBusiness(db, { name: 'No key', key: null });
		const busyContentId = await addContent(db, main.businessId, 'Already rendering.');
		await db.sql(`insert into video_jobs (content_id) values ($1)`, [busyContentId]);
		ctx = {
			contentId: main.contentId,
			businessId: main.businessId,
			otherBusinessId: other.businessId,
			otherContentId: other.contentId,
			emptyBodyContentId: await addContent(db, main.businessId, ''),
			blankBodyContentId: await addContent(db, main.businessId, ' \n\t \r\n'),
			longBodyContentId: await addContent(db, main.businessId, 'y'.repeat(6000)),
			noAvatarContentId: noAvatar.contentId,
			noVoiceContentId: noVoice.contentId,
			noKeyContentId: noKey.contentId,
			busyContentId
		};
	});
	afterAll(async () => {
		await db?.drop();
	});

	// Each kind of invisible character, alone: refused with the error of an empty script (SQLSTATE,
	// message, column), whether given as the script or taken from the content's body.
	describe('a script with no visible character is empty', () => {
		let blank: pg.DatabaseError;
		beforeAll(async () => {
			blank = await pgError(db.sql(INSERT('content_id, script'), [ctx.contentId, ' \n\t ']));
		});

		it.each(INVISIBLE_SCRIPTS)('%s, given as the script', async (_name, script) => {
			const contentId = await addContent(db, ctx.businessId, 'A body the script replaces.');
			const before = await snapshot();
			const err = await pgError(db.sql(INSERT('content_id, script'), [contentId, script]));
			expect(err.code).toBe(blank.code);
			expect(err.code).toBe('23514');
			expect(err.message).toBe('video_jobs.script is empty: it has only spaces or invisible characters');
			expect(err.detail).toBe('script_invisible');
			expect(err.column).toBe('script');
			expect(blank.column).toBe('script');
			expect(await snapshot()).toEqual(before);
		});

		it.each(INVISIBLE_SCRIPTS)('%s, as the content body', async (_name, body) => {
			const contentId = await addContent(db, ctx.businessId, body);
			const err = await pgError(db.sql(INSERT('content_id'), [contentId]));
			expect({ code: err.code, detail: err.detail, column: err.column }).toEqual({
				code: '23514',
				detail: 'script_invisible',
				column: 'script'
			});
		});

		it('one visible character among them is a script', async () => {
			const contentId = await addContent(db, ctx.businessId, 'Invisible neighbours.');
			const { rows } = await db.sql(INSERT('content_id, script') + ' returning script', [contentId, '\u2800\u{e0041}a\u{e0100}']);
			expect(rows[0].script).toBe('\u2800\u{e0041}a\u{e0100}');
		});
	});

	it('a script of exactly 5,000 characters is accepted (the limit is inclusive)', async () => {
		const script = 'x'.repeat(5000);
		const saved = await inRolledBackTransaction(db, async (c) => {
			const { rows } = await c.query(`insert into video_jobs (content_id, script) values ($1, $2) returning status, length(script) as n`, [
				ctx.contentId,
				script
			]);
			return rows[0];
		});
		expect(saved).toEqual({ status: 'queued', n: 5000 });
	});

	it('avatar and voice ids of exactly 200 allowed characters are accepted (the limit is inclusive)', async () => {
		const id = `A-z_0.9:${'x'.repeat(192)}`;
		const saved = await inRolledBackTransaction(db, async (c) => {
			const { rows } = await c.query(
				`insert into video_jobs (content_id, avatar_id, voice_id) values ($1, $2, $2) returning avatar_id, voice_id`,
				[ctx.contentId, id]
			);
			return rows[0];
		});
		expect(id).toHaveLength(200);
		expect(saved).toEqual({ avatar_id: id, voice_id: id });
	});

	it('many rows in one insert … select each get their own content, business defaults and pg-boss job', async () => {
		const contents = [ctx.contentId, ctx.otherContentId, await addContent(db, ctx.businessId, '\u200bStarts with a zero-width space.')];
		const result = await inRolledBackTransaction(db, async (c) => {
			const { rows } = await c.query(
				`insert into video_jobs (content_id) select unnest($1::uuid[]) returning id, content_id, business_id, script, avatar_id, voice_id`,
				[contents]
			);
			const boss = await c.query(
				`select count(*)::int as n from pgboss.job where name = 'video.submit' and singleton_key = any ($1::text[])`,
				[rows.map((r) => r.id)]
			);
			const events = await c.query(`select count(*)::int as n from video_job_events where job_id = any ($1::uuid[])`, [
				rows.map((r) => r.id)
			]);
			const shown = await c.query(`select id, heygen_status from content where id = any ($1::uuid[]) order by id`, [contents]);
			return { rows, boss: boss.rows[0].n, events: events.rows[0].n, shown: shown.rows };
		});
		const bodies = await db.sql(
			`select c.id, c.business_id, c.body, b.heygen_avatar_id, b.heygen_voice_id from content c join businesses b on b.id = c.business_id where c.id = any ($1::uuid[])`,
			[contents]
		);
		expect(result.rows.map((r) => r.content_id).sort()).toEqual([...contents].sort());
		for (const r of result.rows) {
			const src = bodies.rows.find((b) => b.id === r.content_id)!;
			expect(r).toMatchObject({
				business_id: src.business_id,
				script: src.body,
				avatar_id: src.heygen_avatar_id,
				voice_id: src.heygen_voice_id
			});
		}
		expect(new Set(result.rows.map((r) => r.business_id)).size).toBe(2);
		expect(result).toMatchObject({ boss: 3, events: 3 });
		expect(result.shown.map((r) => r.heygen_status)).toEqual(['queued', 'queued', 'queued']);
	});

	it('has at least 15 distinct bad inputs for video_jobs', () => {
		expect(JOB_CASES.length).toBeGreaterThanOrEqual(15);
		expect(new Set(JOB_CASES.map((c) => c.name)).size).toBe(JOB_CASES.length);
	});

	describe('inserting into video_jobs', () => {
		it.each(JOB_CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
			const before = await snapshot();
			const err = await pgError(db.sql(c.sql, c.values(ctx)));
			expect(err.code).toBe(c.code);
			if (typeof c.message === 'function') expect(err.message).toBe(c.message(ctx));
			else expect(err.message).toMatch(c.message);
			if (c.constraint) expect(err.constraint).toBe(c.constraint);
			if (c.detail) expect(err.detail).toBe(c.detail);
			expect(await snapshot()).toEqual(before);
		});
	});

	it('the same inputs inside a transaction leave nothing behind either once it rolls back', async () => {
		const before = await snapshot();
		const client = await db.pool.connect();
		try {
			await client.query('begin');
			await client.query('savepoint s');
			for (const c of JOB_CASES) {
				await expect(client.query(c.sql, c.values(ctx))).rejects.toMatchObject({ code: c.code });
				await client.query('rollback to savepoint s');
			}
			await client.query('commit');
		} finally {
			await client.query('rollback').catch(() => {});
			client.release();
		}
		expect(await snapshot()).toEqual(before);
	});

	// pg-boss-free sanity check: a good insert still works after all of the above.
	it('a valid insert with every option still succeeds', async () => {
		const contentId = await addContent(db, ctx.businessId, 'Valid.');
		const { rows } = await db.sql(
			`insert into video_jobs (content_id, script, avatar_id, voice_id, options, idempotency_key, deadline, requested_by)
			 values ($1, $2, 'anna-2', 'voice:en.2', $3, $4, now() + interval '2 hours', 'svc:crm') returning status, script, avatar_id, voice_id, options`,
			[
				contentId,
				'  Explicit script.  ',
				JSON.stringify({
					title: 'T',
					resolution: '4k',
					aspect_ratio: '9:16',
					background_color: '#1A2b3c',
					voice_speed: 1.5,
					voice_pitch: -50,
					voice_locale: 'en-US',
					captions: true,
					remove_background: true,
					engine: 'avatar_iii'
				}),
				'k'.repeat(200)
			]
		);
		expect(rows[0]).toMatchObject({ status: 'queued', script: 'Explicit script.', avatar_id: 'anna-2', voice_id: 'voice:en.2' });
		expect(rows[0].options).toMatchObject({ resolution: '4k', aspect_ratio: '9:16', engine: 'avatar_iii' });
	});

	// Regression: a range check that cast to int raised 22003 for 2^31+ instead of this message.
	it('a number beyond int range gets the range message', async () => {
		const before = await snapshot();
		const err = await pgError(db.sql(INSERT('content_id, options'), [ctx.contentId, '{"voice_pitch":99999999999}']));
		expect(await snapshot()).toEqual(before);
		expect(err.code).toBe('23514');
		expect(err.message).toBe('video_jobs.options.voice_pitch must be a number from -50 to 50, got 99999999999');
	});

	describe('content and businesses', () => {
		it.each([
			['heygen_video_id', 'hv-1'],
			['heygen_status', 'completed'],
			['heygen_url', 'https://heygen.example/v.mp4'],
			['video_long_url', 'https://cdn.example/v.mp4']
		])('content insert with %s set is refused', async (col, value) => {
			const before = await snapshot();
			const err = await pgError(
				db.sql(`insert into content (business_id, title, body, ${col}) values ($1, 'T', 'B', $2)`, [ctx.businessId, value])
			);
			expect(err.code).toBe('42501');
			expect(err.message).toBe(
				'content.heygen_video_id, heygen_status, heygen_url and video_long_url are set by video_jobs; leave them out of the insert'
			);
			expect(await snapshot()).toEqual(before);
		});

		it.each([
			['over-long business name', 'name', 'n'.repeat(201)],
			['blank business name', 'name', '   '],
			['bad avatar id on a business', 'heygen_avatar_id', 'anna avatar'],
			['bad voice id on a business', 'heygen_voice_id', 'v'.repeat(201)],
			['empty avatar id on a business', 'heygen_avatar_id', ''],
			['voice id ending in a newline', 'heygen_voice_id', 'voice-1\n']
		])('%s is refused', async (_name, column, value) => {
			const before = await snapshot();
			const sql =
				column === 'name' ? `insert into businesses (name) values ($1)` : `insert into businesses (name, ${column}) values ('B', $1)`;
			const err = await pgError(db.sql(sql, [value]));
			const constraint = `businesses_${column}_check`;
			expect(err.code).toBe('23514');
			expect(err.constraint).toBe(constraint);
			expect(err.message).toBe(`new row for relation "businesses" violates check constraint "${constraint}"`);
			expect(await snapshot()).toEqual(before);
		});

		it.each([
			['a space', 'video-job:x attempt-1'],
			['a newline at the end', 'video-job:x:attempt-1\n'],
			['256 characters', 'k'.repeat(256)],
			['nothing', '']
		])('a HeyGen idempotency key with %s is refused', async (_name, key) => {
			const content = await db.sql(`insert into content (business_id, title, body) values ($1, 'Key', 'Script.') returning id`, [
				ctx.businessId
			]);
			const job = await db.sql(`insert into video_jobs (content_id) values ($1) returning id`, [content.rows[0].id]);
			const err = await pgError(db.sql(`update video_jobs set heygen_idempotency_key = $2 where id = $1`, [job.rows[0].id, key]));
			expect(err.code).toBe('23514');
			expect(err.constraint).toBe('video_jobs_heygen_idempotency_key_check');
			const ok = await db.sql(`update video_jobs set heygen_idempotency_key = $2 where id = $1 returning heygen_idempotency_key`, [
				job.rows[0].id,
				'K:.-_'.repeat(51)
			]);
			expect(ok.rows[0].heygen_idempotency_key).toHaveLength(255);
			await db.sql(`update video_jobs set status = 'canceled' where id = $1`, [job.rows[0].id]);
		});

		it.each([
			['blank content title', `insert into content (business_id, title) values ($1, '  ')`, '23514', 'content_title_check'],
			['over-long content title', `insert into content (business_id, title) values ($1, repeat('t', 301))`, '23514', 'content_title_check'],
			[
				'content body over 100,000 characters',
				`insert into content (business_id, title, body) values ($1, 'T', repeat('b', 100001))`,
				'23514',
				'content_body_check'
			]
		])('%s is refused', async (_name, sql, code, constraint) => {
			const before = await snapshot();
			const err = await pgError(db.sql(sql, [ctx.businessId]));
			expect(err.code).toBe(code);
			expect(err.constraint).toBe(constraint);
			expect(err.message).toContain(constraint);
			expect(await snapshot()).toEqual(before);
		});

		it('content for an unknown business is refused', async () => {
			const before = await snapshot();
			const err = await pgError(db.sql(`insert into content (business_id, title) values ('00000000-0000-4000-8000-000000000000', 'T')`));
			expect(err.code).toBe('23503');
			expect(err.constraint).toBe('content_business_id_fkey');
			expect(await snapshot()).toEqual(before);
		});
	});
});
