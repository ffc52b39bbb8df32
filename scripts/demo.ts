// npm run demo: the whole product against the bundled HeyGen simulator. Starts Postgres (data in
// .data/demo), the simulator, the worker and the web app, seeds a business with a simulator key,
// renders one video end to end while printing each status change, translates it into Spanish the
// same way, then keeps running so you can try the web app in a browser.
import pg from 'pg';
import { resolveVaultRootKey } from '../config/index.ts';
import { connectionConfig } from '../db/client.ts';
import { startHeyGenSimulator, DEFAULT_SIM_KEY } from '../heygen/simulator/server.ts';
import { startApp, stopOnSignals } from './app.ts';

const sim = await startHeyGenSimulator({ renderMs: Number(process.env.DEMO_RENDER_MS ?? 4000) });
const app = await startApp({
	...process.env,
	DATA_DIR: process.env.DATA_DIR ?? '.data/demo',
	HEYGEN_API_URL: sim.url,
	POLL_INITIAL_SECONDS: process.env.POLL_INITIAL_SECONDS ?? '1',
	POLL_MAX_SECONDS: process.env.POLL_MAX_SECONDS ?? '2',
	LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn'
});
// It saves the demo business's key (set_heygen_key), so it carries the Vault root key like the app.
const db = new pg.Client(connectionConfig(app.databaseUrl, { applicationName: 'demo', vaultRootKey: resolveVaultRootKey(app.config) }));
// Errors surface on the query that meets them; a dropped connection alone must not crash the demo.
db.on('error', () => {});
await db.connect();
let dbOpen = true;
const closeDb = async () => {
	if (!dbOpen) return;
	dbOpen = false;
	await db.end().catch(() => {});
};
const say = (msg: string) => console.log(`  ${msg}`);
// Our own connection first, then the app (web, worker, Postgres), then the simulator. Said on the
// console: the demo's log level (warn) hides the app's own "… stopped" lines.
stopOnSignals(async () => {
	console.log('\n  Stopping the demo: the web app, the worker, the database, then the simulator…');
	await closeDb();
	await app.stop((part) => say(`${part} stopped`));
	await sim.close();
	say('simulator stopped');
}, app.log);
console.log(`\n  HeyGen simulator at ${sim.url} (API key: ${DEFAULT_SIM_KEY})`);

// Re-running the demo reuses its business and login.
const existing = await db.query<{ id: string }>(`select id from businesses where name = 'Demo Co' order by created_at limit 1`);
const businessId =
	existing.rows[0]?.id ??
	(
		await db.query<{ id: string }>(
			`insert into businesses (name, heygen_avatar_id, heygen_voice_id) values ('Demo Co', 'sim-avatar-anna', 'sim-voice-en-1') returning id`
		)
	).rows[0]!.id;
await db.query('select set_heygen_key($1, $2)', [businessId, DEFAULT_SIM_KEY]);
// ...and its one piece of content: each run renders it again rather than adding another.
const TITLE = 'Welcome to Demo Co';
const contentId =
	(
		await db.query<{ id: string }>(`select id from content where business_id = $1 and title = $2 order by created_at limit 1`, [
			businessId,
			TITLE
		])
	).rows[0]?.id ??
	(
		await db.query<{ id: string }>(`insert into content (business_id, title, body) values ($1, $2, $3) returning id`, [
			businessId,
			TITLE,
			'Hi! This video was written as text in Postgres and rendered by HeyGen, end to end.'
		])
	).rows[0]!.id;
const pageUrl = `${app.url}/b/${businessId}/content/${contentId}`;

// A run stopped mid-render left its job active, at a simulator that is gone: cancel it, start afresh.
const stale = await db.query<{ id: string }>(`select id from video_jobs where content_id = $1 and video_jobs_is_active(status)`, [
	contentId
]);
for (const j of stale.rows) {
	// The worker may fail it first (the new simulator does not know its video): either way it ends.
	const canceled = await db.query(`select cancel_video_job($1, 'The demo was restarted.')`, [j.id]).then(
		() => true,
		(err: { code?: string }) => {
			if (err.code === '23514') return false;
			throw err;
		}
	);
	if (canceled) say('canceled the job a previous run left unfinished');
}
await db.query('listen video_jobs');
const started = Date.now();
interface JobEvent {
	id: string;
	content_id: string;
	status: string;
}
/** Prints each status change of the job `mine` picks (`print`) until it ends; resolves with the last one. */
const follow = (mine: (e: JobEvent) => boolean, print: (e: JobEvent, seconds: string) => void) =>
	new Promise<JobEvent>((resolve) => {
		const seen = (n: pg.Notification) => {
			const e = JSON.parse(n.payload ?? '{}') as JobEvent;
			if (!mine(e)) return;
			print(e, ((Date.now() - started) / 1000).toFixed(1));
			if (['completed', 'failed', 'canceled'].includes(e.status)) {
				db.off('notification', seen);
				resolve(e);
			}
		};
		db.on('notification', seen);
	});
