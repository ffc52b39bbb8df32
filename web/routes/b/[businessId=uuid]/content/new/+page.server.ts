import { saveContent } from '$lib/server/content.ts';
import { db } from '$lib/server/db.ts';
import { requireMembership } from '$lib/server/tenancy.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, params, url }) => {
	await requireMembership(locals, params.businessId, { url });
};

export const actions: Actions = {
	default: (event) =>
		saveContent(event, async (businessId, { title, body }) => {
			const row = await db()
				.insertInto('content')
				.values({ business_id: businessId, title, body })
				.returning('id')
				.executeTakeFirstOrThrow();
			return row.id;
		})
};
