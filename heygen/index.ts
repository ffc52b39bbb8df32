export { createHeyGenClient, buildCreateBody, BULK_STATUS_MAX_IDS } from './client.ts';
export { HeyGenError, isHeyGenError, KNOWN_ERROR_CODES, metricCode, parseRetryAfter, redact } from './errors.ts';
export { videoOptionsSchema, v3Options, OPTION_SPECS, RESOLUTIONS, ASPECT_RATIOS, MAX_SCRIPT_CHARS } from './options.ts';
export { translationOptions } from './options.ts';
export { ASSET_MAX_BYTES, buildTranslationItem } from './translations.ts';
export type { Avatar, Credits, GenerateVideoRequest, HeyGenClient, VideoOptions, VideoStatus, BulkVideoStatus, Voice } from './types.ts';
export type { TranslationSource } from './types.ts';
