/**
 * Live status over SSE (one LISTEN connection, fan-out, Last-Event-ID replay), the media route
 * (Range requests), /healthz and /metrics. HeyGen webhooks: webhooks.test.ts.
 */
import { describe, expect } from 'vitest';
import { HAPPY_TRAIL, waitForStatus } from '../helpers/pipeline.ts';
import { webTest as test } from '../helpers/web-fixtures.ts';
import { createContent, generateVideo, readEvents } from './harness.ts';

test.override({ appOptions: { renderMs: 300 } });

describe('live status (SSE)', () => {
	test('each step arrives as a job event, in order, with the video URL at the end', async ({ studio: { client: c, businessId: b } }) => {
		const content = await createContent(c, b, 'Live script.', 'Live one');
		const res = await c.get(`/b/${b}/events?content=${content}`, { accept: 'text/event-stream' });
		expect(res.status).toBe(200);
		expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
		expect(res.headers.get('cache-control')).toMatch(/no-cache/);
		const reading = readEvents(res, (ev) => ev.some((e) => e.data.status === 'completed'));
		const jobId = await generateVideo(c, b, content);
		const events = await reading;
		const seen = JSON.stringify(events.map((e) => ({ id: e.id, ...e.data })));
		expect(
			events.map((e) => e.data.status),
			seen
		).toEqual(['queued', 'submitting', 'rendering', 'transferring', 'completed']);
		expect(
			events.every((e) => e.event === 'job' && e.data.jobId === jobId && Number(e.id) === e.data.id),
			seen
		).toBe(true);
		const ids = events.map((e) => Number(e.id));
		expect(
			[...ids].sort((x, y) => x - y),
			seen
		).toEqual(ids);
		const done = events.at(-1)!.data;
		expect(done.videoUrl, seen).toBe(`/media/${b}/${content}/${jobId}.mp4`);
		// The poster is our stored copy of HeyGen's thumbnail, served beside the video.
		expect(done.thumbnailUrl, seen).toBe(`/media/${b}/${content}/${jobId}.jpg`);
	});

	test('Last-Event-ID replays what was missed (and ?content= filters)', async ({ db, studio: { client: c, businessId: b } }) => {
		const c1 = await createContent(c, b, 'First.', 'Replay one');
		const c2 = await createContent(c, b, 'Second.', 'Replay two');
		const { rows } = await db.sql('select coalesce(max(id), 0)::int as id from video_job_events');
		const since = rows[0].id;
		const j1 = await generateVideo(c, b, c1);
		const j2 = await generateVideo(c, b, c2);
		await waitForStatus(db, j1, 'completed');
		await waitForStatus(db, j2, 'completed');

		// A browser reconnecting after event `since` gets everything after it, for the whole business…
		const all = await c.get(`/b/${b}/events`, { accept: 'text/event-stream', 'last-event-id': String(since) });
		const replay = await readEvents(all, (ev) => ev.length >= 10);
		expect(replay).toHaveLength(10);
		expect(replay.every((e) => Number(e.id) > since)).toBe(true);
		// …or for one content only; the header wins over ?since.
		const one = await c.get(`/b/${b}/events?content=${c2}&since=999999999`, {
			accept: 'text/event-stream',
			'last-event-id': String(since)
		});
		const only = await readEvents(one, (ev) => ev.length >= 5);
		expect(only.map((e) => `${e.data.jobId}:${e.data.status}`)).toEqual(HAPPY_TRAIL.map((t) => `${j2}:${t.split('→')[1]}`));
		const trail = await db.sql('select count(*)::int as n from video_job_events where job_id = any($1)', [[j1, j2]]);
		expect(trail.rows[0].n).toBe(10);
	});

	test('a status change made by plain SQL reaches the browser too', async ({ db, studio: { client: c, businessId: b } }) => {
		const content = await createContent(c, b, 'From SQL.', 'SQL one [sim renderMs=30000]');
		const res = await c.get(`/b/${b}/events?content=${content}`, { accept: 'text/event-stream' });
		const reading = readEvents(res, (ev) => ev.some((e) => e.data.status === 'canceled'));
		const { rows } = await db.sql(`insert into video_jobs (content_id) values ($1) returning id`, [content]);
		await waitForStatus(db, rows[0].id, 'rendering');
		await db.sql(`select cancel_video_job($1, 'stopped by a DBA')`, [rows[0].id]);
		const events = await reading;
		const last = events.at(-1)!.data;
		expect(last).toMatchObject({ status: 'canceled', errorMessage: 'stopped by a DBA', errorCode: 'canceled' });
	});

	test('the LISTEN connection comes back after it is killed, and nothing is missed', async ({
		db,
		studio: { client: c, businessId: b }
	}) => {
		const content = await createContent(c, b, 'Reconnect.', 'Reconnect one');
		const res = await c.get(`/b/${b}/events?content=${content}`, { accept: 'text/event-stream' });
		const reading = readEvents(res, (ev) => ev.some((e) => e.data.status === 'completed'), 15_000);
		// Only this file's app: other test files run their own apps against other databases.
		const killed = await db.sql(
			`select pg_terminate_backend(pid) as ok from pg_stat_activity where datname = current_database() and application_name = 'web-live'`
		);
		expect(killed.rows).toEqual([{ ok: true }]);
		// Changes made while it is down are replayed when it is back.
		const jobId = await generateVideo(c, b, content);
		const events = await reading;
		expect(events.filter((e) => e.data.jobId === jobId).map((e) => e.data.status)).toEqual([
			'queued',
			'submitting',
			'rendering',
			'transferring',
			'completed'
		]);
		const { rows } = await db.sql(
			`select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name = 'web-live'`
		);
		expect(rows[0].n).toBe(1);
	});

	test('many subscribers share the one LISTEN connection', async ({ db }) => {
		const { rows } = await db.sql(
			`select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name = 'web-live'`
		);
		expect(rows[0].n).toBe(1);
	});
});

