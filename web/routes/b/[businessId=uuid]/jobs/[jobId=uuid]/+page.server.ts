import { error } from '@sveltejs/kit';
import { jobEvents } from '$lib/server/job-audit.ts';
import { businessJob } from '$lib/server/jobs.ts';
import { requireMembership } from '$lib/server/tenancy.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, params, url }) => {
	const { business } = await requireMembership(locals, params.businessId, { url });
	const [job, events] = await Promise.all([businessJob(business.id, params.jobId), jobEvents(business.id, params.jobId)]);
	if (!job) error(404, 'Not found');
	return { job, events };
};
