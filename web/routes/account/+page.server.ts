import { error } from '@sveltejs/kit';
import { z } from 'zod';
import { auth, authFailure } from '$lib/server/auth.ts';
import { db } from '$lib/server/db.ts';
import { dbErrorMessage } from '$lib/server/errors.ts';
import { formError, validate } from '$lib/server/forms.ts';
import { errInfo, log } from '$lib/server/log.ts';
import { passwordLengthProblem, passwordProblem } from '$lib/server/password-policy.ts';
import { redirectAfterPost, takeFormResult } from '$lib/server/post-redirect.ts';
import { passwordLimiter } from '$lib/server/rate-limit.ts';
import { closeStreamsForMember } from '$lib/server/stream-guard.ts';
import { forgetMembership, isUuid, listBusinesses, requireUser } from '$lib/server/tenancy.ts';
import { lineField } from '$lib/server/text-rules.ts';
import type { Actions, PageServerLoad } from './$types';

/** The signed-in person's name and email, their sessions (this one first) and their businesses. */
export const load: PageServerLoad = async ({ cookies, locals, url }) => {
	const user = requireUser(locals, url);
	const [sessions, businesses] = await Promise.all([
		db()
			.selectFrom('auth_sessions')
			.select(['id', 'created_at', 'updated_at', 'expires_at', 'ip_address', 'user_agent'])
			.where('user_id', '=', user.id)
			.where('expires_at', '>', new Date())
			.orderBy('updated_at', 'desc')
			.execute(),
		listBusinesses(user.id)
	]);
	const current = locals.session?.id ?? null;
	return {
		account: { name: user.name, email: user.email },
		sessions: sessions
			.map((s) => ({
				id: s.id,
				current: s.id === current,
				createdAt: s.created_at,
				lastActiveAt: s.updated_at,
				ip: s.ip_address,
				device: describeUserAgent(s.user_agent)
			}))
			.sort((a, b) => Number(b.current) - Number(a.current)),
		businesses,
		formResult: takeFormResult(cookies, url)
	};
};

