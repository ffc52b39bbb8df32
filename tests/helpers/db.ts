import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import { createDb, type DbHandle } from '../../db/client.ts';
import { withDatabase } from '../setup/global-postgres.ts';

export interface TestDatabase extends DbHandle {
	url: string;
	name: string;
	/** A plain pg client for SQL written the way another service would write it. */
	sql<T extends pg.QueryResultRow = any>(text: string, values?: unknown[]): Promise<pg.QueryResult<T>>;
	drop(): Promise<void>;
}

/** Runs `fn` on a connection of the cluster's superuser (creating and dropping databases). */
export async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
	const c = new pg.Client(inject('pgAdminUrl'));
	await c.connect();
	try {
		return await fn(c);
	} finally {
		await c.end();
	}
}

/**
 * The environment that hands the run's Vault root key to an app, worker or child process a test
 * starts (the key itself comes from tests/setup/global-postgres.ts).
 */
export const vaultEnv = (): { VAULT_ROOT_KEY: string } => ({ VAULT_ROOT_KEY: inject('vaultRootKey') });

/** A fresh, fully migrated database of this test file's own, cloned from the template. */
export async function createTestDatabase(opts: { empty?: boolean } = {}): Promise<TestDatabase> {
	const name = `hvj_t_${randomBytes(5).toString('hex')}`;
	const template = opts.empty ? 'template0' : inject('pgTemplateDb');
	await admin((c) => c.query(`create database ${name} template ${template}`));
	const url = withDatabase(inject('pgAdminUrl'), name);
	// Like the app's pools: carries the Vault root key (plain SQL writers in tests use their own clients).
	const handle = createDb(url, { max: 10, vaultRootKey: inject('vaultRootKey') });
	return {
		...handle,
		url,
		name,
		sql: (text, values) => handle.pool.query(text, values as unknown[]),
		drop: async () => {
			await handle.close();
			await admin((c) => c.query(`drop database if exists ${name} with (force)`));
		}
	};
}

/** Runs fn in a transaction on its own connection and always rolls it back. */
export async function inRolledBackTransaction<T>(db: TestDatabase, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
	const c = await db.pool.connect();
	try {
		await c.query('begin');
		return await fn(c);
	} finally {
		await c.query('rollback').catch(() => {});
		c.release();
	}
}

/**
 * The grant set db/README.md documents for a service that writes jobs with plain SQL, read from the
 * README itself (its "Roles and grants for another service" example), so the tests grant exactly
 * what the README tells a DBA to grant, no more.
 */
export const README_GRANTS = (role: string): string[] => documentedGrants().map((g) => g.replaceAll(README_ROLE, role));

const README_ROLE = 'crm_service';
let grantsFromReadme: string[] | null = null;
function documentedGrants(): string[] {
	if (grantsFromReadme) return grantsFromReadme;
	const readme = readFileSync(path.resolve(import.meta.dirname, '../../db/README.md'), 'utf8');
	const section = readme.split('\n## Roles and grants for another service\n')[1]?.split('\n## ')[0] ?? '';
	const block = /```sql\n([\s\S]*?)```/.exec(section)?.[1] ?? '';
	grantsFromReadme = block
		.split('\n')
		.map((l) => l.replace(/--.*$/, '').trim())
		.filter((l) => l.startsWith('grant ') && l.includes(` to ${README_ROLE}`))
		.map((l) => l.replace(/;$/, ''));
	if (grantsFromReadme.length === 0) throw new Error('db/README.md documents no grants for crm_service');
	return grantsFromReadme;
}

/**
 * Inside the open transaction on `c`: a new login-less role with `grants`, which the rest of the
 * transaction runs as (`set local role`). Returns the role's name.
 */
export async function asNewRole(c: pg.PoolClient, grants: (role: string) => string[] = README_GRANTS): Promise<string> {
	const role = `svc_${randomBytes(5).toString('hex')}`;
	await c.query(`create role ${role} nologin`);
	for (const g of grants(role)) await c.query(g);
	await c.query(`set local role ${role}`);
	return role;
}

/** Expects a Postgres error; returns it so the test can assert on code and message. */
export async function pgError(p: Promise<unknown>): Promise<pg.DatabaseError> {
	try {
		await p;
	} catch (err) {
		if (err instanceof pg.DatabaseError) return err;
		throw err;
	}
	throw new Error('expected the statement to fail, but it succeeded');
}
