const BASE = 'http://same-origin.invalid';

/**
 * A same-origin path to go to after logging in; anything else becomes /b. Parsed the way a browser
 * parses a Location header (which drops tabs and newlines, so "/\t/evil.com" would be "//evil.com"),
 * and returned re-serialised, so the result is always plain ASCII a header can carry.
 */
export function safeNext(next: string | null | undefined): string {
	const fallback = '/b';
	if (!next || !next.startsWith('/') || next.length > 2000) return fallback;
	// Control characters and backslashes have no business in a path of ours; browsers treat "\" as "/".
	if (/[\u0000-\u001f\u007f\\]/.test(next)) return fallback;
	let url: URL;
	try {
		url = new URL(next, BASE);
	} catch {
		return fallback;
	}
	if (url.origin !== BASE) return fallback;
	const path = url.pathname + url.search + url.hash;
	return path.startsWith('//') ? fallback : path;
}
