import { loadConfig, type Config } from '$db/config.ts';

let cached: Config | null = null;

/** The process's parsed environment (db/config.ts), read once on first use. */
export function config(): Config {
	return (cached ??= loadConfig());
}

/** Re-reads the environment; used after the dev server sets DATABASE_URL for its embedded Postgres. */
export function reloadConfig(): Config {
	cached = null;
	return config();
}
