export { createHeyGenClient, buildCreateBody, DEFAULT_TIMEOUT_MS, DEFAULT_MAX_BODY_BYTES, IDEMPOTENCY_KEY, BULK_STATUS_MAX_IDS } from './client.ts';
export {
	HeyGenError,
	isHeyGenError,
	KNOWN_ERROR_CODES,
	metricCode,
	parseRetryAfter,
	redact,
	type HeyGenErrorInit,
	type HeyGenErrorKind
} from './errors.ts';
export {
	videoOptionsSchema,
	v3Options,
	OPTION_SPECS,
	RETIRED_OPTIONS,
	RESOLUTIONS,
	ASPECT_RATIOS,
	ENGINES,
	MAX_SCRIPT_CHARS,
	type OptionSpec
} from './options.ts';
export type {
	Account,
	Avatar,
	Credits,
	GenerateVideoRequest,
	HeyGenClient,
	HeyGenClientOptions,
	VideoOptions,
	VideoStatus,
	VideoStatusValue,
	BulkVideoStatus,
	Voice
} from './types.ts';
