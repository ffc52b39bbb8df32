// npm run jobs [-- --status failed --limit 50]   list recent video jobs
// npm run jobs -- retry <job-id>                  retry a failed or canceled job
// npm run jobs -- cancel <job-id> [reason]        cancel an active job
// Uses DATABASE_URL, or the embedded Postgres under DATA_DIR (joining a running `npm start`).
import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadConfig } from '../config/index.ts';
import { resolveDatabase } from '../db/database-url.ts';

const { values, positionals } = parseArgs({
	allowPositionals: true,
	options: { status: { type: 'string' }, limit: { type: 'string', default: '20' }, business: { type: 'string' } }
});
const database = await resolveDatabase(loadConfig(), () => {}, { shareRunning: true });
const db = new pg.Client(database.url);
await db.connect();
let code = 0;
try {
	await db.query(`select set_config('video_jobs.actor', 'cli:' || current_user, false)`);
	const [command, id, ...rest] = positionals;
	if (command === 'retry' || command === 'cancel') {
		if (!id) throw new Error(`usage: npm run jobs -- ${command} <job-id>`);
		const { rows } =
			command === 'retry'
				? await db.query('select id, status, attempt from retry_video_job($1)', [id])
				: await db.query('select id, status, error_message from cancel_video_job($1, $2)', [id, rest.join(' ') || null]);
		console.log(`${rows[0].id}  ${rows[0].status}`);
	} else if (command === undefined || command === 'list') {
		const limit = Number(values.limit);
		if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new Error('--limit must be a whole number from 1 to 1000');
		const { rows } = await db.query(
			`select j.id, j.status, c.title, j.attempt, j.created_at,
			        extract(epoch from (coalesce(j.completed_at, now()) - j.created_at))::int as seconds,
			        coalesce(j.error_code || ': ' || j.error_message, j.last_error, '') as problem
			   from video_jobs j join content c on c.id = j.content_id
			  where ($1::video_job_status is null or j.status = $1) and ($2::uuid is null or j.business_id = $2)
			  order by j.created_at desc limit $3`,
			[values.status ?? null, values.business ?? null, limit]
		);
		if (!rows.length) console.log('No video jobs yet.');
		for (const r of rows) {
			const title = r.title.length > 30 ? `${r.title.slice(0, 29)}…` : r.title;
			console.log(
				[
					r.id,
					r.status.padEnd(12),
					title.padEnd(30),
					`#${r.attempt}`,
					r.created_at.toISOString().slice(0, 19).replace('T', ' '),
					`${r.seconds}s`.padStart(6),
					r.problem
				]
					.join('  ')
					.trimEnd()
			);
		}
	} else {
		throw new Error(`unknown command "${command}"; use list, retry <id> or cancel <id> [reason]`);
	}
} catch (err) {
	console.error((err as Error).message);
	code = 1;
} finally {
	await db.end();
	await database.stop();
}
process.exit(code);
