import { error } from '@sveltejs/kit';
import { z } from 'zod';
import { dbErrorMessage } from '$lib/server/errors.ts';
import { formError, validate } from '$lib/server/forms.ts';
import { findJob } from '$lib/server/jobs.ts';
import { lineField } from '$lib/server/text-rules.ts';
import { latestEventId } from '$lib/server/live.ts';
import { approveJob, awaitingApproval, rejectJob } from '$lib/server/spend-guard.ts';
import { requireMembership } from '$lib/server/tenancy.ts';
import type { Actions, PageServerLoad } from './$types';
import { redirectAfterPost, takeFormResult } from '$lib/server/post-redirect.ts';

export const load: PageServerLoad = async ({ locals, params, url, cookies }) => {
	const { business } = await requireMembership(locals, params.businessId, { url });
	// Members see what waits (read-only); only owners and admins get the buttons and may post them.
	const [jobs, lastEventId] = await Promise.all([awaitingApproval(business.id), latestEventId(business.id)]);
	return { jobs, lastEventId, flash: takeFormResult(cookies, url) };
};

const jobId = z.uuid('That is not a job of this business. Reload the page.');
const approveSchema = z.object({ jobId });
const rejectSchema = z.object({
	jobId,
	reason: lineField('The reason', {
		max: 500,
		required: 'Say why the video is rejected (the person who asked sees it).',
		tooLong: 'Keep the reason under 500 characters.'
	})
});

/** The job, if it is this business's; a job id of another business is answered like an unknown one. */
async function heldJob(businessId: string, id: string) {
	const job = await findJob(businessId, id);
	if (!job) error(404, 'Not found');
	return job;
}

async function decide(form: string, data: FormData, act: () => Promise<void>, done: string) {
	try {
		await act();
	} catch (err) {
		const msg = dbErrorMessage(err);
		if (msg) return formError(form, data, msg, {}, 409);
		throw err;
	}
	return { form, message: done, jobId: String(data.get('jobId')) };
}

export const actions: Actions = redirectAfterPost({
	approve: async ({ locals, params, request, url }) => {
		const m = await requireMembership(locals, params.businessId, { manage: true, url });
		const data = await request.formData();
		const v = validate('approve', approveSchema, data);
		if (!v.ok) return v.failure;
		const job = await heldJob(m.business.id, v.data.jobId);
		return decide('approve', data, () => approveJob(locals.user!.id, job.id), 'Approved: the video is queued and goes to HeyGen.');
	},

	reject: async ({ locals, params, request, url }) => {
		const m = await requireMembership(locals, params.businessId, { manage: true, url });
		const data = await request.formData();
		const v = validate('reject', rejectSchema, data);
		if (!v.ok) return v.failure;
		const job = await heldJob(m.business.id, v.data.jobId);
		return decide('reject', data, () => rejectJob(locals.user!.id, job.id, v.data.reason), 'Rejected: the video was canceled.');
	}
});
