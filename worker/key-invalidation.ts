import pg from 'pg';
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
 */
export function listenForKeyChanges(databaseUrl: string, cache: KeyCacheControl, log: Logger): { ready: Promise<void>; stop(): Promise<void> } {
	let stopped = false;
	let client: pg.Client | null = null;
	let retryMs = 250;
	let resolveReady: () => void = () => {};
	const ready = new Promise<void>((r) => (resolveReady = r));
	cache.setKeyCaching(false);

	const connect = async (): Promise<void> => {
		if (stopped) return;
		const c = new pg.Client({ connectionString: databaseUrl, application_name: 'video-worker-keys', keepAlive: true, connectionTimeoutMillis: 10_000 });
		client = c;
		let down = false;
		const onDown = (err?: Error) => {
			if (down) return;
			down = true;
			cache.setKeyCaching(false);
			cache.forgetKeys(null);
			void c.end().catch(() => {});
			if (stopped) return;
			log.warn({ err: err ? { message: err.message } : undefined, retryMs }, 'key change listener lost its connection; reconnecting');
			setTimeout(() => void connect(), retryMs).unref();
			retryMs = Math.min(5_000, retryMs * 2);
		};
		c.on('error', onDown);
		c.on('end', () => onDown());
		c.on('notification', (n) => {
			if (n.channel !== KEY_CHANNEL) return;
			cache.forgetKeys(n.payload || null);
			log.debug({ businessId: n.payload }, 'HeyGen key changed; cached copy dropped');
		});
		try {
			await c.connect();
			await c.query(`listen ${KEY_CHANNEL}`);
		} catch (err) {
			onDown(err as Error);
			return;
		}
		if (down) return;
		retryMs = 250;
		cache.forgetKeys(null);
		cache.setKeyCaching(true);
		resolveReady();
	};
	void connect();

	return {
		ready,
		async stop() {
			stopped = true;
			cache.setKeyCaching(false);
			await client?.end().catch(() => {});
		}
	};
}
