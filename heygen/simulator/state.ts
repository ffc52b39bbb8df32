// The simulator's shared state (videos live on the HeyGen simulator object itself) and its fault
// switches: one instance per startHeyGenSimulator, handed to each route module.
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { loadAsset } from './http.ts';
import {
	DEFAULT_SIM_KEY,
	type FaultSpec,
	type Faults,
	type HeyGenSimulator,
	type HeyGenSimulatorOptions,
	type IdempotencyRecord,
	type SimAccount,
	type SimEndpoint,
	type VideoBehaviour
} from './types.ts';
import { createSimWebhooks } from './webhooks.ts';

export type SimState = ReturnType<typeof createSimState>;

export function createSimState(opts: HeyGenSimulatorOptions) {
	const timers = new Set<NodeJS.Timeout>();
	const changes = new EventEmitter();
	changes.setMaxListeners(0);
	const changed = () => changes.emit('change');

	function later(ms: number, fn: () => void): void {
		const t = setTimeout(() => {
			timers.delete(t);
			fn();
		}, ms);
		t.unref();
		timers.add(t);
	}

	const st = {
		host: opts.host ?? '127.0.0.1',
		validKeys: opts.validKeys ?? [DEFAULT_SIM_KEY],
		mp4: opts.mp4 ?? loadAsset('sample.mp4'),
		thumbnail: loadAsset('sample-thumbnail.jpg'),
		voicePreview: loadAsset('sample-voice.mp3'),
		secret: randomBytes(32),
		changes,
		timers,
		webhookAborts: new Set<AbortController>(),
		behaviours: new Map<string, VideoBehaviour>(),
		idempotency: new Map<string, IdempotencyRecord>(),
		pageSize: opts.pageSize ?? 2,
		faults: {} as Partial<Faults>,
		accounts: new Map<string, SimAccount>(),
		closed: false,
		changed,
		hooks: createSimWebhooks({ changed, later }),
		later,
		delay(ms: number): Promise<void> {
			return new Promise((resolve) => later(ms, resolve));
		},
		/** If fault `name` applies to `endpoint`, consume one firing and return its spec. */
		take<K extends Exclude<keyof Faults, 'shortUrlTtlMs'>>(name: K, endpoint: SimEndpoint): NonNullable<Faults[K]> | null {
			const spec = st.faults[name] as (FaultSpec & Record<string, unknown>) | null | undefined;
			if (!spec) return null;
			const eps = spec.endpoint === undefined ? null : Array.isArray(spec.endpoint) ? spec.endpoint : [spec.endpoint];
			const filesOnly = name === 'truncatedDownload' || name === 'downloadForbidden' || name === 'badDownload';
			// A fault on 'status' also hits the bulk status call: both are how a render is checked.
			const hit = eps === null ? endpoint !== 'files' : eps.includes(endpoint) || (endpoint === 'statuses' && eps.includes('status'));
			if (!filesOnly && !hit) return null;
			const times = spec.times ?? Infinity;
			if (times <= 0) {
				delete st.faults[name];
				return null;
			}
			if (times !== Infinity) {
				if (times - 1 <= 0) delete st.faults[name];
				else st.faults[name] = { ...spec, times: times - 1 } as Faults[K];
			}
			return spec as NonNullable<Faults[K]>;
		},
		/** The public object, set once the server listens; routes read videos and billing from it. */
		sim: null as unknown as HeyGenSimulator
	};
	return st;
}
