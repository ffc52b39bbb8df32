/**
 * The video options a job may carry (`video_jobs.options`, snake_case JSON) — HeyGen v3's.
 *
 * `OPTION_SPECS` is the one definition: the zod schema and the `VideoOptions` type are derived
 * from it here, and the database checks inserts against the same list in the table
 * `video_job_option_specs` (migration 0012). tests/db/option-specs.test.ts fails when the two differ.
 */
import { z } from 'zod';

/** HeyGen's script limit (characters). */
export const MAX_SCRIPT_CHARS = 5000;

export const RESOLUTIONS = ['4k', '1080p', '720p'] as const;
export const ASPECT_RATIOS = ['16:9', '9:16', '4:5', '5:4', '1:1'] as const;
export const ENGINES = ['avatar_iv', 'avatar_v', 'avatar_iii'] as const;

export type OptionSpec =
	| { key: string; kind: 'boolean' }
	| { key: string; kind: 'enum'; values: readonly string[] }
	| { key: string; kind: 'number'; min: number; max: number }
	| { key: string; kind: 'string'; pattern: string; maxLength: number; hint: string };

export const OPTION_SPECS = [
	{ key: 'title', kind: 'string', pattern: '^.+$', maxLength: 200, hint: 'a string of 1 to 200 characters' },
	{ key: 'resolution', kind: 'enum', values: RESOLUTIONS },
	{ key: 'aspect_ratio', kind: 'enum', values: ASPECT_RATIOS },
	{ key: 'background_color', kind: 'string', pattern: '^#[0-9A-Fa-f]{6}$', maxLength: 7, hint: 'a colour like #1a2b3c' },
	{ key: 'voice_speed', kind: 'number', min: 0.5, max: 1.5 },
	{ key: 'voice_pitch', kind: 'number', min: -50, max: 50 },
	{ key: 'voice_locale', kind: 'string', pattern: '^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}$', maxLength: 20, hint: 'a locale like en-US' },
	{ key: 'captions', kind: 'boolean' },
	{ key: 'remove_background', kind: 'boolean' },
	{ key: 'engine', kind: 'enum', values: ENGINES }
] as const satisfies readonly OptionSpec[];

/** HeyGen's translation modes: `speed` (its default) or `precision` (slower, higher quality). */
export const TRANSLATION_MODES = ['speed', 'precision'] as const;

/**
 * The options of a translation job (`kind = 'translation'`), with their defaults: the database
 * fills a default into the stored options when the insert leaves the key out. Rows of
 * `video_job_option_specs` with `job_kind = 'translation'` (migration 0023).
 */
export const TRANSLATION_OPTION_SPECS = [
	{ key: 'mode', kind: 'enum', values: TRANSLATION_MODES },
	// A translated video is watched with subtitles.
	{ key: 'captions', kind: 'boolean', default: true },
	{ key: 'audio_only', kind: 'boolean' },
	{ key: 'speech_enhancement', kind: 'boolean' },
	{ key: 'remove_music', kind: 'boolean' },
	{ key: 'title', kind: 'string', pattern: '^.+$', maxLength: 200, hint: 'a string of 1 to 200 characters' }
] as const satisfies readonly (OptionSpec & { default?: unknown })[];

/** Keys of the retired v1/v2 options and what replaces each; a new job carrying one is refused. */
export const RETIRED_OPTIONS = {
	dimension: 'use "resolution" (4k, 1080p, 720p) and "aspect_ratio" (16:9, 9:16, 4:5, 5:4, 1:1) instead',
	test: 'HeyGen v3 has no test mode; leave it out (every v3 video is a real, billed render)',
	avatar_style: 'HeyGen v3 has no avatar style; leave it out (the framing comes from the avatar look; use "aspect_ratio")',
	caption: 'use "captions" (true gives an SRT subtitle file stored beside the video)'
} as const;