/** "Chrome on Linux" from a User-Agent header; the raw header is long and says little to a person. */
function describeUserAgent(ua: string | null): string {
	if (!ua) return 'Unknown device';
	const browser =
		[
			[/Edg\//, 'Edge'],
			[/OPR\/|Opera/, 'Opera'],
			[/Firefox\//, 'Firefox'],
			[/Chrom(e|ium)\//, 'Chrome'],
			[/Safari\//, 'Safari'],
			[/curl\//, 'curl'],
			[/node|undici/i, 'A script (Node.js)']
		].find(([re]) => (re as RegExp).test(ua))?.[1] ?? 'A browser';
	const os =
		[
			[/Android/, 'Android'],
			[/iPhone|iPad|iOS/, 'iOS'],
			[/Windows/, 'Windows'],
			[/Mac OS X|Macintosh/, 'macOS'],
			[/Linux/, 'Linux']
		].find(([re]) => (re as RegExp).test(ua))?.[1] ?? null;
	return os ? `${browser as string} on ${os as string}` : (browser as string);
}

const nameSchema = z.object({ name: lineField('Your name', { max: 100, required: 'Enter your name.' }) });

const passwordSchema = z.object({
	currentPassword: z.string().min(1, 'Enter your current password.').max(128, 'That is longer than any password here.'),
	newPassword: z.string().superRefine((password, ctx) => {
		const problem = passwordLengthProblem(password);
		if (problem) ctx.addIssue({ code: 'custom', message: problem });
	}),
	endOthers: z.literal('on').optional()
});

/** The session to end must be one of the person's own, and not the one they are using. */
async function ownOtherSession(userId: string, current: string | null, id: string): Promise<boolean> {
	if (!id || id.length > 200 || id === current) return false;
	const r = await db().deleteFrom('auth_sessions').where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
	return r.numDeletedRows > 0n;
}

export const actions: Actions = redirectAfterPost({
	rename: async ({ locals, request, url }) => {
		requireUser(locals, url);
		const data = await request.formData();
		const v = validate('name', nameSchema, data);
		if (!v.ok) return v.failure;
		await auth(url.origin).api.updateUser({ body: { name: v.data.name }, headers: request.headers });
		return { form: 'name', message: 'Your name is saved.' };
	},

	changePassword: async ({ locals, request, url }) => {
		const user = requireUser(locals, url);
		const data = await request.formData();
		const v = validate('password', passwordSchema, data);
		if (!v.ok) return v.failure;
		// Guessing the current password here is as limited as at the login form.
		const wait = passwordLimiter.hit(user.id);
		if (wait) return formError('password', data, `Too many attempts. Try again in ${Math.ceil(wait / 60)} minutes.`, {}, 429);
		const weak = passwordProblem(v.data.newPassword, { email: user.email, name: user.name });
		if (weak) return formError('password', data, 'Please fix the highlighted field.', { newPassword: weak });
		if (v.data.newPassword === v.data.currentPassword)
			return formError('password', data, 'Please fix the highlighted field.', {
				newPassword: 'The new password is the same as the current one.'
			});
		try {
			// With endOthers, Better Auth ends every session and starts a new one for this browser (its cookie).
			await auth(url.origin).api.changePassword({
				body: { currentPassword: v.data.currentPassword, newPassword: v.data.newPassword, revokeOtherSessions: !!v.data.endOthers },
				headers: request.headers
			});
		} catch (err) {
			const f = authFailure(err);
			if (f?.code === 'INVALID_PASSWORD')
				return formError('password', data, 'Please fix the highlighted field.', { currentPassword: 'That is not your current password.' });
			if (f && f.status < 500) return formError('password', data, f.message);
			log().error({ err: errInfo(err) }, 'password change failed');
			return formError('password', data, 'Could not change the password right now. Try again in a moment.', {}, 500);
		}
		passwordLimiter.reset(user.id);
		log().info({ userId: user.id, endedOthers: !!v.data.endOthers }, 'password changed');
		return {
			form: 'password',
			message: v.data.endOthers
				? 'Your password is changed, and every other session is signed out.'
				: 'Your password is changed. Your other sessions stay signed in.'
		};
	},

	endSession: async ({ locals, request, url }) => {
		const user = requireUser(locals, url);
		const data = await request.formData();
		if (!(await ownOtherSession(user.id, locals.session?.id ?? null, String(data.get('sessionId') ?? ''))))
			return formError('sessions', data, 'That session has already ended.', {}, 404);
		return { form: 'sessions', message: 'The session is signed out.' };
	},

	endOtherSessions: async ({ locals, url }) => {
		const user = requireUser(locals, url);
		const current = locals.session?.id;
		if (!current) error(401, 'Not signed in');
		const r = await db().deleteFrom('auth_sessions').where('user_id', '=', user.id).where('id', '<>', current).executeTakeFirst();
		const n = Number(r.numDeletedRows);
		return {
			form: 'sessions',
			message: n === 0 ? 'There were no other sessions.' : `${n} other ${n === 1 ? 'session' : 'sessions'} signed out.`
		};
	},

	leave: async ({ locals, request, url }) => {
		const user = requireUser(locals, url);
		const data = await request.formData();
		const businessId = String(data.get('businessId') ?? '');
		if (!isUuid(businessId)) error(404, 'Not found');
		const business = await db().selectFrom('businesses').select('name').where('id', '=', businessId).executeTakeFirst();
		try {
			const r = await db()
				.deleteFrom('business_members')
				.where('business_id', '=', businessId)
				.where('user_id', '=', user.id)
				.executeTakeFirst();
			if (!r.numDeletedRows) error(404, 'Not found');
		} catch (err) {
			// The last owner stays (db/migrations/0028).
			const msg = dbErrorMessage(err);
			if (msg) return formError('leave', data, msg, {}, 409);
			throw err;
		}
		forgetMembership(locals, businessId);
		closeStreamsForMember(businessId, user.id);
		log().info({ userId: user.id, businessId }, 'left business');
		return { form: 'leave', message: `You left ${business?.name ?? 'the business'}.` };
	}
});
