/**
 * Form actions without JavaScript: a plain POST to `?/name` would render the result at that URL,
 * where a reload posts again and every relative link keeps `?/name`. So a form posted without
 * `use:enhance` is answered with 303 to the page itself, its result (success or failure, the same
 * object `use:enhance` receives) kept for that one next view in a short-lived cookie. Enhanced
 * posts are left as they are.
 */
import { isActionFailure, redirect, type Action, type Cookies, type RequestEvent } from '@sveltejs/kit';

const COOKIE = 'form_result';
/** Well under a cookie's 4 KB: a larger result loses the typed values, never the message. */
const MAX_BYTES = 3000;

/** use:enhance marks its requests; a browser's own form post does not. */
const enhanced = (request: Request) => request.headers.get('x-sveltekit-action') === 'true';

function keep(event: RequestEvent, result: unknown): void {
	const value = isActionFailure(result) ? result.data : result;
	if (value === undefined || value === null) return;
	let json = JSON.stringify(value);
	if (json.length > MAX_BYTES && typeof value === 'object') {
		const { values: _values, languages: _languages, ...rest } = value as Record<string, unknown>;
		json = JSON.stringify(rest);
	}
	if (json.length > MAX_BYTES) return;
	event.cookies.set(COOKIE, json, { path: event.url.pathname, httpOnly: true, sameSite: 'lax', maxAge: 60 });
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

/** The page's actions, each answering a post made without JavaScript with a redirect to the page. */
export function redirectAfterPost<A extends Record<string, PageAction>>(actions: A): A {
	const out: Record<string, PageAction> = {};
	for (const [name, action] of Object.entries(actions)) {
		out[name] = async (event) => {
			const result = await action(event);
			if (enhanced(event.request)) return result;
			keep(event, result);
			redirect(303, pageUrl(event.url));
		};
	}
	return out as A;
}

/** The result a post without JavaScript left for this view (read once), or null. */
export function takeFormResult(cookies: Cookies, url: URL): Record<string, unknown> | null {
	const raw = cookies.get(COOKIE);
	if (!raw) return null;
	cookies.delete(COOKIE, { path: url.pathname });
	try {
		const v: unknown = JSON.parse(raw);
		return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : null;
	} catch {
		return null;
	}
}
