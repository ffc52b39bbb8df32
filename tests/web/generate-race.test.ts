/**
 * A double click on Generate whose two inserts interleave: the second request's ON CONFLICT
 * (idempotency_key) check runs before the first request's row has its idempotency-key index entry,
 * so the first thing the second insert trips over is the one-active-job index. It must still land
 * on the first click's job, not read "already in progress".
 *
 * The interleaving is forced, not timed: in this file's own database an extra index on video_jobs
 * calls a gate function that waits on an advisory lock the test holds. Postgres maintains a
 * table's indexes in OID order, so the idempotency key's unique constraint is recreated after the
 * gate: the first insert then stops with its one-active entry written but no idempotency entry yet.
 */
import type pg from 'pg';
import { expect } from 'vitest';
import type { TestDatabase } from '../helpers/db.ts';
import { type Owner, webTest as test } from '../helpers/web-fixtures.ts';
import { createContent, GENERATE_DEFAULTS, generateFormKey } from './harness.ts';

const GATE = 7_301_955;

// No worker: nothing but the two requests touches video_jobs.
test.override({ appOptions: { worker: false } });

test.beforeAll(async ({ db }) => {
	await db.sql(`
		create function test_insert_gate(id uuid) returns uuid language plpgsql immutable as $$
		begin
			perform pg_advisory_xact_lock_shared(${GATE});
			return id;
		end $$`);
	await db.sql('create index video_jobs_test_gate on video_jobs (test_insert_gate(id))');
	await db.sql(`alter table video_jobs drop constraint video_jobs_idempotency_key_key,
		add constraint video_jobs_idempotency_key_key unique (idempotency_key)`);
});

/** Re-reads pg_stat_activity until a backend of this database waits on `event` (a lock wait sends no NOTIFY). */
async function backendWaitingOn(db: TestDatabase, event: 'advisory' | 'spectoken', timeoutMs = 10_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const { rows } = await db.sql(
			`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and wait_event = $1`,
			[event]
		);
		if (rows[0].n > 0) return;
		if (Date.now() > deadline) {
			const all = await db.sql(
				`select pid, wait_event_type, wait_event, state, left(query, 120) as q, pg_blocking_pids(pid) as by
				 from pg_stat_activity where datname = current_database()`
			);
			throw new Error(`no backend waited on a ${event} lock within ${timeoutMs} ms: ${JSON.stringify(all.rows)}`);
		}
		await new Promise((r) => setTimeout(r, 20));
	}
}

/**
 * Posts `first` and then `second` to the content's Generate action, the first held inside its
 * insert by the gate until the second waits on the first's active-job index entry; both answers.
 */
async function interleavedClicks(db: TestDatabase, owner: Owner, content: string, first: Fields, second: Fields) {
	const { client: c, businessId: b } = owner;
	const gate: pg.PoolClient = await db.pool.connect();
	try {
		await gate.query('select pg_advisory_lock($1)', [GATE]);
		const one = c.action(`/b/${b}/content/${content}?/generate`, first);
		await backendWaitingOn(db, 'advisory');
		const two = c.action(`/b/${b}/content/${content}?/generate`, second);
		// The second insert found no idempotency entry to wait for; it waits on the first's active-job entry
		// (still speculative: the first insert has not written all its index entries).
		await backendWaitingOn(db, 'spectoken');
		await gate.query('select pg_advisory_unlock($1)', [GATE]);
		return await Promise.all([one, two]);
	} finally {
		await gate.query('select pg_advisory_unlock_all()');
		gate.release();
	}
}

type Fields = Record<string, string>;
const formFields = async ({ client, businessId }: Owner, content: string): Promise<Fields> => ({
	...GENERATE_DEFAULTS,
	idempotencyKey: await generateFormKey(client, businessId, content)
});

test("the second click, stopped by the active-job index, shows the first click's job", async ({ db, studio }) => {
	const content = await createContent(studio.client, studio.businessId, 'Clicked twice.', 'Twice');
	const fields = await formFields(studio, content);
	const [r1, r2] = await interleavedClicks(db, studio, content, fields, fields);
	expect([r1.type, r2.type], JSON.stringify([r1.data, r2.data])).toEqual(['success', 'success']);
	expect(r1.data.message).toBe('Video queued. Watch its progress below.');
	expect(r2.data.message).toBe('This video was already started; showing its progress.');
	expect(r2.data.jobId).toBe(r1.data.jobId);
	const { rows } = await db.sql('select id, idempotency_key from video_jobs where content_id = $1', [content]);
	expect(rows).toEqual([{ id: expect.any(String), idempotency_key: fields.idempotencyKey }]);
});

test('a different form while the first insert is still open is refused as already in progress', async ({ db, studio }) => {
	const content = await createContent(studio.client, studio.businessId, 'Two forms.', 'Two forms');
	const one = await formFields(studio, content);
	const two = await formFields(studio, content);
	const [r1, r2] = await interleavedClicks(db, studio, content, one, two);
	expect(r1.type).toBe('success');
	expect(r2).toMatchObject({ type: 'failure', status: 409 });
	expect(r2.data.message).toBe('A video for this content is already in progress. Wait for it to finish or cancel it first.');
	const { rows } = await db.sql('select idempotency_key from video_jobs where content_id = $1', [content]);
	expect(rows).toEqual([{ idempotency_key: one.idempotencyKey }]);
});
