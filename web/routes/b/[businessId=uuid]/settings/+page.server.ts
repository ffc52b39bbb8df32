import { sql } from 'kysely';
import { z } from 'zod';
import { db } from '$lib/server/db.ts';
import { formError, validate } from '$lib/server/forms.ts';
import {
	checkCatalogIds,
	clientForKey,
	describeHeyGenError,
	keyFormatProblem,
	forgetCatalog,
	heygenCatalog,
	type Catalog
} from '$lib/server/heygen.ts';
import { errInfo, log } from '$lib/server/log.ts';
import { delayLabel } from '$lib/format.ts';
import { dbErrorMessage } from '$lib/server/errors.ts';
import { resumeHeyGen, saveSpendSettings, spendSettings } from '$lib/server/spend-guard.ts';
import { redirectAfterPost, takeFormResult } from '$lib/server/post-redirect.ts';
import { keyCheckLimiter } from '$lib/server/rate-limit.ts';
import { forgetMembership, requireMembership } from '$lib/server/tenancy.ts';
import { registerBusinessWebhook, retireBusinessWebhook, webhookView } from '$lib/server/webhooks.ts';
import type { Actions, PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ cookies, locals, params, url }) => {
	const m = await requireMembership(locals, params.businessId, { url });
	// Awaited, not streamed: a streamed promise only resolves with JavaScript, and without it the
	// pickers said "Loading…" for ever. The lists are cached for a few minutes, and a HeyGen that
	// does not answer fails after the configured timeout with a message instead of the pickers.
	const catalog: Catalog | null = m.business.has_key
		? await heygenCatalog(m.business.id).catch((err: unknown) => {
				log().error({ err: errInfo(err) }, 'HeyGen catalog failed');
				return { avatars: [], voices: [], credits: null, error: 'Could not load your avatars and voices right now.' };
			})
		: null;
	return {
		formResult: takeFormResult(cookies, url),
		settings: {
			hasKey: m.business.has_key,
			avatarId: m.business.heygen_avatar_id,
			voiceId: m.business.heygen_voice_id
		},
		auto: await autoSettings(m.business.id),
		webhook: await webhookView(m.business.id),
		spend: await spendSettings(m.business.id),
		catalog
	};
};

const ID = /^[A-Za-z0-9_.:-]{1,200}$/;
const idField = (what: string) =>
	z
		.string()
		.trim()
		.min(1, `Choose ${what} from the list or enter its ID.`)
		.regex(ID, `That does not look like a HeyGen ${what.replace(/^an? /, '')} ID (letters, digits, "_", "-", "." and ":" only).`);

const keySchema = z.object({
	apiKey: z
		.string()
		.trim()
		.min(1, 'Paste your HeyGen API key.')
		.max(500, 'That is too long to be a HeyGen API key.')
		.superRefine((key, ctx) => {
			const problem = keyFormatProblem(key);
			if (problem) ctx.addIssue({ code: 'custom', message: problem });
		})
});

// A month has at most 44,640 minutes, but several videos render at once; the cap only keeps the
// seconds inside an integer column and a typo (an extra zero or three) from passing as a limit.
const MAX_LIMIT_MINUTES = 1_000_000;

const spendSchema = z.object({
	requireApproval: z.literal('on').optional(),
	limitMinutes: z
		.string()
		.trim()
		.refine((s) => s === '' || /^\d+$/.test(s), 'Enter the limit in whole minutes (e.g. 90), or leave it empty for no limit.')
		.transform((s) => (s === '' ? null : Number(s)))
		.refine((n) => n === null || n >= 1, 'The limit must be at least 1 minute; leave it empty for no limit.')
		.refine(
			(n) => n === null || n <= MAX_LIMIT_MINUTES,
			`The limit can be at most ${MAX_LIMIT_MINUTES.toLocaleString('en')} minutes; leave it empty for no limit.`
		)
});

/** Issue 23: whether a body change makes a new video by itself, after how long, and how many versions keep their files. */
async function autoSettings(businessId: string) {
	const row = await db()
		.selectFrom('businesses')
		.select(['auto_generate', 'auto_generate_delay_seconds', 'keep_video_versions'])
		.where('id', '=', businessId)
		.executeTakeFirstOrThrow();
	return { enabled: row.auto_generate, delaySeconds: row.auto_generate_delay_seconds, keepVersions: row.keep_video_versions };
}

// businesses_auto_generate_delay_seconds_check: 1 second to 24 hours.
const MAX_DELAY_SECONDS = 86_400;
// No upper bound in SQL; this one only keeps a typo (an extra zero or three) out of an integer.
const MAX_KEEP_VERSIONS = 10_000;
const wholeNumber = (what: string, max: number) =>
	z
		.string()
		.trim()
		.refine((s) => /^\d{1,6}$/.test(s), `Enter ${what} as a whole number.`)
		.transform(Number)
		.refine((n) => n <= max, `Enter at most ${max.toLocaleString('en')} ${what}.`);

