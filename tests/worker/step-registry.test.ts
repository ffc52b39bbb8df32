// worker/steps/registry.ts is the one list of steps: every queue the SQL enqueues to has an entry
// there, every entry has its queue in SQL, and the queue's pg-boss settings are the entry's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STEPS, STEP_LIST, TASK_LIST, taskWorkOptions, workOptions } from '../../worker/steps/registry.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
beforeAll(async () => {
	db = await createTestDatabase();
});
afterAll(async () => {
	await db?.drop();
});

const sorted = (xs: Iterable<string>) => [...new Set(xs)].sort();

describe('the step registry', () => {
	it('lists exactly the queues of video_job_statuses, which the SQL names nowhere else, and creates them', async () => {
		// Queue names live once in SQL, in video_job_statuses.step_queue: no function body enqueues
		// to a literal queue name (the compiled video_jobs_step_queue/step_queues read the table).
		const { rows: fns } = await db.sql<{ name: string }>(
			`select p.proname as name from pg_proc p join pg_namespace n on n.oid = p.pronamespace
			 where n.nspname = 'public' and p.prosrc ~ $1 and p.proname not in ('video_jobs_step_queue', 'video_jobs_step_queues')`,
			[STEP_LIST.map((s) => `'${s.queue.replace('.', '\\.')}'`).join('|')]
		);
		const { rows: states } = await db.sql<{ queue: string }>(
			'select step_queue as queue from video_job_statuses where step_queue is not null'
		);
		const { rows: compiled } = await db.sql<{ queues: string[] }>('select video_jobs_step_queues() as queues');
		const { rows: created } = await db.sql<{ name: string }>('select name from pgboss.queue');
		const registry = sorted(Object.keys(STEPS));
		expect(fns.map((f) => f.name)).toEqual([]);
		expect(sorted(states.map((r) => r.queue))).toEqual(registry);
		expect(sorted(compiled[0]!.queues)).toEqual(registry);
		expect(sorted(created.map((r) => r.name))).toEqual(sorted([...registry, ...TASK_LIST.map((t) => t.queue)]));
	});

	it('names each task queue once in SQL, in the function that says its name', async () => {
		const { rows } = await db.sql<{ queue: string; fns: string[] }>(
			`select q as queue, array(select p.proname::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace
			                          where n.nspname = 'public' and strpos(p.prosrc, '''' || q || '''') > 0 order by 1) as fns
			 from unnest($1::text[]) q order by q`,
			[TASK_LIST.map((t) => t.queue)]
		);
		expect(rows).toEqual([
			{ queue: 'content.auto_generate', fns: ['content_auto_generate_queue'] },
			{ queue: 'video.remove_files', fns: ['video_remove_files_queue'] }
		]);
		const { rows: named } = await db.sql<{ a: string; r: string }>(
			'select content_auto_generate_queue() as a, video_remove_files_queue() as r'
		);
		expect(named[0]).toEqual({ a: 'content.auto_generate', r: 'video.remove_files' });
	});

	it('holds each queue’s pg-boss retry and expiry settings', async () => {
		type QueueRow = { name: string; retry_limit: number; retry_delay: number; retry_backoff: boolean };
		const { rows } = await db.sql<QueueRow & { retry_delay_max: number; expire_seconds: number }>(
			'select name, retry_limit, retry_delay, retry_backoff, retry_delay_max, expire_seconds from pgboss.queue order by name'
		);
		expect(rows).toEqual(
			[...STEP_LIST, ...TASK_LIST]
				.map((s) => ({
					name: s.queue,
					retry_limit: s.retry.limit,
					retry_delay: s.retry.delaySeconds,
					retry_backoff: s.retry.backoff,
					retry_delay_max: s.retry.delayMaxSeconds,
					expire_seconds: s.expireInSeconds
				}))
				.sort((a, b) => a.name.localeCompare(b.name))
		);
	});

	it('gives every step a handler, a strict payload, its tries column and work options', () => {
		const options = workOptions(20, 500);
		for (const step of STEP_LIST) {
			expect(typeof step.handler, step.queue).toBe('function');
			expect(step.description.length, step.queue).toBeGreaterThan(20);
			expect(step.payload.safeParse({ jobId: '6f1b5c7e-2a0e-4c59-9d3e-1f2a3b4c5d6e' }).success, step.queue).toBe(true);
			// Only the job id travels: a key (or anything else) in the payload is refused.
			expect(step.payload.safeParse({ jobId: '6f1b5c7e-2a0e-4c59-9d3e-1f2a3b4c5d6e', apiKey: 'x' }).success, step.queue).toBe(false);
			expect(step.triesColumn, step.queue).toMatch(/^(submit|poll|transfer)_count$/);
			expect(options[step.queue].batchSize, step.queue).toBeGreaterThanOrEqual(1);
		}
		expect(options['video.poll'].batchSize).toBe(500);
		for (const task of TASK_LIST) {
			expect(typeof task.handler, task.queue).toBe('function');
			expect(task.description.length, task.queue).toBeGreaterThan(20);
			expect(taskWorkOptions(task, 20).batchSize, task.queue).toBeGreaterThanOrEqual(1);
		}
	});

	it('gives every task a strict payload: its ids, nothing else', () => {
		const id = '6f1b5c7e-2a0e-4c59-9d3e-1f2a3b4c5d6e';
		const [auto, remove] = TASK_LIST;
		expect(auto!.payload.safeParse({ contentId: id }).success).toBe(true);
		expect(auto!.payload.safeParse({ contentId: id, apiKey: 'x' }).success).toBe(false);
		expect(auto!.payload.safeParse({ contentId: 'nope' }).success).toBe(false);
		expect(remove!.payload.safeParse({ jobId: id, reason: 'version_limit' }).success).toBe(true);
		expect(remove!.payload.safeParse({ jobId: id, reason: 'because' }).success).toBe(false);
		expect(remove!.payload.safeParse({ jobId: id }).success).toBe(false);
	});
});
