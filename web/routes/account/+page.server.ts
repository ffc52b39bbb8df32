import { requireUser } from '$lib/server/tenancy.ts';
import type { PageServerLoad } from './$types';

/** Who is signed in; no query of its own (the session comes from the hooks), so it is also the
 * trivial page npm run bench:web compares the content page with. */
export const load: PageServerLoad = ({ locals, url }) => {
	const user = requireUser(locals, url);
	return { account: { name: user.name, email: user.email } };
};
