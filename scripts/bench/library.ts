// npm run bench:library — the video library's first page with 1,000 finished videos (issue 24;
// target < 100 ms), on loopback only, stopping by itself:
//   - GET /b/<id>/videos (first page, 24 cards) as a signed-in member, sequentially, p50/p95/max;
//     and the last page (reached by its keyset cursor): keyset paging costs the same at any depth;
//   - baselines measured in the same run: the trivial page /account (same hooks, session and root
//     layout, no load of its own) and a plain SQL select of the same rows by primary key, so the
//     figures can be read on a busy or slow machine too;
//   - EXPLAIN (ANALYZE) of the library's keyset query for the first page: the index it uses.
// BENCH_VIDEOS (default 1000) finished videos of the business; BENCH_OTHER_VIDEOS (default 10000) of
// other businesses, so the index has to find this business's rows among others.
// One throwaway embedded Postgres; the app in this process (build/handler.js, as `npm run web`); no worker.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type pg from 'pg';
import { loadConfig } from '../../config/index.ts';
import { ensureBuilt, serveWeb } from '../app.ts';
import { fmt, onCleanup, percentile, printTable, runBench, section, seedBusiness, startBenchDatabase } from './common.ts';

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const VIDEOS = env('BENCH_VIDEOS', 1000);
const OTHER_VIDEOS = env('BENCH_OTHER_VIDEOS', 10_000);
const REQUESTS = env('BENCH_REQUESTS', 100);
const ROUNDS = env('BENCH_ROUNDS', 4);
const TARGET_MS = 100;

/** `n` finished avatar videos of a business, made as the pipeline leaves them (bulk, by SQL). */
async function seedFinishedVideos(pool: pg.Pool, businessId: string, n: number): Promise<void> {
	await pool.query(
		`insert into content (business_id, title, body, created_at)
		 select $1, 'Library video ' || g, 'Script number ' || g || '. Hello from the benchmark.', now() - g * interval '1 minute'
		 from generate_series(1, $2::int) g`,
		[businessId, n]
	);
	const { rows } = await pool.query<{ id: string }>(
		`insert into video_jobs (content_id, options) select id, '{"aspect_ratio": "16:9", "resolution": "1080p", "captions": true}' from content where business_id = $1 returning id`,
		[businessId]
	);
	const ids = rows.map((r) => r.id);
	await pool.query(`update video_jobs set status = 'submitting' where id = any($1)`, [ids]);
	await pool.query(`update video_jobs set status = 'rendering', heygen_video_id = 'hv-' || id where id = any($1)`, [ids]);
	await pool.query(`update video_jobs set status = 'transferring', duration_seconds = 30 + (random() * 90)::int where id = any($1)`, [ids]);
	await pool.query(
		`update video_jobs set status = 'completed',
		   storage_path = 'videos/' || business_id || '/' || content_id || '/' || id || '.mp4',
		   thumbnail_path = 'videos/' || business_id || '/' || content_id || '/' || id || '.jpg',
		   subtitles_path = 'videos/' || business_id || '/' || content_id || '/' || id || '.srt',
		   video_url = '/media/' || business_id || '/' || content_id || '/' || id || '.mp4'
		 where id = any($1)`,
		[ids]
	);
}

