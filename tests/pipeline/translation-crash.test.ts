/**
 * A worker process SIGKILLed while a translation is in submit (HeyGen made the translation, its
 * reply not yet read) and while another is in transfer (a captions download hanging): a new worker
 * finishes both, each with exactly one translation at HeyGen and its files in storage.
 */
import { describe, expect, it } from 'vitest';
import { seedBusiness, insertJob, TEST_KEY } from '../helpers/fixtures.ts';
import { waitForStatus } from '../helpers/pipeline.ts';
import { expectTranslated, translate, translationsFor } from '../helpers/translations.ts';
import { workerProcessRig } from '../helpers/worker-process.ts';

describe('translation jobs when the worker is killed', () => {
	const rig = workerProcessRig(0);

	it('finish with one translation each after a SIGKILL during submit and during transfer', async () => {
		const { contentId } = await seedBusiness(rig.db, { name: 'Killed' });
		const first = rig.start();
		await first.ready;
		const source = await insertJob(rig.db, contentId);
		await waitForStatus(rig.db, source, 'completed');

		// Mid-transfer: the first file download (its captions) hangs.
		rig.sim.setFaults({ slow: { ms: 60_000, endpoint: 'files', times: 1 } });
		const [inTransfer] = await translate(rig.db, source, ['Japanese']);
		await waitForStatus(rig.db, inTransfer!, 'transferring');
		const [held] = translationsFor(rig.sim, inTransfer!);
		await rig.sim.waitFor((s) => s.requests.some((r) => r.endpoint === 'files' && r.path.startsWith(`/files/${held!.id}.`)), 10_000);

		// Mid-submit: HeyGen has made the translation and holds its reply.
		rig.sim.setFaults({ slowReply: { ms: 60_000, times: 1 } });
		const [inSubmit] = await translate(rig.db, source, ['German']);
		await rig.sim.waitFor((s) => translationsFor(s, inSubmit!).length === 1, 10_000);
		await first.kill('SIGKILL');
		const { rows } = await rig.db.sql('select id, status from video_jobs where id = any($1::uuid[]) order by status', [
			[inSubmit, inTransfer]
		]);
		expect(rows.map((r) => [r.id, r.status])).toEqual([
			[inSubmit, 'submitting'],
			[inTransfer, 'transferring']
		]);

		const second = rig.start();
		await second.ready;
		for (const [id, language] of [
			[inSubmit!, 'German'],
			[inTransfer!, 'Japanese']
		] as const) {
			const job = await waitForStatus(rig.db, id, ['completed', 'failed'], 45_000);
			expectTranslated(rig.sim, job, rig.storageDir, language);
		}
		expect([...first.output, ...second.output].join('')).not.toContain(TEST_KEY);
		expect(await second.kill('SIGTERM')).toBe(0);
	}, 120_000);
});
