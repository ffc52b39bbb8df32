import { error } from '@sveltejs/kit';
import { z } from 'zod';
import { db } from '$lib/server/db.ts';
import { dbErrorMessage } from '$lib/server/errors.ts';
import { formError, validate } from '$lib/server/forms.ts';
import { jobEvents } from '$lib/server/job-audit.ts';
import { businessJob, cancelJob, findJob, retryJob } from '$lib/server/jobs.ts';
import { approveJob, rejectJob } from '$lib/server/spend-guard.ts';
import { lineField } from '$lib/server/text-rules.ts';
import { requireMembership } from '$lib/server/tenancy.ts';
import type { JobPhase } from '$lib/job-timeline.ts';
import type { Actions, PageServerLoad } from './$types';
import { redirectAfterPost, takeFormResult } from '$lib/server/post-redirect.ts';

/** The script as the job froze it at insert (what it sends to HeyGen, and Retry sends again). */
async function jobScript(businessId: string, jobId: string): Promise<string | null> {
	const row = await db()
		.selectFrom('video_jobs')
		.select('script')
		.where('id', '=', jobId)
		.where('business_id', '=', businessId)
		.executeTakeFirst();
	return row?.script ?? null;
}

export const load: PageServerLoad = async ({ locals, params, url, cookies }) => {
	const { business } = await requireMembership(locals, params.businessId, { url });
	const [job, events, script] = await Promise.all([
		businessJob(business.id, params.jobId),
		jobEvents(business.id, params.jobId),
		jobScript(business.id, params.jobId)
	]);
	if (!job) error(404, 'Not found');
	// The live stream continues after the last event shown (the job's own are the only ones the page reads).
	return { job, events, script, lastEventId: events.at(-1)?.id ?? 0, flash: takeFormResult(cookies, url) };
};

const jobSchema = z.object({ jobId: z.uuid('Unknown video job.') });
const rejectSchema = z.object({
	jobId: z.uuid('Unknown video job.'),
	reason: lineField('The reason', {
		max: 500,
		required: 'Say why the video is rejected (the person who asked sees it).',
		tooLong: 'Keep the reason under 500 characters.'
	})
});

/**
 * Runs one of the job's SQL functions; a refusal of SQL's (the job moved on meanwhile) is the
 * form's message. The success says what happened, its kind (none of these is an error) and the
 * phase it leaves the job in (jobPhase: 'active' while it is being made, else its status): the
 * page drops the message once the job is in another phase ("Retrying…" goes when it finished).
 */
async function act(
	form: string,
	data: FormData,
	run: () => Promise<void>,
	done: { message: string; about: JobPhase; kind?: 'success' | 'info' }
) {
	try {
		await run();
	} catch (err) {
		const msg = dbErrorMessage(err);
		if (msg) return formError(form, data, msg, {}, 409);
		throw err;
	}
	return { form, kind: done.kind ?? 'info', message: done.message, about: done.about };
}

/** This business's job named by the path, which the form must name too (a stale or forged form is refused). */
async function pathJob(businessId: string, pathJobId: string, formJobId: string) {
	const job = formJobId === pathJobId ? await findJob(businessId, formJobId) : undefined;
	if (!job) error(404, 'Not found');
	return job;
}

export const actions: Actions = redirectAfterPost({
	cancel: async ({ locals, params, request, url }) => {
		const m = await requireMembership(locals, params.businessId, { url });
		const data = await request.formData();
		const v = validate('cancel', jobSchema, data);
		if (!v.ok) return v.failure;
		const job = await pathJob(m.business.id, params.jobId, v.data.jobId);
		return act('cancel', data, () => cancelJob(locals.user!.id, job.id, `Canceled by ${locals.user!.name}`), {
			message: 'Video canceled.',
			about: 'canceled'
		});
	},

	retry: async ({ locals, params, request, url }) => {
		const m = await requireMembership(locals, params.businessId, { url });
		const data = await request.formData();
		const v = validate('retry', jobSchema, data);
		if (!v.ok) return v.failure;
		const job = await pathJob(m.business.id, params.jobId, v.data.jobId);
		return act('retry', data, () => retryJob(locals.user!.id, job.id), {
			message: 'Retrying: the video is queued again with the same inputs.',
			about: 'active'
		});
	},

	approve: async ({ locals, params, request, url }) => {
		const m = await requireMembership(locals, params.businessId, { manage: true, url });
		const data = await request.formData();
		const v = validate('approve', jobSchema, data);
		if (!v.ok) return v.failure;
		const job = await pathJob(m.business.id, params.jobId, v.data.jobId);
		return act('approve', data, () => approveJob(locals.user!.id, job.id), {
			message: 'Approved: the video is queued and goes to HeyGen.',
			kind: 'success',
			about: 'active'
		});
	},

	reject: async ({ locals, params, request, url }) => {
		const m = await requireMembership(locals, params.businessId, { manage: true, url });
		const data = await request.formData();
		const v = validate('reject', rejectSchema, data);
		if (!v.ok) return v.failure;
		const job = await pathJob(m.business.id, params.jobId, v.data.jobId);
		return act('reject', data, () => rejectJob(locals.user!.id, job.id, v.data.reason), {
			message: 'Rejected: the video was canceled.',
			about: 'canceled'
		});
	}
});
