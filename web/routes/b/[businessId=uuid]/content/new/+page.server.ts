import { redirect } from '@sveltejs/kit';
import { contentSchema } from '$lib/server/content.ts';
import { db } from '$lib/server/db.ts';
import { validate } from '$lib/server/forms.ts';
import { requireMembership } from '$lib/server/tenancy.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, params, url }) => {
	await requireMembership(locals, params.businessId, { url });
};

export const actions: Actions = {
	default: async ({ locals, params, request, url }) => {
		const { business } = await requireMembership(locals, params.businessId, { url });
		const data = await request.formData();
		const v = validate('content', contentSchema, data);
		if (!v.ok) return v.failure;
		const row = await db()
			.insertInto('content')
			.values({ business_id: business.id, title: v.data.title, body: v.data.body })
			.returning('id')
			.executeTakeFirstOrThrow();
		redirect(303, `/b/${business.id}/content/${row.id}`);
	}
};
