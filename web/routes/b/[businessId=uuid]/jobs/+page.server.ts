import { JOB_STATUSES } from '$db/job-states.ts';
import { businessJobs } from '$lib/server/jobs.ts';
import { latestEventId } from '$lib/server/live.ts';
import { requireMembership } from '$lib/server/tenancy.ts';
import type { PageServerLoad } from './$types';

const FILTERS = ['active', ...JOB_STATUSES] as const;
const isFilter = (s: string | null): s is (typeof FILTERS)[number] => (FILTERS as readonly (string | null)[]).includes(s);
const PAGE = 100;

export const load: PageServerLoad = async ({ locals, params, url }) => {
	const { business } = await requireMembership(locals, params.businessId, { url });
	const s = url.searchParams.get('status');
	const status = isFilter(s) ? s : null;
	const beforeParam = url.searchParams.get('before');
	const before = beforeParam && !Number.isNaN(Date.parse(beforeParam)) ? new Date(beforeParam) : null;
	const [jobs, lastEventId] = await Promise.all([
		businessJobs(business.id, { status, before, limit: PAGE + 1 }),
		latestEventId(business.id)
	]);
	return {
		jobs: jobs.slice(0, PAGE),
		older: jobs.length > PAGE ? jobs[PAGE - 1]!.createdAt : null,
		status,
		before: before ? before.toISOString() : null,
		filters: FILTERS,
		lastEventId
	};
};
