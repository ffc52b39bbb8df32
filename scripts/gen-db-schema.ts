// npm run db:schema: writes db/schema.sql, the current schema read from a database that the
// migrations built (a throw-away embedded Postgres). With --verify, exits 1 when the committed file
// differs. tests/db/schema.test.ts fails on drift too.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../db/embedded.ts';
import { migrate } from '../db/migrate.ts';
import { dumpSchema } from '../db/schema-dump.ts';

export const SCHEMA_FILE = path.resolve(import.meta.dirname, '../db/schema.sql');

const verify = process.argv.includes('--verify');
const dir = mkdtempSync(path.join(tmpdir(), 'db-schema-'));
const pg = await startEmbeddedPostgres({ dataDir: dir, persistent: false });
let ok = true;
try {
	await migrate(pg.url);
	const text = await dumpSchema(pg.url);
	if (verify) {
		ok = readFileSync(SCHEMA_FILE, 'utf8') === text;
		console.log(ok ? 'db/schema.sql is up to date.' : 'db/schema.sql is out of date: run npm run db:schema');
	} else {
		writeFileSync(SCHEMA_FILE, text);
		console.log('Wrote db/schema.sql.');
	}
} finally {
	await pg.stop();
	rmSync(dir, { recursive: true, force: true });
}
process.exit(ok ? 0 : 1);
