export { createHeyGenClient, buildGenerateBody, DEFAULT_TIMEOUT_MS } from './client.ts';
export {
	HeyGenError,
	isHeyGenError,
	parseRetryAfter,
	redact,
	type HeyGenErrorInit,
	type HeyGenErrorKind
} from './errors.ts';
export { videoOptionsSchema, AVATAR_STYLES, MAX_SCRIPT_CHARS } from './options.ts';
export type {
	Avatar,
	AvatarStyle,
	GenerateVideoRequest,
	HeyGenClient,
	HeyGenClientOptions,
	VideoOptions,
	VideoStatus,
	VideoStatusValue,
	Voice
} from './types.ts';
