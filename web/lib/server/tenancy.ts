import { error, redirect } from '@sveltejs/kit';
import type { AliasableExpression, Expression, InferResult, Selectable, SelectType } from 'kysely';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import type { BusinessMembers, Businesses } from '$db/types.ts';
import { db } from './db.ts';
import { runPrepared } from './prepared.ts';
import { asPausedReason, type PausedReason } from './paused-reason.ts';

/** 'owner', 'admin' or 'member' (business_members_role_check). */
export type Role = Selectable<BusinessMembers>['role'];

export interface SessionUser {
	id: string;
	name: string;
	email: string;
}

export type BusinessSummary = Pick<
	Selectable<Businesses>,
	'id' | 'name' | 'heygen_avatar_id' | 'heygen_voice_id' | 'monthly_video_seconds_limit' | 'require_approval'
> & {
	has_key: boolean;
	/** Why HeyGen generation is paused (businesses_heygen_paused_reason_check), null when it is not. */
	heygen_paused_reason: PausedReason | null;
	/** Jobs held for approval (the nav's badge). */
	awaiting_approval: number;
};

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

/**
 * A page's own query that rides along with the membership check: one SQL expression (one value,
 * usually json) for the business whose id it is given, evaluated only when the viewer's membership
 * row exists. It goes in the same statement as the membership, so a page view costs one round
 * trip. Its SQL text must be the same on every call (it runs as a prepared statement named after it).
 */
export interface MembershipRider<V, T> {
	name: string;
	expression(businessId: Expression<Selectable<Businesses>['id']>): AliasableExpression<V>;
	/** The expression's value (null when it found nothing) to what the page uses. */
	parse(value: SelectType<V> | null): T;
}

/** The viewer's membership of the business, with every business they belong to (for the switcher). */
function membershipQuery(userId: string, businessId: string) {
	return db()
		.selectFrom('business_members as m')
		.innerJoin('businesses as b', 'b.id', 'm.business_id')
		.select((eb) => [
			'b.id',
			'b.name',
			'b.heygen_avatar_id',
			'b.heygen_voice_id',
			'b.heygen_paused_reason',
			'b.monthly_video_seconds_limit',
			'b.require_approval',
			'm.role',
			eb.fn<boolean>('has_heygen_key', ['b.id']).as('has_key'),
			// Counted in the same statement: the badge costs no extra round trip on any page.
			eb
				.selectFrom('video_jobs as j')
				.select((eb) => eb.fn.countAll<string>().as('n'))
				.whereRef('j.business_id', '=', 'b.id')
				.where('j.status', '=', 'awaiting_approval')
				.as('awaiting_approval'),
			jsonArrayFrom(
				eb
					.selectFrom('business_members as m2')
					.innerJoin('businesses as b2', 'b2.id', 'm2.business_id')
					.select(['b2.id', 'b2.name'])
					.where('m2.user_id', '=', userId)
					.orderBy('b2.name')
					.orderBy('b2.created_at')
			).as('businesses')
		])
		.where('m.business_id', '=', businessId)
		.where('m.user_id', '=', userId);
}

function toMembership(row: InferResult<ReturnType<typeof membershipQuery>>[number] | undefined): Membership | null {
	if (!row) return null;
	return {
		business: {
			id: row.id,
			name: row.name,
			heygen_avatar_id: row.heygen_avatar_id,
			heygen_voice_id: row.heygen_voice_id,
			heygen_paused_reason: asPausedReason(row.heygen_paused_reason),
			monthly_video_seconds_limit: row.monthly_video_seconds_limit,
			require_approval: row.require_approval,
			has_key: row.has_key,
			awaiting_approval: Number(row.awaiting_approval ?? 0)
		},
		role: row.role,
		canManage: row.role === 'owner' || row.role === 'admin',
		businesses: row.businesses
	};
}

async function loadMembership(userId: string, businessId: string): Promise<Membership | null> {
	const [row] = await runPrepared('membership', membershipQuery(userId, businessId).compile());
	return toMembership(row);
}

/** The membership and, only when it exists, the rider's value. */
async function loadMembershipWith<V, T>(
	userId: string,
	businessId: string,
	rider: MembershipRider<V, T>
): Promise<{ membership: Membership | null; data: T }> {
	const query = membershipQuery(userId, businessId).select((eb) => rider.expression(eb.ref('b.id')).as('rider'));
	const [row] = await runPrepared(`membership+${rider.name}`, query.compile());
	return { membership: toMembership(row), data: rider.parse(row ? row.rider : null) };
}

