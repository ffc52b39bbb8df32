import { redirect } from '@sveltejs/kit';
import { z } from 'zod';
import { auth, authFailure } from '$lib/server/auth.ts';
import { formError, validate } from '$lib/server/forms.ts';
import { errInfo, log } from '$lib/server/log.ts';
import { signupLimiter } from '$lib/server/rate-limit.ts';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, passwordLengthProblem, passwordProblem } from '$lib/server/password-policy.ts';
import { safeNext } from '$lib/server/redirects.ts';
import { lineField } from '$lib/server/text-rules.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = ({ locals, url }) => {
	if (locals.user) redirect(303, safeNext(url.searchParams.get('next')));
};

const schema = z.object({
	name: lineField('Your name', { max: 100, required: 'Enter your name.' }),
	email: z.string().trim().toLowerCase().pipe(z.email('Enter a valid email address, like name@example.com.')),
	password: z.string().superRefine((password, ctx) => {
		const problem = passwordLengthProblem(password);
		if (problem) ctx.addIssue({ code: 'custom', message: problem });
	})
});

export const actions: Actions = {
	default: async ({ request, url, getClientAddress }) => {
		const data = await request.formData();
		const v = validate('signup', schema, data);
		if (!v.ok) return v.failure;
		const wait = signupLimiter.hit(getClientAddress());
		if (wait)
			return formError('signup', data, `Too many sign-ups from your network. Try again in ${Math.ceil(wait / 60)} minutes.`, {}, 429);
		// The strength estimate (with the name and email as known words) is the costly check: after the limit.
		const weak = passwordProblem(v.data.password, { email: v.data.email, name: v.data.name });
		if (weak) return formError('signup', data, 'Please fix the highlighted field.', { password: weak });
		try {
			// A taken email gets the same answer as a new one, after the same password hashing (see
			// autoSignIn in auth-options.ts); its account is left as it was.
			await auth(url.origin).api.signUpEmail({
				body: { name: v.data.name, email: v.data.email, password: v.data.password },
				headers: request.headers
			});
		} catch (err) {
			const f = authFailure(err);
			if (f?.code === 'PASSWORD_TOO_SHORT')
				return formError('signup', data, 'Password too short.', { password: `Use at least ${MIN_PASSWORD_LENGTH} characters.` });
			if (f?.code === 'PASSWORD_TOO_LONG')
				return formError('signup', data, 'Password too long.', { password: `Use at most ${MAX_PASSWORD_LENGTH} characters.` });
			if (f && f.status < 500) return formError('signup', data, f.message);
			log().error({ err: errInfo(err) }, 'sign-up failed');
			return formError('signup', data, 'Could not create the account right now. Try again in a moment.', {}, 500);
		}
		// Not signed in here: signing in only a new account would tell which emails were taken.
		const params = new URLSearchParams({ signedUp: '1' });
		const next = url.searchParams.get('next');
		if (next) params.set('next', safeNext(next));
		redirect(303, `/login?${params}`);
	}
};
