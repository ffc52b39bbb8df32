// worker/kinds/index.ts lists what each job kind does at HeyGen; SQL lists which kinds a job may
// have (video_jobs_kind_check) and their options (video_job_option_specs.job_kind). A kind added on
// one side only fails here, not at a customer's first insert.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_KINDS } from '../../worker/kinds/index.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
beforeAll(async () => {
	db = await createTestDatabase();
});
afterAll(async () => {
	await db?.drop();
});

/** The quoted values of a `kind in (…)` / `= ANY (ARRAY[…])` check constraint. */
async function checkValues(table: string, constraint: string): Promise<string[]> {
	const { rows } = await db.sql<{ def: string }>(
		`select pg_get_constraintdef(c.oid) as def from pg_constraint c where c.conrelid = $1::regclass and c.conname = $2`,
		[table, constraint]
	);
	expect(rows, `${table}.${constraint}`).toHaveLength(1);
	return [...rows[0]!.def.matchAll(/'([^']+)'::text/g)].map((m) => m[1]!).sort();
}

describe('job kinds', () => {
	it('SQL and worker/kinds/index.ts name the same kinds, and every kind has option specs', async () => {
		const kinds = Object.keys(JOB_KINDS).sort();
		expect(await checkValues('video_jobs', 'video_jobs_kind_check')).toEqual(kinds);
		expect(await checkValues('video_job_option_specs', 'video_job_option_specs_job_kind_check')).toEqual(kinds);
		const { rows } = await db.sql<{ job_kind: string }>('select distinct job_kind from video_job_option_specs order by 1');
		expect(rows.map((r) => r.job_kind)).toEqual(kinds);
	});
});