// A job's first event arrives before its insert returns its id: until then it is the content's.
let jobIdSeen: string | undefined = undefined;
const done = follow(
	(e) => e.content_id === contentId && (jobIdSeen === undefined || e.id === jobIdSeen),
	(e, s) => say(`${s.padStart(5)} s  ${e.status}`)
);
console.log(`\n  insert into video_jobs (content_id, options) values ('${contentId}', '{"captions": true}');\n`);
const jobId = (
	await db.query<{ id: string }>(`insert into video_jobs (content_id, options) values ($1, '{"captions": true}') returning id`, [contentId])
).rows[0]!.id;
jobIdSeen = jobId;
const final = await done;
const row = (await db.query('select * from video_jobs where id = $1', [jobId])).rows[0];
if (final.status === 'completed') {
	console.log(`\n  Video stored: ${app.config.storageDir}/${row.storage_path.replace(/^videos\//, '')} (${row.size_bytes} bytes)`);
	if (row.thumbnail_path)
		console.log(`  Thumbnail:    ${app.config.storageDir}/${row.thumbnail_path.replace(/^videos\//, '')} (the player's poster)`);
	if (row.subtitles_path)
		console.log(`  Subtitles:    ${app.config.storageDir}/${row.subtitles_path.replace(/^videos\//, '')} (the player's captions track)`);
} else {
	console.log(`\n  The job ended ${final.status}: ${row.error_code}: ${row.error_message}`);
}
if (final.status === 'completed') await translateDemo(jobId);
console.log(`  Watch it:     ${pageUrl}`);
const login = await demoLogin(businessId);
await closeDb();
console.log(`\n  Web app: ${app.url}`);
if (login) console.log(`  Log in as ${login.email} / ${login.password} to see Demo Co and its video, or sign up as yourself`);
console.log(`  (for your own business, use the simulator key ${DEFAULT_SIM_KEY}). Press Ctrl-C to stop.\n`);

/** One more language: the SQL contract's translation insert, followed like the render. */
async function translateDemo(sourceJobId: string): Promise<void> {
	const language = 'Spanish (Spain)';
	console.log(
		`\n  insert into video_jobs (kind, source_job_id, output_language) select 'translation', '${sourceJobId}', unnest('{"${language}"}'::text[]);\n`
	);
	let id: string | undefined = undefined;
	const ended = follow(
		(e) => e.content_id === contentId && e.id !== sourceJobId && (id === undefined || e.id === id),
		(e, s) => say(`${language}: ${e.status} (${s} s)`)
	);
	id = (
		await db.query<{ id: string }>(
			`insert into video_jobs (kind, source_job_id, output_language) select 'translation', $1, unnest($2::text[]) returning id`,
			[sourceJobId, [language]]
		)
	).rows[0]!.id;
	const end = await ended;
	const t = (await db.query('select * from video_jobs where id = $1', [id])).rows[0];
	const at = (p: string) => `${app.config.storageDir}/${p.replace(/^videos\//, '')}`;
	if (end.status !== 'completed') {
		console.log(`\n  The translation ended ${end.status}: ${t.error_code}: ${t.error_message}`);
		return;
	}
	console.log(`\n  Translated:   ${at(t.storage_path)} (${language}, ${t.size_bytes} bytes)`);
	if (t.vtt_path) console.log(`  Captions:     ${at(t.vtt_path)} (WebVTT, the player's ${language} track)`);
}

/** A demo account that owns Demo Co, created through the app's own sign-up form. */
async function demoLogin(business: string): Promise<{ email: string; password: string } | null> {
	const email = 'demo@example.com';
	const password = 'watch the avatar speak';
	const known = await db.query<{ id: string }>('select id from auth_users where email = $1', [email]);
	if (!known.rows[0]) {
		await fetch(`${app.url}/signup`, {
			method: 'POST',
			headers: {
				origin: app.url,
				accept: 'application/json',
				'x-sveltekit-action': 'true',
				'content-type': 'application/x-www-form-urlencoded'
			},
			body: new URLSearchParams({ name: 'Demo User', email, password })
		}).catch(() => {});
	}
	const user = await db.query<{ id: string }>('select id from auth_users where email = $1', [email]);
	if (!user.rows[0]) return null;
	await db.query(`insert into business_members (business_id, user_id, role) values ($1, $2, 'owner') on conflict do nothing`, [
		business,
		user.rows[0].id
	]);
	return { email, password };
}
