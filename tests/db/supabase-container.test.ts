import { GenericContainer, Wait, getContainerRuntimeClient, type StartedTestContainer } from 'testcontainers';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../db/migrate.ts';

/**
 * The same migrations against Supabase's own Postgres image, where the real Vault exists and the
 * stand-in must not be installed. Needs a Docker engine; without one it is skipped and says why.
 */
const IMAGE = process.env.SUPABASE_POSTGRES_IMAGE ?? 'supabase/postgres:15.8.1.085';

async function runtimeUnavailable(): Promise<string | null> {
	try {
		await getContainerRuntimeClient();
		return null;
	} catch (err) {
		return (err as Error).message.split('\n')[0] ?? 'unknown error';
	}
}

const reason = await runtimeUnavailable();
// Not an error: a plain note, once, on stdout (testcontainers' own reason is in the describe's name).
if (reason) console.log(`Note: no Docker engine here, so the migrations were not tried on ${IMAGE} (that test runs where Docker runs).`);

describe.skipIf(reason !== null)(`migrations on ${IMAGE} (real Supabase Vault)${reason ? ` — skipped: ${reason}` : ''}`, () => {
	let container: StartedTestContainer;
	let url: string;
	beforeAll(async () => {
		container = await new GenericContainer(IMAGE)
			.withEnvironment({ POSTGRES_PASSWORD: 'postgres' })
			.withExposedPorts(5432)
			.withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
			.start();
		url = `postgres://supabase_admin:postgres@${container.getHost()}:${container.getMappedPort(5432)}/postgres`;
	}, 180_000);
	afterAll(async () => container?.stop());

	it('applies every migration and uses the real Vault for the key', async () => {
		await migrate(url);
		const c = new pg.Client(url);
		await c.connect();
		try {
			const standIn = await c.query(`select count(*)::int as n from pg_namespace where nspname = 'vault_internal'`);
			expect(standIn.rows[0].n).toBe(0);
			const { rows } = await c.query(`insert into businesses (name) values ('Container') returning id`);
			await c.query('select set_heygen_key($1, $2)', [rows[0].id, 'container-key']);
			const key = await c.query('select get_heygen_key($1) as k', [rows[0].id]);
			expect(key.rows[0].k).toBe('container-key');
			const raw = await c.query(`select secret from vault.secrets where name = 'heygen_api_key:' || $1`, [rows[0].id]);
			expect(raw.rows[0].secret).not.toContain('container-key');
		} finally {
			await c.end();
		}
	});
});
