// Live status, part 2: where "an event was committed" comes from (Postgres LISTEN or Supabase Realtime).
import { createClient, type RealtimeChannel } from '@supabase/supabase-js';
import { listen, type Listener } from '$db/listen.ts';
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

/** The default: one LISTEN video_jobs connection per process, reconnecting with backoff (db/listen.ts). */
export class PgListenSource implements LiveSource {
	readonly name = 'postgres-listen';
	#url: string;
	#listener: Listener | null = null;

	constructor(url: string) {
		this.#url = url;
	}

	start(h: SourceHandlers): void {
		this.#listener = listen({
			connectionString: this.#url,
			channels: ['video_jobs'],
			applicationName: 'web-live',
			name: 'live status',
			log: { warn: (o, m) => log().warn(o, m), info: (o, m) => log().info(o, m) },
			onNotification: (_channel, payload) => {
				const p = parseNotification(payload);
				if (p) h.event(p.eventId, p.businessId);
			},
			onListening: (again) => {
				if (again) h.reconnected();
			}
		});
	}

	async ready(): Promise<void> {
		// Subscribers call this after start(); until it is listening (again) they wait rather than miss events.
		if (!this.#listener) throw new Error('live status: the LISTEN source was not started');
		await this.#listener.ready();
	}

	async stop(): Promise<void> {
		await this.#listener?.stop();
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
