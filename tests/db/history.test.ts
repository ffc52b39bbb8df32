// Job history at scale (0029): video_job_events partitioned by month, partitions made ahead, pruned
// by the auditor role only, and hash-chained so that a change made behind the triggers' back shows.
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { describe, expect } from 'vitest';
import { asNewRole, inRolledBackTransaction, pgError, type TestDatabase } from '../helpers/db.ts';
import { addContent, completedJob, dbTest as it, insertJob } from '../helpers/fixtures.ts';

type Sql = Pick<pg.ClientBase, 'query'>;

/** The first day of the UTC month `offset` months from now, as an ISO string, and its partition's name. */
async function month(c: Sql, offset: number): Promise<{ start: string; name: string }> {
	const { rows } = await c.query(
		`select to_char(m, 'YYYY-MM-DD') as start, 'video_job_events_' || to_char(m, 'YYYY_MM') as name
		 from (select date_trunc('month', now() at time zone 'UTC') + make_interval(months => $1::int) as m) x`,
		[offset]
	);
	return rows[0];
}

/** The error `text` raises, caught at a savepoint so that the transaction goes on. */
async function errorOf(c: Sql, text: string, values: unknown[] = []): Promise<pg.DatabaseError> {
	await c.query('savepoint expect_error');
	const err = await pgError(c.query(text, values));
	await c.query('rollback to savepoint expect_error');
	return err;
}

async function verify(c: Sql, jobId: string | null = null) {
	const { rows } = await c.query(`select job_id, event_id, problem, detail from verify_video_job_history($1)`, [jobId]);
	return rows.map((r) => ({ ...r, event_id: r.event_id === null ? null : String(r.event_id) })) as Array<{
		job_id: string;
		event_id: string | null;
		problem: string;
		detail: string;
	}>;
}

async function eventIds(c: Sql, jobId: string): Promise<string[]> {
	const { rows } = await c.query(`select id from video_job_events where job_id = $1 order by id`, [jobId]);
	return rows.map((r) => String(r.id));
}

/**
 * A history written straight into video_job_events with back-dated times (as the owner may: the
 * chain trigger still hashes each row), for a job that has no video_jobs row: `ats` are the days.
 */
async function backdatedHistory(c: Sql, businessId: string, contentId: string, ats: string[]): Promise<string> {
	const jobId = randomUUID();
	const statuses = ['queued', 'submitting', 'rendering', 'transferring', 'completed'];
	for (const [i, at] of ats.entries()) {
		await c.query(
			`insert into video_job_events (job_id, business_id, content_id, from_status, to_status, actor, at)
			 values ($1, $2, $3, $4, $5, 'test', $6)`,
			[jobId, businessId, contentId, i === 0 ? null : statuses[i - 1], statuses[i], at]
		);
	}
	return jobId;
}

async function newCompletedJob(db: TestDatabase, businessId: string): Promise<string> {
	return completedJob(db, await addContent(db, businessId, 'History of a finished video.'));
}

describe('video_job_events partitions', () => {
	it('routes a new event to its UTC month partition, keeps the per-partition indexes, and reads one job through the parent', async ({
		db,
		business
	}) => {
		const jobId = await newCompletedJob(db, business.businessId);
		const { name } = await month(db.pool, 0);
		const { rows } = await db.sql(
			`select tableoid::regclass::text as part, to_status from video_job_events where job_id = $1 order by id`,
			[jobId]
		);
		expect(rows.map((r) => r.to_status)).toEqual(['queued', 'submitting', 'rendering', 'transferring', 'completed']);
		expect(new Set(rows.map((r) => r.part))).toEqual(new Set([`video_history.${name}`]));
		const idx = await db.sql(`select indexname from pg_indexes where schemaname = 'video_history' and tablename = $1 order by 1`, [name]);
		expect(idx.rows.map((r) => r.indexname)).toEqual([`${name}_business_id_id_idx`, `${name}_job_id_id_idx`, `${name}_pkey`]);
		// Still append-only through the parent and on a partition.
		expect((await pgError(db.sql(`update video_job_events set actor = 'x' where job_id = $1`, [jobId]))).code).toBe('42501');
		expect((await pgError(db.sql(`delete from video_history.${name} where job_id = $1`, [jobId]))).code).toBe('42501');
	});

	it('ensure_partitions makes the months ahead once, and an event of a month without one lands in the default partition', async ({
		db,
		business
	}) => {
		await inRolledBackTransaction(db, async (c) => {
			const m4 = await month(c, 4);
			const m5 = await month(c, 5);
			expect((await c.query(`select to_regclass('video_history.' || $1) as r`, [m5.name])).rows[0].r).toBeNull();
			expect((await c.query(`select video_job_history_ensure_partitions(5) as n`)).rows[0].n).toBe(2);
			expect((await c.query(`select video_job_history_ensure_partitions(5) as n`)).rows[0].n).toBe(0);
			expect((await c.query(`select video_job_history_ensure_partitions() as n`)).rows[0].n).toBe(0);
			for (const m of [m4, m5])
				expect((await c.query(`select to_regclass('video_history.' || $1) as r`, [m.name])).rows[0].r).not.toBeNull();
			const bad = await errorOf(c, `select video_job_history_ensure_partitions(-1)`);
			expect(bad.code).toBe('22023');

			const m9 = await month(c, 9);
			const job = await backdatedHistory(c, business.businessId, business.contentId, [`${m9.start} 12:00Z`]);
			const { rows } = await c.query(`select tableoid::regclass::text as part from video_job_events where job_id = $1`, [job]);
			expect(rows[0].part).toBe('video_history.video_job_events_default');
		});
	});
});