describe('media', () => {
	let url: string;
	let size: number;
	test.beforeAll(async ({ db, studio: { client: c, businessId: b } }) => {
		const content = await createContent(c, b, 'Media script.', 'Media one');
		const jobId = await generateVideo(c, b, content);
		const row = await waitForStatus(db, jobId, 'completed');
		url = row.video_url;
		size = Number(row.size_bytes);
	});

	test('whole file, ranges, HEAD and revalidation', async ({ studio: { client: c } }) => {
		const full = await c.get(url);
		expect(full.status).toBe(200);
		expect(full.headers.get('content-type')).toBe('video/mp4');
		expect(full.headers.get('accept-ranges')).toBe('bytes');
		expect(Number(full.headers.get('content-length'))).toBe(size);
		expect((await full.arrayBuffer()).byteLength).toBe(size);

		const part = await c.get(url, { range: 'bytes=100-199' });
		expect(part.status).toBe(206);
		expect(part.headers.get('content-range')).toBe(`bytes 100-199/${size}`);
		expect((await part.arrayBuffer()).byteLength).toBe(100);

		const tail = await c.get(url, { range: 'bytes=-10' });
		expect(tail.status).toBe(206);
		expect(tail.headers.get('content-range')).toBe(`bytes ${size - 10}-${size - 1}/${size}`);
		await tail.arrayBuffer();

		const open = await c.get(url, { range: `bytes=${size - 5}-` });
		expect((await open.arrayBuffer()).byteLength).toBe(5);

		const bad = await c.get(url, { range: `bytes=${size + 10}-` });
		expect(bad.status).toBe(416);
		expect(bad.headers.get('content-range')).toBe(`bytes */${size}`);

		const head = await c.fetch(url, { method: 'HEAD' });
		expect(head.status).toBe(200);
		expect(Number(head.headers.get('content-length'))).toBe(size);

		const etag = full.headers.get('etag')!;
		const again = await c.get(url, { 'if-none-match': etag });
		expect(again.status).toBe(304);
	});

	test('a missing file is a 404', async ({ studio: { client: c, businessId: b } }) => {
		const r = await c.get(`/media/${b}/00000000-0000-4000-8000-000000000000/00000000-0000-4000-8000-000000000001.mp4`);
		expect(r.status).toBe(404);
	});
});

describe('health, metrics, headers', () => {
	test.beforeAll(async ({ db, studio: { client: c, businessId: b } }) => {
		// A failure to count (before the first scrape: the figures are cached for 5 s).
		const content = await createContent(c, b, 'Fails.', 'Metric fail [sim failWith=insufficient_credit]');
		await waitForStatus(db, await generateVideo(c, b, content), 'failed');
	});

	test('/healthz reports the database and the worker heartbeat', async ({ app }) => {
		const r = await fetch(`${app.url}/healthz`);
		expect(r.status).toBe(200);
		const h = await r.json();
		expect(h.database.ok).toBe(true);
		expect(h.worker).toMatchObject({ ok: true });
		expect(h.worker.live).toBeGreaterThanOrEqual(1);
		expect(h.status).toBe('ok');
	});

	test('/metrics in Prometheus format', async ({ app }) => {
		const r = await fetch(`${app.url}/metrics`);
		expect(r.status).toBe(200);
		expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
		const text = await r.text();
		expect(text).toMatch(/^video_jobs\{status="completed"\} [1-9]\d*$/m);
		expect(text).toMatch(/^video_jobs\{status="canceled"\} \d+$/m);
		expect(text).toMatch(/^video_queue_depth\{queue="video.poll"\} \d+$/m);
		expect(text).toMatch(/^video_render_seconds_bucket\{le="\+Inf"\} [1-9]\d*$/m);
		expect(text).toMatch(/^video_render_seconds_count [1-9]\d*$/m);
		expect(text).toMatch(/^video_transfer_seconds_sum [\d.e-]+$/m);
		expect(text).toMatch(/^# TYPE video_heygen_failures_total counter$/m);
		expect(text).toMatch(/^video_heygen_failures_total\{code="insufficient_credit"\} 1$/m);
		expect(text).toMatch(/^web_sse_subscribers \d+$/m);
		expect(text).toMatch(/^process_resident_memory_bytes \d+$/m);
	});

	test('security headers on pages', async ({ studio: { client: c, businessId: b } }) => {
		const r = await c.get(`/b/${b}`);
		expect(r.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
		expect(r.headers.get('x-content-type-options')).toBe('nosniff');
		expect(r.headers.get('x-frame-options')).toBe('DENY');
		expect(r.headers.get('referrer-policy')).toBe('strict-origin-when-cross-origin');
		expect(r.headers.get('cache-control')).toBe('private, no-store');
	});
});
