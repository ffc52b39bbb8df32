import type { VideoJobStatus } from '$db/types.ts';

export const STATUS_LABEL: Record<VideoJobStatus, string> = {
	queued: 'Queued',
	submitting: 'Submitting',
	rendering: 'Rendering',
	transferring: 'Transferring',
	completed: 'Completed',
	failed: 'Failed',
	canceled: 'Canceled'
};

export const PIPELINE: VideoJobStatus[] = ['queued', 'submitting', 'rendering', 'transferring', 'completed'];

export function isActive(status: string | null | undefined): boolean {
	return status === 'queued' || status === 'submitting' || status === 'rendering' || status === 'transferring';
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

// One formatter, made once: toLocaleString builds a new one on every call.
const DATE_TIME = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit' });

export function dateTime(iso: string | Date | null | undefined): string {
	if (!iso) return '–';
	return DATE_TIME.format(typeof iso === 'string' ? new Date(iso) : iso);
}

export function bytes(n: number | null | undefined): string {
	if (n === null || n === undefined) return '–';
	if (n < 1024) return `${n} B`;
	if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
	if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
	return `${(n / 1024 ** 3).toFixed(2)} GB`;
}

export const ASPECTS = {
	landscape: { label: 'Landscape 16:9', w: 16, h: 9 },
	portrait: { label: 'Portrait 9:16', w: 9, h: 16 },
	square: { label: 'Square 1:1', w: 1, h: 1 }
} as const;
export type Aspect = keyof typeof ASPECTS;

export const RESOLUTIONS = { '720': 720, '1080': 1080 } as const;
export type Resolution = keyof typeof RESOLUTIONS;

/** Width × height for an aspect at a resolution (the short side). */
export function dimensionFor(aspect: Aspect, resolution: Resolution): { width: number; height: number } {
	const short = RESOLUTIONS[resolution];
	const a = ASPECTS[aspect];
	if (a.w === a.h) return { width: short, height: short };
	const long = Math.round((short * Math.max(a.w, a.h)) / Math.min(a.w, a.h));
	return a.w > a.h ? { width: long, height: short } : { width: short, height: long };
}

export function describeDimension(d: { width: number; height: number } | undefined): string {
	if (!d) return 'Landscape 1920×1080 (HeyGen default)';
	const kind = d.width === d.height ? 'Square' : d.width > d.height ? 'Landscape' : 'Portrait';
	return `${kind} ${d.width}×${d.height}`;
}
