// npm start: everything in one process. With no DATABASE_URL an embedded Postgres starts with its
// data under DATA_DIR (.data/), migrations run, the web app is built if needed, and the worker runs
// in-process (`npm run web` sets RUN_WORKER=false for the web alone).
import { ConfigError } from '../config/index.ts';
import { DataDirLockedError } from '../db/embedded.ts';
import { startApp, stopOnSignals } from './app.ts';

if (import.meta.main) {
	try {
		const app = await startApp();
		stopOnSignals(app.stop, app.log);
		console.log(`\n  App running at ${app.url}\n  Press Ctrl-C to stop.\n`);
	} catch (err) {
		if (err instanceof ConfigError || err instanceof DataDirLockedError) console.error(`\n${err.message}\n`);
		else console.error(err);
		process.exit(1);
	}
}
