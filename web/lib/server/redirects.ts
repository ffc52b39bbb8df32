/** A same-site path to go to after logging in; anything else (absolute URLs, //host) becomes /b. */
export function safeNext(next: string | null | undefined): string {
	if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/b';
	return next;
}
