// /metrics reads counters a trigger keeps on video_job_events (0015) instead of scanning every event:
// the counters must agree with what the audit trail says, and the lookups the app makes use indexes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { addContent, seedBusiness, type Seeded } from '../helpers/fixtures.ts';

describe('metrics counters and indexes', () => {
	let db: TestDatabase;
	let seeded: Seeded;

	beforeAll(async () => {
		db = await createTestDatabase();
		seeded = await seedBusiness(db);
	});
	afterAll(async () => db?.drop());

	async function job(): Promise<string> {
		const contentId = await addContent(db, seeded.businessId, 'Counted script.');
		return (await db.sql(`insert into video_jobs (content_id) values ($1) returning id`, [contentId])).rows[0].id;
	}
	const render = (id: string) =>
		db.sql(`update video_jobs set status = 'submitting', submit_count = 1 where id = $1;`, [id]).then(() =>
			db.sql(`update video_jobs set status = 'rendering', heygen_video_id = 'hv-' || id where id = $1`, [id])
		);
	const transfer = (id: string) =>
		db.sql(`update video_jobs set status = 'transferring', heygen_url = 'https://heygen.example/v.mp4' where id = $1`, [id]);
	const complete = (id: string) =>
		db.sql(`update video_jobs set status = 'completed', storage_path = 'videos/x.mp4', video_url = 'https://cdn.example/x.mp4' where id = $1`, [id]);
	const fail = (id: string, code: string) =>
		db.sql(`update video_jobs set status = 'failed', error_code = $2, error_message = 'no' where id = $1`, [id, code]);

	/** The figures the old /metrics computed by reading every event. */
	async function fromAuditTrail() {
		const { rows } = await db.sql(`
			select step, count(*)::int as n, sum(secs) as secs from (
				select case when lag(to_status) over w = 'rendering' and to_status = 'transferring' then 'render'
				            when lag(to_status) over w = 'transferring' and to_status = 'completed' then 'transfer' end as step,
					extract(epoch from at - lag(at) over w)::float8 as secs
				from video_job_events window w as (partition by job_id order by id)
			) s where step is not null group by step order by step`);
		return rows.map((r) => ({ step: r.step, n: r.n, secs: Number(r.secs) }));
	}

	it('counts each finished render and transfer once, in the right bucket, matching the audit trail', async () => {
		const a = await job();
		const b = await job();
		await render(a);
		await render(b);
		await transfer(a);
		await complete(a);
		await transfer(b);
		const { rows } = await db.sql(
			`select step, le, observations::int as n, seconds from video_job_step_durations order by step, le`
		);
		expect(rows.map((r) => [r.step, r.le, r.n])).toEqual([
			['render', 5, 2],
			['transfer', 5, 1]
		]);
		const totals = rows.map((r) => ({ step: r.step, n: r.n, secs: Number(r.seconds) }));
		const expected = await fromAuditTrail();
		expect(totals.map((t) => [t.step, t.n])).toEqual(expected.map((e) => [e.step, e.n]));
		for (const [i, t] of totals.entries()) expect(t.secs).toBeCloseTo(expected[i]!.secs, 6);
	});

	it('counts failures by error code', async () => {
		const before = async (code: string) =>
			Number((await db.sql(`select failures from video_job_failure_counts where error_code = $1`, [code])).rows[0]?.failures ?? 0);
		const credit = await before('insufficient_credit');
		await fail(await job(), 'insufficient_credit');
		const j = await job();
		await render(j);
		await fail(j, 'insufficient_credit');
		await fail(await job(), 'invalid_api_key');
		expect(await before('insufficient_credit')).toBe(credit + 2);
		expect(await before('invalid_api_key')).toBe(1);
	});

	it('sorts a duration into the smallest bucket that holds it', async () => {
		const { rows } = await db.sql(
			`select s, (select min(b) from unnest(video_job_duration_buckets()) b where b >= s) as le from unnest(array[0, 5, 5.01, 3599, 3601]::float8[]) s`
		);
		expect(rows.map((r) => r.le)).toEqual([5, 5, 15, 3600, Infinity]);
	});

	it('the webhook lookup by HeyGen video id and the content list use indexes', async () => {
		const client = await db.pool.connect();
		try {
			await client.query('set enable_seqscan = off');
			const plan = async (q: string) => (await client.query(`explain ${q}`)).rows.map((r) => r['QUERY PLAN']).join('\n');
			expect(await plan(`select id from video_jobs where heygen_video_id = 'hv-1' order by created_at desc limit 1`)).toContain(
				'video_jobs_heygen_video_id_idx'
			);
			expect(
				await plan(`select id from content where business_id = '${seeded.businessId}' order by updated_at desc limit 500`)
			).toContain('content_business_updated_idx');
		} finally {
			client.release();
		}
	});
});
