// Preloaded into a benchmark's worker child (`node --import ./scripts/bench/count-queries.ts …`):
// counts the statements the process sends to Postgres (every pg Client, so pg-boss's pool and the
// worker's alike), i.e. its database round trips. On SIGUSR2 it writes `<seq> <count>` to
// BENCH_QUERY_COUNT_FILE; scripts/bench/same-work.ts reads it before and after a run.
import { writeFileSync } from 'node:fs';
import pg from 'pg';

const file = process.env.BENCH_QUERY_COUNT_FILE;
if (file) {
	let count = 0;
	let seq = 0;
	const query = pg.Client.prototype.query as (...args: unknown[]) => unknown;
	pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
		count++;
		return query.apply(this, args);
	} as typeof pg.Client.prototype.query;
	process.on('SIGUSR2', () => writeFileSync(file, `${++seq} ${count}`));
	writeFileSync(file, `0 0`);
}
