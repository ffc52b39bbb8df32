import { createClient, type RealtimeChannel } from '@supabase/supabase-js';
import { sql } from 'kysely';
import pg from 'pg';
import type { VideoJobStatus } from '$db/types.ts';
import { config } from './config.ts';
import { db } from './db.ts';
import { errInfo, log } from './log.ts';
import type { LiveEvent } from '../types.ts';

export type { LiveEvent };


/** Where the web app serves a job's stored files: the MP4, its poster, and its subtitles as WebVTT. */
export function mediaUrl(job: { business_id: string; content_id: string; id: string }, ext: 'mp4' | 'jpg' | 'vtt' = 'mp4'): string {
	return `/media/${job.business_id}/${job.content_id}/${job.id}.${ext}`;
}

interface EventRow {
	id: number;
	job_id: string;
	content_id: string;
	business_id: string;
	from_status: VideoJobStatus | null;
	to_status: VideoJobStatus;
	at: Date;
	detail: Record<string, unknown>;
	job_exists: boolean;
	thumbnail_path: string | null;
	subtitles_path: string | null;
	heygen_url: string | null;
}

function toLiveEvent(r: EventRow): LiveEvent {
	const d = r.detail ?? {};
	const str = (v: unknown) => (typeof v === 'string' ? v : null);
	const completed = r.to_status === 'completed' && r.job_exists;
	return {
		id: r.id,
		jobId: r.job_id,
		contentId: r.content_id,
		businessId: r.business_id,
		from: r.from_status,
		status: r.to_status,
		at: r.at.toISOString(),
		attempt: typeof d['attempt'] === 'number' ? d['attempt'] : null,
		errorCode: str(d['error_code']),
		errorMessage: str(d['error_message']),
		videoUrl: completed ? mediaUrl({ business_id: r.business_id, content_id: r.content_id, id: r.job_id }) : null,
		thumbnailUrl: completed && r.thumbnail_path ? mediaUrl({ business_id: r.business_id, content_id: r.content_id, id: r.job_id }, 'jpg') : null,
		captionsUrl: completed && r.subtitles_path ? mediaUrl({ business_id: r.business_id, content_id: r.content_id, id: r.job_id }, 'vtt') : null,
		heygenUrl: r.heygen_url
	};
}

const EVENT_COLUMNS = sql`e.id, e.job_id, e.content_id, e.business_id, e.from_status, e.to_status, e.at, e.detail,
	j.id is not null as job_exists, j.thumbnail_path, j.subtitles_path, j.heygen_url`;

async function eventsById(ids: number[]): Promise<LiveEvent[]> {
	const { rows } = await sql<EventRow>`
		select ${EVENT_COLUMNS}
		from video_job_events e left join video_jobs j on j.id = e.job_id
		where e.id = any(${ids}::bigint[]) order by e.id`.execute(db());
	return rows.map(toLiveEvent);
}

export const REPLAY_LIMIT = 500;

/** Events of a business after `afterId` (oldest first), for a reconnecting browser. */
export async function eventsAfter(businessId: string, afterId: number, contentId: string | null, limit = REPLAY_LIMIT): Promise<LiveEvent[]> {
	const { rows } = await sql<EventRow>`
		select ${EVENT_COLUMNS}
		from video_job_events e left join video_jobs j on j.id = e.job_id
		where e.business_id = ${businessId} and e.id > ${afterId}
		  and (${contentId}::uuid is null or e.content_id = ${contentId}::uuid)
		order by e.id limit ${limit}`.execute(db());
	return rows.map(toLiveEvent);
}

export async function latestEventId(businessId: string): Promise<number> {
	const { rows } = await sql<{ id: number | null }>`select max(id) as id from video_job_events where business_id = ${businessId}`.execute(db());
	return Number(rows[0]?.id ?? 0);
}

// ---- sources: where "an event was committed" comes from ----

