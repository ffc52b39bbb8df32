// The spend guard with the worker and the HeyGen simulator (issue 22): a held job makes no HeyGen
// call until approved; an account out of credit (402) or with its key revoked (401) pauses its
// business instead of failing its jobs, other businesses go on, and credits back finish them all.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHeyGenSimulator, type HeyGenSimulator } from '../../heygen/simulator/server.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { addContent, insertJob, seedBusiness, TEST_KEY } from '../helpers/fixtures.ts';
import { countSubmits } from '../helpers/heygen-sim.ts';
import { translate, translationsFor } from '../helpers/translations.ts';
import { FAST_SETTINGS, startPipeline, waitForStatus, waitUntil, type Pipeline } from '../helpers/pipeline.ts';

const KEY_A = 'sim-key-credit-a';
const KEY_B = 'sim-key-credit-b';
const KEY_C = 'sim-key-revoked-c';
const KEY_C2 = 'sim-key-replaced-c';
const KEY_E = 'sim-key-translating-e';
const KEY_D = 'sim-key-paused-d';

/** Generate requests that carried this job's idempotency key (accepted or refused). */
const generateCalls = (sim: HeyGenSimulator, jobId: string) =>
	sim.requests.filter((r) => r.endpoint === 'generate' && r.idempotencyKey?.includes(jobId)).length;

