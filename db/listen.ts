/**
 * One LISTEN connection that stays up: used by the web's live status (channel video_jobs) and the
 * worker's key cache (channel heygen_key_changed). A lost connection (Postgres restarted, the
 * backend terminated, a half-open TCP link) is noticed, reported through `onLost`, and reopened
 * with backoff; `onListening(true)` then says notifications may have been missed meanwhile.
 */
import pg from 'pg';

/** The two log methods used (a pino logger fits). */
export interface ListenLog {
	warn(obj: object, msg: string): void;
	info(obj: object, msg: string): void;
}

export interface ListenOptions {
	connectionString: string;
	channels: readonly string[];
	/** application_name of the connection: how a DBA (or a test) finds it in pg_stat_activity. */
	applicationName: string;
	/** Names the listener in log lines. */
	name: string;
	onNotification(channel: string, payload: string | undefined): void;
	/** Listening: the first time (`again` false) or after a lost connection (`again` true). */
	onListening?(again: boolean): void;
	/** The connection is gone; nothing is heard until the next onListening. */
	onLost?(): void;
	log?: ListenLog;
	/** A half-open TCP connection only shows itself when written to: a `select 1` this often. */
	pingIntervalMs?: number;
	retryMinMs?: number;
	retryMaxMs?: number;
}

export interface Listener {
	/** Resolves once listening; after a lost connection, once listening again. */
	ready(): Promise<void>;
	stop(): Promise<void>;
}

export function listen(opts: ListenOptions): Listener {
	const { pingIntervalMs = 30_000, retryMinMs = 250, retryMaxMs = 5_000 } = opts;
	let stopped = false;
	/** Ends the current connection (its timers too) and waits for it to close. */
	let closeCurrent: () => Promise<void> = async () => {};
	let retryMs = retryMinMs;
	let listenedOnce = false;
	let resolveReady: () => void = () => {};
	let ready = new Promise<void>((r) => (resolveReady = r));

	const connect = async (): Promise<void> => {
		if (stopped) return;
		const c = new pg.Client({
			connectionString: opts.connectionString,
			application_name: opts.applicationName,
			keepAlive: true,
			connectionTimeoutMillis: 10_000
		});
		let down = false;
		let ping: NodeJS.Timeout | null = null;
		let closed: Promise<void> = Promise.resolve();
		const onDown = (err?: Error) => {
			if (down) return;
			down = true;
			if (ping) clearInterval(ping);
			c.removeAllListeners('notification');
			closed = c.end().catch(() => {});
			if (stopped) return;
			// Until it is back, whoever waits on ready() waits rather than miss notifications.
			if (listenedOnce) ready = new Promise<void>((r) => (resolveReady = r));
			opts.onLost?.();
			opts.log?.warn({ err: err ? { message: err.message } : undefined, retryMs }, `${opts.name}: LISTEN connection lost; reconnecting`);
			setTimeout(() => void connect(), retryMs).unref();
			retryMs = Math.min(retryMaxMs, retryMs * 2);
		};
		c.on('error', onDown);
		c.on('end', () => onDown());
		c.on('notification', (n) => opts.onNotification(n.channel, n.payload));
		closeCurrent = () => {
			onDown();
			return closed;
		};
		try {
			await c.connect();
			for (const channel of opts.channels) await c.query(`listen ${c.escapeIdentifier(channel)}`);
		} catch (err) {
			onDown(err as Error);
			return;
		}
		if (down) return;
		retryMs = retryMinMs;
		ping = setInterval(() => void c.query('select 1').catch((err: Error) => onDown(err)), pingIntervalMs);
		ping.unref();
		const again = listenedOnce;
		listenedOnce = true;
		if (again) opts.log?.info({}, `${opts.name}: LISTEN connection restored`);
		opts.onListening?.(again);
		resolveReady();
	};
	void connect();

	return {
		ready: () => ready,
		async stop() {
			stopped = true;
			await closeCurrent();
		}
	};
}
