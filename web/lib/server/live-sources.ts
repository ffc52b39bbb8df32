// Live status, part 2: where "an event was committed" comes from (Postgres LISTEN or Supabase Realtime).
import { createClient, type RealtimeChannel } from '@supabase/supabase-js';
import pg from 'pg';
import { errInfo, log } from './log.ts';

export interface SourceHandlers {
	event(eventId: number, businessId: string): void;
	/** The source was disconnected and is listening again: events may have been missed. */
	reconnected(): void;
}

export interface LiveSource {
	readonly name: string;
	start(h: SourceHandlers): void;
	/** Resolves once the source is listening (immediately after that). */
	ready(): Promise<void>;
	stop(): Promise<void>;
}

function parseNotification(payload: string | undefined): { eventId: number; businessId: string } | null {
	if (!payload) return null;
	try {
		const p = JSON.parse(payload) as { event_id?: unknown; business_id?: unknown };
		const eventId = Number(p.event_id);
		if (!Number.isSafeInteger(eventId) || typeof p.business_id !== 'string') return null;
		return { eventId, businessId: p.business_id };
	} catch {
		return null;
	}
}

/** The default: one LISTEN video_jobs connection per process, reconnecting with backoff. */
export class PgListenSource implements LiveSource {
	readonly name = 'postgres-listen';
	#url: string;
	#client: pg.Client | null = null;
	#stopped = false;
	#ready: Promise<void>;
	#resolveReady: () => void = () => {};
	#connectedOnce = false;
	#retryMs = 250;
	#ping: NodeJS.Timeout | null = null;

	constructor(url: string) {
		this.#url = url;
		this.#ready = new Promise((r) => (this.#resolveReady = r));
	}

	start(h: SourceHandlers): void {
		void this.#connect(h);
	}

	ready(): Promise<void> {
		return this.#ready;
	}

	async #connect(h: SourceHandlers): Promise<void> {
		if (this.#stopped) return;
		const client = new pg.Client({ connectionString: this.#url, application_name: 'web-live', keepAlive: true, connectionTimeoutMillis: 10_000 });
		this.#client = client;
		let failed = false;
		const onDown = (err?: Error) => {
			if (failed) return;
			failed = true;
			if (this.#ping) clearInterval(this.#ping);
			this.#ping = null;
			client.removeAllListeners('notification');
			void client.end().catch(() => {});
			if (this.#stopped) return;
			// Until it is back, new subscribers wait rather than miss events.
			if (this.#connectedOnce) this.#ready = new Promise((r) => (this.#resolveReady = r));
			log().warn({ err: err ? errInfo(err) : undefined, retryMs: this.#retryMs }, 'live status: LISTEN connection lost; reconnecting');
			setTimeout(() => void this.#connect(h), this.#retryMs).unref();
			this.#retryMs = Math.min(5_000, this.#retryMs * 2);
		};
		client.on('error', onDown);
		client.on('end', () => onDown());
		client.on('notification', (n) => {
			const p = parseNotification(n.payload);
			if (p) h.event(p.eventId, p.businessId);
		});
		try {
			await client.connect();
			await client.query('listen video_jobs');
		} catch (err) {
			onDown(err as Error);
			return;
		}
		if (failed) return;
		this.#retryMs = 250;
		// A half-open TCP connection only shows itself when we write to it.
		this.#ping = setInterval(() => void client.query('select 1').catch((err: Error) => onDown(err)), 30_000);
		this.#ping.unref();
		const again = this.#connectedOnce;
		this.#connectedOnce = true;
		this.#resolveReady();
		if (again) {
			log().info('live status: LISTEN connection restored');
			h.reconnected();
		}
	}

	async stop(): Promise<void> {
		this.#stopped = true;
		if (this.#ping) clearInterval(this.#ping);
		await this.#client?.end().catch(() => {});
	}
}

/**
 * On Supabase (SUPABASE_URL + SUPABASE_SERVICE_ROLE_KEY configured): Supabase Realtime
 * postgres_changes on video_job_events (migration 0011 adds it to the supabase_realtime
 * publication). Works where the app reaches Postgres through a pooler that cannot LISTEN.
 */
export class SupabaseRealtimeSource implements LiveSource {
	readonly name = 'supabase-realtime';
	#channel: RealtimeChannel | null = null;
	#client: ReturnType<typeof createClient> | null = null;
	#ready: Promise<void>;
	#resolveReady: () => void = () => {};
	#subscribedOnce = false;
	#url: string;
	#key: string;

	constructor(url: string, key: string) {
		this.#url = url;
		this.#key = key;
		this.#ready = new Promise((r) => (this.#resolveReady = r));
	}

	start(h: SourceHandlers): void {
		this.#client = createClient(this.#url, this.#key, { auth: { persistSession: false, autoRefreshToken: false } });
		this.#channel = this.#client
			.channel('video-job-events')
			.on('postgres_changes', { event: 'INSERT', schema: 'public', table: 'video_job_events' }, (payload) => {
				const row = payload.new as { id?: unknown; business_id?: unknown };
				const eventId = Number(row.id);
				if (Number.isSafeInteger(eventId) && typeof row.business_id === 'string') h.event(eventId, row.business_id);
			})
			.subscribe((status, err) => {
				if (status === 'SUBSCRIBED') {
					const again = this.#subscribedOnce;
					this.#subscribedOnce = true;
					this.#resolveReady();
					if (again) h.reconnected();
				} else if (status === 'CHANNEL_ERROR' || status === 'TIMED_OUT' || status === 'CLOSED') {
					// supabase-js rejoins on its own; new subscribers wait for it.
					if (this.#subscribedOnce) this.#ready = new Promise((r) => (this.#resolveReady = r));
					log().warn({ status, err: err ? errInfo(err) : undefined }, 'live status: Supabase Realtime channel down');
				}
			});
	}

	ready(): Promise<void> {
		return this.#ready;
	}

	async stop(): Promise<void> {
		if (this.#channel) await this.#client?.removeChannel(this.#channel);
	}
}
