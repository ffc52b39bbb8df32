import { error, redirect } from '@sveltejs/kit';
import { contentSchema } from '$lib/server/content.ts';
import { db } from '$lib/server/db.ts';
import { validate } from '$lib/server/forms.ts';
import { requireMembership } from '$lib/server/tenancy.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, params, url }) => {
	const { business } = await requireMembership(locals, params.businessId, { url });
	const content = await db()
		.selectFrom('content')
		.select(['id', 'title', 'body'])
		.where('id', '=', params.contentId)
		.where('business_id', '=', business.id)
		.executeTakeFirst();
	if (!content) error(404, 'Not found');
	return { content };
};

export const actions: Actions = {
	default: async ({ locals, params, request, url }) => {
		const { business } = await requireMembership(locals, params.businessId, { url });
		const data = await request.formData();
		const v = validate('content', contentSchema, data);
		if (!v.ok) return v.failure;
		const r = await db()
			.updateTable('content')
			.set({ title: v.data.title, body: v.data.body })
			.where('id', '=', params.contentId)
			.where('business_id', '=', business.id)
			.executeTakeFirst();
		if (!r.numUpdatedRows) error(404, 'Not found');
		redirect(303, `/b/${business.id}/content/${params.contentId}`);
	}
};
