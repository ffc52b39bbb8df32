import { redirect } from '@sveltejs/kit';
import { auth } from '$lib/server/auth.ts';
import { closeStreamsForSession } from '$lib/server/stream-guard.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = () => redirect(303, '/');

export const actions: Actions = {
	default: async ({ request, url, locals }) => {
		// Deletes the session row (every later request with its cookie is refused) and clears the cookie.
		if (locals.session) {
			closeStreamsForSession(locals.session.id);
			await auth(url.origin).api.signOut({ headers: request.headers });
		}
		redirect(303, '/login');
	}
};
