// npm run vault:rotate-key: re-encrypts every secret of the Vault stand-in (plain Postgres) under a
// new random root key. Uses DATABASE_URL, or the embedded Postgres under DATA_DIR. Stop the app and
// the workers first: sessions still holding the old key are refused once the rotation commits.
import { randomBytes } from 'node:crypto';
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { loadConfig, resolveVaultRootKey, vaultRootKeyFile } from '../config/index.ts';
import { connectionConfig } from '../db/client.ts';
import { resolveDatabase } from '../db/database-url.ts';

const config = loadConfig();
const file = vaultRootKeyFile(config.DATA_DIR);
if (!config.VAULT_ROOT_KEY && !existsSync(file)) {
	console.error(`No Vault root key to rotate: VAULT_ROOT_KEY is not set and ${file} does not exist.`);
	process.exit(1);
}
const current = resolveVaultRootKey(config);
const next = randomBytes(32).toString('base64url');
// Written before the database changes, so that the key the secrets end up under can never be lost.
const nextFile = `${file}.new`;
writeFileSync(nextFile, `${next}\n`, { mode: 0o600, flag: 'wx' });

const database = await resolveDatabase(config, () => {}, { shareRunning: true });
const client = new pg.Client(
	connectionConfig(database.url, { applicationName: 'vault-rotate-key', vaultRootKey: current, vaultNewRootKey: next })
);
let code = 0;
let rotated = false;
try {
	await client.connect();
	const { rows } = await client.query<{ standin: boolean }>(
		`select to_regprocedure('vault_internal.rotate_root_key()') is not null as standin`
	);
	if (!rows[0]!.standin) throw new Error("This database uses Supabase's Vault, whose root key Supabase manages; nothing to rotate here.");
	const done = await client.query<{ n: number }>('select vault_internal.rotate_root_key() as n');
	rotated = true;
	console.log(`Re-encrypted ${done.rows[0]!.n} secret(s) under the new root key.`);
	if (config.VAULT_ROOT_KEY) {
		console.log(`Set VAULT_ROOT_KEY to the contents of ${nextFile} for the app and every worker, start them, then delete that file.`);
	} else {
		const replaced = `${file}.replaced-${new Date().toISOString().replace(/[:.]/g, '-')}`;
		renameSync(file, replaced);
		renameSync(nextFile, file);
		console.log(`The new key is in ${file}; copy it to every machine that runs the app or a worker.`);
		console.log(`The old key is in ${replaced}: keep it with the database backups taken before now (they need it), then delete it.`);
	}
} catch (err) {
	code = 1;
	if (rotated) {
		console.error(`The secrets are under the new key in ${nextFile}, but: ${(err as Error).message}`);
	} else {
		rmSync(nextFile, { force: true });
		console.error(`Rotation failed, nothing changed: ${(err as Error).message}`);
	}
} finally {
	await client.end().catch(() => {});
	await database.stop();
}
process.exit(code);
