import adapter from '@sveltejs/adapter-node';

/** @type {import('@sveltejs/kit').Config} */
const config = {
	kit: {
		adapter: adapter({ out: 'build' }),
		// The SvelteKit app lives in web/ so that db/, worker/ and web/ sit side by side at the root.
		files: { src: 'web', assets: 'web/static' },
		alias: { $config: 'config', $db: 'db', $heygen: 'heygen', $storage: 'storage', $log: 'log' },
		// SvelteKit adds a per-response nonce (or a hash, for prerendered pages) for its own inline
		// hydration script, so no inline script of anyone else's can run. web/hooks.server.ts adds
		// HEYGEN_API_URL's origin to img-src and media-src at run time.
		csp: {
			mode: 'auto',
			directives: {
				'default-src': ['self'],
				'script-src': ['self'],
				// Svelte writes style attributes (and transitions inject styles): styles stay inline-able.
				'style-src': ['self', 'unsafe-inline'],
				// HeyGen's avatar previews and thumbnails come from its CDN (https).
				'img-src': ['self', 'data:', 'blob:', 'https:'],
				'media-src': ['self', 'blob:', 'https:'],
				'connect-src': ['self'],
				'font-src': ['self'],
				'object-src': ['none'],
				'base-uri': ['self'],
				'form-action': ['self'],
				'frame-ancestors': ['none']
			}
		}
	}
};

export default config;
