import adapter from '@sveltejs/adapter-node';

/** @type {import('@sveltejs/kit').Config} */
const config = {
	kit: {
		adapter: adapter({ out: 'build' }),
		// The SvelteKit app lives in web/ so that db/, worker/ and web/ sit side by side at the root.
		files: { src: 'web', assets: 'web/static' },
		alias: { $db: 'db', $worker: 'worker', $heygen: 'heygen', $storage: 'storage', $log: 'log' }
	}
};

export default config;