/** A membership lookup not sent yet: a page's query may still ride along. */
interface PendingLookup {
	joined: boolean;
	join<V, T>(rider: MembershipRider<V, T>): Promise<T>;
}

// Per request (keyed by its locals.memberships map), the lookups still waiting to be sent.
const pending = new WeakMap<object, Map<string, PendingLookup>>();

/**
 * Starts the membership lookup for this request, sent once the request's loads have all started
 * (a layout and its page begin in the same turn of the event loop), so that the page's rider,
 * if it has one, goes in the same statement.
 */
function startLookup(locals: App.Locals, userId: string, businessId: string): PendingLookup {
	let waiting = pending.get(locals.memberships);
	if (!waiting) pending.set(locals.memberships, (waiting = new Map()));
	let send = () => loadMembership(userId, businessId);
	const lookup: PendingLookup = {
		joined: false,
		join<V, T>(rider: MembershipRider<V, T>) {
			lookup.joined = true;
			const data = new Promise<T>((resolve, reject) => {
				send = () =>
					loadMembershipWith(userId, businessId, rider).then(
						(r) => {
							resolve(r.data);
							return r.membership;
						},
						(err: unknown) => {
							reject(err);
							throw err;
						}
					);
			});
			// Whoever joined awaits it only after the membership; a failure is reported through that.
			data.catch(() => {});
			return data;
		}
	};
	const membership = new Promise<Membership | null>((resolve, reject) => {
		setImmediate(() => {
			if (waiting.get(businessId) === lookup) waiting.delete(businessId);
			send().then(resolve, reject);
		});
	});
	waiting.set(businessId, lookup);
	locals.memberships.set(businessId, membership);
	return lookup;
}

/**
 * The one tenancy check. Every load, action and endpoint under /b/[businessId] (and the media
 * route) calls it (or requireMembershipWith): it returns the viewer's membership, or throws 404 —
 * the same answer whether the business does not exist or belongs to someone else, so ids cannot
 * be probed. Without a session it redirects to the login page. `manage: true` additionally
 * requires owner or admin (403). Cached per request, so a layout and its page cost one query.
 */
export async function requireMembership(
	locals: App.Locals,
	businessId: string | undefined,
	opts: { manage?: boolean; url?: URL } = {}
): Promise<Membership> {
	const user = requireUser(locals, opts.url);
	if (!isUuid(businessId)) error(404, 'Not found');
	const key = businessId.toLowerCase();
	if (!locals.memberships.has(key)) startLookup(locals, user.id, key);
	return checked(await locals.memberships.get(key)!, opts);
}

/**
 * requireMembership plus the page's own query, in the same statement when the lookup has not been
 * sent yet (the usual case: the layout asked for the membership in the same turn), else in a
 * second one. The rider's value is only read once the membership is confirmed.
 */
export async function requireMembershipWith<V, T>(
	locals: App.Locals,
	businessId: string | undefined,
	rider: MembershipRider<V, T>,
	opts: { manage?: boolean; url?: URL } = {}
): Promise<{ membership: Membership; data: T }> {
	const user = requireUser(locals, opts.url);
	if (!isUuid(businessId)) error(404, 'Not found');
	const key = businessId.toLowerCase();
	const lookup = locals.memberships.has(key) ? pending.get(locals.memberships)?.get(key) : startLookup(locals, user.id, key);
	const value = lookup && !lookup.joined ? lookup.join(rider) : null;
	const membership = checked(await locals.memberships.get(key)!, opts);
	if (value) return { membership, data: await value };
	const alone = db()
		.selectFrom('businesses as b')
		.select((eb) => rider.expression(eb.ref('b.id')).as('rider'))
		.where('b.id', '=', membership.business.id);
	const [row] = await runPrepared(rider.name, alone.compile());
	return { membership, data: rider.parse(row ? row.rider : null) };
}

function checked(membership: Membership | null, opts: { manage?: boolean }): Membership {
	if (!membership) error(404, 'Not found');
	if (opts.manage && !membership.canManage) error(403, 'Only owners and admins of this business can do that.');
	return membership;
}

/** Forget the cached membership after the request changed it (settings saved, key removed). */
export function forgetMembership(locals: App.Locals, businessId: string): void {
	locals.memberships.delete(businessId.toLowerCase());
	pending.get(locals.memberships)?.delete(businessId.toLowerCase());
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
