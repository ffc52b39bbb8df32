// Shared helpers for the benchmarks (npm run bench:enqueue, bench:pipeline, bench:web), one module
// per concern: run.ts (cleanups, timeouts), stats.ts (statistics, tables), database.ts (throwaway
// Postgres, seeding, LISTEN), process.ts (worker child process, /proc memory and CPU), boss.ts
// (a pg-boss of the benchmark's own).
// Everything runs on 127.0.0.1 and cleans up after itself, also on Ctrl-C.

export * from './run.ts';
export * from './stats.ts';
export * from './database.ts';
export * from './process.ts';
export * from './boss.ts';
