import { error } from '@sveltejs/kit';
import { z } from 'zod';
import { db } from '$lib/server/db.ts';
import { CONTENT_SORTS, contentListQuery, listContent } from '$lib/server/content-list.ts';
import { deleteContent } from '$lib/server/deletion.ts';
import { dbErrorMessage } from '$lib/server/errors.ts';
import { formError, validate } from '$lib/server/forms.ts';
import { errInfo, log } from '$lib/server/log.ts';
import { requireMembership } from '$lib/server/tenancy.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, params, url }) => {
	const { business } = await requireMembership(locals, params.businessId, { url });
	// Checked before any query: an unknown sort or a broken cursor is a 400 that says what is wrong.
	const query = contentListQuery(url);
	const [list, counts] = await Promise.all([
		listContent(business.id, query),
		db()
			.selectFrom('businesses as b')
			.select((eb) => [
				eb.exists(eb.selectFrom('content').select('id').where('business_id', '=', business.id)).as('has_content'),
				eb
					.exists(eb.selectFrom('video_jobs').select('id').where('business_id', '=', business.id).where('status', '=', 'completed'))
					.as('has_video')
			])
			.where('b.id', '=', business.id)
			.executeTakeFirst()
	]);
	return {
		content: list.rows,
		next: list.next,
		query: { q: query.q, sort: query.sort, after: query.after },
		sorts: CONTENT_SORTS,
		setup: {
			key: business.has_key,
			voice: !!(business.heygen_avatar_id && business.heygen_voice_id),
			content: !!counts?.has_content,
			video: !!counts?.has_video
		}
	};
};

const contentSchema = z.object({ contentId: z.uuid('Unknown content.') });

export const actions: Actions = {
	/** Deletes one content (and its videos' files); refused while one of its videos is in progress. */
	deleteContent: async ({ locals, params, request, url }) => {
		const { business } = await requireMembership(locals, params.businessId, { url });
		const data = await request.formData();
		const v = validate('deleteContent', contentSchema, data);
		if (!v.ok) return v.failure;
		let title: string | null;
		try {
			title = await deleteContent(locals.user!.id, business.id, v.data.contentId);
		} catch (err) {
			const msg = dbErrorMessage(err);
			if (msg) return formError('deleteContent', data, msg, {}, 409);
			log().error({ err: errInfo(err), contentId: v.data.contentId }, 'delete content failed');
			throw err;
		}
		if (title === null) error(404, 'Not found');
		return { form: 'deleteContent', message: `Deleted “${title}” and its videos.` };
	}
};
