import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';

/**
 * The test gate itself: CI trusts `npm test`'s exit code, so a failing test must make it non-zero.
 * It once exited 0 because a dependency's exit hook called process.exit(0) on 'beforeExit'.
 */
function runFailingSuite(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
	const vitest = path.resolve('node_modules/vitest/vitest.mjs');
	const child = spawn(process.execPath, [vitest, 'run'], {
		env: { ...process.env, ...env, VITEST_GATE_FIXTURE: 'tests/fixtures/gate/always-fails.check.ts', CI: 'true' },
		stdio: ['ignore', 'pipe', 'pipe']
	});
	let out = '';
	child.stdout.on('data', (c) => (out += String(c)));
	child.stderr.on('data', (c) => (out += String(c)));
	return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out })));
}

describe('npm test exit code', () => {
	it('is non-zero when a test fails (embedded Postgres)', async () => {
		const { code, out } = await runFailingSuite({ TEST_DATABASE_URL: '' });
		expect(out).toMatch(/1 failed/);
		expect(code).toBe(1);
	}, 120_000);

	it('is non-zero when a test fails (TEST_DATABASE_URL)', async () => {
		const { code, out } = await runFailingSuite({ TEST_DATABASE_URL: inject('pgAdminUrl') });
		expect(out).toMatch(/1 failed/);
		expect(code).toBe(1);
	}, 120_000);
});
