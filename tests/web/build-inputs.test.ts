import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test } from 'vitest';
import { WEB_BUILD_INPUTS } from '../../scripts/app.ts';

const root = path.resolve(import.meta.dirname, '../..');
const aliases: Record<string, string> = { $config: 'config', $db: 'db', $heygen: 'heygen', $storage: 'storage', $log: 'log' };

/** Every top-level folder that a web source file imports from, by relative path or alias. */
function importedTopFolders(): Map<string, string> {
	const found = new Map<string, string>();
	const files = readdirSync(path.join(root, 'web'), { recursive: true, encoding: 'utf8' }).filter((f) => /\.(ts|svelte)$/.test(f));
	for (const rel of files) {
		const file = path.join(root, 'web', rel);
		for (const [, spec] of readFileSync(file, 'utf8').matchAll(/from\s+['"]([^'"]+)['"]/g)) {
			let top: string | undefined;
			if (spec!.startsWith('.')) {
				const target = path.relative(root, path.resolve(path.dirname(file), spec!));
				if (!target.startsWith('..')) top = target.split(path.sep)[0];
			} else top = aliases[spec!.split('/')[0]!];
			if (top && !found.has(top)) found.set(top, `web/${rel}`);
		}
	}
	return found;
}

// The test app rebuilds the web only when one of WEB_BUILD_INPUTS changed; a folder the web imports
// but that list lacks would let tests run a stale build.
test('the web build is redone when any folder the web imports changes', () => {
	const missing = [...importedTopFolders()]
		.filter(([top]) => !WEB_BUILD_INPUTS.includes(top))
		.map(([top, by]) => `${top} (imported by ${by})`);
	expect(missing).toEqual([]);
});
