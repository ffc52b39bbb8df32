/**
 * How long a rendering video waits before its next status check: POLL_INITIAL_SECONDS doubling,
 * capped by POLL_MAX_SECONDS, never by RETRY_MAX_SECONDS (the cap for retries after errors).
 * Both orders of the two caps are tried, so using the wrong one shows whichever is smaller.
 */
import { describe, expect, vi } from 'vitest';
import { loadConfig } from '../../config/index.ts';
import { settingsFromConfig } from '../../worker/index.ts';
import type { TestDatabase } from '../helpers/db.ts';
import { addContent, insertJob } from '../helpers/fixtures.ts';
import { pipelineTest as it, type StartPipeline } from '../helpers/pipeline-fixtures.ts';
import { FAST_SETTINGS, waitForStatus } from '../helpers/pipeline.ts';

/**
 * Seconds from a rendering video's first status check to its next one, with these settings. The
 * first check (scheduled POLL_INITIAL_SECONDS out) is woken at once, as a webhook would.
 */
async function secondsToNextCheck(
	{ db, business: { businessId }, startPipeline }: { db: TestDatabase; business: { businessId: string }; startPipeline: StartPipeline },
	env: { POLL_MAX_SECONDS: string; RETRY_MAX_SECONDS: string }
): Promise<number> {
	const config = loadConfig({ HEYGEN_API_URL: 'http://127.0.0.1:1', POLL_INITIAL_SECONDS: '60', RETRY_BASE_SECONDS: '1', ...env });
	const { pollInitialMs, pollMaxMs, retryBaseMs, retryMaxMs } = settingsFromConfig(config);
	const settings = { ...FAST_SETTINGS, pollInitialMs, pollMaxMs, retryBaseMs, retryMaxMs };
	await startPipeline({ renderMs: 600_000, worker: { settings } });
	const jobId = await insertJob(db, await addContent(db, businessId));
	await waitForStatus(db, jobId, 'rendering');
	expect((await db.sql('select video_jobs_wake_poll($1) as woke', [jobId])).rows[0].woke).toBe(true);
	await vi.waitFor(
		async () => {
			const { rows } = await db.sql('select poll_count, last_heygen_status from video_jobs where id = $1', [jobId]);
			if (rows[0].poll_count !== 1) throw new Error(`poll_count ${rows[0].poll_count}`);
			expect(rows[0].last_heygen_status).toMatch(/^(pending|processing)$/);
		},
		{ timeout: 15_000, interval: 50 }
	);
	const { rows } = await db.sql<{ seconds: number }>(
		`select extract(epoch from start_after - now())::float8 as seconds from pgboss.job
		 where name = 'video.poll' and singleton_key = $1 and state = 'created'`,
		[jobId]
	);
	expect(rows).toHaveLength(1);
	return rows[0]!.seconds;
}

describe('the poll schedule is capped by POLL_MAX_SECONDS', () => {
	it('RETRY_MAX_SECONDS below POLL_MAX_SECONDS: the next check is POLL_MAX_SECONDS away', async ({ db, business, startPipeline }) => {
		const seconds = await secondsToNextCheck({ db, business, startPipeline }, { POLL_MAX_SECONDS: '40', RETRY_MAX_SECONDS: '5' });
		expect(seconds).toBeGreaterThan(30);
		expect(seconds).toBeLessThanOrEqual(40.01);
	});

	it('RETRY_MAX_SECONDS above POLL_MAX_SECONDS: the next check is POLL_MAX_SECONDS away', async ({ db, business, startPipeline }) => {
		const seconds = await secondsToNextCheck({ db, business, startPipeline }, { POLL_MAX_SECONDS: '20', RETRY_MAX_SECONDS: '50' });
		expect(seconds).toBeGreaterThan(10);
		expect(seconds).toBeLessThanOrEqual(20.01);
	});
});
