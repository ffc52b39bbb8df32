import { error } from '@sveltejs/kit';
import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { z } from 'zod';
import { v3Options, videoOptionsSchema } from '$heygen/index.ts';
import { asUser, db } from '$lib/server/db.ts';
import { createJob, FormReusedError } from '$lib/server/jobs.ts';
import { CONTENT_SORTS, contentListQuery, listContent } from '$lib/server/content-list.ts';
import { deleteContent } from '$lib/server/deletion.ts';
import { dbErrorMessage } from '$lib/server/errors.ts';
import { formError, validate } from '$lib/server/forms.ts';
import { errInfo, log } from '$lib/server/log.ts';
import { latestEventId } from '$lib/server/live.ts';
import { requireMembership } from '$lib/server/tenancy.ts';
import type { Actions, PageServerLoad } from './$types';
import { redirectAfterPost, takeFormResult } from '$lib/server/post-redirect.ts';

export const load: PageServerLoad = async ({ locals, params, url, cookies }) => {
	const { business } = await requireMembership(locals, params.businessId, { url });
	// Checked before any query: an unknown sort or a broken cursor is a 400 that says what is wrong.
	const query = contentListQuery(url);
	const [list, lastEventId, counts] = await Promise.all([
		listContent(business.id, query),
		latestEventId(business.id),
		db()
			.selectFrom('businesses as b')
			.select((eb) => [
				eb.exists(eb.selectFrom('content').select('id').where('business_id', '=', business.id)).as('has_content'),
				eb
					.exists(eb.selectFrom('video_jobs').select('id').where('business_id', '=', business.id).where('status', '=', 'completed'))
					.as('has_video'),
				// Out-of-date videos of the whole business, for "Regenerate all" (content_stale_idx).
				eb
					.selectFrom('content')
					.select((eb) => eb.fn.countAll<string>().as('n'))
					.where('business_id', '=', business.id)
					.where('video_is_stale', '=', true)
					.as('stale')
			])
			.where('b.id', '=', business.id)
			.executeTakeFirst()
	]);
	return {
		flash: takeFormResult(cookies, url),
		content: list.rows,
		next: list.next,
		query: { q: query.q, sort: query.sort, after: query.after, stale: query.stale },
		lastEventId,
		staleCount: Number(counts?.stale ?? 0),
		// One key per view of the page: each row's Regenerate is idempotent (a double click makes one video).
		regenerateKey: randomUUID(),
		now: new Date().toISOString(),
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
const regenerateSchema = contentSchema.extend({ key: z.uuid('The page is out of date; reload it.') });

/** A job's failure as this form's message (a refusal from SQL), or a rethrow for anything unexpected. */
function refused(form: string, data: FormData, err: unknown, what: string, id: string) {
	const msg = dbErrorMessage(err) ?? (err instanceof FormReusedError ? err.message : null);
	if (msg) return formError(form, data, msg, {}, 409);
	log().error({ err: errInfo(err), id }, `${what} failed`);
	throw err;
}

export const actions: Actions = redirectAfterPost({
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
			return refused('deleteContent', data, err, 'delete content', v.data.contentId);
		}
		if (title === null) error(404, 'Not found');
		return { form: 'deleteContent', message: `Deleted “${title}” and its videos.` };
	},

	/** A new video of one out-of-date content, in the format of its current video. */
	regenerate: async ({ locals, params, request, url }) => {
		const { business } = await requireMembership(locals, params.businessId, { url });
		const data = await request.formData();
		const v = validate('regenerate', regenerateSchema, data);
		if (!v.ok) return v.failure;
		const content = await db()
			.selectFrom('content as c')
			.select((eb) => [
				'c.id',
				'c.title',
				eb
					.selectFrom('video_jobs as j')
					.select('j.options')
					.whereRef('j.content_id', '=', 'c.id')
					.where('j.kind', '=', 'avatar')
					.where('j.status', '=', 'completed')
					.orderBy('j.completed_at', 'desc')
					.limit(1)
					.as('options')
			])
			.where('c.id', '=', v.data.contentId)
			.where('c.business_id', '=', business.id)
			.executeTakeFirst();
		if (!content) error(404, 'Not found');
		try {
			const r = await createJob({
				userId: locals.user!.id,
				businessId: business.id,
				contentId: content.id,
				options: videoOptionsSchema.parse({ ...v3Options(content.options ?? {}), title: content.title.slice(0, 200) }),
				idempotencyKey: `regenerate:${v.data.key}:${content.id}`
			});
			return {
				form: 'regenerate',
				message:
					r.status === 'awaiting_approval'
						? `The new video of “${content.title}” waits for approval (Approvals).`
						: `Making a new video of “${content.title}”.`
			};
		} catch (err) {
			return refused('regenerate', data, err, 'regenerate', content.id);
		}
	},

	/** One new video per out-of-date content, in one statement (SQL regenerate_stale_videos). */
	regenerateStale: async ({ locals, params, request, url }) => {
		const { business } = await requireMembership(locals, params.businessId, { url });
		const data = await request.formData();
		let made: number;
		try {
			made = await asUser(locals.user!.id, async (trx) => {
				const { rows } = await sql<{ n: number }>`select regenerate_stale_videos(${business.id}::uuid) as n`.execute(trx);
				return rows[0]!.n;
			});
		} catch (err) {
			return refused('regenerateStale', data, err, 'regenerate stale', business.id);
		}
		return {
			form: 'regenerateStale',
			made,
			message:
				made === 0
					? 'No out-of-date video needed a new one (those with a video on its way are left alone).'
					: `Making ${made} new ${made === 1 ? 'video' : 'videos'} for out-of-date content.`
		};
	}
});