async function formPost(base: string, p: string, fields: Record<string, string>): Promise<string> {
	const res = await fetch(`${base}${p}`, {
		method: 'POST',
		redirect: 'manual',
		headers: { origin: base, accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded' },
		body: new URLSearchParams(fields)
	});
	if (res.status !== 303) throw new Error(`${p}: HTTP ${res.status}`);
	return res.headers
		.getSetCookie()
		.map((c) => c.split(';')[0]!)
		.join('; ');
}

/** Sequential timings of `fn`, after a few warm-up calls; in ms. */
async function timed(n: number, fn: () => Promise<void>): Promise<number[]> {
	for (let i = 0; i < 5; i++) await fn();
	const ms: number[] = [];
	for (let i = 0; i < n; i++) {
		const t0 = performance.now();
		await fn();
		ms.push(performance.now() - t0);
	}
	return ms;
}

async function main(): Promise<void> {
	const db = await startBenchDatabase('library');
	const t0 = performance.now();
	const businessId = await seedBusiness(db.pool, 'Library Co');
	await seedFinishedVideos(db.pool, businessId, VIDEOS);
	for (let done = 0, i = 0; done < OTHER_VIDEOS; done += 2000, i++) {
		await seedFinishedVideos(db.pool, await seedBusiness(db.pool, `Other ${i}`), Math.min(2000, OTHER_VIDEOS - done));
	}
	await db.pool.query('vacuum analyze');
	console.log(`${VIDEOS} finished videos (+${OTHER_VIDEOS} of other businesses) seeded in ${fmt((performance.now() - t0) / 1000)} s`);

	await ensureBuilt();
	const dataDir = await mkdtemp(path.join(tmpdir(), 'hvj-bench-library-'));
	onCleanup('remove data directory', () => rm(dataDir, { recursive: true, force: true }));
	const config = loadConfig({
		...process.env,
		DATABASE_URL: db.url,
		DATA_DIR: dataDir,
		STORAGE_DIR: path.join(dataDir, 'videos'),
		LOG_LEVEL: 'warn',
		HEYGEN_API_URL: 'http://127.0.0.1:9',
		HOST: '127.0.0.1',
		PORT: '0'
	});
	const web = await serveWeb(config);
	onCleanup('stop the web app', () => web.close());

	const account = { email: 'bench@example.com', password: 'quiet harbour lamp 48' };
	await formPost(web.url, '/signup', { name: 'Bench', ...account });
	const cookie = await formPost(web.url, '/login', account);
	await db.pool.query(`insert into business_members (business_id, user_id, role) select $1, id, 'owner' from auth_users`, [businessId]);

	const get = async (p: string) => {
		const res = await fetch(`${web.url}${p}`, { headers: { cookie, accept: 'text/html' }, redirect: 'manual' });
		const body = await res.text();
		if (res.status !== 200) throw new Error(`${p}: HTTP ${res.status}`);
		return body;
	};
	const library = `/b/${businessId}/videos`;
	const firstPage = await get(library);
	const cards = [...firstPage.matchAll(/data-video="([0-9a-f-]{36})"/g)].map((m) => m[1]!);
	if (cards.length !== 24) throw new Error(`the first page shows ${cards.length} videos, not 24`);
	// The last page, by following the keyset cursors (each page's "Older videos" link).
	let last = library;
	let pages = 1;
	for (let html = firstPage; ; pages++) {
		const next = /<a[^>]*href="([^"]*)"[^>]*data-testid="next-page"/.exec(html)?.[1]?.replaceAll('&amp;', '&');
		if (!next) break;
		last = next;
		html = await get(next);
	}

	section(`first page of the library, ${REQUESTS} sequential requests each, in ${ROUNDS} alternating rounds`);
	// Alternating rounds, so that load from elsewhere on the machine hits every row alike.
	const measured: [string, () => Promise<void>][] = [
		['library, first page (HTTP)', async () => void (await get(library))],
		[`library, last page ${pages} (HTTP, keyset cursor)`, async () => void (await get(last))],
		['baseline: /account (HTTP, no load)', async () => void (await get('/account'))],
		[
			'baseline: plain select of the same 24 rows (SQL)',
			async () => void (await db.pool.query('select * from video_jobs where id = any($1::uuid[])', [cards]))
		]
	];
	const rows: [string, number[]][] = measured.map(([name]) => [name, []]);
	for (let r = 0; r < ROUNDS; r++) {
		for (const [i, [, fn]] of measured.entries()) rows[i]![1].push(...(await timed(Math.ceil(REQUESTS / ROUNDS), fn)));
	}
	printTable('latency (ms)', [
		['what', 'p50', 'p95', 'max'],
		...rows.map(([name, ms]) => [name, fmt(percentile(ms, 50)), fmt(percentile(ms, 95)), fmt(Math.max(...ms))])
	]);
	const { rows: plan } = await db.pool.query<{ 'QUERY PLAN': string }>(
		`explain (analyze, costs off, timing off, summary on)
		 select j.id, c.title from video_jobs j join content c on c.id = j.content_id
		 where j.business_id = $1 and j.status = any('{completed,awaiting_approval,queued,submitting,rendering,transferring}') and j.files_removed_at is null
		 order by j.created_at desc, j.id desc limit 25`,
		[businessId]
	);
	console.log(`\nthe library's first-page query:\n${plan.map((r) => `  ${r['QUERY PLAN']}`).join('\n')}`);
	const p95 = percentile(rows[0]![1], 95);
	console.log(`\nfirst page p95 ${fmt(p95)} ms: ${p95 < TARGET_MS ? 'within' : 'OVER'} the ${TARGET_MS} ms target`);
}

await runBench('bench:library', main);
