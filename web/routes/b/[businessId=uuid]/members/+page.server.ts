import { error } from '@sveltejs/kit';
import { sql } from 'kysely';
import { z } from 'zod';
import { db } from '$lib/server/db.ts';
import { dbErrorMessage } from '$lib/server/errors.ts';
import { formError, validate } from '$lib/server/forms.ts';
import { redirectAfterPost, takeFormResult } from '$lib/server/post-redirect.ts';
import { inviteLimiter } from '$lib/server/rate-limit.ts';
import { closeStreamsForMember } from '$lib/server/stream-guard.ts';
import { isUuid, requireMembership } from '$lib/server/tenancy.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ cookies, locals, params, url }) => {
	const { business, canManage } = await requireMembership(locals, params.businessId, { url });
	const members = await db()
		.selectFrom('business_members as m')
		.leftJoin('auth_users as u', 'u.id', 'm.user_id')
		.select(['m.user_id', 'm.role', 'm.created_at', 'u.name', 'u.email'])
		.where('m.business_id', '=', business.id)
		.orderBy(sql`case m.role when 'owner' then 0 when 'admin' then 1 else 2 end`)
		.orderBy('u.name')
		.execute();
	const invitations = canManage
		? await db()
				.selectFrom('business_invitations')
				.select(['id', 'email', 'role', 'created_at', 'expires_at'])
				.where('business_id', '=', business.id)
				.where('expires_at', '>', sql<Date>`now()`)
				.orderBy('created_at', 'desc')
				.execute()
		: [];
	return { members, invitations, me: locals.user!.id, formResult: takeFormResult(cookies, url) };
};

const inviteSchema = z.object({
	email: z
		.string()
		.trim()
		.toLowerCase()
		.pipe(z.email('Enter the email address to invite, like name@example.com.').max(320, 'That email address is too long.')),
	role: z.enum(['admin', 'member'], 'Choose a role.')
});

export const actions: Actions = redirectAfterPost({
	/**
	 * Invites an email. The answer is the same whether or not an account uses that email, so the
	 * form cannot be used to find out who has an account; the person joins only by accepting.
	 */
	invite: async ({ locals, params, request, url }) => {
		const { business } = await requireMembership(locals, params.businessId, { manage: true, url });
		const data = await request.formData();
		const v = validate('invite', inviteSchema, data);
		if (!v.ok) return v.failure;
		const wait = inviteLimiter.hit(locals.user!.id);
		if (wait) return formError('invite', data, `Too many invitations. Try again in ${Math.ceil(wait / 60)} minutes.`, {}, 429);
		try {
			await db()
				.insertInto('business_invitations')
				.values({ business_id: business.id, email: v.data.email, role: v.data.role, invited_by: locals.user!.id })
				.onConflict((oc) =>
					oc.columns(['business_id', 'email']).doUpdateSet({
						role: v.data.role,
						invited_by: locals.user!.id,
						created_at: sql`now()`,
						expires_at: sql`now() + interval '14 days'`
					})
				)
				.execute();
		} catch (err) {
			// Inviting oneself or an existing member (db/migrations/0028).
			const msg = dbErrorMessage(err);
			if (msg) return formError('invite', data, msg, { email: msg }, 409);
			throw err;
		}
		return {
			form: 'invite',
			message: `Invitation saved for ${v.data.email}. Tell them to sign in (or sign up) with that email: the invitation waits on their Businesses page for 14 days.`
		};
	},

	revokeInvite: async ({ locals, params, request, url }) => {
		const { business } = await requireMembership(locals, params.businessId, { manage: true, url });
		const data = await request.formData();
		const id = String(data.get('invitationId') ?? '');
		if (!isUuid(id)) error(404, 'Not found');
		const r = await db().deleteFrom('business_invitations').where('id', '=', id).where('business_id', '=', business.id).executeTakeFirst();
		if (!r.numDeletedRows) error(404, 'Not found');
		return { form: 'revoke', message: 'Invitation withdrawn.' };
	},

	remove: async ({ locals, params, request, url }) => {
		const { business } = await requireMembership(locals, params.businessId, { manage: true, url });
		const data = await request.formData();
		const userId = String(data.get('userId') ?? '');
		try {
			const r = await db()
				.deleteFrom('business_members')
				.where('business_id', '=', business.id)
				.where('user_id', '=', userId)
				.executeTakeFirst();
			if (!r.numDeletedRows) error(404, 'Not found');
		} catch (err) {
			// The last owner stays (db/migrations/0028).
			const msg = dbErrorMessage(err);
			if (msg) return formError('remove', data, msg, {}, 409);
			throw err;
		}
		closeStreamsForMember(business.id, userId);
		return { form: 'remove', message: 'Member removed.' };
	}
});