describe('verify_video_job_history', () => {
	it('reports nothing for intact jobs, one or all', async ({ db, business }) => {
		const jobId = await newCompletedJob(db, business.businessId);
		expect(await verify(db.pool, jobId)).toEqual([]);
		expect(await verify(db.pool)).toEqual([]);
		const { rows } = await db.sql(`select prev_hash, hash from video_job_events where job_id = $1 order by id`, [jobId]);
		expect(rows[0].prev_hash).toBeNull();
		for (let i = 1; i < rows.length; i++) expect(rows[i].prev_hash).toEqual(rows[i - 1].hash);
	});

	it('reports an edit made with triggers disabled, at the edited event, also when its hash was recomputed', async ({ db, business }) => {
		const jobId = await newCompletedJob(db, business.businessId);
		const ids = await eventIds(db.pool, jobId);
		await inRolledBackTransaction(db, async (c) => {
			await c.query(`set local session_replication_role = replica`);
			await c.query(`update video_job_events set actor = 'someone-else' where id = $1`, [ids[2]]);
			expect(await verify(c, jobId)).toEqual([
				{ job_id: jobId, event_id: ids[2], problem: 'edited', detail: "the event's hash does not match its content: it was changed" }
			]);
			// The whole-database check finds the same job and no other.
			expect((await verify(c)).map((r) => [r.job_id, r.event_id])).toEqual([[jobId, ids[2]]]);
		});
		await inRolledBackTransaction(db, async (c) => {
			await c.query(`set local session_replication_role = replica`);
			await c.query(
				`update video_job_events set detail = '{"attempt": 7}',
				   hash = video_job_chain_step(prev_hash, video_job_event_content(id, job_id, business_id, content_id, from_status, to_status, '{"attempt": 7}', actor, at))
				 where id = $1`,
				[ids[1]]
			);
			const found = await verify(c, jobId);
			expect(found.map((r) => [r.event_id, r.problem])).toEqual([[ids[2], 'broken_link']]);
		});
	});

	it('reports a deleted event: in the middle, the first, the last, or all of them', async ({ db, business }) => {
		const jobId = await newCompletedJob(db, business.businessId);
		const ids = await eventIds(db.pool, jobId);
		const afterDeleting = (which: string[]) =>
			inRolledBackTransaction(db, async (c) => {
				await c.query(`set local session_replication_role = replica`);
				await c.query(`delete from video_job_events where id = any ($1::bigint[])`, [which]);
				return verify(c, jobId);
			});
		expect((await afterDeleting([ids[2]!])).map((r) => [r.event_id, r.problem])).toEqual([[ids[3], 'broken_link']]);
		const first = await afterDeleting([ids[0]!]);
		expect(first.map((r) => [r.event_id, r.problem, r.detail])).toEqual([[ids[1], 'broken_link', "the job's first event is missing"]]);
		const last = await afterDeleting([ids[4]!]);
		expect(last.map((r) => [r.event_id, r.problem])).toEqual([[null, 'missing_tail']]);
		expect(last[0]!.detail).toContain('the job is completed but its last event says transferring');
		expect((await afterDeleting(ids)).map((r) => r.problem)).toEqual(['no_history']);
	});

	it('is for the auditor and the service role, not for an app role', async ({ db }) => {
		await inRolledBackTransaction(db, async (c) => {
			await asNewRole(c);
			const err = await pgError(c.query(`select * from verify_video_job_history()`));
			expect(err.code).toBe('42501');
		});
	});
});

