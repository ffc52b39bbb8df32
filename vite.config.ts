import { sveltekit } from '@sveltejs/kit/vite';
import { fileURLToPath } from 'node:url';
import type * as DevBackend from './scripts/dev-backend.ts';
import { defineConfig, type Plugin } from 'vite';

/**
 * The dev server gets what npm start puts around the web app (scripts/dev-backend.ts): database,
 * worker and settings. It lives here, not in hooks.server.ts, so that web/ never imports the worker.
 */
function devBackend(): Plugin {
	return {
		name: 'heygen-video-jobs:dev-backend',
		apply: 'serve',
		async configureServer(server) {
			// Loaded by Node itself (type stripping), not bundled into this config.
			const entry = fileURLToPath(new URL('./scripts/dev-backend.ts', import.meta.url));
			const { startDevBackend } = (await import(/* @vite-ignore */ entry)) as typeof DevBackend;
			const backend = await startDevBackend();
			let stopping: Promise<void> | null = null;
			const stop = () => (stopping ??= backend.stop());
			server.httpServer?.once('close', () => void stop());
			process.once('SIGINT', () => void stop().finally(() => process.exit(0)));
			process.once('SIGTERM', () => void stop().finally(() => process.exit(0)));
		}
	};
}

export default defineConfig({
	plugins: [devBackend(), sveltekit()],
	server: { host: '127.0.0.1' },
	preview: { host: '127.0.0.1' }
});
