/**
 * The content list and the video library (issue 24), over HTTP against the built app: search,
 * orders and keyset pages (every row once, in order, across pages), the latest video's status per
 * row, bad input (unknown sort or filter, a broken cursor, a cursor of another order, an overlong
 * search) as a 400 that says what is wrong, never a 500; deleting content (refused while a video
 * is in progress; its files removed; its jobs' history kept) and deleting a video (files removed,
 * the job and its history kept). No worker runs: jobs are moved by SQL as the worker would.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect } from 'vitest';
import type { TestDatabase } from '../helpers/db.ts';
import { webTest, type Owner } from '../helpers/web-fixtures.ts';
import { configureHeyGen, createContent, type TestApp } from './harness.ts';

const test = webTest;
test.override({ appOptions: { worker: false } });

/** `n` pieces of content made by SQL, a minute apart (the first is the oldest), titled by `title(i)`. */
async function manyContent(db: TestDatabase, businessId: string, n: number, title: (i: number) => string): Promise<string[]> {
	const titles = Array.from({ length: n }, (_, i) => title(i + 1));
	const { rows } = await db.sql<{ id: string }>(
		`insert into content (business_id, title, body, created_at, updated_at)
		 select $1, t, 'Script number ' || i, now() - (1000 - i) * interval '1 minute', now() - (1000 - i) * interval '1 minute'
		 from unnest($2::text[]) with ordinality as u(t, i) order by i returning id`,
		[businessId, titles]
	);
	return rows.map((r) => r.id);
}

const decode = (s: string) => s.replaceAll('&amp;', '&');
/** The rows of a list page, in order (content ids, or video job ids). */
const rowIds = (html: string, attr: 'data-content' | 'data-video') =>
	[...html.matchAll(new RegExp(`${attr}="([0-9a-f-]{36})"`, 'g'))].map((m) => m[1]!);
const nextHref = (html: string) => {
	const m = /<a[^>]*href="([^"]*)"[^>]*data-testid="next-page"/.exec(html);
	return m ? decode(m[1]!) : null;
};

/** Every page of a list from `first`, following "Next page"; the ids of each page. */
async function allPages(owner: Owner, first: string, attr: 'data-content' | 'data-video'): Promise<string[][]> {
	const pages: string[][] = [];
	let url: string | null = first;
	while (url) {
		const { status, text } = await owner.client.html(url);
		expect(status, url).toBe(200);
		pages.push(rowIds(text, attr));
		const next = nextHref(text);
		url = next ? new URL(next, `http://x${first}`).pathname + new URL(next, `http://x${first}`).search : null;
		expect(pages.length).toBeLessThan(10);
	}
	return pages;
}

/** Finished avatar videos of these contents, moved by SQL, with their files in the app's storage. */
async function finishedVideos(db: TestDatabase, app: TestApp, businessId: string, contentIds: string[]): Promise<string[]> {
	const { rows } = await db.sql<{ id: string; content_id: string }>(
		`insert into video_jobs (content_id) select unnest($1::uuid[]) returning id, content_id`,
		[contentIds]
	);
	const ids = rows.map((r) => r.id);
	await db.sql(`update video_jobs set status = 'submitting' where id = any($1)`, [ids]);
	await db.sql(`update video_jobs set status = 'rendering', heygen_video_id = 'hv-' || id where id = any($1)`, [ids]);
	await db.sql(`update video_jobs set status = 'transferring', duration_seconds = 75 where id = any($1)`, [ids]);
	await db.sql(
		`update video_jobs set status = 'completed',
		   storage_path = 'videos/' || business_id || '/' || content_id || '/' || id || '.mp4',
		   thumbnail_path = 'videos/' || business_id || '/' || content_id || '/' || id || '.jpg',
		   video_url = '/media/' || business_id || '/' || content_id || '/' || id || '.mp4' where id = any($1)`,
		[ids]
	);
	for (const r of rows) {
		mkdirSync(path.join(app.storageDir, businessId, r.content_id), { recursive: true });
		writeFileSync(path.join(app.storageDir, businessId, r.content_id, `${r.id}.mp4`), 'mp4');
		writeFileSync(path.join(app.storageDir, businessId, r.content_id, `${r.id}.jpg`), 'jpg');
	}
	return contentIds.map((c) => rows.find((r) => r.content_id === c)!.id);
}

