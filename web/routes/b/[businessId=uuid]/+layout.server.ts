import { requireMembership } from '$lib/server/tenancy.ts';
import type { LayoutServerLoad } from './$types';

export const load: LayoutServerLoad = async ({ locals, params, url }) => {
	const m = await requireMembership(locals, params.businessId, { url });
	return { business: m.business, role: m.role, canManage: m.canManage, businesses: m.businesses };
};
