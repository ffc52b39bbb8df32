import { error, redirect } from '@sveltejs/kit';
import { sql } from 'kysely';
import { db } from './db.ts';
import { runPrepared } from './prepared.ts';

export type Role = 'owner' | 'admin' | 'member';

export interface SessionUser {
	id: string;
	name: string;
	email: string;
}

export interface Session {
	user: SessionUser;
	session: { id: string; expiresAt: Date };
}

export interface BusinessSummary {
	id: string;
	name: string;
	heygen_avatar_id: string | null;
	heygen_voice_id: string | null;
	has_key: boolean;
}

export interface Membership {
	business: BusinessSummary;
	role: Role;
	/** Owners and admins manage the HeyGen settings and the members. */
	canManage: boolean;
	/** Every business the viewer belongs to (for the switcher), fetched in the same query. */
	businesses: { id: string; name: string }[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: unknown): value is string {
	return typeof value === 'string' && UUID.test(value);
}

/** The signed-in user, or a redirect to the login page that comes back here afterwards. */
export function requireUser(locals: App.Locals, url?: URL): SessionUser {
	if (!locals.user) {
		const next = url ? `?next=${encodeURIComponent(url.pathname + url.search)}` : '';
		redirect(303, `/login${next}`);
	}
	return locals.user;
}

async function loadMembership(userId: string, businessId: string): Promise<Membership | null> {
	const query = db()
		.selectFrom('business_members as m')
		.innerJoin('businesses as b', 'b.id', 'm.business_id')
		.select([
			'b.id',
			'b.name',
			'b.heygen_avatar_id',
			'b.heygen_voice_id',
			'm.role',
			sql<boolean>`has_heygen_key(b.id)`.as('has_key'),
			sql<{ id: string; name: string }[]>`(
				select coalesce(json_agg(json_build_object('id', b2.id, 'name', b2.name) order by b2.name, b2.created_at), '[]')
				from business_members m2 join businesses b2 on b2.id = m2.business_id
				where m2.user_id = ${userId}
			)`.as('businesses')
		])
		.where('m.business_id', '=', businessId)
		.where('m.user_id', '=', userId)
		.compile();
	const [row] = await runPrepared('membership', query);
	if (!row) return null;
	const role = row.role as Role;
	return {
		business: { id: row.id, name: row.name, heygen_avatar_id: row.heygen_avatar_id, heygen_voice_id: row.heygen_voice_id, has_key: row.has_key },
		role,
		canManage: role === 'owner' || role === 'admin',
		businesses: row.businesses
	};
}

/**
 * The one tenancy check. Every load, action and endpoint under /b/[businessId] (and the media
 * route) calls it: it returns the viewer's membership, or throws 404 — the same answer whether the
 * business does not exist or belongs to someone else, so ids cannot be probed. Without a session
 * it redirects to the login page. `manage: true` additionally requires owner or admin (403).
 * Cached per request, so a layout and its page cost one query.
 */
export async function requireMembership(
	locals: App.Locals,
	businessId: string | undefined,
	opts: { manage?: boolean; url?: URL } = {}
): Promise<Membership> {
	const user = requireUser(locals, opts.url);
	if (!isUuid(businessId)) error(404, 'Not found');
	const key = businessId.toLowerCase();
	let pending = locals.memberships.get(key);
	if (!pending) {
		pending = loadMembership(user.id, key);
		locals.memberships.set(key, pending);
	}
	const membership = await pending;
	if (!membership) error(404, 'Not found');
	if (opts.manage && !membership.canManage) error(403, 'Only owners and admins of this business can do that.');
	return membership;
}

/** Forget the cached membership after the request changed it (settings saved, key removed). */
export function forgetMembership(locals: App.Locals, businessId: string): void {
	locals.memberships.delete(businessId.toLowerCase());
}

/** The businesses the user belongs to, for the switcher and the home page. */
export async function listBusinesses(userId: string) {
	return db()
		.selectFrom('business_members as m')
		.innerJoin('businesses as b', 'b.id', 'm.business_id')
		.select(['b.id', 'b.name', 'm.role', 'b.created_at'])
		.where('m.user_id', '=', userId)
		.orderBy('b.name')
		.orderBy('b.created_at')
		.execute();
}
