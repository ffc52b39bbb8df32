/**
 * The job page of a video whose failure HeyGen reported with the API key echoed in its code and
 * message (every form of tests/helpers/key-leaks.ts): the page, the app's log and the worker's log
 * show none of it.
 */
import { describe, expect } from 'vitest';
import { KEY_ECHO_FORMS } from '../../heygen/simulator/server.ts';
import type { TestDatabase } from '../helpers/db.ts';
import { ECHO_KEY, keyLeaks } from '../helpers/key-leaks.ts';
import { waitForStatus } from '../helpers/pipeline.ts';
import { type Owner, webTest as test } from '../helpers/web-fixtures.ts';
import { createContent, generateVideo, type TestApp } from './harness.ts';

test.override({ appOptions: { renderMs: 0, sim: { validKeys: [ECHO_KEY] } }, studioKey: ECHO_KEY });

async function failedJobPage(
	{ db, app, studio: { client: c, businessId: b } }: { db: TestDatabase; app: TestApp; studio: Owner },
	inject: () => void
): Promise<{ page: string; row: Record<string, any> }> {
	inject();
	const content = await createContent(c, b, 'A script whose render HeyGen fails.', 'Echo');
	const row = await waitForStatus(db, await generateVideo(c, b, content), 'failed');
	app.sim.clearFaults();
	return { page: (await c.html(`/b/${b}/content/${content}`)).text, row };
}

describe('the key echoed by HeyGen never reaches the job page', () => {
	test.for(KEY_ECHO_FORMS)('key echoed %s in a failed render', async (form, { db, app, studio }) => {
		const { page, row } = await failedJobPage({ db, app, studio }, () => app.sim.setFaults({ echoKeyRender: { form, times: 1 } }));
		expect(page).toContain('The video failed.');
		expect(page).toContain(row.error_code);
		expect(keyLeaks(page)).toEqual([]);
	});

	test.for(KEY_ECHO_FORMS)('key echoed %s in an HTTP 418 error to the submit', async (form, { db, app, studio }) => {
		const { page, row } = await failedJobPage({ db, app, studio }, () =>
			app.sim.setFaults({ echoKeyError: { form, status: 418, endpoint: 'generate', times: 1 } })
		);
		expect(row.error_code).toBe('heygen_refused');
		expect(page).toContain('The video failed.');
		expect(keyLeaks(page)).toEqual([]);
	});

	test('nor a log line of the app or the worker', ({ app }) => {
		expect(keyLeaks(app.logs.join('\n'))).toEqual([]);
		expect(keyLeaks(app.pipeline!.logs.join('\n'))).toEqual([]);
	});
});
