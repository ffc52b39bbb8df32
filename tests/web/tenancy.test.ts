/**
 * Tenant isolation: a member of business B cannot see, generate for, change the key of, stream
 * the events of, or download the videos of business A — pages, data requests, actions, SSE and
 * media all answer 404 (the same answer as for an id that does not exist) and change nothing.
 */
import { describe, expect } from 'vitest';
import type { TestDatabase } from '../helpers/db.ts';
import { waitForStatus } from '../helpers/pipeline.ts';
import { webTest } from '../helpers/web-fixtures.ts';
import {
	Client,
	configureHeyGen,
	createBusiness,
	createContent,
	GENERATE_DEFAULTS,
	generateFormKey,
	generateVideo,
	readEvents,
	signUp
} from './harness.ts';

/** Alice's business A (with a finished video) and Bob's business B, shared by the file's tests. */
const test = webTest.extend('tenants', { scope: 'file' }, async ({ app, db }) => {
	const { client: alice } = await signUp(app, 'Alice');
	const { client: bob } = await signUp(app, 'Bob');
	const A = await createBusiness(alice, 'Alice Co');
	const B = await createBusiness(bob, 'Bob Co');
	await configureHeyGen(alice, A);
	await configureHeyGen(bob, B);
	const contentA = await createContent(alice, A, 'Alice secret script about the launch.', 'Alice launch plan');
	const contentB = await createContent(bob, B, 'Bob script.', 'Bob post');
	const jobA = await generateVideo(alice, A, contentA);
	const videoA: string = (await waitForStatus(db, jobA, 'completed')).video_url;
	return { alice, bob, A, B, contentA, contentB, jobA, videoA };
});
test.override({ appOptions: { renderMs: 100 } });

const snapshot = async (db: TestDatabase) =>
	(
		await db.sql(`select
			(select json_agg(b order by b.id) from (select id, name, heygen_avatar_id, heygen_voice_id, heygen_secret_id from businesses) b) as businesses,
			(select json_agg(m order by m.business_id, m.user_id) from business_members m) as members,
			(select json_agg(c order by c.id) from (select id, title, body from content) c) as content,
			(select json_agg(j order by j.id) from (select id, status, attempt from video_jobs) j) as jobs,
			(select count(*) from vault.secrets) as secrets`)
	).rows[0];