describe('the chain under concurrency', () => {
	/** Until `pid` waits on a lock, or `settled` resolves first (it did not wait). */
	async function waitsOnLock(db: TestDatabase, pid: number, settled: Promise<unknown>, timeoutMs = 10_000): Promise<boolean> {
		let done = false;
		void settled.then(
			() => (done = true),
			() => (done = true)
		);
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const { rows } = await db.sql(`select wait_event_type from pg_stat_activity where pid = $1`, [pid]);
			if (rows[0]?.wait_event_type === 'Lock') return true;
			if (done) return false;
			if (Date.now() > deadline) throw new Error(`backend ${pid} neither waited on a lock nor finished within ${timeoutMs} ms`);
			await new Promise((r) => setTimeout(r, 20));
		}
	}

	it("appends a second writer's event after the first one's (it waits for the job's row lock), so the chain does not fork", async ({
		db,
		business
	}) => {
		const jobId = await insertJob(db, await addContent(db, business.businessId, 'Two writers.'));
		const a = await db.pool.connect();
		const b = await db.pool.connect();
		try {
			const pid = (await b.query('select pg_backend_pid() as pid')).rows[0].pid as number;
			await a.query('begin');
			await a.query(`update video_jobs set status = 'submitting' where id = $1`, [jobId]);
			await b.query('begin');
			// A note that keeps the status (as a service might append): written straight into the table.
			const note = b.query(
				`insert into video_job_events (job_id, business_id, content_id, from_status, to_status, detail, actor)
				 select id, business_id, content_id, 'submitting', 'submitting', '{"event": "note"}', 'test' from video_jobs where id = $1`,
				[jobId]
			);
			expect(await waitsOnLock(db, pid, note)).toBe(true);
			await a.query('commit');
			await note;
			await b.query('commit');
		} finally {
			await a.query('rollback').catch(() => {});
			await b.query('rollback').catch(() => {});
			a.release();
			b.release();
		}
		const { rows } = await db.sql(`select to_status, detail from video_job_events where job_id = $1 order by id`, [jobId]);
		expect(rows.map((r) => [r.to_status, r.detail])).toEqual([
			['queued', { attempt: 1 }],
			['submitting', { attempt: 1 }],
			['submitting', { event: 'note' }]
		]);
		expect(await verify(db.pool, jobId)).toEqual([]);
	});
});

