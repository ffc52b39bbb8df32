// Live status, part 3: one source per process, fanned out to the browsers watching each business.
// The event queries and sources live in live-events.ts and live-sources.ts; their public pieces are
// re-exported here so the SSE endpoint and pages need one import.
import { config } from './config.ts';
import { eventsById, sseFrame } from './live-events.ts';
import { PgListenSource, SupabaseRealtimeSource, type LiveSource } from './live-sources.ts';
import { errInfo, log } from './log.ts';
import type { LiveEvent } from '../types.ts';

export type { LiveEvent };
export { eventsAfter, latestEventId, mediaUrl, REPLAY_LIMIT, sseFrame } from './live-events.ts';

export interface Subscriber {
	businessId: string;
	contentId: string | null;
	deliver(ev: LiveEvent, frame: Uint8Array): void;
	resync(): void;
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

/** Stops the process's live source, if one was started (shutdown). */
export async function stopLiveHub(): Promise<void> {
	const h = hub;
	hub = null;
	await h?.stop();
}
