/**
 * A leak check for the HeyGen key written independently of the product's own
 * (heygen/secret-forms.ts), so a gap there cannot hide itself.
 */

/** Shaped like a real HeyGen key: long, mixed case, digits. */
export const ECHO_KEY = 'sk_V2_hgu_Q7fT3kLm9XbR2sWpZ4yN8cJd6HvA1eGo';

/** Lower-cased, with spaces and invisible characters gone: how the leak check reads stored text. */
function flat(text: string): string {
	return text
		.normalize('NFKC')
		.replace(/[\s\u00AD\u200B-\u200F\u2060-\u206F\uFEFF]/gu, '')
		.toLowerCase();
}

/** Every form of `key` (and both halves of it minus its middle character) that `text` still contains. */
export function keyLeaks(text: string, key = ECHO_KEY): string[] {
	const t = flat(text);
	let decoded = t;
	try {
		decoded = flat(decodeURIComponent(t));
	} catch {
		// not percent-encoded as a whole
	}
	const bytes = Buffer.from(key);
	const whole = [key, [...key].reverse().join(''), bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex')];
	const mid = key.length >> 1;
	const pieces = [key.slice(0, mid), key.slice(mid + 1)];
	const found = [...whole, ...pieces].map((f) => flat(f)).filter((f) => t.includes(f) || decoded.includes(f));
	return [...new Set(found)];
}
