// A key saved while a submit is on its way with the old key (issue 22's noted race): HeyGen refuses
// the old key with 401, but that says nothing about the key the business has now. The job must go
// back to queued and be submitted with the new key, without pausing the business.
import { expect } from 'vitest';
import { createHeyGenClient } from '../../heygen/index.ts';
import { pipelineTest } from '../helpers/pipeline-fixtures.ts';
import { insertJob, seedBusiness } from '../helpers/fixtures.ts';
import { countSubmits } from '../helpers/heygen-sim.ts';
import { startHeyGenSimulator } from '../../heygen/simulator/server.ts';
import { FAST_SETTINGS, waitForStatus } from '../helpers/pipeline.ts';

const OLD_KEY = 'sim-key-old-mid-submit';
const NEW_KEY = 'sim-key-new-mid-submit';

pipelineTest(
	'a 401 for a key replaced during the submit requeues the job with the new key and pauses nothing',
	async ({ db, startPipeline }) => {
		const sim = await startHeyGenSimulator({ renderMs: 0, validKeys: [OLD_KEY, NEW_KEY] });
		try {
			const { businessId, contentId } = await seedBusiness(db, { name: 'Rotating Co', key: OLD_KEY });
			sim.setAccount({ revoked: true }, OLD_KEY);
			let saved = false;
			await startPipeline({
				sim,
				worker: {
					settings: { ...FAST_SETTINGS, pauseProbeMs: 60_000, pauseProbeMaxMs: 60_000 },
					heygen: (apiKey) => {
						const client = createHeyGenClient({ baseUrl: sim.url, apiKey, timeoutMs: 5000 });
						if (apiKey !== OLD_KEY) return client;
						return {
							...client,
							// The owner saves the new key after this submit read the old one, before HeyGen answers.
							async generateVideo(req) {
								if (!saved) {
									saved = true;
									await db.sql('select set_heygen_key($1, $2)', [businessId, NEW_KEY]);
								}
								return client.generateVideo(req);
							}
						};
					}
				}
			});
			const id = await insertJob(db, contentId);
			const done = await waitForStatus(db, id, ['completed', 'failed']);
			expect(done.status).toBe('completed');
			expect(saved).toBe(true);
			expect(countSubmits(sim, id)).toBe(1);
			const events = await db.sql('select event, reason from business_heygen_events where business_id = $1 order by id', [businessId]);
			expect(events.rows).toEqual([]);
			const paused = await db.sql('select heygen_paused_reason from businesses where id = $1', [businessId]);
			expect(paused.rows[0].heygen_paused_reason).toBeNull();
		} finally {
			await sim.close();
		}
	}
);
