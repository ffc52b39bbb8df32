import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addContent, insertJob, seedBusiness, TEST_KEY } from '../helpers/fixtures.ts';
import { waitForStatus } from '../helpers/pipeline.ts';
import { workerProcessRig } from '../helpers/worker-process.ts';

/**
 * SIGKILL a real worker process while jobs sit in each phase, start a new one, and check that every
 * job finishes with exactly one HeyGen video, also the job killed between HeyGen's reply and the
 * commit that saves the video id (its retry sends the same Idempotency-Key).
 */
describe('worker killed mid-flight', () => {
	const rig = workerProcessRig(0);

	it('finishes every job after a SIGKILL in submit, poll and transfer', async () => {
		const { businessId } = await seedBusiness(rig.db);
		const first = rig.start();
		await first.ready;

		// Mid-transfer: the download request hangs.
		rig.sim.setFaults({ slow: { ms: 60_000, endpoint: 'files', times: 1 } });
		const transferJob = await insertJob(rig.db, await addContent(rig.db, businessId, 'transfer'));
		await waitForStatus(rig.db, transferJob, 'transferring');
		await rig.sim.waitFor((s) => s.requests.some((r) => r.endpoint === 'files'), 10_000);

		// Mid-poll: a render that takes a while.
		const pollJob = await insertJob(rig.db, await addContent(rig.db, businessId, 'poll'), {
			options: JSON.stringify({ title: '[sim renderMs=4000]' })
		});
		await waitForStatus(rig.db, pollJob, 'rendering');

		// After submit, before saving: kill the moment HeyGen has accepted the video.
		const submitJob = await insertJob(rig.db, await addContent(rig.db, businessId, 'submit'));
		await rig.sim.waitFor((s) => s.submitsFor(submitJob) === 1, 10_000);
		await first.kill('SIGKILL');

		const states = await rig.db.sql('select id, status from video_jobs');
		expect(states.rows.every((r) => ['submitting', 'rendering', 'transferring', 'completed'].includes(r.status))).toBe(true);

		const second = rig.start();
		await second.ready;
		for (const id of [transferJob, pollJob, submitJob]) {
			const job = await waitForStatus(rig.db, id, ['completed', 'failed'], 45_000);
			expect(job.status, `${id}: ${job.error_message}`).toBe('completed');
			const file = path.join(rig.storageDir, job.business_id, job.content_id, `${id}.mp4`);
			expect(readFileSync(file).equals(rig.sim.mp4)).toBe(true);
		}
		expect(rig.sim.submitsFor(transferJob)).toBe(1);
		expect(rig.sim.submitsFor(pollJob)).toBe(1);
		// The retry after the crash sent the same Idempotency-Key: HeyGen replayed, made no second video.
		expect(rig.sim.submitsFor(submitJob)).toBe(1);

		const logs = [...first.output, ...second.output].join('');
		expect(logs).not.toContain(TEST_KEY);
		// Graceful stop: in-flight steps finish, the process exits 0.
		expect(await second.kill('SIGTERM')).toBe(0);
	}, 120_000);
});

describe('two worker processes share the work', () => {
	const rig = workerProcessRig(200);

	it('completes 50 jobs with exactly one HeyGen submit each', async () => {
		const { businessId } = await seedBusiness(rig.db);
		const workers = [rig.start({ WORKER_CONCURRENCY: '10' }), rig.start({ WORKER_CONCURRENCY: '10' })];
		await Promise.all(workers.map((w) => w.ready));
		await rig.db.sql(
			`insert into content (business_id, title, body) select $1, 'Post ' || g, 'Script number ' || g from generate_series(1, 50) g`,
			[businessId]
		);
		const { rows } = await rig.db.sql<{ id: string }>(
			`insert into video_jobs (content_id) select id from content where title like 'Post %' returning id`
		);
		expect(rows).toHaveLength(50);
		for (const { id } of rows) {
			const job = await waitForStatus(rig.db, id, ['completed', 'failed'], 60_000);
			expect(job.status, job.error_message).toBe('completed');
			expect(rig.sim.submitsFor(id)).toBe(1);
		}
		// Both processes took part (pg-boss hands out work with SKIP LOCKED).
		const byWorker = workers.map((w) => w.output.join('').split('video stored').length - 1);
		expect(byWorker.reduce((a, b) => a + b, 0)).toBe(50);
		expect(Math.min(...byWorker)).toBeGreaterThan(0);
	}, 120_000);
});
