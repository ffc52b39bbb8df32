// Findings 1–3 of the outside attack (issue 11), kept fixed: owner-rights functions cannot be
// pointed at a caller's temp tables, and deadlines or scripts that would crash the worker or
// waste a paid render are refused in SQL, for every writer.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asNewRole, createTestDatabase, inRolledBackTransaction, pgError, type TestDatabase } from '../helpers/db.ts';
import { addContent, seedBusiness, type Seeded } from '../helpers/fixtures.ts';

let db: TestDatabase;
let seeded: Seeded;
beforeAll(async () => {
	db = await createTestDatabase();
	seeded = await seedBusiness(db);
});
afterAll(async () => {
	await db?.drop();
});

describe('owner-rights functions and the caller’s temp schema', () => {
	it('every SECURITY DEFINER function pins a search_path that ends with pg_temp (or is empty)', async () => {
		const { rows } = await db.sql<{ fn: string; proconfig: string[] | null }>(
			`select p.oid::regprocedure::text as fn, p.proconfig
			   from pg_proc p join pg_namespace n on n.oid = p.pronamespace
			  where p.prosecdef and n.nspname not in ('pg_catalog', 'information_schema') order by 1`
		);
		// The known ones are among them, so this cannot pass on an empty list.
		expect(rows.map((r) => r.fn)).toEqual(
			expect.arrayContaining([
				'video_jobs_before_insert()',
				'video_jobs_after_insert()',
				'set_heygen_key(uuid,text)',
				'vault.create_secret(text,text,text,uuid)'
			])
		);
		const weak = rows.filter((r) => {
			const setting = (r.proconfig ?? []).find((c) => c.startsWith('search_path='));
			if (!setting) return true;
			const path = setting
				.slice('search_path='.length)
				.split(',')
				.map((s) => s.trim());
			return !(path.at(-1) === 'pg_temp' || (path.length === 1 && (path[0] === '' || path[0] === '""')));
		});
		expect(weak.map((r) => `${r.fn}: ${JSON.stringify(r.proconfig)}`)).toEqual([]);
	});

	it('a temp video_job_events table does not capture the audit row of a job insert', async () => {
		const contentId = await addContent(db, seeded.businessId, 'Shadowed audit.');
		const result = await inRolledBackTransaction(db, async (c) => {
			await asNewRole(c);
			await c.query('create temp table video_job_events (like public.video_job_events)');
			const { rows } = await c.query(`insert into video_jobs (content_id) values ($1) returning id`, [contentId]);
			const temp = await c.query('select count(*)::int as n from pg_temp.video_job_events');
			const real = await c.query('select to_status from public.video_job_events where job_id = $1', [rows[0].id]);
			return { temp: temp.rows[0].n, real: real.rows.map((r) => r.to_status) };
		});
		expect(result).toEqual({ temp: 0, real: ['queued'] });
	});

	it('a temp content table does not make the insert trigger answer "no such content"', async () => {
		const contentId = await addContent(db, seeded.businessId, 'Shadowed content.');
		const status = await inRolledBackTransaction(db, async (c) => {
			await asNewRole(c);
			await c.query('create temp table content (like public.content)');
			const { rows } = await c.query(`insert into video_jobs (content_id) values ($1) returning status, script`, [contentId]);
			return rows[0];
		});
		expect(status).toEqual({ status: 'queued', script: 'Shadowed content.' });
	});
});

describe('deadlines', () => {
	const insert = (contentId: string, deadline: string) =>
		db.sql(`insert into video_jobs (content_id, deadline) values ($1, $2::timestamptz)`, [contentId, deadline]);
	const jobsOf = async (contentId: string) =>
		(await db.sql('select count(*)::int as n from video_jobs where content_id = $1', [contentId])).rows[0].n;

	it("'infinity' is refused with a clear error and leaves no job", async () => {
		const contentId = await addContent(db, seeded.businessId, 'Forever.');
		const err = await pgError(insert(contentId, 'infinity'));
		expect(err.code).toBe('23514');
		expect(err.message).toBe('video_jobs.deadline must be a real point in time, got infinity');
		expect(await jobsOf(contentId)).toBe(0);
	});

	it('more than 7 days out is refused; 6 days is fine', async () => {
		const contentId = await addContent(db, seeded.businessId, 'Far away.');
		const err = await pgError(insert(contentId, new Date(Date.now() + 8 * 86_400_000).toISOString()));
		expect(err.code).toBe('23514');
		expect(err.message).toMatch(/^video_jobs\.deadline .* is more than 7 days away; give a time within 7 days$/);
		expect(await jobsOf(contentId)).toBe(0);
		await insert(contentId, new Date(Date.now() + 6 * 86_400_000).toISOString());
		expect(await jobsOf(contentId)).toBe(1);
	});

	it("an update to 'infinity' is refused too", async () => {
		const contentId = await addContent(db, seeded.businessId, 'Later forever.');
		const { rows } = await db.sql(`insert into video_jobs (content_id) values ($1) returning id, deadline`, [contentId]);
		const err = await pgError(db.sql(`update video_jobs set deadline = 'infinity' where id = $1`, [rows[0].id]));
		expect(err.message).toBe('video_jobs.deadline must be a real point in time, got infinity');
		const after = await db.sql('select deadline from video_jobs where id = $1', [rows[0].id]);
		expect(after.rows[0].deadline).toEqual(rows[0].deadline);
	});
});

describe('scripts', () => {
	const insertScript = (contentId: string, script: string) =>
		db.sql(`insert into video_jobs (content_id, script) values ($1, $2) returning script`, [contentId, script]);

	it.each([
		['no-break, zero-width and ideographic spaces', '\u00a0\u200b\u3000'],
		['a byte-order mark and a word joiner with newlines', '\ufeff\n\u2060\t']
	])('a script of only invisible characters is empty (%s)', async (_name, script) => {
		const contentId = await addContent(db, seeded.businessId, 'Body that is fine.');
		const err = await pgError(insertScript(contentId, script));
		expect(err.code).toBe('23514');
		expect(err.message).toBe('video_jobs.script is empty: it has only spaces or invisible characters');
	});

	it('content whose body is only invisible characters cannot be rendered', async () => {
		const contentId = await addContent(db, seeded.businessId, '\u200b\u200b\u00a0');
		const err = await pgError(db.sql(`insert into video_jobs (content_id) values ($1)`, [contentId]));
		expect(err.message).toBe('video_jobs.script is empty: it has only spaces or invisible characters');
	});

	it.each([
		['ESC', 'Hello \u001b[31m world', '001B', 7],
		['BEL', 'Ding\u0007', '0007', 5],
		['a lone carriage return', 'one\rtwo', '000D', 4],
		['a C1 control', 'x\u0085y', '0085', 2]
	])('%s is refused, naming the character and where it is', async (_name, script, code, at) => {
		const contentId = await addContent(db, seeded.businessId, 'Body.');
		const err = await pgError(insertScript(contentId, script));
		expect(err.code).toBe('23514');
		expect(err.message).toBe(
			`video_jobs.script contains the control character U+${code} at position ${at}; only newlines and tabs are allowed`
		);
		expect((await db.sql('select count(*)::int as n from video_jobs where content_id = $1', [contentId])).rows[0].n).toBe(0);
	});

	it('newlines, tabs, Windows line ends and visible non-Latin text are accepted', async () => {
		const contentId = await addContent(db, seeded.businessId, 'Body.');
		const { rows } = await insertScript(contentId, 'Hallo\tWelt\r\nこんにちは\u00a0世界\n');
		expect(rows[0].script).toBe('Hallo\tWelt\nこんにちは\u00a0世界');
	});
});
