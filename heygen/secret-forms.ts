/**
 * Whether a text from outside (a HeyGen error code or message) carries a secret in any form a
 * server, proxy or logger might echo it in: as is, upper- or lower-cased, reversed, base64,
 * base64url, hex, percent-encoded, spaced out, split by zero-width characters, or with a character
 * missing. Comparing exact strings misses all of these, so both sides are normalised first
 * (NFKC, invisible characters and white space removed, lower-cased) and any long piece of the
 * secret counts as the secret.
 */

// Zero-width, joiner, direction and variation marks, soft hyphen, fillers: invisible in a page,
// so a secret split by them still reads as the secret.
const INVISIBLE = new RegExp(
	'[\\s\\u00AD\\u034F\\u061C\\u115F\\u1160\\u17B4\\u17B5\\u180B-\\u180F\\u200B-\\u200F\\u202A-\\u202E' +
		'\\u2060-\\u206F\\u3164\\uFE00-\\uFE0F\\uFEFF\\uFFA0]',
	'gu'
);

/** The shortest piece of a secret that counts as the secret. */
const MIN_WINDOW = 6;
/**
 * Shorter "secrets" are not HeyGen keys (tests use such): looking for pieces of them would match
 * ordinary words, so only their exact occurrences are replaced (redact).
 */
const MIN_SECRET = 8;
/** Pieces longer than this add nothing: 16 characters of a key are already unmistakable. */
const MAX_WINDOW = 16;

function squash(text: string): string {
	return text.normalize('NFKC').replace(INVISIBLE, '').toLowerCase();
}

/**
 * A secret with one character removed still leaves a run of at least (n-1)/2 characters of it
 * on one side of the gap; any run that long counts.
 */
function windowFor(length: number): number {
	return Math.max(MIN_WINDOW, Math.min(MAX_WINDOW, Math.floor((length - 1) / 2)));
}

interface Form {
	text: string;
	window: number;
}

const cache = new Map<string, Form[]>();

/** The encodings of the secret, normalised like the text they are looked for in. */
function formsOf(secret: string): Form[] {
	const hit = cache.get(secret);
	if (hit) return hit;
	const bytes = Buffer.from(secret, 'utf8');
	const w = windowFor(squash(secret).length);
	const scaled = (text: string, factor: number): Form => ({ text: squash(text), window: Math.ceil(w * factor) });
	const forms = [
		scaled(secret, 1),
		scaled([...secret].reverse().join(''), 1),
		scaled(bytes.toString('base64'), 4 / 3),
		scaled(bytes.toString('base64url'), 4 / 3),
		scaled(bytes.toString('hex'), 2),
		scaled([...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''), 3),
		scaled(encodeURIComponent(secret), 1)
	].filter((f, i, all) => f.text.length > 0 && all.findIndex((g) => g.text === f.text) === i);
	if (cache.size > 1000) cache.clear();
	cache.set(secret, forms);
	return forms;
}

function holdsPiece(haystack: string, form: Form): boolean {
	if (form.text.length <= form.window) return haystack.includes(form.text);
	for (let i = 0; i + form.window <= form.text.length; i++) {
		if (haystack.includes(form.text.slice(i, i + form.window))) return true;
	}
	return false;
}

/** Texts hidden inside `text` by an encoding: percent-decoded, and each base64 or hex run decoded. */
function decodedViews(text: string): string[] {
	const out: string[] = [];
	const visible = text.normalize('NFKC').replace(INVISIBLE, '');
	try {
		out.push(decodeURIComponent(visible));
	} catch {
		out.push(visible.replace(/%([0-9a-f]{2})/gi, (_m, h: string) => String.fromCharCode(parseInt(h, 16))));
	}
	for (const run of visible.match(/[A-Za-z0-9+/_-]{12,}={0,2}/g) ?? []) out.push(Buffer.from(run, 'base64').toString('latin1'));
	for (const run of visible.match(/(?:[0-9a-fA-F]{2}){8,}/g) ?? []) out.push(Buffer.from(run, 'hex').toString('latin1'));
	return out;
}

/** True when `text` carries `secret`, or a long piece of it, in any of the forms above. */
export function containsSecret(text: string, secret: string | null | undefined): boolean {
	if (!secret || !text || secret.length < MIN_SECRET) return false;
	const forms = formsOf(secret);
	const flat = squash(text);
	if (forms.some((f) => holdsPiece(flat, f))) return true;
	// An encoding of a text around the secret does not contain an encoding of the secret itself
	// (base64 shifts with the bytes before it), so decode what looks encoded and look again.
	const plain = forms.slice(0, 2);
	return decodedViews(text).some((view) => {
		const v = squash(view);
		return v !== flat && plain.some((f) => holdsPiece(v, f));
	});
}

const REDACTED = '[redacted]';
// Credentials HeyGen (or a proxy) may echo: after a header or parameter name, or a bearer token.
const NAMED_SECRET = /((?:x-api-key|api[_-]?key|apikey|authorization|bearer|secret|token)["']?\s*[:=]?\s*["']?)([^\s"',;&]{8,})/gi;
// A long opaque token with upper case, lower case and digits (API keys, JWTs, signed tokens).
// Lower-case hex ids (HeyGen video ids, UUIDs) have no upper case and are kept.
const KEY_LIKE = /[A-Za-z0-9_+/=.-]{32,}/g;

function looksLikeKey(token: string): boolean {
	return /[A-Z]/.test(token) && /[a-z]/.test(token) && /[0-9]/.test(token) && !/^https?:/.test(token);
}

/**
 * A text from outside with credentials removed: the whole text when it carries `secret` in any
 * form (containsSecret), else anything named or shaped like a credential. Run it before clipping,
 * storing, logging or showing the text.
 */
export function redact(text: string, secret?: string | undefined): string {
	if (containsSecret(text, secret)) return REDACTED;
	let out = secret ? text.split(secret).join(REDACTED) : text;
	out = out.replace(NAMED_SECRET, (_m, name: string) => `${name}${REDACTED}`);
	return out.replace(KEY_LIKE, (t) => (looksLikeKey(t) ? REDACTED : t));
}
