// The same-work baseline of npm run bench:pipeline (issue 25): a bare pg-boss worker doing the
// pipeline's work with none of the product's guarantees (no state machine, audit events,
// exactly-once submit, render slots, key from Vault, MP4 checks). Three queues, as the worker's:
//   bare.create   POST /v3/videos with an Idempotency-Key (the job's id) → bare.status
//   bare.status   GET /v3/videos/{id}; completed → bare.download, otherwise again in 0.1 s
//   bare.download the video to a temp file, fsync, rename; one plain row per video (bare_videos)
// Run as a child process by scripts/bench/same-work.ts (spawnWorker), so its CPU and memory are its
// own. Batch sizes and concurrency are the worker's (worker/steps/registry.ts workOptions).
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { PgBoss, type Job } from 'pg-boss';
import { workOptions } from '../../worker/steps/registry.ts';

const env = (k: string) => {
	const v = process.env[k];
	if (!v) throw new Error(`${k} is not set`);
	return v;
};
const DATABASE_URL = env('DATABASE_URL');
const API = env('HEYGEN_API_URL');
const KEY = env('BARE_HEYGEN_KEY');
const DIR = env('STORAGE_DIR');
const TITLE = process.env.BARE_TITLE ?? '';
const CONCURRENCY = Number(process.env.WORKER_CONCURRENCY ?? 20);
export const BARE_QUEUES = ['bare.create', 'bare.status', 'bare.download'] as const;

interface Video {
	id: string;
	videoId?: string;
	url?: string;
}

const pool = new pg.Pool({ connectionString: DATABASE_URL, max: Math.min(50, CONCURRENCY + 5), application_name: 'bare-worker' });
const boss = new PgBoss({
	connectionString: DATABASE_URL,
	max: 10,
	application_name: 'bare-worker-boss',
	useListenNotify: true,
	supervise: true,
	schedule: false,
	openTelemetry: { enabled: false }
});
boss.on('error', (err) => console.error(JSON.stringify({ msg: 'pg-boss error', err: err.message })));
await boss.start();
for (const q of BARE_QUEUES) await boss.createQueue(q, { notify: true });

const headers = { 'x-api-key': KEY, accept: 'application/json' };
async function json<T>(res: Response): Promise<{ data: T }> {
	const body: unknown = await res.json();
	if (!res.ok) throw new Error(`HTTP ${res.status}: ${JSON.stringify(body).slice(0, 200)}`);
	return body as { data: T };
}

async function create(v: Video): Promise<Video> {
	const body = { type: 'avatar', avatar_id: 'sim-avatar-anna', voice_id: 'sim-voice-en-1', script: 'Hello from the bench.', title: TITLE };
	const res = await fetch(`${API}/v3/videos`, {
		method: 'POST',
		headers: { ...headers, 'content-type': 'application/json', 'idempotency-key': v.id },
		body: JSON.stringify({ ...body, callback_id: v.id })
	});
	return { id: v.id, videoId: (await json<{ video_id: string }>(res)).data.video_id };
}

async function status(v: Video): Promise<Video | null> {
	const res = await fetch(`${API}/v3/videos/${encodeURIComponent(v.videoId!)}`, { headers });
	const d = (await json<{ status: string; video_url?: string }>(res)).data;
	if (d.status === 'failed') throw new Error(`render failed: ${v.videoId}`);
	return d.status === 'completed' ? { ...v, url: d.video_url! } : null;
}

async function download(v: Video): Promise<void> {
	const res = await fetch(v.url!);
	if (!res.ok || !res.body) throw new Error(`download HTTP ${res.status}`);
	const final = path.join(DIR, `${v.id}.mp4`);
	const temp = `${final}.${randomUUID()}.partial`;
	await pipeline(Readable.fromWeb(res.body as never), createWriteStream(temp));
	const fh = await open(temp, 'r');
	try {
		await fh.sync();
	} finally {
		await fh.close();
	}
	await rename(temp, final);
	await pool.query('insert into bare_videos (id, heygen_video_id, path) values ($1, $2, $3)', [v.id, v.videoId, final]);
}

await mkdir(DIR, { recursive: true });
const o = workOptions(CONCURRENCY);
const [submitO, pollO, transferO] = [o['video.submit'], o['video.poll'], o['video.transfer']];
type Result = { id: string; status: 'completed' | 'failed' };

/** Runs `fn` on every job of a batch at once; the ones that give a next step are inserted in one call. */
const step =
	(fn: (v: Video) => Promise<Video | null | void>, next: string | null, again: string | null) =>
	async (jobs: Job<Video>[]): Promise<Result[]> => {
		const out = await Promise.allSettled(jobs.map((j) => fn(j.data)));
		const forward: Video[] = [];
		const retry: Video[] = [];
		out.forEach((r, i) => {
			if (r.status !== 'fulfilled') return;
			if (r.value) forward.push(r.value);
			else if (again) retry.push(jobs[i]!.data);
		});
		if (next && forward.length)
			await boss.insert(
				next,
				forward.map((data) => ({ data }))
			);
		if (again && retry.length)
			await boss.insert(
				again,
				retry.map((data) => ({ data, startAfter: new Date(Date.now() + 100) }))
			);
		return jobs.map((j, i) => ({ id: j.id, status: out[i]!.status === 'fulfilled' ? 'completed' : 'failed' }));
	};

await boss.work<Video>('bare.create', { ...submitO, perJobResults: true }, step(create, 'bare.status', null));
await boss.work<Video>('bare.status', { ...pollO, perJobResults: true }, step(status, 'bare.download', 'bare.status'));
await boss.work<Video>('bare.download', { ...transferO, perJobResults: true }, step(download, null, null));
console.log(JSON.stringify({ msg: 'worker started' }));

const stop = async () => {
	await boss.stop({ graceful: true, timeout: 5_000 });
	await pool.end();
	process.exit(0);
};
process.once('SIGTERM', () => void stop());
process.once('SIGINT', () => void stop());
