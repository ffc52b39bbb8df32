import { redirect } from '@sveltejs/kit';
import { z } from 'zod';
import { auth, authFailure } from '$lib/server/auth.ts';
import { formError, validate } from '$lib/server/forms.ts';
import { errInfo, log } from '$lib/server/log.ts';
import { signupLimiter } from '$lib/server/rate-limit.ts';
import { MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH, passwordProblem } from '$lib/server/password-policy.ts';
import { safeNext } from '$lib/server/redirects.ts';
import { lineField } from '$lib/server/text-rules.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = ({ locals, url }) => {
	if (locals.user) redirect(303, safeNext(url.searchParams.get('next')));
};

const schema = z
	.object({
		name: lineField('Your name', { max: 100, required: 'Enter your name.' }),
		email: z.string().trim().toLowerCase().pipe(z.email('Enter a valid email address, like name@example.com.')),
		password: z.string().superRefine((password, ctx) => {
			const problem = passwordProblem(password);
			if (problem) ctx.addIssue({ code: 'custom', message: problem });
		})
	})
	// Runs once every field is valid: the checks that need the name and email too.
	.superRefine((v, ctx) => {
		const problem = passwordProblem(v.password, { email: v.email, name: v.name });
		if (problem) ctx.addIssue({ code: 'custom', path: ['password'], message: problem });
	});

export const actions: Actions = {
	default: async ({ request, url, getClientAddress }) => {
		const data = await request.formData();
		const v = validate('signup', schema, data);
		if (!v.ok) return v.failure;
		const wait = signupLimiter.hit(getClientAddress());
		if (wait) return formError('signup', data, `Too many sign-ups from your network. Try again in ${Math.ceil(wait / 60)} minutes.`, {}, 429);
		try {
			await auth(url.origin).api.signUpEmail({
				body: { name: v.data.name, email: v.data.email, password: v.data.password },
				headers: request.headers
			});
		} catch (err) {
			const f = authFailure(err);
			if (f?.code === 'USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL' || f?.code === 'USER_ALREADY_EXISTS') {
				return formError('signup', data, 'An account with this email already exists.', { email: 'This email already has an account. Log in instead.' });
			}
			if (f?.code === 'PASSWORD_TOO_SHORT') return formError('signup', data, 'Password too short.', { password: `Use at least ${MIN_PASSWORD_LENGTH} characters.` });
			if (f?.code === 'PASSWORD_TOO_LONG') return formError('signup', data, 'Password too long.', { password: `Use at most ${MAX_PASSWORD_LENGTH} characters.` });
			if (f && f.status < 500) return formError('signup', data, f.message);
			log().error({ err: errInfo(err) }, 'sign-up failed');
			return formError('signup', data, 'Could not create the account right now. Try again in a moment.', {}, 500);
		}
		redirect(303, safeNext(url.searchParams.get('next')));
	}
};
