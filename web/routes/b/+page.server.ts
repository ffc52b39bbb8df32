import { redirect } from '@sveltejs/kit';
import { z } from 'zod';
import { db } from '$lib/server/db.ts';
import { validate } from '$lib/server/forms.ts';
import { listBusinesses, requireUser } from '$lib/server/tenancy.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, url }) => {
	const user = requireUser(locals, url);
	return { businesses: await listBusinesses(user.id) };
};

const schema = z.object({
	name: z.string().trim().min(1, 'Give the business a name.').max(200, 'Use at most 200 characters.')
});

export const actions: Actions = {
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
	}
};