describe('a member of B and business A', () => {
	test('every page of A is a 404 for Bob, and shows nothing of A', async ({ tenants: { alice, bob, A, B, contentA } }) => {
		const pages = [
			`/b/${A}`,
			`/b/${A}/settings`,
			`/b/${A}/jobs`,
			`/b/${A}/members`,
			`/b/${A}/content/new`,
			`/b/${A}/content/${contentA}`,
			`/b/${A}/content/${contentA}/edit`,
			// A's content under Bob's own business id
			`/b/${B}/content/${contentA}`,
			`/b/${B}/content/${contentA}/edit`
		];
		for (const p of pages) {
			const r = await bob.html(p);
			expect(r.status, p).toBe(404);
			expect(r.text, p).not.toContain('Alice');
			const data = await bob.get(`${p}/__data.json`);
			const body = await data.text();
			expect(body, `${p}/__data.json`).not.toContain('Alice');
			expect(body, `${p}/__data.json`).toMatch(/404|Not found/);
		}
		// Alice herself sees them.
		expect((await alice.html(`/b/${A}/content/${contentA}`)).status).toBe(200);
		// A business id that does not exist looks the same as one Bob does not belong to.
		expect((await bob.html(`/b/00000000-0000-4000-8000-000000000000`)).status).toBe(404);
		expect((await bob.html(`/b/not-a-uuid`)).status).toBe(404);
	});

	test("Bob's business list does not include A", async ({ tenants: { bob } }) => {
		const r = await bob.html('/b');
		expect(r.text).toContain('Bob Co');
		expect(r.text).not.toContain('Alice Co');
	});

	test('every action against A is a 404 and changes nothing', async ({ db, tenants: { alice, bob, A, B, contentA, contentB, jobA } }) => {
		const before = await snapshot(db);
		const key = await generateFormKey(alice, A, contentA);
		const attempts: [string, Record<string, string>][] = [
			[`/b/${A}/content/${contentA}?/generate`, { ...GENERATE_DEFAULTS, idempotencyKey: key }],
			[`/b/${B}/content/${contentA}?/generate`, { ...GENERATE_DEFAULTS, idempotencyKey: crypto.randomUUID() }],
			[`/b/${A}/content/${contentA}?/cancel`, { jobId: jobA }],
			[`/b/${A}/content/${contentA}?/retry`, { jobId: jobA }],
			// A's job id smuggled into Bob's own content page
			[`/b/${B}/content/${contentB}?/retry`, { jobId: jobA }],
			[`/b/${B}/content/${contentB}?/cancel`, { jobId: jobA }],
			[`/b/${A}/content/${contentA}?/generateAgain`, { jobId: jobA, idempotencyKey: crypto.randomUUID() }],
			[`/b/${B}/content/${contentB}?/generateAgain`, { jobId: jobA, idempotencyKey: crypto.randomUUID() }],
			[`/b/${A}/content/${contentA}?/generateNow`, {}],
			[`/b/${B}/content/${contentA}?/cancelScheduled`, {}],
			[`/b/${A}/settings?/saveKey`, { apiKey: 'sim-test-key' }],
			[`/b/${A}/settings?/removeKey`, {}],
			[`/b/${A}/settings?/saveVoice`, { avatarId: 'sim-avatar-josh', voiceId: 'sim-voice-en-2' }],
			[`/b/${A}/members?/invite`, { email: 'bob@example.com', role: 'admin' }],
			[`/b/${A}/members?/remove`, { userId: 'x' }],
			[`/b/${A}/content/new`, { title: 'Injected', body: 'by Bob' }],
			[`/b/${A}/content/${contentA}/edit`, { title: 'Defaced', body: 'by Bob' }],
			[`/b/${B}/content/${contentA}/edit`, { title: 'Defaced', body: 'by Bob' }]
		];
		for (const [path, fields] of attempts) {
			const r = await bob.action(path, fields);
			expect(r.type, path).toBe('error');
			expect(r.status, path).toBe(404);
		}
		// Without JavaScript too.
		const plain = await bob.post(`/b/${A}/settings?/removeKey`, {});
		expect(plain.status).toBe(404);
		expect(await snapshot(db)).toEqual(before);
	});

	test("A's live events: Bob gets 404 for A's stream and none of A's events on his own", async ({
		db,
		app,
		tenants: { alice, bob, A, B }
	}) => {
		const denied = await bob.get(`/b/${A}/events?since=0`, { accept: 'text/event-stream' });
		expect(denied.status).toBe(404);
		await denied.body?.cancel();
		const anon = await new Client(app.url).get(`/b/${A}/events?since=0`, { accept: 'text/event-stream' });
		expect(anon.status).toBe(401);
		await anon.body?.cancel();

		// Bob's own stream, replaying everything from the start, and live while Alice makes a video.
		const own = await bob.get(`/b/${B}/events?since=0`, { accept: 'text/event-stream' });
		expect(own.status).toBe(200);
		const reading = readEvents(own, () => false, 3000);
		const content2 = await createContent(alice, A, 'Another one.', 'Alice second');
		const job2 = await generateVideo(alice, A, content2);
		await waitForStatus(db, job2, 'completed');
		const events = await reading;
		expect(events.filter((e) => e.data.businessId !== B)).toEqual([]);
		// And Alice's own stream does carry them.
		const aliceStream = await alice.get(`/b/${A}/events?since=0`, { accept: 'text/event-stream' });
		const aliceEvents = await readEvents(aliceStream, (ev) => ev.some((e) => e.data.jobId === job2 && e.data.status === 'completed'));
		expect(aliceEvents.every((e) => e.data.businessId === A)).toBe(true);
	});

	test("A's videos: 404 for Bob and for anonymous visitors, 200 for Alice", async ({
		app,
		tenants: { alice, bob, A, B, contentA, contentB, jobA, videoA }
	}) => {
		expect(videoA).toBe(`/media/${A}/${contentA}/${jobA}.mp4`);
		const mine = await alice.get(videoA);
		expect(mine.status).toBe(200);
		expect(mine.headers.get('content-type')).toBe('video/mp4');
		await mine.body?.cancel();
		for (const [who, client] of [
			['bob', bob],
			['anonymous', new Client(app.url)]
		] as const) {
			const r = await client.get(videoA, { range: 'bytes=0-99' });
			expect(r.status, who).toBe(404);
			expect(r.headers.get('content-type'), who).not.toBe('video/mp4');
			await r.body?.cancel();
		}
		// Bob cannot reach A's file through his own business id or a crafted path either.
		for (const p of [
			`/media/${B}/${contentA}/${jobA}.mp4`,
			`/media/${B}/../${A}/${contentA}/${jobA}.mp4`,
			`/media/${B}/%2e%2e/${A}/${contentA}/${jobA}.mp4`,
			`/media/${B}/${contentB}/..%2F..%2F${A}%2F${contentA}%2F${jobA}.mp4`
		]) {
			const r = await bob.get(p);
			expect(r.status, p).toBe(404);
			await r.body?.cancel();
		}
	});

	test("A's thumbnail and subtitles: the same checks as the video", async ({ db, app, tenants: { alice, bob, A } }) => {
		const content = await createContent(alice, A, 'Captioned words for the track.', 'Alice captions');
		const job = await waitForStatus(db, await generateVideo(alice, A, content, { ...GENERATE_DEFAULTS, captions: 'on' }), 'completed');
		expect(job.subtitles_path).toBe(`videos/${A}/${content}/${job.id}.srt`);
		const poster = await alice.get(`/media/${A}/${content}/${job.id}.jpg`);
		expect(poster.status).toBe(200);
		expect(poster.headers.get('content-type')).toBe('image/jpeg');
		await poster.body?.cancel();
		const vtt = await alice.get(`/media/${A}/${content}/${job.id}.vtt`);
		expect(vtt.status).toBe(200);
		expect(vtt.headers.get('content-type')).toBe('text/vtt; charset=utf-8');
		expect(await vtt.text()).toMatch(/^WEBVTT\n\n1\n00:00:00\.000 --> 00:00:01\.000\nCaptioned words/);
		// The stored SRT itself is not served, and nothing is served to anyone outside A.
		expect((await alice.get(`/media/${A}/${content}/${job.id}.srt`)).status).toBe(404);
		for (const ext of ['jpg', 'vtt']) {
			for (const client of [bob, new Client(app.url)]) {
				const other = await client.get(`/media/${A}/${content}/${job.id}.${ext}`);
				expect(other.status, ext).toBe(404);
				await other.body?.cancel();
			}
		}
	});
});
