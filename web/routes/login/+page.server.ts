import { redirect } from '@sveltejs/kit';
import { z } from 'zod';
import { auth, authFailure } from '$lib/server/auth.ts';
import { formError, validate } from '$lib/server/forms.ts';
import { errInfo, log } from '$lib/server/log.ts';
import { loginLimiter } from '$lib/server/rate-limit.ts';
import { safeNext } from '$lib/server/redirects.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = ({ locals, url }) => {
	if (locals.user) redirect(303, safeNext(url.searchParams.get('next')));
};

const schema = z.object({
	email: z.string().trim().toLowerCase().pipe(z.email('Enter the email address you signed up with.')),
	password: z.string().min(1, 'Enter your password.').max(128, 'Use at most 128 characters.')
});

export const actions: Actions = {
	default: async ({ request, url, getClientAddress }) => {
		const data = await request.formData();
		const v = validate('login', schema, data);
		if (!v.ok) return v.failure;
		const limitKey = `${getClientAddress()}|${v.data.email}`;
		const wait = loginLimiter.hit(limitKey);
		if (wait) return formError('login', data, `Too many attempts. Try again in ${Math.ceil(wait / 60)} minutes.`, {}, 429);
		try {
			await auth(url.origin).api.signInEmail({
				body: { email: v.data.email, password: v.data.password, rememberMe: true },
				headers: request.headers
			});
			loginLimiter.reset(limitKey);
		} catch (err) {
			const f = authFailure(err);
			if (f && f.status === 401) return formError('login', data, 'Wrong email or password.');
			if (f && f.status < 500) return formError('login', data, f.message);
			log().error({ err: errInfo(err) }, 'sign-in failed');
			return formError('login', data, 'Could not log in right now. Try again in a moment.', {}, 500);
		}
		redirect(303, safeNext(url.searchParams.get('next')));
	}
};