describe('spend guard in the pipeline', () => {
	let db: TestDatabase;
	let p: Pipeline;
	let sim: HeyGenSimulator;
	beforeAll(async () => {
		db = await createTestDatabase();
		sim = await startHeyGenSimulator({ validKeys: [TEST_KEY, KEY_A, KEY_B, KEY_C, KEY_C2, KEY_D, KEY_E] });
		p = await startPipeline(db, { sim, worker: { settings: { ...FAST_SETTINGS, pauseProbeMs: 100, pauseProbeMaxMs: 400 } } });
	});
	afterAll(async () => {
		await p?.stop();
		await sim?.close();
		await db?.drop();
	});

	/** A job of a business without any guard, run to completion: the worker has been busy meanwhile. */
	async function witness(): Promise<void> {
		const { contentId } = await seedBusiness(db, { name: 'Witness Co' });
		await waitForStatus(db, await insertJob(db, contentId), 'completed');
	}

	it('approval on: an SQL insert makes no HeyGen call until approved; approve → completed, reject → canceled, both audited', async () => {
		const { businessId, contentId } = await seedBusiness(db, { name: 'Approval Co' });
		await db.sql('update businesses set require_approval = true where id = $1', [businessId]);
		const approved = await insertJob(db, contentId);
		const rejected = await insertJob(db, await addContent(db, businessId));
		await witness();
		for (const id of [approved, rejected]) {
			expect(generateCalls(sim, id)).toBe(0);
			expect((await db.sql('select status from video_jobs where id = $1', [id])).rows[0].status).toBe('awaiting_approval');
		}

		await db.sql(
			`select set_config('video_jobs.actor', 'owner@example.com', true), approve_video_job($1), reject_video_job($2, 'Wrong product')`,
			[approved, rejected]
		);
		await waitForStatus(db, approved, 'completed');
		expect(countSubmits(sim, approved)).toBe(1);
		const r = await db.sql('select status, error_message from video_jobs where id = $1', [rejected]);
		expect(r.rows[0]).toEqual({ status: 'canceled', error_message: 'Wrong product' });
		expect(generateCalls(sim, rejected)).toBe(0);
		const ev = await db.sql(
			`select job_id, from_status, to_status, actor from video_job_events
			 where job_id = any($1) and from_status = 'awaiting_approval' order by id`,
			[[approved, rejected]]
		);
		expect(ev.rows).toEqual([
			{ job_id: approved, from_status: 'awaiting_approval', to_status: 'queued', actor: 'owner@example.com' },
			{ job_id: rejected, from_status: 'awaiting_approval', to_status: 'canceled', actor: 'owner@example.com' }
		]);
	});

	it('over the monthly limit: held over_budget, nothing sent to HeyGen, approving it sends it', async () => {
		const { businessId, contentId } = await seedBusiness(db, {
			name: 'Budget Co',
			body: 'one two three four five six seven eight nine ten'
		});
		await db.sql('update businesses set monthly_video_seconds_limit = 3 where id = $1', [businessId]);
		const id = await insertJob(db, contentId);
		await witness();
		const held = await db.sql('select status, hold_reason, estimated_seconds from video_jobs where id = $1', [id]);
		expect(held.rows[0]).toEqual({ status: 'awaiting_approval', hold_reason: 'over_budget', estimated_seconds: '4.0' });
		expect(generateCalls(sim, id)).toBe(0);
		await db.sql('select approve_video_job($1)', [id]);
		await waitForStatus(db, id, 'completed');
		expect(countSubmits(sim, id)).toBe(1);
	});

	it('10 queued jobs of an account out of credit: paused, none fails, another business completes; credits back → all 10 complete once', async () => {
		const a = await seedBusiness(db, { name: 'Out Of Credit Co', key: KEY_A });
		const b = await seedBusiness(db, { name: 'Funded Co', key: KEY_B });
		sim.setAccount({ outOfCredit: true }, KEY_A);
		await db.sql(`insert into content (business_id, title, body) select $1, 'Post ' || g, 'Script ' || g from generate_series(1, 10) g`, [
			a.businessId
		]);
		const { rows } = await db.sql<{ id: string }>(
			`insert into video_jobs (content_id) select id from content where business_id = $1 and title like 'Post %' returning id`,
			[a.businessId]
		);
		const jobs = rows.map((r) => r.id);
		expect(jobs).toHaveLength(10);

		// The first 402 pauses the business and puts its job back in queued (a status change).
		await waitUntil(db, async () => (await pausedReason(a.businessId)) !== null);
		expect(await pausedReason(a.businessId)).toBe('insufficient_credit');

		// Another business is not slowed meanwhile.
		const others = await Promise.all([1, 2, 3].map(async (i) => insertJob(db, await addContent(db, b.businessId, `Funded ${i}`))));
		for (const id of others) await waitForStatus(db, id, 'completed');

		const held = await db.sql('select status, submit_count from video_jobs where id = any($1)', [jobs]);
		expect(held.rows.map((r) => [r.status, r.submit_count])).toEqual(jobs.map(() => ['queued', 0]));

		sim.setAccount(null, KEY_A);
		for (const id of jobs) await waitForStatus(db, id, 'completed', 30_000);
		expect(sim.requests.some((r) => r.endpoint === 'account')).toBe(true); // the prober saw the credits
		for (const id of jobs) expect(countSubmits(sim, id)).toBe(1);
		const failed = await db.sql(`select count(*)::int as n from video_job_events where job_id = any($1) and to_status = 'failed'`, [jobs]);
		expect(failed.rows[0].n).toBe(0);
		const ev = await db.sql('select event, reason, actor from business_heygen_events where business_id = $1 order by id', [a.businessId]);
		expect(ev.rows).toEqual([
			{ event: 'paused', reason: 'insufficient_credit', actor: 'worker' },
			{ event: 'resumed', reason: 'credits_back', actor: 'worker' }
		]);
	});

	it('a translation refused for credit pauses its business too and completes once credits are back', async () => {
		const e = await seedBusiness(db, { name: 'Translating Co', key: KEY_E });
		const source = await insertJob(db, e.contentId);
		await waitForStatus(db, source, 'completed');
		sim.setAccount({ outOfCredit: true }, KEY_E);
		const [id] = await translate(db, source, ['German']);
		await waitUntil(db, async () => (await pausedReason(e.businessId)) !== null);
		expect(await pausedReason(e.businessId)).toBe('insufficient_credit');
		expect((await db.sql('select status, submit_count from video_jobs where id = $1', [id])).rows[0]).toEqual({
			status: 'queued',
			submit_count: 0
		});
		sim.setAccount(null, KEY_E);
		const done = await waitForStatus(db, id!, ['completed', 'failed'], 30_000);
		expect(done.status).toBe('completed');
		expect(translationsFor(sim, id!)).toHaveLength(1); // one translation made at HeyGen, the refused call made none
	});

	it('a revoked key pauses the business as key_rejected; saving a new key resumes it at once', async () => {
		const c = await seedBusiness(db, { name: 'Revoked Co', key: KEY_C });
		sim.setAccount({ revoked: true }, KEY_C);
		const id = await insertJob(db, c.contentId);
		await waitUntil(db, async () => (await pausedReason(c.businessId)) !== null);
		expect(await pausedReason(c.businessId)).toBe('key_rejected');
		expect((await db.sql('select status, submit_count from video_jobs where id = $1', [id])).rows[0]).toEqual({
			status: 'queued',
			submit_count: 0
		});
		await db.sql('select set_heygen_key($1, $2)', [c.businessId, KEY_C2]);
		await waitForStatus(db, id, 'completed');
		expect(countSubmits(sim, id)).toBe(1);
		const ev = await db.sql('select event, reason from business_heygen_events where business_id = $1 order by id', [c.businessId]);
		// A submit that read the old key just before the save is sent again with the new one
		// (tests/pipeline/key-replaced-mid-submit.test.ts): no second pause.
		expect(ev.rows).toEqual([
			{ event: 'paused', reason: 'key_rejected' },
			{ event: 'resumed', reason: 'key_saved' }
		]);
	});

	it('a paused job past its deadline still ends deadline_exceeded', async () => {
		// Out of credit at HeyGen too, so the worker's probe cannot resume the business first.
		const d = await seedBusiness(db, { name: 'Paused Co', key: KEY_D });
		sim.setAccount({ outOfCredit: true }, KEY_D);
		await db.sql(`update businesses set heygen_paused_reason = 'insufficient_credit', heygen_paused_at = now() where id = $1`, [
			d.businessId
		]);
		const id = await insertJob(db, d.contentId, { deadline: new Date(Date.now() + 1500) });
		const row = await waitForStatus(db, id, 'failed');
		expect(row.error_code).toBe('deadline_exceeded');
		expect(row.error_message).toMatch(/^The video waited past its deadline while HeyGen had no credits left/);
		expect(generateCalls(sim, id)).toBe(0);
	});

	const pausedReason = async (businessId: string): Promise<string | null> =>
		(await db.sql('select heygen_paused_reason from businesses where id = $1', [businessId])).rows[0].heygen_paused_reason;
});
