/**
 * HeyGen (or a proxy in front of it) echoing the caller's API key in an error's `code` or
 * `message`, in every form a server or logger might write it: nothing of it may reach the job row,
 * its events or the worker's log (tests/helpers/key-leaks.ts checks, independently of the product).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { echoKey, KEY_ECHO_FORMS, startHeyGenSimulator, type HeyGenSimulator, type KeyEchoForm } from '../../heygen/simulator/server.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { addContent, insertJob, seedBusiness } from '../helpers/fixtures.ts';
import { ECHO_KEY, keyLeaks } from '../helpers/key-leaks.ts';
import { startPipeline, waitForStatus, type Pipeline } from '../helpers/pipeline.ts';

const KEY = ECHO_KEY;
const leaks = (text: string) => keyLeaks(text);

const FAILED_SAYS_NOTHING =
	/^(HeyGen could not render the video: \[redacted\]|HeyGen reported the render as failed without giving a reason\.)$/;

describe('the API key echoed back by HeyGen never reaches a row, an event or a log line', () => {
	let db: TestDatabase;
	let sim: HeyGenSimulator;
	let p: Pipeline;
	let businessId: string;
	beforeAll(async () => {
		db = await createTestDatabase();
		sim = await startHeyGenSimulator({ validKeys: [KEY] });
		p = await startPipeline(db, { sim });
		({ businessId } = await seedBusiness(db, { key: KEY }));
	});
	afterEach(() => sim.clearFaults());
	afterAll(async () => {
		await p?.stop();
		await sim?.close();
		await db?.drop();
	});

	/** Runs one job to its end; returns its row and everything stored or logged about it. */
	async function runJob(): Promise<{ job: Record<string, any>; stored: string }> {
		const logsBefore = p.logs.length;
		const jobId = await insertJob(db, await addContent(db, businessId, 'A script for the key echo test.'));
		const job = await waitForStatus(db, jobId, ['completed', 'failed']);
		const row = await db.sql(`select row_to_json(j)::text as t from video_jobs j where id = $1`, [jobId]);
		const events = await db.sql(`select coalesce(json_agg(e order by id)::text, '') as t from video_job_events e where job_id = $1`, [
			jobId
		]);
		const content = await db.sql(`select row_to_json(c)::text as t from content c where id = $1`, [job.content_id]);
		// The worker may still log about the job after its last transition (e.g. "render failed").
		await new Promise<void>((resolve) => setImmediate(resolve));
		const stored = [row.rows[0].t, events.rows[0].t, content.rows[0].t, ...p.logs.slice(logsBefore)].join('\n');
		return { job, stored };
	}

	it('the leak check itself sees every form the simulator can echo', () => {
		for (const form of KEY_ECHO_FORMS) expect(leaks(`code ${echoKey(KEY, form)} end`), form).not.toEqual([]);
	});

	describe.each(KEY_ECHO_FORMS.map((f) => [f]))('key echoed as %s', (form: KeyEchoForm) => {
		it('in a failed render (failure_code and failure_message)', async () => {
			sim.setFaults({ echoKeyRender: { form, times: 1 } });
			const { job, stored } = await runJob();
			expect(job.status).toBe('failed');
			expect(job.error_code).toBe('render_failed');
			expect(job.error_message).toMatch(FAILED_SAYS_NOTHING);
			expect(leaks(stored)).toEqual([]);
		});

		it.each([
			[400, 'invalid_parameter'],
			[403, 'forbidden'],
			[418, 'heygen_refused']
		])('in an HTTP %i error to the submit', async (status, code) => {
			sim.setFaults({ echoKeyError: { form, status, endpoint: 'generate', times: 1 } });
			const { job, stored } = await runJob();
			expect(job.status).toBe('failed');
			expect(job.error_code).toBe(code);
			expect(leaks(stored)).toEqual([]);
		});

		it('in an HTTP 503 error to a status check (retried, then completed)', async () => {
			sim.setFaults({ echoKeyError: { form, status: 503, endpoint: 'status', times: 1 } });
			const { job, stored } = await runJob();
			expect(job.status).toBe('completed');
			expect(leaks(stored)).toEqual([]);
			// The retried error was recorded (and logged) on the way: it is in the stored text, without the key.
			expect(stored).toContain('HeyGen had a temporary problem (HTTP 503)');
		});
	});
});
