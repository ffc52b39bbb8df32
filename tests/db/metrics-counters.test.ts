// /metrics reads counters a trigger keeps on video_job_events (0015) instead of scanning every event:
// the counters must agree with what the audit trail says, and the lookups the app makes use indexes.
import { describe, expect } from 'vitest';
import type { TestDatabase } from '../helpers/db.ts';
import { addContent, dbTest as it } from '../helpers/fixtures.ts';

/** Jobs of `businessId` moved through the pipeline's statuses by plain SQL. */
function jobs(db: TestDatabase, businessId: string) {
	return {
		async job(): Promise<string> {
			const contentId = await addContent(db, businessId, 'Counted script.');
			return (await db.sql(`insert into video_jobs (content_id) values ($1) returning id`, [contentId])).rows[0].id;
		},
		render: (id: string) =>
			db
				.sql(`update video_jobs set status = 'submitting', submit_count = 1 where id = $1;`, [id])
				.then(() => db.sql(`update video_jobs set status = 'rendering', heygen_video_id = 'hv-' || id where id = $1`, [id])),
		transfer: (id: string) =>
			db.sql(`update video_jobs set status = 'transferring', heygen_url = 'https://heygen.example/v.mp4' where id = $1`, [id]),
		complete: (id: string) =>
			db.sql(
				`update video_jobs set status = 'completed', storage_path = 'videos/x.mp4', video_url = 'https://cdn.example/x.mp4' where id = $1`,
				[id]
			),
		fail: (id: string, code: string) =>
			db.sql(`update video_jobs set status = 'failed', error_code = $2, error_message = 'no' where id = $1`, [id, code])
	};
}

