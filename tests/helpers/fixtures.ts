import { test } from 'vitest';
import { createTestDatabase, type TestDatabase } from './db.ts';

export const TEST_KEY = 'sim-test-key';

export interface Seeded {
	businessId: string;
	contentId: string;
}

/** A business with avatar, voice and (unless key: null) a HeyGen key, plus one piece of content. */
export async function seedBusiness(
	db: TestDatabase,
	opts: { key?: string | null; avatar?: string | null; voice?: string | null; body?: string; name?: string } = {}
): Promise<Seeded> {
	const { rows } = await db.sql<{ id: string }>(
		`insert into businesses (name, heygen_avatar_id, heygen_voice_id) values ($1, $2, $3) returning id`,
		[
			opts.name ?? 'Acme',
			opts.avatar === undefined ? 'sim-avatar-anna' : opts.avatar,
			opts.voice === undefined ? 'sim-voice-en-1' : opts.voice
		]
	);
	const businessId = rows[0]!.id;
	const key = opts.key === undefined ? TEST_KEY : opts.key;
	if (key !== null) await db.sql('select set_heygen_key($1, $2)', [businessId, key]);
	const contentId = await addContent(db, businessId, opts.body ?? 'Hello from the test suite. This is the script.');
	return { businessId, contentId };
}

export async function addContent(db: TestDatabase, businessId: string, body = 'Another script.'): Promise<string> {
	const { rows } = await db.sql<{ id: string }>(`insert into content (business_id, title, body) values ($1, 'A post', $2) returning id`, [
		businessId,
		body
	]);
	return rows[0]!.id;
}

export async function insertJob(db: TestDatabase, contentId: string, extra: Record<string, unknown> = {}): Promise<string> {
	const cols = ['content_id', ...Object.keys(extra)];
	const vals = [contentId, ...Object.values(extra)];
	const { rows } = await db.sql<{ id: string }>(
		`insert into video_jobs (${cols.join(', ')}) values (${cols.map((_, i) => `$${i + 1}`).join(', ')}) returning id`,
		vals
	);
	return rows[0]!.id;
}

/** An avatar job of `contentId` taken to `completed` by SQL, as the worker leaves it (a translation's source). */
export async function completedJob(db: TestDatabase, contentId: string): Promise<string> {
	const id = await insertJob(db, contentId);
	await db.sql(`update video_jobs set status = 'submitting' where id = $1`, [id]);
	await db.sql(`update video_jobs set status = 'rendering', heygen_video_id = $2 where id = $1`, [id, `v-${id.slice(0, 8)}`]);
	await db.sql(`update video_jobs set status = 'transferring' where id = $1`, [id]);
	await db.sql(`update video_jobs set status = 'completed', storage_path = 'videos/x.mp4', video_url = 'https://s/x.mp4' where id = $1`, [
		id
	]);
	return id;
}

export async function pgbossJobs(db: TestDatabase, jobId?: string) {
	const { rows } = await db.sql<{ id: string; name: string; data: unknown; state: string; start_after: Date }>(
		`select id, name, data, state, start_after from pgboss.job
		 where name like 'video.%' and ($1::text is null or data->>'jobId' = $1) order by created_on`,
		[jobId ?? null]
	);
	return rows;
}

let businessSeq = 0;

/**
 * Vitest fixtures for tests that talk to the database:
 * - `db`: a fresh database of this file's own, cloned from the migrated template, dropped after the
 *   file (file scope: cloning per test would cost a CREATE DATABASE each);
 * - `business`: a business of this test's own (avatar, voice, HeyGen key) with one piece of content,
 *   so tests never depend on what an earlier test left behind.
 */
export const dbTest = test
	// eslint-disable-next-line no-empty-pattern
	.extend('db', { scope: 'file' }, async ({}, { onCleanup }) => {
		const db = await createTestDatabase();
		onCleanup(() => db.drop());
		return db;
	})
	.extend('business', ({ db }) => seedBusiness(db, { name: `Business ${++businessSeq}` }));

/**
 * A job of `businessId` moved to `rendering` by SQL, as the submit step leaves it (HeyGen video id
 * `videoId`, default derived from the job id), with no pg-boss step waiting: the state a webhook or
 * a poll meets.
 */
export async function renderingJob(db: TestDatabase, businessId: string, videoId?: string): Promise<{ jobId: string; videoId: string }> {
	const jobId = await insertJob(db, await addContent(db, businessId, 'Rendering.'));
	const vid = videoId ?? `v-${jobId.slice(0, 8)}`;
	await db.sql(`update video_jobs set status = 'submitting' where id = $1`, [jobId]);
	await db.sql(`update video_jobs set status = 'rendering', heygen_video_id = $2 where id = $1`, [jobId, vid]);
	await db.sql(`delete from pgboss.job where singleton_key = $1`, [jobId]);
	return { jobId, videoId: vid };
}
