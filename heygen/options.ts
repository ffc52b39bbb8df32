/**
 * zod schema for `video_jobs.options` (snake_case JSON, stored as-is in the database).
 * Strict: unknown keys are rejected so a typo never silently drops a setting.
 * The app reuses this schema to validate what users submit; the client re-checks it before calling HeyGen.
 */
import { z } from 'zod';

export const AVATAR_STYLES = ['normal', 'circle', 'closeUp'] as const;

/** HeyGen's per-scene script limit (characters). */
export const MAX_SCRIPT_CHARS = 5000;

export const videoOptionsSchema = z.strictObject({
	dimension: z
		.strictObject({
			width: z.int().min(128).max(4096),
			height: z.int().min(128).max(4096)
		})
		.optional(),
	caption: z.boolean().optional(),
	test: z.boolean().optional(),
	title: z.string().min(1).max(200).optional(),
	avatar_style: z.enum(AVATAR_STYLES).optional(),
	background_color: z
		.string()
		.regex(/^#[0-9a-fA-F]{6}$/, 'must be a colour like #1a2b3c')
		.optional(),
	voice_speed: z.number().min(0.5).max(1.5).optional()
});
