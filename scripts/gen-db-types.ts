// npm run db:types: regenerates db/types.ts and db/job-states.ts from the migrations using a throw-away embedded
// Postgres. `npm test` fails when the committed file drifts (tests/db/types-drift.test.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateDbTypes, generateJobStates } from '../db/codegen.ts';
import { startEmbeddedPostgres } from '../db/embedded.ts';
import { migrate } from '../db/migrate.ts';

const verify = process.argv.includes('--verify');
const dir = mkdtempSync(path.join(tmpdir(), 'db-types-'));
const pg = await startEmbeddedPostgres({ dataDir: dir, persistent: false });
let ok: boolean;
try {
	await migrate(pg.url);
	const r = await generateDbTypes(pg.url, { verify });
	const s = await generateJobStates(pg.url, { verify });
	ok = r.ok && s.ok;
	if (!ok) console.error(r.output, s.output);
	else console.log(verify ? 'db/types.ts and db/job-states.ts are up to date.' : 'Wrote db/types.ts and db/job-states.ts.');
} finally {
	await pg.stop();
	rmSync(dir, { recursive: true, force: true });
}
process.exit(ok ? 0 : 1);
