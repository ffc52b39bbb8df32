import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDbTypes, generateJobStates } from '../../db/codegen.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

describe('generated Kysely types', () => {
	let db: TestDatabase;
	beforeAll(async () => {
		db = await createTestDatabase();
	});
	afterAll(async () => db?.drop());

	it('db/types.ts matches the migrations (run `npm run db:types` if this fails)', async () => {
		const r = await generateDbTypes(db.url, { verify: true });
		expect(r.output).not.toMatch(/out of date|differ/i);
		expect(r.ok, r.output).toBe(true);
	});

	it('db/job-states.ts matches video_job_statuses and video_job_transitions (run `npm run db:types` if this fails)', async () => {
		const r = await generateJobStates(db.url, { verify: true });
		expect(r.ok, r.output).toBe(true);
		const dir = mkdtempSync(path.join(tmpdir(), 'states-'));
		const drifted = path.join(dir, 'job-states.ts');
		writeFileSync(drifted, readFileSync(path.resolve('db/job-states.ts'), 'utf8').replace("'transferring', ", ''));
		try {
			expect((await generateJobStates(db.url, { verify: true, outFile: drifted })).ok).toBe(false);
		} finally {
			rmSync(dir, { recursive: true, force: true });
		}
	});

	it('the check notices a drifted file', async () => {
		const dir = mkdtempSync(path.join(tmpdir(), 'types-'));
		const drifted = path.join(dir, 'types.ts');
		writeFileSync(drifted, readFileSync(path.resolve('db/types.ts'), 'utf8').replace('last_error: string | null;', ''));
		try {
			expect((await generateDbTypes(db.url, { verify: true, outFile: drifted })).ok).toBe(false);
		} finally {
			rmSync(dir, { recursive: true, force: true });
		}
	});
});