describe('prune_video_job_history', () => {
	/** A DBA login with the auditor role, which the rest of the transaction runs as. */
	async function asAuditor(c: Sql): Promise<string> {
		const role = `dba_${randomUUID().slice(0, 8)}`;
		await c.query(`create role ${role} login`);
		await c.query(`grant video_history_auditor to ${role}`);
		await c.query(`set local role ${role}`);
		return role;
	}

	it('refuses the app and service roles, and a cutoff under 30 days', async ({ db }) => {
		await inRolledBackTransaction(db, async (c) => {
			const role = await asNewRole(c);
			const err = await errorOf(c, `select * from prune_video_job_history('90 days')`);
			expect(err.code).toBe('42501');
			expect(err.message).toBe(
				`prune_video_job_history: only members of video_history_auditor may prune job history, and ${role} is not one`
			);
			// Nor can it go round the check.
			expect((await pgError(c.query(`select * from video_job_history_prune_partitions('90 days', 'x')`))).code).toBe('42501');
		});
		await inRolledBackTransaction(db, async (c) => {
			await c.query(`set local role service_role`);
			const err = await pgError(c.query(`select * from prune_video_job_history('90 days')`));
			expect(err.message).toContain('only members of video_history_auditor may prune job history, and service_role is not one');
		});
		await inRolledBackTransaction(db, async (c) => {
			await asAuditor(c);
			for (const cutoff of ['29 days', '1 week', null]) {
				const err = await errorOf(c, `select * from prune_video_job_history($1)`, [cutoff]);
				expect(err.code).toBe('22023');
				expect(err.message).toMatch(/^prune_video_job_history: the cutoff .* is under 30 days/);
			}
		});
	});

	it('drops whole months older than the cutoff, logs who pruned what with the chain heads, keeps jobs, and verify still passes', async ({
		db,
		business
	}) => {
		const kept = await newCompletedJob(db, business.businessId);
		await inRolledBackTransaction(db, async (c) => {
			const old = await month(c, -6);
			const older = await month(c, -7);
			const recent = await month(c, -1);
			for (const m of [older, old, recent]) await c.query(`select video_job_history_create_partition($1::timestamp)`, [m.start]);
			// Begun seven months ago, finished last month: its first three events go.
			const straddling = await backdatedHistory(c, business.businessId, business.contentId, [
				`${older.start} 10:00Z`,
				`${old.start} 10:00Z`,
				`${old.start} 11:00Z`,
				`${recent.start} 10:00Z`,
				`${recent.start} 11:00Z`
			]);
			// Entirely in old months: all of it goes.
			const gone = await backdatedHistory(c, business.businessId, business.contentId, [`${old.start} 12:00Z`, `${old.start} 13:00Z`]);
			const straddlingIds = await eventIds(c, straddling);
			const heads = await c.query(`select id, hash from video_job_events where id = any ($1::bigint[])`, [[straddlingIds[2]]]);
			expect(await verify(c)).toEqual([]);

			const role = await asAuditor(c);
			const { rows } = await c.query(`select * from prune_video_job_history('60 days') order by range_from`);
			expect(rows.map((r) => [r.partition_name, Number(r.events), Number(r.jobs)])).toEqual([
				[`video_history.${older.name}`, 1, 1],
				[`video_history.${old.name}`, 4, 2]
			]);
			await c.query('reset role');

			expect(await eventIds(c, straddling)).toEqual(straddlingIds.slice(3));
			expect(await eventIds(c, gone)).toEqual([]);
			for (const m of [older, old])
				expect((await c.query(`select to_regclass('video_history.' || $1) as r`, [m.name])).rows[0].r).toBeNull();
			expect((await c.query(`select to_regclass('video_history.' || $1) as r`, [recent.name])).rows[0].r).not.toBeNull();
			const log = await c.query(
				`select pruned_by, pruned_as, older_than, partition_name, events, jobs from video_job_history_prunes order by range_from`
			);
			expect(log.rows.map((r) => [r.pruned_as, r.older_than, r.partition_name, Number(r.events)])).toEqual([
				[role, '60 days', `video_history.${older.name}`, 1],
				[role, '60 days', `video_history.${old.name}`, 4]
			]);
			expect(log.rows[0].pruned_by).toBe((await c.query('select session_user as u')).rows[0].u);
			const head = await c.query(`select event_id, hash, to_status from video_job_history_pruned_heads where job_id = $1`, [straddling]);
			expect(head.rows.map((r) => [String(r.event_id), r.hash, r.to_status])).toEqual([
				[String(heads.rows[0].id), heads.rows[0].hash, 'rendering']
			]);

			// The remaining events continue from the recorded head; jobs stay; nothing looks broken.
			expect(await verify(c)).toEqual([]);
			expect((await c.query(`select status from video_jobs where id = $1`, [kept])).rows[0].status).toBe('completed');
			// A change to the first remaining event after the prune still shows.
			await c.query(`set local session_replication_role = replica`);
			await c.query(`update video_job_events set prev_hash = null where id = $1`, [straddlingIds[3]]);
			await c.query(
				`update video_job_events set hash = video_job_chain_step(prev_hash, video_job_event_content(id, job_id, business_id, content_id, from_status, to_status, detail, actor, at))
				 where id = $1`,
				[straddlingIds[3]]
			);
			expect((await verify(c, straddling)).map((r) => [r.event_id, r.problem])).toEqual([[straddlingIds[3], 'broken_link']]);
		});
	});

	it('continues a pruned job chain from its recorded head when the job gets a new event', async ({ db, business }) => {
		await inRolledBackTransaction(db, async (c) => {
			const old = await month(c, -3);
			await c.query(`select video_job_history_create_partition($1::timestamp)`, [old.start]);
			const jobId = await backdatedHistory(c, business.businessId, business.contentId, [`${old.start} 10:00Z`, `${old.start} 11:00Z`]);
			await c.query(`select * from prune_video_job_history('31 days')`);
			await c.query(
				`insert into video_job_events (job_id, business_id, content_id, from_status, to_status, actor) values ($1, $2, $3, 'submitting', 'rendering', 'test')`,
				[jobId, business.businessId, business.contentId]
			);
			const { rows } = await c.query(`select prev_hash from video_job_events where job_id = $1`, [jobId]);
			const head = await c.query(`select hash from video_job_history_pruned_heads where job_id = $1`, [jobId]);
			expect(rows[0].prev_hash).toEqual(head.rows[0].hash);
			expect(await verify(c, jobId)).toEqual([]);
		});
	});
});

describe('video_job_timeline', () => {
	it('has one row per status with when it was entered and left, how long, and who moved the job there', async ({ db, business }) => {
		const jobId = await newCompletedJob(db, business.businessId);
		const { rows } = await db.sql(
			`select status, entered_at, left_at, seconds_in_status, actor from video_job_timeline where job_id = $1 order by entered_at`,
			[jobId]
		);
		expect(rows.map((r) => r.status)).toEqual(['queued', 'submitting', 'rendering', 'transferring', 'completed']);
		for (let i = 0; i < rows.length - 1; i++) {
			expect(rows[i].left_at).toEqual(rows[i + 1].entered_at);
			expect(Number(rows[i].seconds_in_status)).toBeCloseTo((rows[i + 1].entered_at - rows[i].entered_at) / 1000, 2);
		}
		expect(rows[4].left_at).toBeNull();
		expect(rows[4].seconds_in_status).toBeNull();
		expect(rows[0].actor).toBe((await db.sql('select session_user as u')).rows[0].u);
	});
});
