import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect } from 'vitest';
import { generateDbTypes, generateJobStates } from '../../db/codegen.ts';
import { dbTest as it } from '../helpers/fixtures.ts';

describe('generated Kysely types', () => {
	it('db/types.ts matches the migrations (run `npm run db:types` if this fails)', async ({ db }) => {
		const r = await generateDbTypes(db.url, { verify: true });
		expect(r.output).not.toMatch(/out of date|differ/i);
		expect(r.ok, r.output).toBe(true);
	});

	it('db/job-states.ts matches video_job_statuses and video_job_transitions (run `npm run db:types` if this fails)', async ({ db }) => {
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

	it('the check notices a drifted file', async ({ db }) => {
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
