import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';

/**
 * The test gate itself: CI trusts `npm test`'s exit code, so a failing test must make it non-zero.
 * It once exited 0 because a dependency's exit hook called process.exit(0) on 'beforeExit'.
 * Run as `npm test` with its output piped, as CI and `npm test | tee log` run it: no colour codes.
 */
function runFailingSuite(env: Record<string, string>): Promise<{ code: number | null; out: string }> {
	// Whatever this run was started with: the child decides about colour by itself.
	const { NO_COLOR: _noColor, FORCE_COLOR: _forceColor, ...inherited } = process.env;
	const child = spawn('npm', ['test'], {
		env: {
			...inherited,
			PATH: `${path.dirname(process.execPath)}:${process.env.PATH ?? ''}`,
			TERM: 'xterm-256color',
			...env,
			VITEST_GATE_FIXTURE: 'tests/fixtures/gate/always-fails.check.ts',
			CI: 'true'
		},
		stdio: ['ignore', 'pipe', 'pipe']
	});
	let out = '';
	child.stdout.on('data', (c) => (out += String(c)));
	child.stderr.on('data', (c) => (out += String(c)));
	return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out })));
}

describe('npm test exit code, piped', () => {
	it('is non-zero when a test fails (embedded Postgres)', async () => {
		const { code, out } = await runFailingSuite({ TEST_DATABASE_URL: '' });
		expect(out).toMatch(/1 failed/);
		expect(code).toBe(1);
		expect(out.includes('\x1b['), out).toBe(false);
	}, 120_000);

	it('is non-zero when a test fails (TEST_DATABASE_URL)', async () => {
		const { code, out } = await runFailingSuite({ TEST_DATABASE_URL: inject('pgAdminUrl') });
		expect(out).toMatch(/1 failed/);
		expect(code).toBe(1);
	}, 120_000);
});