const mp4 = (app: TestApp, businessId: string, contentId: string, jobId: string) =>
	path.join(app.storageDir, businessId, contentId, `${jobId}.mp4`);

describe('the content list', () => {
	test('pages every row once, in each order, 50 at a time (keyset, not offset)', async ({ db, owner }) => {
		const names = ['banana', 'Apple', 'cherry', 'apple pie', 'Date'];
		const ids = await manyContent(db, owner.businessId, 60, (i) => `${names[i % 5]} ${String(i).padStart(2, '0')}`);
		const base = `/b/${owner.businessId}`;
		const updated = await allPages(owner, base, 'data-content');
		expect(updated.map((p) => p.length)).toEqual([50, 10]);
		expect(updated.flat()).toEqual([...ids].reverse());

		const byTitle = await db.sql<{ id: string }>(`select id from content where business_id = $1 order by lower(title), id`, [
			owner.businessId
		]);
		const title = await allPages(owner, `${base}?sort=title`, 'data-content');
		expect(title.flat()).toEqual(byTitle.rows.map((r) => r.id));

		// Created differs from updated once a row is edited: the edited one moves up only in "updated".
		await db.sql(`update content set body = 'edited' where id = $1`, [ids[0]]);
		expect((await allPages(owner, base, 'data-content'))[0]![0]).toBe(ids[0]);
		expect((await allPages(owner, `${base}?sort=created`, 'data-content')).flat()).toEqual([...ids].reverse());
	}, 120_000); // the first test also waits for the app to start

	test('searches titles (any case, wildcards taken literally) and keeps the search on the next page', async ({ db, owner }) => {
		await manyContent(db, owner.businessId, 55, (i) => (i % 2 ? `Spring menu ${i}` : `Autumn ${i}`));
		const [pct] = await manyContent(db, owner.businessId, 1, () => '100% rye');
		const base = `/b/${owner.businessId}`;
		const pages = await allPages(owner, `${base}?q=SPRING`, 'data-content');
		expect(pages.flat()).toHaveLength(28);
		const { text } = await owner.client.html(`${base}?q=${encodeURIComponent('%')}`);
		expect(rowIds(text, 'data-content')).toEqual([pct]);
		const none = await owner.client.html(`${base}?q=nothing-like-this`);
		expect(none.text).toContain('No content matches “nothing-like-this”');
	});

	test('shows the latest video’s status on each row', async ({ db, owner }) => {
		await configureHeyGen(owner.client, owner.businessId);
		const contentId = await createContent(owner.client, owner.businessId, 'A script.', 'Has a failed video');
		const { rows } = await db.sql<{ id: string }>(`insert into video_jobs (content_id) values ($1) returning id`, [contentId]);
		await db.sql(`update video_jobs set status = 'failed', error_code = 'x', error_message = 'Broke' where id = $1`, [rows[0]!.id]);
		await createContent(owner.client, owner.businessId, 'Another script.', 'No video');
		const { text } = await owner.client.html(`/b/${owner.businessId}`);
		const row = (id: string) => new RegExp(`data-content="${id}"[\\s\\S]*?</tr>`).exec(text)![0];
		expect(row(contentId)).toContain('data-status="failed"');
		expect(text).toContain('No video yet');
	});

	test('bad input is a 400 that says what is wrong', async ({ db, owner }) => {
		await manyContent(db, owner.businessId, 51, (i) => `Post ${i}`);
		const base = `/b/${owner.businessId}`;
		const titleCursor = new URLSearchParams(nextHref((await owner.client.html(`${base}?sort=title`)).text)!.slice(1)).get('after')!;
		const cases: [string, string][] = [
			[`${base}?sort=popular`, 'Unknown sort “popular”'],
			[`${base}?after=not-a-cursor!`, 'cursor cannot be read'],
			[`${base}?after=${Buffer.from('{"a":1}').toString('base64url')}`, 'cursor cannot be read'],
			[
				`${base}?after=${Buffer.from('["updated","yesterday","00000000-0000-0000-0000-000000000000"]').toString('base64url')}`,
				'cursor cannot be read'
			],
			[`${base}?after=${titleCursor}`, 'made for another order'],
			[`${base}?q=${'x'.repeat(201)}`, 'at most 200 characters']
		];
		for (const [url, says] of cases) {
			const { status, text } = await owner.client.html(url);
			expect(status, url).toBe(400);
			expect(text, url).toContain(says);
		}
		// The same title cursor in its own order works.
		expect((await owner.client.html(`${base}?sort=title&after=${titleCursor}`)).status).toBe(200);
	});
});

