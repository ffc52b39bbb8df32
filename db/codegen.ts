import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = path.resolve(import.meta.dirname, '..');

/**
 * Runs kysely-codegen against a migrated database. With verify, resolves to false (instead of
 * writing) when the committed db/types.ts differs from what the migrations produce.
 */
export async function generateDbTypes(url: string, opts: { verify?: boolean; outFile?: string } = {}): Promise<{ ok: boolean; output: string }> {
	const args = [
		path.join(root, 'node_modules/kysely-codegen/dist/cli/bin.js'),
		'--dialect', 'postgres',
		'--url', url,
		'--default-schema', 'public',
		'--include-pattern', 'public.*',
		'--out-file', opts.outFile ?? path.join(root, 'db/types.ts'),
		// db/client.ts parses int8 as a JS number.
		'--type-mapping', '{"int8":"number"}',
		'--log-level', 'error',
		...(opts.verify ? ['--verify'] : [])
	];
	try {
		const r = await run(process.execPath, args, { cwd: root });
		return { ok: true, output: r.stdout + r.stderr };
	} catch (err) {
		const e = err as { stdout?: string; stderr?: string; message: string };
		return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message };
	}
}
