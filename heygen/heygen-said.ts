/**
 * What HeyGen said (an error's or a failed render's code and message), made safe to store in a
 * job row, an event, a log line or a page. HeyGen's text is outside input: it may echo the API key
 * (or a piece or an encoding of it), so it is never stored as it came.
 *
 * - A code is kept only when it is one HeyGen documents (HEYGEN_CODE_TEXT) or has the strict shape
 *   of a code (words of letters joined by `_` or `.`, or a short number) and carries no piece of the
 *   key; anything else becomes `fallback`.
 * - A known code's message is replaced by a sentence of our own; HeyGen's own text is kept only for
 *   unknown codes, and then it is dropped as a whole when it carries any form of the key (secret-forms.ts).
 */
import { containsSecret, redact } from './secret-forms.ts';

/** Codes from HeyGen's error-code page and replies (HEYGEN_API.md §6), each with our own words. */
const HEYGEN_CODE_TEXT: Readonly<Record<string, string>> = {
	unauthorized: 'HeyGen did not accept the API key.',
	invalid_api_key: 'HeyGen did not accept the API key.',
	insufficient_credit: 'The HeyGen account has no credits left.',
	forbidden: 'The plan or permissions of the HeyGen account do not allow this.',
	resource_access_denied: 'The HeyGen account may not use this resource.',
	not_found: 'HeyGen does not know what was asked for.',
	video_not_found: 'HeyGen does not know this video.',
	avatar_not_found: 'HeyGen does not know the avatar look on this account.',
	voice_not_found: 'HeyGen does not know the voice on this account.',
	asset_not_found: 'HeyGen does not know the asset on this account.',
	invalid_parameter: 'A setting has a value HeyGen does not accept.',
	request_in_progress: 'HeyGen is still working on an identical earlier request.',
	rate_limit_exceeded: 'Too many requests or videos at once for the HeyGen account.',
	resource_limit_exceeded: 'The HeyGen account reached a limit of its plan.',
	download_failed: 'HeyGen could not download a file it was given.',
	internal_error: 'HeyGen had an internal error.',
	service_unavailable: 'HeyGen was temporarily unavailable.',
	render_failed: 'HeyGen did not say why.',
	endpoint_retired: 'HeyGen retired this endpoint.',
	payload_too_large: 'The request was too large for HeyGen.',
	method_not_allowed: 'HeyGen does not offer this operation.'
};

/** Letters in words joined by `_` or `.` (HeyGen's `invalid_parameter`, `MOVIO_PAYMENT_…`), or a short number. */
const CODE_SHAPE = /^(?:[A-Za-z]{2,24}(?:[_.][A-Za-z]{1,24}){0,7}|\d{3,6})$/;
const MAX_CODE = 80;

export interface SafeSaid {
	/** HeyGen's code when it is safe to keep (known codes lower-cased), else `fallback`. */
	code: string;
	/** True when the code is one of HEYGEN_CODE_TEXT. */
	known: boolean;
	/** Our sentence for a known code; HeyGen's text (clipped) for an unknown one when it is safe; else ''. */
	text: string;
}

/** HeyGen's code if it may be stored, or undefined. */
export function safeCode(raw: unknown, apiKey: string | null | undefined): string | undefined {
	if (typeof raw !== 'string' && typeof raw !== 'number') return undefined;
	const code = String(raw).trim();
	if (Object.hasOwn(HEYGEN_CODE_TEXT, code.toLowerCase())) return code.toLowerCase();
	if (code.length > MAX_CODE || !CODE_SHAPE.test(code) || containsSecret(code, apiKey)) return undefined;
	return code;
}

/** Outside text on one line, clipped, `[redacted]` as a whole when it carries any form of the key. */
export function safeText(raw: unknown, apiKey: string | null | undefined, max = 300): string {
	if (typeof raw !== 'string') return '';
	// Redacted before clipping: a cut could leave half a key that no longer looks like one.
	const line = redact(raw.replace(/\s+/g, ' ').trim(), apiKey ?? undefined);
	return line.length > max ? `${line.slice(0, max)}…` : line;
}

/** A code and message HeyGen sent, as we may store them. */
export function safeSaid(raw: { code?: unknown; message?: unknown }, apiKey: string | null | undefined, fallback: string): SafeSaid {
	const code = safeCode(raw.code, apiKey);
	if (code !== undefined && Object.hasOwn(HEYGEN_CODE_TEXT, code)) return { code, known: true, text: HEYGEN_CODE_TEXT[code]! };
	return { code: code ?? fallback, known: false, text: safeText(raw.message, apiKey) };
}
