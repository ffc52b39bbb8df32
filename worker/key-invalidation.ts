import { listen } from '../db/listen.ts';
import type { Logger } from '../log/logger.ts';

/** set_heygen_key and delete_heygen_key NOTIFY this channel with the business id (never the key). */
export const KEY_CHANNEL = 'heygen_key_changed';

export interface KeyCacheControl {
	/** Drop the cached key of one business, or of all when null. */
	forgetKeys(businessId: string | null): void;
	/** Caching is only safe while we are sure to hear about changes. */
	setKeyCaching(enabled: boolean): void;
}

/**
 * One LISTEN connection per worker process so that a replaced or removed HeyGen key is never used
 * from the cache after the change: the cache entry goes the moment the NOTIFY arrives. While the
 * connection is down (and until it is first up) the cache is bypassed, and everything is
 * forgotten when it comes back, since a change may have been missed meanwhile.
 *
 * `onChange` hears every change too (null: after (re)connecting, when any may have been missed):
 * the worker retires the old account's webhook endpoint then (worker/endpoint-retirements.ts).
 */
export function listenForKeyChanges(
	databaseUrl: string,
	cache: KeyCacheControl,
	log: Logger,
	onChange: (businessId: string | null) => void = () => {}
): { ready: Promise<void>; stop(): Promise<void> } {
	cache.setKeyCaching(false);
	const listener = listen({
		connectionString: databaseUrl,
		channels: [KEY_CHANNEL],
		applicationName: 'video-worker-keys',
		name: 'key change listener',
		log,
		onNotification: (_channel, payload) => {
			cache.forgetKeys(payload || null);
			log.debug({ businessId: payload }, 'HeyGen key changed; cached copy dropped');
			onChange(payload || null);
		},
		onLost: () => cache.setKeyCaching(false),
		onListening: () => {
			cache.forgetKeys(null);
			cache.setKeyCaching(true);
			onChange(null);
		}
	});
	return {
		ready: listener.ready(),
		async stop() {
			cache.setKeyCaching(false);
			await listener.stop();
		}
	};
}
