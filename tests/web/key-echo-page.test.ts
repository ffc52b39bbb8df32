/**
 * The job page of a video whose failure HeyGen reported with the API key echoed in its code and
 * message (every form of tests/helpers/key-leaks.ts): the page, the app's log and the worker's log
 * show none of it.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { KEY_ECHO_FORMS, type KeyEchoForm } from '../../heygen/simulator/server.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { ECHO_KEY, keyLeaks } from '../helpers/key-leaks.ts';
import { waitForStatus } from '../helpers/pipeline.ts';
import type { Client } from './harness.ts';
import {
	configureHeyGen,
	createBusiness,
	createContent,
	GENERATE_DEFAULTS,
	generateFormKey,
	signUp,
	startTestApp,
	type TestApp
} from './harness.ts';

let db: TestDatabase;
let app: TestApp;
let c: Client;
let b: string;

beforeAll(async () => {
	db = await createTestDatabase();
	app = await startTestApp(db, { renderMs: 0, sim: { validKeys: [ECHO_KEY] } });
	({ client: c } = await signUp(app, 'Echo Owner'));
	b = await createBusiness(c, 'Echo Videos');
	await configureHeyGen(c, b, ECHO_KEY);
}, 120_000);
afterAll(async () => {
	await app?.stop();
	await db?.drop();
});

async function failedJobPage(inject: () => void): Promise<{ page: string; row: Record<string, any> }> {
	inject();
	const content = await createContent(c, b, 'A script whose render HeyGen fails.', 'Echo');
	const r = await c.action(`/b/${b}/content/${content}?/generate`, {
		...GENERATE_DEFAULTS,
		idempotencyKey: await generateFormKey(c, b, content)
	});
	expect(r.type).toBe('success');
	const row = await waitForStatus(db, r.data.jobId, 'failed');
	app.sim.clearFaults();
	return { page: (await c.html(`/b/${b}/content/${content}`)).text, row };
}

describe('the key echoed by HeyGen never reaches the job page', () => {
	test.each(KEY_ECHO_FORMS.map((f) => [f]))('key echoed %s in a failed render', async (form: KeyEchoForm) => {
		const { page, row } = await failedJobPage(() => app.sim.setFaults({ echoKeyRender: { form, times: 1 } }));
		expect(page).toContain('The video failed.');
		expect(page).toContain(row.error_code);
		expect(keyLeaks(page)).toEqual([]);
	});

	test.each(KEY_ECHO_FORMS.map((f) => [f]))('key echoed %s in an HTTP 418 error to the submit', async (form: KeyEchoForm) => {
		const { page, row } = await failedJobPage(() =>
			app.sim.setFaults({ echoKeyError: { form, status: 418, endpoint: 'generate', times: 1 } })
		);
		expect(row.error_code).toBe('heygen_refused');
		expect(page).toContain('The video failed.');
		expect(keyLeaks(page)).toEqual([]);
	});

	test('nor a log line of the app or the worker', () => {
		expect(keyLeaks(app.logs.join('\n'))).toEqual([]);
		expect(keyLeaks(app.pipeline!.logs.join('\n'))).toEqual([]);
	});
});
