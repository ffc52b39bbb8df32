import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres } from '../../db/embedded.ts';
import { migrate } from '../../db/migrate.ts';
import { ensureBuilt } from '../../scripts/app.ts';

/**
 * One Postgres server for the whole run: TEST_DATABASE_URL when given (an existing server; the
 * role must be allowed to create databases), else an embedded Postgres in a temp directory. A
 * migrated template database is built once; each test file clones it (CREATE DATABASE … TEMPLATE)
 * so files are isolated and start in milliseconds.
 */
// Per run, so two runs against one TEST_DATABASE_URL server never drop each other's template.
export const TEMPLATE_DB = `hvj_test_template_${process.pid}`;

declare module 'vitest' {
	export interface ProvidedContext {
		pgAdminUrl: string;
		pgTemplateDb: string;
		/** The Vault root key every test database's secrets are encrypted with (tests/helpers/db.ts). */
		vaultRootKey: string;
	}
}

export default async function setup(project: TestProject) {
	// The web, browser and demo tests serve the built app: build it once, before any file runs.
	await ensureBuilt((m) => console.log(m));
	let adminUrl = process.env.TEST_DATABASE_URL;
	let stop = async () => {};
	if (!adminUrl) {
		const dir = mkdtempSync(path.join(tmpdir(), 'hvj-test-pg-'));
		const server = await startEmbeddedPostgres({ dataDir: dir, persistent: false });
		adminUrl = server.url;
		stop = async () => {
			await server.stop();
			rmSync(dir, { recursive: true, force: true });
		};
	}
	const admin = new pg.Client(adminUrl);
	await admin.connect();
	await admin.query(`drop database if exists ${TEMPLATE_DB} with (force)`);
	await admin.query(`create database ${TEMPLATE_DB}`);
	await admin.end();
	const templateUrl = withDatabase(adminUrl, TEMPLATE_DB);
	// One Vault root key for the run. Also in the environment, so that whatever a test starts with
	// loadConfig(process.env) or as a child process uses it instead of a key file in DATA_DIR.
	const vaultRootKey = randomBytes(32).toString('base64url');
	process.env.VAULT_ROOT_KEY = vaultRootKey;
	await migrate(templateUrl, { vaultRootKey });

	project.provide('pgAdminUrl', adminUrl);
	project.provide('pgTemplateDb', TEMPLATE_DB);
	project.provide('vaultRootKey', vaultRootKey);
	return async () => {
		const c = new pg.Client(adminUrl);
		await c.connect();
		await c.query(`drop database if exists ${TEMPLATE_DB} with (force)`).finally(() => c.end());
		await stop();
	};
}

export function withDatabase(url: string, database: string): string {
	const u = new URL(url);
	u.pathname = `/${database}`;
	return u.toString();
}
