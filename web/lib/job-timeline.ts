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

// To the second: an audit trail whose steps are seconds apart needs them (one formatter, made once).
const TO_THE_SECOND = new Intl.DateTimeFormat('en-GB', {
	day: 'numeric',
	month: 'short',
	year: 'numeric',
	hour: '2-digit',
	minute: '2-digit',
	second: '2-digit'
});

/** "7 Dec 2026, 00:16:52". */
export function timeToSecond(iso: string | null | undefined): string {
	return iso ? TO_THE_SECOND.format(new Date(iso)) : '–';
}

/** Seconds from each item's time to the next one's (null for the last): how long each step took. */
export function secondsToNext(items: readonly { at: string }[]): (number | null)[] {
	return items.map((e, i) => {
		const next = items[i + 1];
		return next ? Math.max(0, (Date.parse(next.at) - Date.parse(e.at)) / 1000) : null;
	});
}
