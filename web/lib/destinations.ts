/**
 * Where a `?next=` link leads, in words, for "Log in to continue to …". Only fixed phrases come
 * out (never the path itself), so a crafted link cannot put its own text on the login page.
 */
const ID = '[0-9a-fA-F-]{36}';
const PLACES: [RegExp, string][] = [
	[/^\/account\/?$/, 'your account'],
	[/^\/b\/?$/, 'your businesses'],
	[new RegExp(`^/b/${ID}/?$`), 'the business’s content'],
	[new RegExp(`^/b/${ID}/content/new/?$`), 'new content'],
	[new RegExp(`^/b/${ID}/content/${ID}/edit/?$`), 'editing a piece of content'],
	[new RegExp(`^/b/${ID}/content/${ID}/?$`), 'a piece of content and its video'],
	[new RegExp(`^/b/${ID}/jobs/${ID}/?$`), 'a video job'],
	[new RegExp(`^/b/${ID}/jobs/?$`), 'the video jobs'],
	[new RegExp(`^/b/${ID}/library/?$`), 'the video library'],
	[new RegExp(`^/b/${ID}/approvals/?$`), 'the videos waiting for approval'],
	[new RegExp(`^/b/${ID}/settings/?$`), 'the HeyGen settings'],
	[new RegExp(`^/b/${ID}/members/?$`), 'the members of a business']
];

/** "the HeyGen settings" for `/b/<id>/settings?x=1`; null for no or an unknown destination. */
export function destinationLabel(next: string | null | undefined): string | null {
	if (!next || !next.startsWith('/') || next.startsWith('//')) return null;
	const path = next.split(/[?#]/, 1)[0]!;
	for (const [re, label] of PLACES) if (re.test(path)) return label;
	return 'the page you asked for';
}