describe('deleting content', () => {
	test('is refused while a video is in progress, then removes the content, its jobs and files, and keeps the history', async ({
		db,
		app,
		owner
	}) => {
		await configureHeyGen(owner.client, owner.businessId);
		const contentId = await createContent(owner.client, owner.businessId, 'Old news.', 'To delete');
		const [done] = await finishedVideos(db, app, owner.businessId, [contentId]);
		const { rows } = await db.sql<{ id: string }>(`insert into video_jobs (content_id) values ($1) returning id`, [contentId]);
		const active = rows[0]!.id;
		const action = `/b/${owner.businessId}?/deleteContent`;

		const refused = await owner.client.action(action, { contentId });
		expect(refused).toMatchObject({ type: 'failure', status: 409 });
		expect(refused.data.message).toBe(
			'A video of this content is still in progress. Cancel it or wait for it to finish, then delete the content.'
		);
		expect((await db.sql(`select 1 from content where id = $1`, [contentId])).rowCount).toBe(1);
		expect(existsSync(mp4(app, owner.businessId, contentId, done!))).toBe(true);

		await db.sql(`select cancel_video_job($1, 'stop')`, [active]);
		const ok = await owner.client.action(action, { contentId });
		expect(ok).toMatchObject({ type: 'success', data: { message: 'Deleted “To delete” and its videos.' } });
		expect((await db.sql(`select 1 from content where id = $1`, [contentId])).rowCount).toBe(0);
		expect((await db.sql(`select 1 from video_jobs where content_id = $1`, [contentId])).rowCount).toBe(0);
		expect(existsSync(mp4(app, owner.businessId, contentId, done!))).toBe(false);
		expect(existsSync(mp4(app, owner.businessId, contentId, done!).replace(/\.mp4$/, '.jpg'))).toBe(false);
		// The history of both jobs stays, ending with the deletion, by this user.
		const events = await db.sql<{ job_id: string; to_status: string; detail: Record<string, unknown>; actor: string }>(
			`select job_id, to_status, detail, actor from video_job_events where content_id = $1 and detail->>'event' = 'content_deleted' order by id`,
			[contentId]
		);
		expect(events.rows.map((e) => [e.job_id, e.to_status, e.detail['title']])).toEqual([
			[done, 'completed', 'To delete'],
			[active, 'canceled', 'To delete']
		]);
		expect(events.rows[0]!.actor).toMatch(/^user:/);
		expect((await db.sql(`select 1 from video_job_events where job_id = $1`, [done])).rowCount).toBeGreaterThan(4);
	});

	test('of another business, or with a bad id, is refused without a change', async ({ db, owner, studio }) => {
		const theirs = await createContent(studio.client, studio.businessId, 'Theirs.', 'Not yours');
		expect(await owner.client.action(`/b/${owner.businessId}?/deleteContent`, { contentId: theirs })).toMatchObject({ status: 404 });
		expect(await owner.client.action(`/b/${studio.businessId}?/deleteContent`, { contentId: theirs })).toMatchObject({ status: 404 });
		const bad = await owner.client.action(`/b/${owner.businessId}?/deleteContent`, { contentId: 'nope' });
		expect(bad).toMatchObject({ type: 'failure', status: 400 });
		expect((await db.sql(`select 1 from content where id = $1`, [theirs])).rowCount).toBe(1);
	});
});

