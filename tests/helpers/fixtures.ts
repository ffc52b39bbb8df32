import type { TestDatabase } from './db.ts';

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
		[opts.name ?? 'Acme', opts.avatar === undefined ? 'sim-avatar-anna' : opts.avatar, opts.voice === undefined ? 'sim-voice-en-1' : opts.voice]
	);
	const businessId = rows[0]!.id;
	const key = opts.key === undefined ? TEST_KEY : opts.key;
	if (key !== null) await db.sql('select set_heygen_key($1, $2)', [businessId, key]);
	const contentId = await addContent(db, businessId, opts.body ?? 'Hello from the test suite. This is the script.');
	return { businessId, contentId };
}

export async function addContent(db: TestDatabase, businessId: string, body = 'Another script.'): Promise<string> {
	const { rows } = await db.sql<{ id: string }>(
		`insert into content (business_id, title, body) values ($1, 'A post', $2) returning id`,
		[businessId, body]
	);
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

export async function pgbossJobs(db: TestDatabase, jobId?: string) {
	const { rows } = await db.sql<{ id: string; name: string; data: unknown; state: string; start_after: Date }>(
		`select id, name, data, state, start_after from pgboss.job
		 where name like 'video.%' and ($1::text is null or data->>'jobId' = $1) order by created_on`,
		[jobId ?? null]
	);
	return rows;
}