const autoSchema = z
	.object({
		autoGenerate: z.literal('on').optional(),
		delayMinutes: wholeNumber('minutes', MAX_DELAY_SECONDS / 60),
		delaySeconds: wholeNumber('seconds', 59),
		keepVersions: z
			.string()
			.trim()
			.refine((s) => /^\d{1,6}$/.test(s), 'Enter how many versions to keep as a whole number.')
			.transform(Number)
			.refine((n) => n >= 1, 'Keep at least 1 version: the current video.')
			.refine((n) => n <= MAX_KEEP_VERSIONS, `Keep at most ${MAX_KEEP_VERSIONS.toLocaleString('en')} versions.`)
	})
	.superRefine((v, ctx) => {
		const total = v.delayMinutes * 60 + v.delaySeconds;
		if (total < 1) ctx.addIssue({ code: 'custom', path: ['delayMinutes'], message: 'The delay must be at least 1 second.' });
		if (total > MAX_DELAY_SECONDS)
			ctx.addIssue({ code: 'custom', path: ['delayMinutes'], message: 'The delay can be at most 24 hours (1,440 minutes).' });
	});

/**
 * After a key is saved: whether the avatar and voice saved earlier (perhaps without a key, so never
 * checked) are in this account, in words to append to the message ('' when fine or none saved).
 */
async function savedIdsNote(business: { id: string; heygen_avatar_id: string | null; heygen_voice_id: string | null }): Promise<string> {
	const { heygen_avatar_id: avatarId, heygen_voice_id: voiceId } = business;
	if (!avatarId || !voiceId) return '';
	const check = await checkCatalogIds(business.id, { avatarId, voiceId });
	if (check.ok || check.unavailable) return '';
	const missing = [check.errors.avatarId && `avatar "${avatarId}"`, check.errors.voiceId && `voice "${voiceId}"`].filter(Boolean);
	return ` The saved ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not in this HeyGen account: choose another below before generating.`;
}

