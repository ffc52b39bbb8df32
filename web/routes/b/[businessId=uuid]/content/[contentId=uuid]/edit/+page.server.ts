import { error } from '@sveltejs/kit';
import { saveContent } from '$lib/server/content.ts';
import { db } from '$lib/server/db.ts';
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
	default: (event) =>
		saveContent(event, async (businessId, { title, body }) => {
			const r = await db()
				.updateTable('content')
				.set({ title, body })
				.where('id', '=', event.params.contentId)
				.where('business_id', '=', businessId)
				.executeTakeFirst();
			return r.numUpdatedRows ? event.params.contentId : null;
		})
};
