import { redirect } from '@sveltejs/kit';
import { applyAuthCookies, auth } from '$lib/server/auth.ts';
import { forgetSession, sessionCookie } from '$lib/server/session-cache.ts';
import { closeStreamsForSession } from '$lib/server/stream-guard.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = () => redirect(303, '/');

export const actions: Actions = {
	default: async ({ request, cookies, url, locals }) => {
		forgetSession(sessionCookie(cookies));
		if (locals.session) {
			closeStreamsForSession(locals.session.id);
			const { headers } = await auth(url.origin).api.signOut({ headers: request.headers, returnHeaders: true });
			applyAuthCookies(headers, cookies);
		}
		redirect(303, '/login');
	}
};
