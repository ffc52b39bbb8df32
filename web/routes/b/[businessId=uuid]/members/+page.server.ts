import { error } from '@sveltejs/kit';
import { sql } from 'kysely';
import { z } from 'zod';
import { db } from '$lib/server/db.ts';
import { formError, validate } from '$lib/server/forms.ts';
import { requireMembership } from '$lib/server/tenancy.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, params, url }) => {
	const { business } = await requireMembership(locals, params.businessId, { url });
	const members = await db()
		.selectFrom('business_members as m')
		.leftJoin('auth_users as u', 'u.id', 'm.user_id')
		.select(['m.user_id', 'm.role', 'm.created_at', 'u.name', 'u.email'])
		.where('m.business_id', '=', business.id)
		.orderBy(sql`case m.role when 'owner' then 0 when 'admin' then 1 else 2 end`)
		.orderBy('u.name')
		.execute();
	return { members, me: locals.user!.id };
};

const addSchema = z.object({
	email: z.string().trim().toLowerCase().pipe(z.email('Enter the email address of their account.')),
	role: z.enum(['admin', 'member'], 'Choose a role.')
});

export const actions: Actions = {
	add: async ({ locals, params, request, url }) => {
		const { business } = await requireMembership(locals, params.businessId, { manage: true, url });
		const data = await request.formData();
		const v = validate('add', addSchema, data);
		if (!v.ok) return v.failure;
		const user = await db().selectFrom('auth_users').select(['id', 'name']).where('email', '=', v.data.email).executeTakeFirst();
		if (!user) {
			return formError('add', data, 'No account uses that email.', { email: 'No account uses this email. Ask them to sign up first, then add them here.' });
		}
		const r = await db()
			.insertInto('business_members')
			.values({ business_id: business.id, user_id: user.id, role: v.data.role })
			.onConflict((oc) => oc.columns(['business_id', 'user_id']).doNothing())
			.returning('user_id')
			.executeTakeFirst();
		if (!r) return formError('add', data, `${user.name} is already a member.`, { email: 'Already a member.' });
		return { form: 'add', message: `${user.name} can now work on ${business.name}.` };
	},

	remove: async ({ locals, params, request, url }) => {
		const { business } = await requireMembership(locals, params.businessId, { manage: true, url });
		const data = await request.formData();
		const userId = String(data.get('userId') ?? '');
		const result = await db()
			.transaction()
			.execute(async (trx) => {
				const rows = await trx.selectFrom('business_members').select(['user_id', 'role']).where('business_id', '=', business.id).forUpdate().execute();
				const target = rows.find((r) => r.user_id === userId);
				if (!target) return 'missing' as const;
				if (target.role === 'owner' && rows.filter((r) => r.role === 'owner').length === 1) return 'last-owner' as const;
				await trx.deleteFrom('business_members').where('business_id', '=', business.id).where('user_id', '=', userId).execute();
				return 'ok' as const;
			});
		if (result === 'missing') error(404, 'Not found');
		if (result === 'last-owner') return formError('remove', data, 'The last owner cannot be removed.', {}, 409);
		return { form: 'remove', message: 'Member removed.' };
	}
};