interface SourceHandlers {
	event(eventId: number, businessId: string): void;
	/** The source was disconnected and is listening again: events may have been missed. */
	reconnected(): void;
}

interface LiveSource {
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
class PgListenSource implements LiveSource {
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
class SupabaseRealtimeSource implements LiveSource {
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

// ---- the hub: one source, fan-out by business ----

export interface Subscriber {
	businessId: string;
	contentId: string | null;
	deliver(ev: LiveEvent, frame: Uint8Array): void;
	resync(): void;
}

const encoder = new TextEncoder();

export function sseFrame(ev: LiveEvent): Uint8Array {
	return encoder.encode(`id: ${ev.id}\nevent: job\ndata: ${JSON.stringify(ev)}\n\n`);
}

export class LiveHub {
	#source: LiveSource;
	#started = false;
	#subs = new Map<string, Set<Subscriber>>();
	#queue: number[] = [];
	#draining = false;
	delivered = 0;
	notifications = 0;

	constructor(source: LiveSource) {
		this.#source = source;
	}

	get sourceName(): string {
		return this.#source.name;
	}

	get subscriberCount(): number {
		let n = 0;
		for (const set of this.#subs.values()) n += set.size;
		return n;
	}

	/** Registers a subscriber; resolves once the source is listening. Returns the unsubscribe. */
	async subscribe(sub: Subscriber): Promise<() => void> {
		this.#ensureStarted();
		let set = this.#subs.get(sub.businessId);
		if (!set) this.#subs.set(sub.businessId, (set = new Set()));
		set.add(sub);
		const unsubscribe = () => {
			const s = this.#subs.get(sub.businessId);
			s?.delete(sub);
			if (s && s.size === 0) this.#subs.delete(sub.businessId);
		};
		try {
			await this.#source.ready();
		} catch (err) {
			unsubscribe();
			throw err;
		}
		return unsubscribe;
	}

	#ensureStarted(): void {
		if (this.#started) return;
		this.#started = true;
		this.#source.start({
			event: (eventId, businessId) => {
				this.notifications++;
				// Only businesses someone is watching cost a query.
				if (!this.#subs.has(businessId)) return;
				this.#queue.push(eventId);
				void this.#drain();
			},
			reconnected: () => {
				for (const set of this.#subs.values()) for (const s of set) s.resync();
			}
		});
	}

	/** Fetches queued events in batches (one query per batch) and fans them out in id order. */
	async #drain(): Promise<void> {
		if (this.#draining) return;
		this.#draining = true;
		try {
			while (this.#queue.length) {
				const ids = this.#queue.splice(0, 1000);
				let events: LiveEvent[];
				try {
					events = await eventsById(ids);
				} catch (err) {
					log().error({ err: errInfo(err) }, 'live status: could not read events; subscribers will resync');
					for (const set of this.#subs.values()) for (const s of set) s.resync();
					continue;
				}
				for (const ev of events) {
					const set = this.#subs.get(ev.businessId);
					if (!set) continue;
					const frame = sseFrame(ev);
					for (const s of set) {
						if (s.contentId && s.contentId !== ev.contentId) continue;
						this.delivered++;
						try {
							s.deliver(ev, frame);
						} catch {
							// A subscriber that fails to take an event cleans itself up.
						}
					}
				}
			}
		} finally {
			this.#draining = false;
		}
	}

	async stop(): Promise<void> {
		await this.#source.stop();
	}
}

let hub: LiveHub | null = null;

export function liveHub(): LiveHub {
	if (!hub) {
		const c = config();
		const source =
			c.SUPABASE_URL && c.SUPABASE_SERVICE_ROLE_KEY
				? new SupabaseRealtimeSource(c.SUPABASE_URL, c.SUPABASE_SERVICE_ROLE_KEY)
				: new PgListenSource(c.DATABASE_URL!);
		hub = new LiveHub(source);
		log().info({ source: source.name }, 'live status source');
	}
	return hub;
}
