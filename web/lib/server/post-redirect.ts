/**
 * Post/Redirect/Get for forms posted without JavaScript. A plain form post to `?/action` would
 * leave the browser on that URL (a reload posts again, every relative link keeps `?/action`). So
 * the result of a plain post (success or failure, the same object `use:enhance` receives) goes
 * into a short-lived cookie for that page and the browser is sent back to the page itself; its
 * load hands the result to the page, which shows it like `form`. Posts from `use:enhance` (fetch,
 * `x-sveltekit-action`) are answered as before.
 */
import { isActionFailure, redirect, type Action, type Cookies, type RequestEvent } from '@sveltejs/kit';

const COOKIE = 'form_result';
// A cookie holds about 4 KB; typed values that do not fit are dropped (the message stays).
const MAX_COOKIE_CHARS = 3000;

/** What a page gets back after a plain post: the action's data (FormFailure or success). */
export interface FormResult {
	form?: string;
	message?: string;
	errors?: Record<string, string>;
	values?: Record<string, string>;
	[k: string]: unknown;
}

function fromEnhance(request: Request): boolean {
	return request.headers.get('x-sveltekit-action') === 'true';
}

function encoded(result: FormResult): string {
	let text = encodeURIComponent(JSON.stringify(result));
	if (text.length > MAX_COOKIE_CHARS) {
		const { values: _values, languages: _languages, ...rest } = result;
		text = encodeURIComponent(JSON.stringify(rest));
	}
	if (text.length > MAX_COOKIE_CHARS) {
		text = encodeURIComponent(JSON.stringify({ form: result.form, message: String(result.message ?? '').slice(0, 500), errors: {} }));
	}
	return text;
}

/** The page's address without the action: its path and the query the page reads (e.g. ?play=). */
function pageUrl(url: URL): string {
	const q = new URLSearchParams([...url.searchParams].filter(([k]) => !k.startsWith('/')));
	const s = q.toString();
	return url.pathname + (s ? `?${s}` : '');
}

// Any page's actions: each page's Action type names its own route params and id.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type PageAction = Action<any, any, any>;

/** Wraps a page's actions so that a plain (no-JS) post ends on the page's own URL, with its result. */
export function redirectAfterPost<A extends Record<string, PageAction>>(actions: A): A {
	const wrapped: Record<string, PageAction> = {};
	for (const [name, action] of Object.entries(actions)) {
		wrapped[name] = async (event: RequestEvent) => {
			const result = await action(event);
			if (fromEnhance(event.request)) return result;
			const data = (isActionFailure(result) ? result.data : result) as FormResult | undefined;
			if (data && typeof data === 'object') {
				event.cookies.set(COOKIE, encoded(data), {
					path: event.url.pathname,
					httpOnly: true,
					sameSite: 'lax',
					maxAge: 60,
					secure: event.url.protocol === 'https:',
					encode: (v) => v
				});
			}
			redirect(303, pageUrl(event.url));
		};
	}
	return wrapped as A;
}

/** The result a plain post left for this page (read once), or null. */
export function takeFormResult(cookies: Cookies, url: URL): FormResult | null {
	const raw = cookies.get(COOKIE, { decode: (v) => v });
	if (!raw) return null;
	cookies.delete(COOKIE, { path: url.pathname });
	try {
		const value: unknown = JSON.parse(decodeURIComponent(raw));
		return value && typeof value === 'object' ? (value as FormResult) : null;
	} catch {
		return null;
	}
}
