// Regenerates db/types.ts from the migrations (npm run db:types), or with --verify fails when the
// committed file has drifted from them. Uses a throw-away embedded Postgres.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../db/embedded.ts';
import { migrate } from '../db/migrate.ts';

const verify = process.argv.includes('--verify');
const dir = mkdtempSync(path.join(tmpdir(), 'db-types-'));
const pg = await startEmbeddedPostgres({ dataDir: dir, persistent: false });
let code = 0;
try {
	await migrate(pg.url);
	code = runCodegen(pg.url, verify);
} finally {
	await pg.stop();
	rmSync(dir, { recursive: true, force: true });
}
process.exit(code);

export function runCodegen(url: string, verifyOnly: boolean): number {
	const args = [
		'kysely-codegen',
		'--dialect', 'postgres',
		'--url', url,
		'--default-schema', 'public',
		'--include-pattern', 'public.*',
		'--out-file', 'db/types.ts',
		// db/client.ts parses int8 as a JS number.
		'--type-mapping', '{"int8":"number"}',
		'--log-level', 'error',
		...(verifyOnly ? ['--verify'] : [])
	];
	try {
		execFileSync('npx', args, { stdio: 'inherit' });
		return 0;
	} catch {
		if (verifyOnly) console.error('db/types.ts is out of date with db/migrations: run `npm run db:types` and commit the result.');
		return 1;
	}
}