describe('the video library', () => {
	test('shows finished and in-progress videos newest first, 24 a page, filtered and searched', async ({ db, app, owner }) => {
		await configureHeyGen(owner.client, owner.businessId);
		const contents = await manyContent(db, owner.businessId, 30, (i) => (i % 3 ? `Weekly update ${i}` : `Opening hours ${i}`));
		const videos = [];
		// One at a time, so that "newest first" is the order they were made in.
		for (const c of contents) videos.push(...(await finishedVideos(db, app, owner.businessId, [c])));
		const extra = await manyContent(db, owner.businessId, 2, (i) => `Extra ${i}`);
		const { rows: inFlight } = await db.sql<{ id: string }>(`insert into video_jobs (content_id) values ($1) returning id`, [extra[0]]);
		const { rows: failed } = await db.sql<{ id: string }>(`insert into video_jobs (content_id) values ($1) returning id`, [extra[1]]);
		await db.sql(`update video_jobs set status = 'failed', error_code = 'x', error_message = 'Broke' where id = $1`, [failed[0]!.id]);

		const base = `/b/${owner.businessId}/videos`;
		const all = await allPages(owner, base, 'data-video');
		expect(all.map((p) => p.length)).toEqual([24, 7]);
		expect(all.flat()).toEqual([inFlight[0]!.id, ...[...videos].reverse()]);

		const first = (await owner.client.html(base)).text;
		expect(first).toMatch(new RegExp(`data-video="${inFlight[0]!.id}" data-status="queued"`));
		const v = videos.at(-1)!;
		const c = contents.at(-1)!;
		expect(first).toContain(`href="/b/${owner.businessId}/content/${c}?play=${v}"`);
		expect(first).toContain(`href="/media/${owner.businessId}/${c}/${v}.mp4" download`);
		expect(first).toContain(`src="/media/${owner.businessId}/${c}/${v}.jpg"`);
		expect(first).toContain('1:15');

		expect((await allPages(owner, `${base}?status=failed`, 'data-video')).flat()).toEqual([failed[0]!.id]);
		expect((await allPages(owner, `${base}?status=in_progress`, 'data-video')).flat()).toEqual([inFlight[0]!.id]);
		expect((await allPages(owner, `${base}?status=completed&q=opening`, 'data-video')).flat()).toHaveLength(10);
	});

	test('bad input is a 400 that says what is wrong', async ({ owner }) => {
		const base = `/b/${owner.businessId}/videos`;
		for (const [url, says] of [
			[`${base}?status=done`, 'Unknown status filter “done”'],
			[`${base}?after=%%%`, 'cursor cannot be read'],
			[
				`${base}?after=${Buffer.from('["updated","2026-01-01T00:00:00.000000Z","00000000-0000-0000-0000-000000000000"]').toString('base64url')}`,
				'another order'
			]
		]) {
			const { status, text } = await owner.client.html(url!);
			expect(status, url).toBe(400);
			expect(text, url).toContain(says);
		}
	});
});

