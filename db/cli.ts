// npm run db:migrate | db:status — against DATABASE_URL, or the embedded Postgres under DATA_DIR.
import pg from 'pg';
import { loadConfig, resolveVaultRootKey } from '../config/index.ts';
import { resolveDatabase } from './database-url.ts';
import { migrate, migrationStatus } from './migrate.ts';

const command = process.argv[2];
if (command !== 'migrate' && command !== 'status') {
	console.error('usage: node db/cli.ts migrate|status');
	process.exit(2);
}

const config = loadConfig();
const database = await resolveDatabase(config, () => {}, { shareRunning: true });
let code = 0;
try {
	if (command === 'migrate') {
		const applied = await migrate(database.url, { log: (m) => console.log(m), vaultRootKey: resolveVaultRootKey(config) });
		console.log(applied.length ? `${applied.length} migration(s) applied.` : 'Database is up to date.');
	} else {
		const client = new pg.Client(database.url);
		await client.connect();
		try {
			for (const m of await migrationStatus(client)) {
				const when = m.appliedAt ? ` ${m.appliedAt.toISOString()}` : '';
				console.log(`${m.state.padEnd(8)} ${m.file}${when}`);
			}
		} finally {
			await client.end();
		}
	}
} catch (err) {
	console.error((err as Error).message);
	code = 1;
} finally {
	await database.stop();
}
process.exit(code);
