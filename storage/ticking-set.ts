/**
 * A Set that calls `tick` every `everyMs` while it has members: the interval starts with the first
 * member, stops with the last, and never keeps the process alive (unref'd). For work that must be
 * redone periodically while something is live: storage touches its temp files (storage/local.ts),
 * the web re-checks its open live streams (web/lib/server/stream-guard.ts).
 */
export class TickingSet<T> extends Set<T> {
	#timer: NodeJS.Timeout | null = null;
	readonly #everyMs: number;
	readonly #tick: () => void;

	constructor(everyMs: number, tick: () => void) {
		super();
		this.#everyMs = everyMs;
		this.#tick = tick;
	}

	override add(value: T): this {
		super.add(value);
		if (!this.#timer) {
			this.#timer = setInterval(this.#tick, this.#everyMs);
			this.#timer.unref();
		}
		return this;
	}

	override delete(value: T): boolean {
		const had = super.delete(value);
		if (this.size === 0 && this.#timer) {
			clearInterval(this.#timer);
			this.#timer = null;
		}
		return had;
	}
}
