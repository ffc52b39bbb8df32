/**
 * Provider-neutral types for the HeyGen client. The worker only talks to `HeyGenClient`, so a future
 * `/v3` client can replace the v1/v2 one without touching the pipeline.
 */
import type { z } from 'zod';
import type { videoOptionsSchema } from './options.ts';

export type AvatarStyle = 'normal' | 'circle' | 'closeUp';

/** Exactly the JSON stored in `video_jobs.options` (snake_case). Validate with `videoOptionsSchema`. */
export interface VideoOptions {
	dimension?: { width: number; height: number };
	caption?: boolean;
	test?: boolean;
	title?: string;
	avatar_style?: AvatarStyle;
	/** `#rrggbb` */
	background_color?: string;
	/** 0.5 .. 1.5 */
	voice_speed?: number;
}

export interface GenerateVideoRequest {
	script: string;
	avatarId: string;
	voiceId: string;
	options: VideoOptions;
	/** Our job id; HeyGen echoes it in status replies and webhooks. */
	callbackId: string;
	/** Optional webhook target for `avatar_video.success|fail`. */
	callbackUrl?: string;
}

export type VideoStatusValue = 'pending' | 'waiting' | 'processing' | 'completed' | 'failed';

export interface VideoStatus {
	id: string;
	status: VideoStatusValue;
	/** Signed, expiring URL; a fresh one on every status call. */
	videoUrl: string | null;
	thumbnailUrl: string | null;
	/** Seconds. */
	duration: number | null;
	error: { code: string; message: string; detail?: string } | null;
}

export interface Avatar {
	id: string;
	name: string;
	previewImageUrl?: string;
	previewVideoUrl?: string;
	gender?: string;
}

export interface Voice {
	id: string;
	name: string;
	language?: string;
	gender?: string;
	previewAudioUrl?: string;
}

export interface HeyGenClient {
	generateVideo(req: GenerateVideoRequest): Promise<{ videoId: string }>;
	getVideoStatus(videoId: string): Promise<VideoStatus>;
	listAvatars(): Promise<Avatar[]>;
	listVoices(): Promise<Voice[]>;
	remainingQuota(): Promise<{ remainingQuota: number }>;
}

export interface HeyGenClientOptions {
	/** e.g. `https://api.heygen.com` (HEYGEN_API_URL) or a simulator URL. */
	baseUrl: string;
	apiKey: string;
	/** Per call, covering the reply body too. Default 30 000 ms. */
	timeoutMs?: number;
	/** Defaults to global `fetch`. */
	fetch?: typeof fetch;
}

// Compile-time check that the zod schema and the hand-written interface describe the same shape.
type AssertTrue<T extends true> = T;
type SchemaOptions = z.infer<typeof videoOptionsSchema>;
export type _VideoOptionsMatchSchema = AssertTrue<
	VideoOptions extends SchemaOptions ? (SchemaOptions extends VideoOptions ? true : false) : false
>;
