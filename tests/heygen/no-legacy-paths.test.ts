import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOTS = ['heygen', 'worker', 'web', 'scripts', 'storage', 'db', 'log'];
const SKIP = new Set(['heygen/simulator', 'db/types.ts']);

function sources(dir: string): string[] {
	if (SKIP.has(dir)) return [];
	if (statSync(dir).isFile()) return /\.(ts|js|svelte|sql)$/.test(dir) ? [dir] : [];
	return readdirSync(dir).flatMap((f) => sources(path.posix.join(dir, f)));
}

/** HeyGen retired v1 and v2 on 2026-11-01: only the simulator (which answers them 410) may name them. */
describe('no HeyGen v1/v2 paths', () => {
	it('no source file outside the simulator contains a /v1/ or /v2/ HeyGen path', () => {
		const files = ROOTS.flatMap((r) => sources(r));
		expect(files.length).toBeGreaterThan(50);
		// Supabase Storage's own /storage/v1/ API is not HeyGen's.
		const hits = files.filter((f) => /(?<!\/storage)\/v[12]\//.test(readFileSync(f, 'utf8')));
		expect(hits).toEqual([]);
	});
});