describe('metrics counters and indexes', () => {
	/** The figures the old /metrics computed by reading every event. */
	async function fromAuditTrail(db: TestDatabase) {
		const { rows } = await db.sql(`
			select step, count(*)::int as n, sum(secs) as secs from (
				select case when lag(to_status) over w = 'rendering' and to_status = 'transferring' then 'render'
				            when lag(to_status) over w = 'transferring' and to_status = 'completed' then 'transfer' end as step,
					extract(epoch from at - lag(at) over w)::float8 as secs
				from video_job_events window w as (partition by job_id order by id)
			) s where step is not null group by step order by step`);
		return rows.map((r) => ({ step: r.step, n: r.n, secs: Number(r.secs) }));
	}

	it('counts each finished render and transfer once, in the right bucket, matching the audit trail', async ({ db, business }) => {
		const { job, render, transfer, complete } = jobs(db, business.businessId);
		const a = await job();
		const b = await job();
		await render(a);
		await render(b);
		await transfer(a);
		await complete(a);
		await transfer(b);
		const { rows } = await db.sql(
			`select step, le, sum(observations)::int as n, sum(seconds) as seconds from video_job_step_durations group by step, le order by step, le`
		);
		expect(rows.map((r) => [r.step, r.le, r.n])).toEqual([
			['render', 5, 2],
			['transfer', 5, 1]
		]);
		const totals = rows.map((r) => ({ step: r.step, n: r.n, secs: Number(r.seconds) }));
		const expected = await fromAuditTrail(db);
		expect(totals.map((t) => [t.step, t.n])).toEqual(expected.map((e) => [e.step, e.n]));
		for (const [i, t] of totals.entries()) expect(t.secs).toBeCloseTo(expected[i]!.secs, 6);
	});

	it('counts failures by error code', async ({ db, business }) => {
		const { job, render, fail } = jobs(db, business.businessId);
		const before = async (code: string) =>
			Number(
				(await db.sql(`select sum(failures) as failures from video_job_failure_counts where error_code = $1`, [code])).rows[0]?.failures ??
					0
			);
		const credit = await before('insufficient_credit');
		await fail(await job(), 'insufficient_credit');
		const j = await job();
		await render(j);
		await fail(j, 'insufficient_credit');
		await fail(await job(), 'invalid_api_key');
		expect(await before('insufficient_credit')).toBe(credit + 2);
		expect(await before('invalid_api_key')).toBe(1);
	});

	// 0015 kept one row per bucket, so every job finishing a step waited for the row lock of the one
	// before it until that one committed: the pipeline moved one commit at a time.
	it('does not make concurrent transitions wait on one another for a counter row', async ({ db, business }) => {
		const { job, render } = jobs(db, business.businessId);
		const [a, b, c, d] = [await job(), await job(), await job(), await job()];
		for (const id of [a, b, c, d]) await render(id);
		// Two backends whose counters share a shard still wait, by design; take two that don't.
		const conns = [await db.pool.connect(), await db.pool.connect(), await db.pool.connect()];
		const shards = await Promise.all(conns.map(async (c) => Number((await c.query('select video_job_counter_shard() as s')).rows[0].s)));
		const holder = conns[0]!;
		const other = conns[shards[1] !== shards[0] ? 1 : 2]!;
		expect(shards[conns.indexOf(other)]).not.toBe(shards[0]);
		try {
			await holder.query('begin');
			await holder.query(`update video_jobs set status = 'transferring', heygen_url = 'https://heygen.example/a.mp4' where id = $1`, [a]);
			await holder.query(`update video_jobs set status = 'failed', error_code = 'shard_test', error_message = 'no' where id = $1`, [c]);
			// The holder's counters are bumped and uncommitted; on 0015 the other backend waited here until lock_timeout.
			await other.query(`set lock_timeout = '2s'`);
			await other.query(`update video_jobs set status = 'transferring', heygen_url = 'https://heygen.example/b.mp4' where id = $1`, [b]);
			await other.query(`update video_jobs set status = 'failed', error_code = 'shard_test', error_message = 'no' where id = $1`, [d]);
			await holder.query('commit');
		} finally {
			await holder.query('rollback').catch(() => {});
			await other.query('reset lock_timeout');
			for (const conn of conns) conn.release();
		}
		const { rows } = await db.sql(
			`
			select (select sum(failures)::int from video_job_failure_counts where error_code = 'shard_test') as failures,
			       (select count(*)::int from video_job_events where to_status = 'transferring' and job_id = any($1::uuid[])) as transfers`,
			[[a, b]]
		);
		expect(rows[0]).toEqual({ failures: 2, transfers: 2 });
	});

	it('sorts a duration into the smallest bucket that holds it', async ({ db }) => {
		const { rows } = await db.sql(
			`select s, (select min(b) from unnest(video_job_duration_buckets()) b where b >= s) as le from unnest(array[0, 5, 5.01, 3599, 3601]::float8[]) s`
		);
		expect(rows.map((r) => r.le)).toEqual([5, 5, 15, 3600, Infinity]);
	});

	it('the webhook lookup by HeyGen video id, the content list and the video library use indexes', async ({ db, business }) => {
		const client = await db.pool.connect();
		try {
			await client.query('set enable_seqscan = off');
			const plan = async (q: string) => (await client.query(`explain ${q}`)).rows.map((r) => r['QUERY PLAN']).join('\n');
			expect(await plan(`select id from video_jobs where heygen_video_id = 'hv-1' order by created_at desc limit 1`)).toContain(
				'video_jobs_heygen_video_id_idx'
			);
			// The content list's three orders and the video library, each a keyset page (migration 0026).
			const b = business.businessId;
			const z = '00000000-0000-0000-0000-000000000000';
			expect(
				await plan(
					`select id from content where business_id = '${b}' and (updated_at, id) < (now(), '${z}') order by updated_at desc, id desc limit 51`
				)
			).toContain('content_business_updated_idx');
			expect(
				await plan(
					`select id from content where business_id = '${b}' and (created_at, id) < (now(), '${z}') order by created_at desc, id desc limit 51`
				)
			).toContain('content_business_created_idx');
			expect(
				await plan(
					`select id from content where business_id = '${b}' and (lower(title), id) > ('a', '${z}') order by lower(title), id limit 51`
				)
			).toContain('content_business_title_idx');
			expect(
				await plan(
					`select id from video_jobs where business_id = '${b}' and (created_at, id) < (now(), '${z}') order by created_at desc, id desc limit 25`
				)
			).toContain('video_jobs_business_idx');
		} finally {
			client.release();
		}
	});
});
