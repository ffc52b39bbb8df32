import { loadConfig, provideConfig, providedConfig, type Config } from '$config/index.ts';

/**
 * The process's settings. npm start / npm run demo (scripts/app.ts) and the dev server
 * (scripts/dev-backend.ts) hand them over as a value before the app loads; a bare `node build`
 * parses its environment once, here.
 */
export function config(): Config {
	const provided = providedConfig();
	if (provided) return provided;
	const loaded = loadConfig();
	provideConfig(loaded);
	return loaded;
}
