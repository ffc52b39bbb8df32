import { redirect } from '@sveltejs/kit';
import { auth } from '$lib/server/auth.ts';
import { forgetSession } from '$lib/server/session-cache.ts';
import { closeStreamsForSession } from '$lib/server/stream-guard.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = () => redirect(303, '/');

export const actions: Actions = {
	default: async ({ request, url, locals }) => {
		// Clears the session and its cache cookie (set on the response by the sveltekitCookies plugin).
		if (locals.session) {
			closeStreamsForSession(locals.session.id);
			forgetSession(locals.session.id);
			await auth(url.origin).api.signOut({ headers: request.headers });
		}
		redirect(303, '/login');
	}
};