type SpecFor<K> = Extract<(typeof OPTION_SPECS)[number], { key: K }>;
type ValueOf<S> = S extends { kind: 'boolean' }
	? boolean
	: S extends { kind: 'enum'; values: readonly (infer V)[] }
		? V
		: S extends { kind: 'number' }
			? number
			: string;

/** Exactly the JSON stored in `video_jobs.options`. */
export type VideoOptions = { [K in (typeof OPTION_SPECS)[number]['key']]?: ValueOf<SpecFor<K>> };

type TranslationSpecFor<K> = Extract<(typeof TRANSLATION_OPTION_SPECS)[number], { key: K }>;
/** The JSON stored in `video_jobs.options` of a translation job. */
export type TranslationOptions = { [K in (typeof TRANSLATION_OPTION_SPECS)[number]['key']]?: ValueOf<TranslationSpecFor<K>> };

function zodFor(spec: OptionSpec): z.ZodType {
	switch (spec.kind) {
		case 'boolean':
			return z.boolean();
		case 'enum':
			return z.enum(spec.values as [string, ...string[]], `must be one of ${spec.values.join(', ')}`);
		case 'number':
			return z.number().min(spec.min).max(spec.max);
		case 'string':
			return z.string().max(spec.maxLength).regex(new RegExp(spec.pattern, 'su'), `must be ${spec.hint}`);
	}
}

/**
 * Strict: unknown keys are rejected so a typo never silently drops a setting. The app uses it for
 * what people submit; the database re-checks every insert.
 */
export const videoOptionsSchema = z
	.strictObject(Object.fromEntries(OPTION_SPECS.map((s) => [s.key, zodFor(s).optional()])))
	.superRefine((o, ctx) => {
		for (const key of Object.keys(o)) {
			if (key in RETIRED_OPTIONS)
				ctx.addIssue({ code: 'custom', path: [key], message: RETIRED_OPTIONS[key as keyof typeof RETIRED_OPTIONS] });
		}
	}) as unknown as z.ZodType<VideoOptions>;

/** What a form or another service submits for a translation: strict, like videoOptionsSchema. */
export const translationOptionsSchema = z.strictObject(
	Object.fromEntries(TRANSLATION_OPTION_SPECS.map((s) => [s.key, zodFor(s).optional()]))
) as unknown as z.ZodType<TranslationOptions>;

/** A translation job's stored options, read for a HeyGen call (unknown keys dropped, defaults applied). */
export function translationOptions(stored: unknown): TranslationOptions {
	const o = (typeof stored === 'object' && stored !== null ? stored : {}) as Record<string, unknown>;
	const out: Record<string, unknown> = {};
	for (const s of TRANSLATION_OPTION_SPECS) {
		const v = o[s.key] ?? ('default' in s ? s.default : undefined);
		if (v !== undefined) out[s.key] = v;
	}
	return translationOptionsSchema.parse(out);
}

/**
 * Options as stored on a job, read for a HeyGen call. Rows written before v3 may still carry the
 * retired keys: those are translated where v3 has an equivalent and dropped where it has none.
 */
export function v3Options(stored: unknown): VideoOptions {
	const o = (typeof stored === 'object' && stored !== null ? stored : {}) as Record<string, unknown>;
	const out: Record<string, unknown> = {};
	for (const s of OPTION_SPECS) if (o[s.key] !== undefined) out[s.key] = o[s.key];
	if (o['caption'] === true && out['captions'] === undefined) out['captions'] = true;
	const d = o['dimension'] as { width?: unknown; height?: unknown } | undefined;
	if (d && typeof d.width === 'number' && typeof d.height === 'number' && out['aspect_ratio'] === undefined) {
		const w = d.width;
		const h = d.height;
		out['aspect_ratio'] = w === h ? '1:1' : w > h ? '16:9' : '9:16';
		if (out['resolution'] === undefined) out['resolution'] = Math.min(w, h) <= 720 ? '720p' : Math.min(w, h) >= 2160 ? '4k' : '1080p';
	}
	return out as VideoOptions;
}
