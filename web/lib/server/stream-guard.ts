import { sql, type Selectable } from 'kysely';
import type { AuthSessions, BusinessMembers } from '$db/types.ts';
import { TickingSet } from '$storage/ticking-set.ts';
import { db } from './db.ts';
import { errInfo, log } from './log.ts';

/**
 * Live streams end within about a second of losing access: on logout, session expiry or removal
 * from the business. This process closes its own streams at once when it performs the logout or
 * removal; a once-a-second check (one query for all open streams) catches the rest — another web
 * process, plain SQL, a session that simply ran out.
 */
export const CHECK_MS = 1_000;

export interface GuardedStream {
	sessionId: string;
	userId: string;
	businessId: string;
	close(): void;
}

/** A (session, user, business) triple that still grants access. */
interface StreamAccess {
	sid: Selectable<AuthSessions>['id'];
	uid: Selectable<AuthSessions>['user_id'];
	bid: Selectable<BusinessMembers>['business_id'];
}

const streams = new TickingSet<GuardedStream>(CHECK_MS, () => void checkStreams());
let checking = false;

function end(s: GuardedStream): void {
	streams.delete(s);
	try {
		s.close();
	} catch {}
}

/** Watches a stream until it ends; returns the function to call when it ended on its own. */
export function guardStream(s: GuardedStream): () => void {
	streams.add(s);
	return () => streams.delete(s);
}

export function closeStreamsForSession(sessionId: string): void {
	for (const s of [...streams]) if (s.sessionId === sessionId) end(s);
}

export function closeStreamsForMember(businessId: string, userId: string): void {
	for (const s of [...streams]) if (s.businessId === businessId && s.userId === userId) end(s);
}

/** One query for every open stream: which (session, business) pairs still grant access. */
export async function checkStreams(): Promise<void> {
	if (checking || streams.size === 0) return;
	checking = true;
	try {
		const keyOf = (s: { sessionId: string; userId: string; businessId: string }) => `${s.sessionId}|${s.userId}|${s.businessId}`;
		const distinct = new Map<string, GuardedStream>();
		for (const s of streams) distinct.set(keyOf(s), s);
		const list = [...distinct.values()];
		// Raw: the open streams go in as parallel arrays (unnest), one round trip for all of them.
		const { rows } = await sql<StreamAccess>`
			select x.sid, x.uid, x.bid::text as bid
			from unnest(${list.map((s) => s.sessionId)}::text[], ${list.map((s) => s.userId)}::text[], ${list.map((s) => s.businessId)}::uuid[]) as x (sid, uid, bid)
			where exists (select 1 from auth_sessions a where a.id = x.sid and a.user_id = x.uid and a.expires_at > now())
			  and exists (select 1 from business_members m where m.business_id = x.bid and m.user_id = x.uid)`.execute(db());
		const allowed = new Set(rows.map((r) => keyOf({ sessionId: r.sid, userId: r.uid, businessId: r.bid })));
		for (const s of [...streams]) if (!allowed.has(keyOf(s))) end(s);
	} catch (err) {
		// A database hiccup is not a reason to drop every viewer; the next check decides.
		log().warn({ err: errInfo(err) }, 'live status: access check failed');
	} finally {
		checking = false;
	}
}
