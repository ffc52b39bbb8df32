import type { VideoJobStatus } from '$db/types.ts';
import { isActive } from './format.ts';

/**
 * Where a job is, as an action's message speaks of it: 'active' while it is being made (queued to
 * transferring: "Retrying…" stays true through all of them), else its status ("Video canceled.").
 */
export type JobPhase = 'active' | Exclude<VideoJobStatus, 'queued' | 'submitting' | 'rendering' | 'transferring'>;

export function jobPhase(status: VideoJobStatus): JobPhase {
	return isActive(status) ? 'active' : (status as JobPhase);
}

/** Seconds from each item's time to the next one's (null for the last): how long each step took. */
export function secondsToNext(items: readonly { at: string }[]): (number | null)[] {
	return items.map((e, i) => {
		const next = items[i + 1];
		return next ? Math.max(0, (Date.parse(next.at) - Date.parse(e.at)) / 1000) : null;
	});
}
