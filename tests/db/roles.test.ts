// Another service writing jobs under its own database role (not the schema owner). Each test makes
// a throwaway role inside a transaction that is always rolled back, so nothing leaks into the
// cluster that other test files share.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asNewRole, createTestDatabase, inRolledBackTransaction, pgError, README_GRANTS, type TestDatabase } from '../helpers/db.ts';
import { addContent, seedBusiness, type Seeded } from '../helpers/fixtures.ts';

// The role gets the grant set db/README.md documents (README_GRANTS). Not every function a job's
// statements reach is SECURITY DEFINER (the update-path triggers and the step functions run with
// the caller's privileges), so it includes the audit table, content and pg-boss's tables as well
// as video_jobs.
describe('a separate service role writing jobs', () => {
	let db: TestDatabase;
	let seeded: Seeded;
	beforeAll(async () => {
		db = await createTestDatabase();
		seeded = await seedBusiness(db);
	});
	afterAll(async () => {
		await db?.drop();
	});

	it('with the documented grants can insert, read history, cancel and retry, and is recorded as the actor', async () => {
		const contentId = await addContent(db, seeded.businessId, 'From the CRM.');
		await inRolledBackTransaction(db, async (c) => {
			await asNewRole(c, README_GRANTS);
			await c.query(`set local video_jobs.actor = 'svc:crm'`);
			const { rows } = await c.query(`insert into video_jobs (content_id) values ($1) returning id, status, requested_by`, [contentId]);
			expect(rows[0]).toMatchObject({ status: 'queued', requested_by: 'svc:crm' });
			const id = rows[0].id;
			await c.query(`select cancel_video_job($1, 'changed our mind')`, [id]);
			const retried = await c.query(`select status, attempt from retry_video_job($1)`, [id]);
			expect(retried.rows[0]).toEqual({ status: 'queued', attempt: 2 });
			const history = await c.query(`select from_status, to_status, actor from video_job_events where job_id = $1 order by id`, [id]);
			expect(history.rows).toEqual([
				{ from_status: null, to_status: 'queued', actor: 'svc:crm' },
				{ from_status: 'queued', to_status: 'canceled', actor: 'svc:crm' },
				{ from_status: 'canceled', to_status: 'queued', actor: 'svc:crm' }
			]);
			const boss = await c.query(`select state from pgboss.job where data->>'jobId' = $1 order by created_on`, [id]);
			expect(boss.rows.map((r) => r.state)).toEqual(['cancelled', 'created']);
		});
	});

	it('without them gets a permission error and leaves nothing', async () => {
		const contentId = await addContent(db, seeded.businessId, 'No grants.');
		const err = await inRolledBackTransaction(db, async (c) => {
			await asNewRole(c, () => []);
			return pgError(c.query(`insert into video_jobs (content_id) values ($1)`, [contentId]));
		});
		expect(err.code).toBe('42501');
		expect(err.message).toBe('permission denied for table video_jobs');
		expect((await db.sql(`select count(*)::int as n from video_jobs where content_id = $1`, [contentId])).rows[0].n).toBe(0);
	});

	// The trigger functions are SECURITY DEFINER, so a writer needs rights on video_jobs only and
	// cannot forge audit rows by writing video_job_events itself.
	it('a role that may only insert/update jobs can use the SQL API without INSERT on video_job_events', async () => {
		const contentId = await addContent(db, seeded.businessId, 'Minimal grants.');
		await inRolledBackTransaction(db, async (c) => {
			await asNewRole(c, (r) => [
				`grant select on businesses, content to ${r}`,
				`grant select, insert, update on video_jobs to ${r}`,
				`grant select on video_job_events to ${r}`
			]);
			const { rows } = await c.query(`insert into video_jobs (content_id) values ($1) returning status`, [contentId]);
			expect(rows[0].status).toBe('queued');
			await c.query('savepoint forge');
			const forged = await pgError(
				c.query(`insert into video_job_events (job_id, business_id, content_id, to_status, actor)
				         values (gen_random_uuid(), gen_random_uuid(), gen_random_uuid(), 'completed', 'forged')`)
			);
			expect(forged.code).toBe('42501');
		});
	});
});
