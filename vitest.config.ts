import path from 'node:path';
import { defineConfig } from 'vitest/config';

// tests/gate/exit-code.test.ts runs a child Vitest on a file that always fails, with the same
// global setup as the real suite, to prove that a failing test makes the run exit non-zero.
const gateFixture = process.env.VITEST_GATE_FIXTURE;

export default defineConfig({
	// The web's shared-module aliases (svelte.config.js), for web modules that tests import directly.
	resolve: {
		alias: Object.fromEntries(['config', 'db', 'heygen', 'storage', 'log'].map((d) => [`$${d}`, path.resolve(import.meta.dirname, d)]))
	},
	test: {
		include: gateFixture ? [gateFixture] : ['tests/**/*.test.ts'],
		globalSetup: ['tests/setup/global-postgres.ts'],
		testTimeout: 30_000,
		hookTimeout: 60_000,
		// Two cores: run files in parallel but not so many that Postgres and Chromium starve each other.
		maxWorkers: 2,
		pool: 'forks',
		reporters: gateFixture ? ['default'] : ['default', 'json'],
		outputFile: { json: 'test-results/vitest.json' }
	}
});
