import { error, redirect, type RequestEvent } from '@sveltejs/kit';
import { sql, type Selectable } from 'kysely';
import type { Businesses } from '$db/types.ts';
import { z } from 'zod';
import { db } from '$lib/server/db.ts';
import { validate } from '$lib/server/forms.ts';
import { lineField } from '$lib/server/text-rules.ts';
import { isUuid, listBusinesses, requireUser } from '$lib/server/tenancy.ts';
import type { Actions, PageServerLoad } from './$types';
import { redirectAfterPost, takeFormResult } from '$lib/server/post-redirect.ts';

export const load: PageServerLoad = async ({ locals, url, cookies }) => {
	const user = requireUser(locals, url);
	const [businesses, invitations] = await Promise.all([listBusinesses(user.id), pendingInvitations(user.email)]);
	return { businesses, invitations, flash: takeFormResult(cookies, url) };
};

/** The signed-in person and the invitation their Accept or Decline button posted (a 404 unless a uuid). */
async function invitationForm({ request, locals, url }: RequestEvent) {
	const user = requireUser(locals, url);
	const id = String((await request.formData()).get('invitationId') ?? '');
	if (!isUuid(id)) error(404, 'Not found');
	return { user, id };
}

/** Invitations addressed to the signed-in person's email, newest first. */
function pendingInvitations(email: string) {
	return db()
		.selectFrom('business_invitations as i')
		.innerJoin('businesses as b', 'b.id', 'i.business_id')
		.leftJoin('auth_users as u', 'u.id', 'i.invited_by')
		.select(['i.id', 'i.role', 'i.created_at', 'b.name as business_name', 'u.name as invited_by_name'])
		.where('i.email', '=', email.toLowerCase())
		.where('i.expires_at', '>', sql<Date>`now()`)
		.orderBy('i.created_at', 'desc')
		.execute();
}

const schema = z.object({
	name: lineField('The name', { max: 200, required: 'Give the business a name.' })
});

export const actions: Actions = redirectAfterPost({
	create: async ({ request, locals, url }) => {
		const user = requireUser(locals, url);
		const data = await request.formData();
		const v = validate('create', schema, data);
		if (!v.ok) return v.failure;
		const id = await db()
			.transaction()
			.execute(async (trx) => {
				const b = await trx.insertInto('businesses').values({ name: v.data.name }).returning('id').executeTakeFirstOrThrow();
				await trx.insertInto('business_members').values({ business_id: b.id, user_id: user.id, role: 'owner' }).execute();
				return b.id;
			});
		redirect(303, `/b/${id}`);
	},

	accept: async (event) => {
		const { user, id } = await invitationForm(event);
		const accepted = await db()
			.selectNoFrom((eb) =>
				eb
					.fn<Selectable<Businesses>['id'] | null>('accept_business_invitation', [eb.val(id), eb.val(user.id), eb.val(user.email)])
					.as('business_id')
			)
			.executeTakeFirstOrThrow();
		const businessId = accepted.business_id;
		if (!businessId) error(404, 'That invitation was withdrawn, has expired or is not addressed to you.');
		redirect(303, `/b/${businessId}`);
	},

	decline: async (event) => {
		const { user, id } = await invitationForm(event);
		const r = await db()
			.deleteFrom('business_invitations')
			.where('id', '=', id)
			.where('email', '=', user.email.toLowerCase())
			.executeTakeFirst();
		if (!r.numDeletedRows) error(404, 'Not found');
		return { form: 'decline', message: 'Invitation declined.' };
	}
});