describe('out-of-date videos on the content list (issue 23)', () => {
	/** Content with a finished 9:16 video whose body then changed: its video is out of date. */
	async function staleContent(db: TestDatabase, app: TestApp, owner: Owner, title: string): Promise<string> {
		const contentId = await createContent(owner.client, owner.businessId, 'The old price is 5 euros.', title);
		const { rows } = await db.sql<{ id: string }>(
			`insert into video_jobs (content_id, options) values ($1, '{"aspect_ratio": "9:16"}') returning id`,
			[contentId]
		);
		await db.sql(`update video_jobs set status = 'submitting' where id = $1`, [rows[0]!.id]);
		await db.sql(`update video_jobs set status = 'rendering', heygen_video_id = 'hv-' || id where id = $1`, [rows[0]!.id]);
		await db.sql(`update video_jobs set status = 'transferring' where id = $1`, [rows[0]!.id]);
		await db.sql(`update video_jobs set status = 'completed', storage_path = 'x/' || id || '.mp4', video_url = '/x' where id = $1`, [
			rows[0]!.id
		]);
		await db.sql(`update content set body = 'The new price is 6 euros.' where id = $1`, [contentId]);
		expect((await db.sql(`select video_is_stale from content where id = $1`, [contentId])).rows[0]).toEqual({ video_is_stale: true });
		void app;
		return contentId;
	}

	test('marks stale rows, filters to them, and Regenerate makes one video in the current format', async ({ db, app, owner }) => {
		await configureHeyGen(owner.client, owner.businessId);
		const stale = await staleContent(db, app, owner, 'Price list');
		const fresh = await createContent(owner.client, owner.businessId, 'Nothing changed.', 'Fresh');
		const base = `/b/${owner.businessId}`;
		const { text } = await owner.client.html(base);
		const row = (id: string) => new RegExp(`data-content="${id}"[\\s\\S]*?</tr>`).exec(text)![0];
		expect(row(stale)).toContain('Out of date');
		expect(row(fresh)).not.toContain('Out of date');
		expect(text).toContain('1 video is out of date');
		expect(rowIds((await owner.client.html(`${base}?stale=1`)).text, 'data-content')).toEqual([stale]);
		expect((await owner.client.html(`${base}?stale=maybe`)).status).toBe(400);

		const key = /name="key" value="([0-9a-f-]{36})"/.exec(text)![1]!;
		const r1 = await owner.client.action(`${base}?/regenerate`, { contentId: stale, key });
		const r2 = await owner.client.action(`${base}?/regenerate`, { contentId: stale, key });
		expect(r1).toMatchObject({ type: 'success', data: { message: 'Making a new video of “Price list”.' } });
		expect(r2.type).toBe('success');
		const jobs = await db.sql<{ options: Record<string, unknown>; script: string; status: string }>(
			`select options, script, status from video_jobs where content_id = $1 and status <> 'completed'`,
			[stale]
		);
		expect(jobs.rows).toEqual([
			{ options: { aspect_ratio: '9:16', title: 'Price list' }, script: 'The new price is 6 euros.', status: 'queued' }
		]);
		// A bad id or key is a form error, not a 500.
		expect(await owner.client.action(`${base}?/regenerate`, { contentId: stale, key: 'x' })).toMatchObject({
			type: 'failure',
			status: 400
		});
	});

	test('"Regenerate all" makes one video per stale content in one statement and says how many', async ({ db, app, owner }) => {
		await configureHeyGen(owner.client, owner.businessId);
		const a = await staleContent(db, app, owner, 'A');
		const b = await staleContent(db, app, owner, 'B');
		const base = `/b/${owner.businessId}`;
		const r = await owner.client.action(`${base}?/regenerateStale`, {});
		expect(r).toMatchObject({ type: 'success', data: { made: 2, message: 'Making 2 new videos for out-of-date content.' } });
		const made = await db.sql(`select content_id from video_jobs where content_id = any($1) and status = 'queued' order by content_id`, [
			[a, b]
		]);
		expect(made.rowCount).toBe(2);
		// Again at once: both have a video on its way, so none is made.
		expect(await owner.client.action(`${base}?/regenerateStale`, {})).toMatchObject({ type: 'success', data: { made: 0 } });
	});

	test('says when the next automatic video is due', async ({ db, owner }) => {
		await configureHeyGen(owner.client, owner.businessId);
		await db.sql(`update businesses set auto_generate = true, auto_generate_delay_seconds = 252 where id = $1`, [owner.businessId]);
		const contentId = await createContent(owner.client, owner.businessId, 'Open from nine.', 'Hours');
		const { text } = await owner.client.html(`/b/${owner.businessId}`);
		const row = new RegExp(`data-content="${contentId}"[\\s\\S]*?</tr>`).exec(text)![0];
		expect(row).toMatch(/Next video in 4:1[0-2]/);
	});
});
