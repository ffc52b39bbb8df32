import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, onTestFinished } from 'vitest';
import { generateDbTypes, generateJobStates } from '../../db/codegen.ts';
import { dbTest as it } from '../helpers/fixtures.ts';

/** A copy of the generated file `source` with `drop` taken out, for this test only (removed after it). */
function driftedCopy(source: string, drop: string): string {
	const dir = mkdtempSync(path.join(tmpdir(), 'drifted-'));
	onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
	const drifted = path.join(dir, path.basename(source));
	writeFileSync(drifted, readFileSync(path.resolve(source), 'utf8').replace(drop, ''));
	return drifted;
}

describe('generated Kysely types', () => {
	it('db/types.ts matches the migrations (run `npm run db:types` if this fails)', async ({ db }) => {
		const r = await generateDbTypes(db.url, { verify: true });
		expect(r.output).not.toMatch(/out of date|differ/i);
		expect(r.ok, r.output).toBe(true);
	});

	it('db/job-states.ts matches video_job_statuses and video_job_transitions (run `npm run db:types` if this fails)', async ({ db }) => {
		const r = await generateJobStates(db.url, { verify: true });
		expect(r.ok, r.output).toBe(true);
		const drifted = driftedCopy('db/job-states.ts', "'transferring', ");
		expect((await generateJobStates(db.url, { verify: true, outFile: drifted })).ok).toBe(false);
	});

	it('the check notices a drifted file', async ({ db }) => {
		const drifted = driftedCopy('db/types.ts', 'last_error: string | null;');
		expect((await generateDbTypes(db.url, { verify: true, outFile: drifted })).ok).toBe(false);
	});
});
