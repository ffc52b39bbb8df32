import { errInfo, log } from './log.ts';
import { eventsAfter, liveHub, REPLAY_LIMIT, sseFrame, type LiveEvent } from './live.ts';

const encoder = new TextEncoder();
export const HEARTBEAT_MS = 15_000;

export interface StreamOptions {
	businessId: string;
	contentId: string | null;
	/** Replay events after this id first (Last-Event-ID, the id the page was rendered at, or the latest one). */
	since: number;
	/** Re-checked every few heartbeats; when it turns false the stream ends (membership revoked). */
	stillAllowed: () => Promise<boolean>;
	/** Called once the stream is live with a function that ends it; returns what to call when it ends. */
	onOpen?: (close: () => void) => () => void;
	heartbeatMs?: number;
}

/**
 * A text/event-stream body: replays what the browser missed, then live events from the shared hub,
 * a comment every ~15 s so proxies keep the connection open, and cleans up when the browser goes.
 */
export function eventStream(opts: StreamOptions): ReadableStream<Uint8Array> {
	const hub = liveHub();
	let unsubscribe: (() => void) | null = null;
	let heartbeat: NodeJS.Timeout | null = null;
	let closed = false;
	let lastId = opts.since;
	let unguard: (() => void) | null = null;

	const cleanup = () => {
		if (closed) return;
		closed = true;
		unsubscribe?.();
		unguard?.();
		if (heartbeat) clearInterval(heartbeat);
	};

	return new ReadableStream<Uint8Array>({
		async start(controller) {
			const send = (chunk: Uint8Array) => {
				if (closed) return;
				// A browser that stopped reading: drop it rather than queue without bound; when it
				// comes back, Last-Event-ID replays what it missed.
				if (controller.desiredSize !== null && controller.desiredSize < -1000) {
					cleanup();
					try {
						controller.close();
					} catch {}
					return;
				}
				try {
					controller.enqueue(chunk);
				} catch {
					cleanup();
				}
			};
			// Live events wait here while the replay runs, so the two merge without gaps.
			let buffer: LiveEvent[] | null = [];
			const sent = new Set<number>();
			let resyncing = false;

			const replay = async () => {
				const missed = await eventsAfter(opts.businessId, lastId, opts.contentId, REPLAY_LIMIT + 1);
				if (missed.length > REPLAY_LIMIT) {
					// Too far behind to replay: the page reloads its data instead.
					send(encoder.encode(`event: reload\ndata: {}\n\n`));
					const newest = missed[missed.length - 1]!;
					lastId = Math.max(lastId, newest.id);
					return;
				}
				for (const ev of missed) {
					sent.add(ev.id);
					lastId = Math.max(lastId, ev.id);
					send(sseFrame(ev));
				}
			};

			const sub = {
				businessId: opts.businessId,
				contentId: opts.contentId,
				deliver(ev: LiveEvent, frame: Uint8Array) {
					if (buffer) {
						buffer.push(ev);
						return;
					}
					// The replay can read a row before its NOTIFY reaches the hub; send it once.
					if (sent.delete(ev.id)) return;
					lastId = Math.max(lastId, ev.id);
					send(frame);
				},
				resync() {
					// The LISTEN connection dropped and came back: fetch what happened meanwhile.
					if (resyncing || closed) return;
					resyncing = true;
					buffer = [];
					sent.clear();
					void replay()
						.catch((err) => log().warn({ err: errInfo(err) }, 'live status: resync failed'))
						.finally(() => flush());
				}
			};

			const flush = () => {
				const pending = buffer ?? [];
				buffer = null;
				resyncing = false;
				for (const ev of pending) {
					if (sent.has(ev.id)) continue;
					lastId = Math.max(lastId, ev.id);
					send(sseFrame(ev));
				}
				// Kept: a replayed event's notification may still be on its way (see deliver).
				for (const ev of pending) sent.delete(ev.id);
			};

			send(encoder.encode(`retry: 2000\n\n`));
			// Guarded from the first byte: access can end while the replay is still running.
			unguard =
				opts.onOpen?.(() => {
					cleanup();
					try {
						controller.close();
					} catch {}
				}) ?? null;
			try {
				unsubscribe = await hub.subscribe(sub);
				if (closed) {
					unsubscribe();
					return;
				}
				await replay();
			} catch (err) {
				log().error({ err: errInfo(err) }, 'live status: could not start a stream');
				cleanup();
				try {
					controller.close();
				} catch {}
				return;
			}
			flush();
			// From here on every committed change reaches this browser.
			send(encoder.encode(`: live\n\n`));

			let beats = 0;
			heartbeat = setInterval(async () => {
				send(encoder.encode(`: keep-alive\n\n`));
				if (++beats % 4 !== 0) return;
				try {
					if (!(await opts.stillAllowed())) {
						cleanup();
						controller.close();
					}
				} catch {
					// A database hiccup is not a reason to drop the viewer.
				}
			}, opts.heartbeatMs ?? HEARTBEAT_MS);
			heartbeat.unref();
		},
		cancel() {
			cleanup();
		}
	});
}
