import { error } from '@sveltejs/kit';
import { z } from 'zod';
import { removeVideo } from '$lib/server/deletion.ts';
import { dbErrorMessage } from '$lib/server/errors.ts';
import { formError, validate } from '$lib/server/forms.ts';
import { LIBRARY_FILTERS, libraryQuery, listLibrary } from '$lib/server/library.ts';
import { latestEventId } from '$lib/server/live.ts';
import { errInfo, log } from '$lib/server/log.ts';
import { requireMembership } from '$lib/server/tenancy.ts';
import type { Actions, PageServerLoad } from './$types';
import { redirectAfterPost, takeFormResult } from '$lib/server/post-redirect.ts';

export const load: PageServerLoad = async ({ locals, params, url, cookies }) => {
	const { business } = await requireMembership(locals, params.businessId, { url });
	// Checked before any query: an unknown filter or a broken cursor is a 400 that says what is wrong.
	const query = libraryQuery(url);
	const [page, lastEventId] = await Promise.all([listLibrary(business.id, query), latestEventId(business.id)]);
	return {
		...page,
		query: { q: query.q, status: query.status, after: query.after },
		filters: LIBRARY_FILTERS,
		lastEventId,
		flash: takeFormResult(cookies, url)
	};
};

const videoSchema = z.object({ jobId: z.uuid('Unknown video.') });

export const actions: Actions = redirectAfterPost({
	/** Deletes a finished video's files (the job row and its history stay, with an event saying so). */
	deleteVideo: async ({ locals, params, request, url }) => {
		const { business } = await requireMembership(locals, params.businessId, { url });
		const data = await request.formData();
		const v = validate('deleteVideo', videoSchema, data);
		if (!v.ok) return v.failure;
		let title: string | null;
		try {
			title = await removeVideo(locals.user!.id, business.id, v.data.jobId);
		} catch (err) {
			const msg = dbErrorMessage(err);
			if (msg) return formError('deleteVideo', data, msg, {}, 409);
			log().error({ err: errInfo(err), jobId: v.data.jobId }, 'delete video failed');
			throw err;
		}
		if (title === null) error(404, 'Not found');
		return {
			form: 'deleteVideo',
			message: `Deleting the video of “${title}”: its files are removed in a moment. Its history stays on the Jobs page.`
		};
	}
});
