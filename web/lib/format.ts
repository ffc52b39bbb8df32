import { ACTIVE_STATUSES, isActiveStatus } from '$db/job-states.ts';
import type { VideoJobStatus } from '$db/types.ts';

export const STATUS_LABEL: Record<VideoJobStatus, string> = {
	awaiting_approval: 'Awaiting approval',
	queued: 'Queued',
	submitting: 'Submitting',
	rendering: 'Rendering',
	transferring: 'Transferring',
	completed: 'Completed',
	failed: 'Failed',
	canceled: 'Canceled'
};

export const PIPELINE: VideoJobStatus[] = [...ACTIVE_STATUSES, 'completed'];

export function isActive(status: string | null | undefined): boolean {
	return typeof status === 'string' && isActiveStatus(status);
}

/** 0:07, 1:05, 1:02:03 — a clock for elapsed times. */
export function clock(seconds: number | null | undefined): string {
	if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
	const s = Math.max(0, Math.floor(seconds));
	const h = Math.floor(s / 3600);
	const m = Math.floor((s % 3600) / 60);
	const ss = String(s % 60).padStart(2, '0');
	return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** 0.4 s, 12 s, 3 min 5 s — for durations in tables. */
export function duration(seconds: number | null | undefined): string {
	if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
	if (seconds < 10) return `${seconds.toFixed(1)} s`;
	if (seconds < 60) return `${Math.round(seconds)} s`;
	const m = Math.floor(seconds / 60);
	const s = Math.round(seconds % 60);
	if (m < 60) return s ? `${m} min ${s} s` : `${m} min`;
	return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** A waiting time set in whole seconds, in words: "45 s", "5 min", "5 min 30 s", "2 h 5 min", "24 h". */
export function delayLabel(seconds: number): string {
	const s = Math.max(0, Math.round(seconds));
	const h = Math.floor(s / 3600);
	const m = Math.floor((s % 3600) / 60);
	const rest = s % 60;
	return [h && `${h} h`, m && `${m} min`, (rest || s === 0) && `${rest} s`].filter(Boolean).join(' ');
}

/** Seconds of video (estimates, budgets): whole seconds, "45 s", "3 min 20 s"; tenths would only claim a precision estimates lack. */
export function videoLength(seconds: number): string {
	const s = Math.round(seconds);
	return s < 60 ? `${s} s` : duration(s);
}

// One formatter, made once: toLocaleString builds a new one on every call.
const DATE_TIME = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' });

// Even with one formatter, formatting costs more than the rest of a history row, and the same
// instants come back on every view of a page: the last few hundred are remembered.
const FORMATTED_MAX = 500;
const formatted = new Map<string, string>();

export function dateTime(iso: string | Date | null | undefined): string {
	if (!iso) return '–';
	if (typeof iso !== 'string') return DATE_TIME.format(iso);
	let text = formatted.get(iso);
	if (text === undefined) {
		text = DATE_TIME.format(new Date(iso));
		if (formatted.size >= FORMATTED_MAX) formatted.delete(formatted.keys().next().value!);
		formatted.set(iso, text);
	}
	return text;
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

export function bytes(n: number | null | undefined): string {
	if (n === null || n === undefined) return '–';
	if (n < 1024) return `${n} B`;
	if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
	if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
	return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

/** HeyGen v3's aspect ratios, as the generate form offers them. */
export const ASPECTS = {
	'16:9': 'Landscape 16:9',
	'9:16': 'Portrait 9:16',
	'1:1': 'Square 1:1',
	'4:5': 'Portrait 4:5',
	'5:4': 'Landscape 5:4'
} as const;
export type Aspect = keyof typeof ASPECTS;

export const RESOLUTION_LABELS = { '720p': '720p', '1080p': '1080p (Full HD)', '4k': '4K' } as const;

/** What a job makes, in words: "Avatar video", or "Translation into Spanish (Spain)". */
export function jobKindLabel(j: { kind: string; outputLanguage: string | null }): string {
	return j.kind === 'translation' ? `Translation into ${j.outputLanguage ?? 'another language'}` : 'Avatar video';
}

/**
 * A job's format in words, e.g. "Portrait 9:16 · 1080p · captions", or for a translation
 * "Precision mode · captions". Reads pre-v3 options too.
 */
export function describeOptions(o: Record<string, unknown> | null | undefined, kind = 'avatar'): string {
	const opts = o ?? {};
	if (kind === 'translation') {
		const parts = [opts['mode'] === 'precision' ? 'Precision mode' : 'Speed mode'];
		if (opts['captions'] !== false) parts.push('captions');
		if (opts['audio_only'] === true) parts.push('audio only');
		return parts.join(' · ');
	}
	const parts: string[] = [];
	const aspect = opts['aspect_ratio'];
	const d = opts['dimension'] as { width?: number; height?: number } | undefined;
	if (typeof aspect === 'string') parts.push(ASPECTS[aspect as Aspect] ?? aspect);
	else if (d && typeof d.width === 'number' && typeof d.height === 'number') {
		parts.push(`${d.width === d.height ? 'Square' : d.width > d.height ? 'Landscape' : 'Portrait'} ${d.width}×${d.height}`);
	} else parts.push('Landscape 16:9 (HeyGen default)');
	if (typeof opts['resolution'] === 'string') parts.push(opts['resolution'] as string);
	if (opts['captions'] === true || opts['caption'] === true) parts.push('captions');
	return parts.join(' · ');
}
