// Another service writing jobs under its own database role (not the schema owner), with exactly the
// grants db/README.md documents (README_GRANTS) and nothing more. Each test makes a throwaway role
// inside a transaction that is always rolled back, so nothing leaks into the cluster that other
// test files share. Because the role has no rights on video_job_events, content's video columns or
// pg-boss's tables, every write there must come from a SECURITY DEFINER trigger or function: a
// trigger function that loses SECURITY DEFINER makes one of these tests fail with 42501.
import type pg from 'pg';
import { describe, expect } from 'vitest';
import { asNewRole, inRolledBackTransaction, pgError, README_GRANTS } from '../helpers/db.ts';
import { addContent, completedJob, dbTest as it } from '../helpers/fixtures.ts';

/** Runs `sql` under a savepoint so the transaction survives the expected error; returns the error. */
async function refused(c: pg.PoolClient, sql: string, values: unknown[] = []): Promise<pg.DatabaseError> {
	await c.query('savepoint refused');
	const err = await pgError(c.query(sql, values));
	await c.query('rollback to savepoint refused');
	return err;
}

describe('a separate service role writing jobs', () => {
	it('with the documented grants can insert, read history, cancel and retry, and is recorded as the actor', async ({ db, business }) => {
		const contentId = await addContent(db, business.businessId, 'From the CRM.');
		await inRolledBackTransaction(db, async (c) => {
			await asNewRole(c, README_GRANTS);
			await c.query(`set local video_jobs.actor = 'svc:crm'`);
			const { rows } = await c.query(`insert into video_jobs (content_id) values ($1) returning id, status, requested_by`, [contentId]);
			expect(rows[0]).toMatchObject({ status: 'queued', requested_by: 'svc:crm' });
			const id = rows[0].id;
			const canceled = await c.query(`select status from cancel_video_job($1, 'changed our mind')`, [id]);
			expect(canceled.rows[0].status).toBe('canceled');
			const retried = await c.query(`select status, attempt from retry_video_job($1)`, [id]);
			expect(retried.rows[0]).toEqual({ status: 'queued', attempt: 2 });
			const history = await c.query(`select from_status, to_status, actor from video_job_events where job_id = $1 order by id`, [id]);
			expect(history.rows).toEqual([
				{ from_status: null, to_status: 'queued', actor: 'svc:crm' },
				{ from_status: 'queued', to_status: 'canceled', actor: 'svc:crm' },
				{ from_status: 'canceled', to_status: 'queued', actor: 'svc:crm' }
			]);
			// The role cannot read pg-boss's tables; the owner's view of this transaction's work is
			// checked below through a role reset.
			await c.query('reset role');
			const boss = await c.query(`select state from pgboss.job where data->>'jobId' = $1 order by created_on`, [id]);
			expect(boss.rows.map((r) => r.state)).toEqual(['cancelled', 'created']);
		});
	});

	it('with the documented grants can translate a finished video with the one-statement insert', async ({ db, business }) => {
		const source = await completedJob(db, await addContent(db, business.businessId, 'To translate.'));
		await inRolledBackTransaction(db, async (c) => {
			await asNewRole(c, README_GRANTS);
			const { rows } = await c.query(
				`insert into video_jobs (kind, source_job_id, output_language) select 'translation', $1, unnest($2::text[])
				 returning status, business_id, options`,
				[source, ['German', 'Japanese']]
			);
			expect(rows).toEqual([0, 1].map(() => ({ status: 'queued', business_id: business.businessId, options: { captions: true } })));
		});
	});

	it('without them gets a permission error and leaves nothing', async ({ db, business }) => {
		const contentId = await addContent(db, business.businessId, 'No grants.');
		const err = await inRolledBackTransaction(db, async (c) => {
			await asNewRole(c, () => []);
			return pgError(c.query(`insert into video_jobs (content_id) values ($1)`, [contentId]));
		});
		expect(err.code).toBe('42501');
		expect(err.message).toBe('permission denied for table video_jobs');
		expect((await db.sql(`select count(*)::int as n from video_jobs where content_id = $1`, [contentId])).rows[0].n).toBe(0);
	});

	it('cannot write, change or delete audit rows, nor move a job without its event', async ({ db, business }) => {
		const contentId = await addContent(db, business.businessId, 'Forgery attempts.');
		await inRolledBackTransaction(db, async (c) => {
			await asNewRole(c, README_GRANTS);
			const { rows } = await c.query(`insert into video_jobs (content_id) values ($1) returning id, business_id`, [contentId]);
			const { id, business_id } = rows[0];
			const forged = await refused(
				c,
				`insert into video_job_events (job_id, business_id, content_id, from_status, to_status, actor) values ($1, $2, $3, 'queued', 'completed', 'forged')`,
				[id, business_id, contentId]
			);
			expect([forged.code, forged.message]).toEqual(['42501', 'permission denied for table video_job_events']);
			const changed = await refused(c, `update video_job_events set actor = 'forged' where job_id = $1`, [id]);
			expect([changed.code, changed.message]).toEqual(['42501', 'permission denied for table video_job_events']);
			const deleted = await refused(c, `delete from video_job_events where job_id = $1`, [id]);
			expect([deleted.code, deleted.message]).toEqual(['42501', 'permission denied for table video_job_events']);
			// A status change the machine does not allow is refused whatever the role.
			const jumped = await refused(c, `update video_jobs set status = 'completed' where id = $1`, [id]);
			expect(jumped.code).toBe('23514');
			// An allowed change made with a plain UPDATE is still recorded, by the trigger, as this role's.
			await c.query(`update video_jobs set status = 'canceled' where id = $1`, [id]);
			const trail = await c.query(`select from_status, to_status from video_job_events where job_id = $1 order by id`, [id]);
			expect(trail.rows).toEqual([
				{ from_status: null, to_status: 'queued' },
				{ from_status: 'queued', to_status: 'canceled' }
			]);
			// Nor can it write the content's video columns or pg-boss's queue directly.
			const video = await refused(c, `update content set heygen_status = 'completed' where id = $1`, [contentId]);
			expect(video.code).toBe('42501');
			const boss = await refused(c, `insert into pgboss.job (name, data) values ('video.submit', '{}')`);
			expect(boss.code).toBe('42501');
		});
	});
});