export const actions: Actions = redirectAfterPost({
	saveSpend: async ({ locals, params, request, url }) => {
		const m = await requireMembership(locals, params.businessId, { manage: true, url });
		const data = await request.formData();
		const v = validate('spend', spendSchema, data, {
			requireApproval: data.get('requireApproval') ?? undefined,
			limitMinutes: data.get('limitMinutes') ?? ''
		});
		if (!v.ok) return v.failure;
		const limitSeconds = v.data.limitMinutes === null ? null : v.data.limitMinutes * 60;
		try {
			await saveSpendSettings(locals.user!.id, m.business.id, { requireApproval: v.data.requireApproval === 'on', limitSeconds });
		} catch (err) {
			const msg = dbErrorMessage(err);
			if (msg) return formError('spend', data, msg, {}, 409);
			throw err;
		}
		return { form: 'spend', message: 'Spending settings saved. New videos follow them.' };
	},

	saveAuto: async ({ locals, params, request, url }) => {
		const m = await requireMembership(locals, params.businessId, { manage: true, url });
		const data = await request.formData();
		const v = validate('auto', autoSchema, data, {
			autoGenerate: data.get('autoGenerate') ?? undefined,
			delayMinutes: data.get('delayMinutes') ?? '',
			delaySeconds: data.get('delaySeconds') ?? '',
			keepVersions: data.get('keepVersions') ?? ''
		});
		if (!v.ok) return v.failure;
		const delay = v.data.delayMinutes * 60 + v.data.delaySeconds;
		try {
			await db()
				.updateTable('businesses')
				.set({ auto_generate: v.data.autoGenerate === 'on', auto_generate_delay_seconds: delay, keep_video_versions: v.data.keepVersions })
				.where('id', '=', m.business.id)
				.execute();
		} catch (err) {
			const msg = dbErrorMessage(err);
			if (msg) return formError('auto', data, msg, {}, 409);
			throw err;
		}
		log().info(
			{ businessId: m.business.id, userId: locals.user!.id, auto: v.data.autoGenerate === 'on', delay },
			'auto-generate settings saved'
		);
		return {
			form: 'auto',
			message:
				v.data.autoGenerate === 'on'
					? `Automatic videos are on: a changed script makes a new video ${delayLabel(delay)} after the last change.`
					: 'Automatic videos are off: a changed script marks its video out of date, and nothing is made by itself.'
		};
	},

	resume: async ({ locals, params, url }) => {
		const m = await requireMembership(locals, params.businessId, { manage: true, url });
		try {
			await resumeHeyGen(locals.user!.id, m.business.id);
		} catch (err) {
			const msg = dbErrorMessage(err);
			if (msg) return formError('resume', new FormData(), msg, {}, 409);
			throw err;
		}
		return { form: 'resume', message: 'Video generation resumed. Queued videos are sent to HeyGen again.' };
	},

	saveKey: async ({ locals, params, request, url }) => {
		const m = await requireMembership(locals, params.businessId, { manage: true, url });
		const data = await request.formData();
		const v = validate('key', keySchema, data);
		if (!v.ok) return v.failure;
		const wait = keyCheckLimiter.hit(locals.user!.id);
		if (wait) return formError('key', data, `Too many key checks. Try again in ${Math.ceil(wait / 60)} minutes.`, {}, 429);
		// Check the key with HeyGen before it is stored: GET /v3/users/me needs a valid key.
		let credits: string;
		try {
			credits = (await clientForKey(v.data.apiKey).account()).credits.summary;
		} catch (err) {
			const message = describeHeyGenError(err, 'Checking the key');
			return formError('key', data, `The key was not saved. ${message}`, { apiKey: message });
		}
		// The old account's endpoint goes first: only the old key can delete it.
		await retireBusinessWebhook(m.business.id, v.data.apiKey);
		await sql`select set_heygen_key(${m.business.id}, ${v.data.apiKey})`.execute(db());
		forgetCatalog(m.business.id);
		forgetMembership(locals, m.business.id);
		log().info({ businessId: m.business.id, userId: locals.user!.id }, 'HeyGen key saved');
		// Registered on save (a re-saved identical key keeps its endpoint); a failure does not undo the key.
		const view = await webhookView(m.business.id);
		const hook = view.registered && !view.stale ? null : await registerBusinessWebhook(m.business.id);
		const hookNote =
			hook && !hook.ok && hook.reason !== 'no_public_url'
				? ` Webhooks are not active (${hook.message}); finished videos are found by polling instead.`
				: '';
		return {
			form: 'key',
			message: `HeyGen accepted the key and it is saved. Credits left: ${credits}.${hookNote}${await savedIdsNote(m.business)}`
		};
	},

	removeKey: async ({ locals, params, url }) => {
		const m = await requireMembership(locals, params.businessId, { manage: true, url });
		await retireBusinessWebhook(m.business.id, null);
		await sql`select delete_heygen_key(${m.business.id})`.execute(db());
		forgetCatalog(m.business.id);
		forgetMembership(locals, m.business.id);
		log().info({ businessId: m.business.id, userId: locals.user!.id }, 'HeyGen key removed');
		return { form: 'key', message: 'The API key was removed. Videos cannot be generated until a new key is saved.' };
	},

	registerWebhook: async ({ locals, params, url }) => {
		const m = await requireMembership(locals, params.businessId, { manage: true, url });
		if (!m.business.has_key) return formError('webhook', new FormData(), 'Save an API key first.', {}, 400);
		const r = await registerBusinessWebhook(m.business.id);
		if (!r.ok) return formError('webhook', new FormData(), r.message, {}, r.reason === 'no_public_url' ? 400 : 502);
		return { form: 'webhook', message: 'The webhook is registered with HeyGen.' };
	},

	saveVoice: async ({ locals, params, request, url }) => {
		const m = await requireMembership(locals, params.businessId, { manage: true, url });
		const data = await request.formData();
		const pick = (name: string) => {
			const manual = String(data.get(`${name}Manual`) ?? '').trim();
			return manual || String(data.get(name) ?? '');
		};
		const v = validate('voice', z.object({ avatarId: idField('an avatar'), voiceId: idField('a voice') }), data, {
			avatarId: pick('avatarId'),
			voiceId: pick('voiceId')
		});
		if (!v.ok) return v.failure;
		// With a key, only what the account has: HeyGen would refuse anything else at every submit.
		if (m.business.has_key) {
			const check = await checkCatalogIds(m.business.id, v.data);
			if (!check.ok) return formError('voice', data, check.message, check.errors, check.unavailable ? 503 : 400);
		}
		await db()
			.updateTable('businesses')
			.set({ heygen_avatar_id: v.data.avatarId, heygen_voice_id: v.data.voiceId })
			.where('id', '=', m.business.id)
			.execute();
		forgetMembership(locals, m.business.id);
		if (!m.business.has_key)
			return {
				form: 'voice',
				message:
					'Avatar and voice saved, but not checked: no HeyGen API key is saved. Save the key to check them; videos cannot be generated until then.'
			};
		return { form: 'voice', message: 'Avatar and voice saved. New videos will use them.' };
	}
});
