/**
 * Provider-neutral types for the HeyGen v3 client. The worker and the web app talk only to
 * `HeyGenClient`.
 */
export type { VideoOptions, TranslationOptions } from './options.ts';
import type { TranslationOptions, VideoOptions } from './options.ts';

export interface GenerateVideoRequest {
	script: string;
	avatarId: string;
	voiceId: string;
	options: VideoOptions;
	/** Our job id; HeyGen echoes it in webhooks. */
	callbackId: string;
	/**
	 * Sent as the `Idempotency-Key` header: a repeat within 24 h replays the first reply instead of
	 * creating a second video. Format `[A-Za-z0-9_:.-]{1,255}`.
	 */
	idempotencyKey: string;
	/** Optional one-off notification target for this video. */
	callbackUrl?: string;
}

export type VideoStatusValue = 'pending' | 'processing' | 'completed' | 'failed';

export interface VideoStatus {
	id: string;
	status: VideoStatusValue;
	/** Presigned, expiring URL; a fresh one on every status call. */
	videoUrl: string | null;
	thumbnailUrl: string | null;
	/** SRT subtitles, when captions were asked for. */
	subtitleUrl: string | null;
	/** Seconds. */
	duration: number | null;
	completedAt: Date | null;
	error: { code: string; message: string } | null;
}

/** One item of the bulk status reply; `not_found` also for another account's ids. */
export interface BulkVideoStatus {
	id: string;
	status: VideoStatusValue | 'not_found';
	error: { code: string; message: string } | null;
}

/** An avatar look (`GET /v3/avatars/looks`); its id is what `avatar_id` takes. */
export interface Avatar {
	id: string;
	name: string;
	previewImageUrl?: string;
	previewVideoUrl?: string;
	gender?: string;
	defaultVoiceId?: string;
}

export interface Voice {
	id: string;
	name: string;
	language?: string;
	gender?: string;
	previewAudioUrl?: string;
}

/** What is left to spend, from whichever billing object the account has. */
export interface Credits {
	billingType: 'wallet' | 'subscription' | 'usage_based' | 'unknown';
	/** e.g. "12.50 USD in the wallet", "320 premium credits (resets 1 Dec 2026)". */
	summary: string;
	remaining: number | null;
	unit: 'usd' | 'credits' | null;
}

export interface Account {
	email: string | null;
	username: string | null;
	credits: Credits;
}

export interface HeyGenClient extends TranslationClient {
	generateVideo(req: GenerateVideoRequest): Promise<{ videoId: string }>;
	getVideoStatus(videoId: string): Promise<VideoStatus>;
	/**
	 * `GET /v3/videos/statuses`: the status of up to BULK_STATUS_MAX_IDS videos in one call, keyed
	 * by video id. No URLs: fetch `getVideoStatus` for a completed one.
	 */
	getVideoStatuses(videoIds: readonly string[]): Promise<Map<string, BulkVideoStatus>>;
	/** Every look, following `next_token` over all pages. */
	listAvatars(): Promise<Avatar[]>;
	/** Every voice (optionally of one language), following `next_token` over all pages. */
	listVoices(opts?: { language?: string }): Promise<Voice[]>;
	/** `GET /v3/users/me`: also the cheapest check that a key works. */
	account(): Promise<Account>;
}

export interface HeyGenClientOptions {
	/** e.g. `https://api.heygen.com` (HEYGEN_API_URL) or a simulator URL. */
	baseUrl: string;
	apiKey: string;
	/** Per call, covering the reply body too. Default 30 000 ms. */
	timeoutMs?: number;
	/** Largest reply body accepted, in bytes. Default 4 MiB. */
	maxBodyBytes?: number;
	/** Defaults to global `fetch`. */
	fetch?: typeof fetch;
}

/** Where HeyGen takes the video to translate from: a fresh presigned URL, or an uploaded asset. */
export type TranslationSource = { type: 'url'; url: string } | { type: 'asset_id'; assetId: string };

export interface CreateTranslationRequest {
	source: TranslationSource;
	/** One of HeyGen's language names (`listTranslationLanguages`). */
	outputLanguage: string;
	options: TranslationOptions;
	/** Our job id; HeyGen echoes it on the translation and in webhooks. */
	callbackId: string;
	/** Sent as `Idempotency-Key` on the batch create: a repeat within 24 h returns the same batch. */
	idempotencyKey: string;
}

export interface TranslationStatus {
	id: string;
	status: VideoStatusValue;
	/** Presigned, expiring URLs; fresh on every call. */
	videoUrl: string | null;
	srtUrl: string | null;
	vttUrl: string | null;
	duration: number | null;
	/** Our sentence for a failed translation (never HeyGen's text as it came). */
	error: { code: string; message: string } | null;
}

export interface TranslationClient {
	/**
	 * `POST /v3/video-translations/batches` with one item and the Idempotency-Key (the same key
	 * returns the same batch, so a lost reply is repeated safely), then the batch's item for its
	 * translation id. A batch whose item has no id yet is a retryable `request_in_progress`.
	 */
	createTranslation(req: CreateTranslationRequest): Promise<{ translationId: string; batchId: string }>;
	/**
	 * The translation made for `callbackId`, from `GET /v3/video-translations` (the newest
	 * TRANSLATION_LIST_PAGES pages), or null: how a resumed submit finds what an earlier one made.
	 */
	findTranslation(callbackId: string): Promise<string | null>;
	/** `GET /v3/video-translations/{id}`. */
	getTranslation(id: string): Promise<TranslationStatus>;
	/** `GET /v3/video-translations/statuses` for up to BULK_STATUS_MAX_IDS ids; no URLs. */
	getTranslationStatuses(ids: readonly string[]): Promise<Map<string, BulkVideoStatus>>;
	/** `GET /v3/video-translations/languages`: the names `output_language` takes. */
	listTranslationLanguages(): Promise<string[]>;
	/** `POST /v3/assets` (multipart, at most ASSET_MAX_BYTES): an uploaded MP4's asset id. */
	uploadAsset(file: Uint8Array, fileName: string, contentType: string): Promise<{ assetId: string }>;
}
