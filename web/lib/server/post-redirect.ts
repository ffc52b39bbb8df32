import { isActionFailure, redirect, type Action, type Cookies, type RequestEvent } from '@sveltejs/kit';

/**
 * Post/Redirect/Get for forms posted without JavaScript. A plain form post to `?/action` would
 * leave the browser on that URL (a reload posts again, a shared link names an action). So the
 * result of a plain post (success or failure) goes into a short-lived cookie for that page and
 * the browser is sent back to the page itself; its load hands the result to the page, which shows
 * it like `form`. Posts from `use:enhance` (fetch, `x-sveltekit-action`) are answered as before.
 */

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
		const { values: _dropped, ...rest } = result;
		text = encodeURIComponent(JSON.stringify(rest));
	}
	if (text.length > MAX_COOKIE_CHARS) {
		text = encodeURIComponent(JSON.stringify({ form: result.form, message: String(result.message ?? '').slice(0, 500), errors: {} }));
	}
	return text;
}

/** Wraps a page's actions so that a plain (no-JS) post ends on the page's own URL, with its result. */
export function redirectAfterPost<A extends Record<string, Action>>(actions: A): A {
	const wrapped: Record<string, Action> = {};
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
			redirect(303, event.url.pathname);
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
