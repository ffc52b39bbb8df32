import { defineConfig } from 'vitest/config';

export default defineConfig({
	test: {
		include: ['tests/**/*.test.ts'],
		globalSetup: ['tests/setup/global-postgres.ts'],
		testTimeout: 30_000,
		hookTimeout: 60_000,
		// Two cores: run files in parallel but not so many that Postgres and Chromium starve each other.
		maxWorkers: 2,
		pool: 'forks',
		reporters: ['default', 'json'],
		outputFile: { json: 'test-results/vitest.json' }
	}
});
