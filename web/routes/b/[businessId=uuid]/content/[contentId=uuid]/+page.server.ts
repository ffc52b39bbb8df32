import { error, fail, type RequestEvent } from '@sveltejs/kit';
import pg from 'pg';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ASPECT_RATIOS, MAX_SCRIPT_CHARS, RESOLUTIONS, v3Options, videoOptionsSchema, type VideoOptions } from '$heygen/index.ts';
// The translation option spec (heygen/options.ts), as the worker reads it.
import { TRANSLATION_MODES, translationOptionsSchema } from '$heygen/options.ts';
import { db } from '$lib/server/db.ts';
import { dbErrorMessage } from '$lib/server/errors.ts';
import { formError, formValues, validate } from '$lib/server/forms.ts';
import { checkCatalogIds, heygenCatalog, knownCatalog, type Catalog } from '$lib/server/heygen.ts';
import { cancelJob, contentPageQuery, createJob, findJob, FormReusedError, retryJob, scheduledVideo } from '$lib/server/jobs.ts';
import { redirectAfterPost, takeFormResult } from '$lib/server/post-redirect.ts';
import { createTranslations } from '$lib/server/translations.ts';
import { contentEstimate, generateHint } from '$lib/server/spend-guard.ts';
import { errInfo, log } from '$lib/server/log.ts';
import { requireMembership, requireMembershipWith, type Membership } from '$lib/server/tenancy.ts';
import { isActive } from '$lib/format.ts';
import type { Actions, PageServerLoad } from './$types';

async function loadContent(businessId: string, contentId: string) {
	const content = await db()
		.selectFrom('content')
		.select(['id', 'title', 'body', 'updated_at', 'video_is_stale'])
		.where('id', '=', contentId)
		.where('business_id', '=', businessId)
		.executeTakeFirst();
	if (!content) error(404, 'Not found');
	return content;
}

/** Why Generate cannot run now, in words (the button is disabled and says so). */
function blockersFor(
	m: Membership,
	body: string,
	choices: { avatarUnknown: boolean; voiceUnknown: boolean }
): { text: string; href?: string }[] {
	const out: { text: string; href?: string }[] = [];
	const settings = `/b/${m.business.id}/settings`;
	if (!m.business.has_key) out.push({ text: 'Add your HeyGen API key in HeyGen settings first.', href: settings });
	if (!m.business.heygen_avatar_id || !m.business.heygen_voice_id)
		out.push({ text: 'Choose an avatar and a voice in HeyGen settings first.', href: settings });
	else if (choices.avatarUnknown || choices.voiceUnknown) {
		const what = [choices.avatarUnknown && 'avatar', choices.voiceUnknown && 'voice'].filter(Boolean).join(' and ');
		out.push({ text: `The ${what} saved in HeyGen settings is not in your HeyGen account. Choose another there first.`, href: settings });
	}
	const len = body.trim().length;
	if (len === 0) out.push({ text: 'Write a script first (Edit).' });
	else if (len > MAX_SCRIPT_CHARS) {
		out.push({
			text: `The script is ${len.toLocaleString('en')} characters; HeyGen accepts at most ${MAX_SCRIPT_CHARS.toLocaleString('en')}. Shorten it first (Edit).`
		});
	}
	return out;
}

/** The business's avatar look and voice, with names when HeyGen's lists are at hand, and a saved id the account does not have. */
function choicesFor(m: Membership, catalog: Catalog | null) {
	const b = m.business;
	const avatar = b.heygen_avatar_id ? catalog?.avatars.find((a) => a.id === b.heygen_avatar_id) : undefined;
	const voice = b.heygen_voice_id ? catalog?.voices.find((v) => v.id === b.heygen_voice_id) : undefined;
	// Only a full list can say an id is missing from it.
	const listed = catalog && !catalog.error;
	return {
		avatarId: b.heygen_avatar_id,
		voiceId: b.heygen_voice_id,
		avatarName: avatar?.name ?? null,
		voiceName: voice?.name ?? null,
		avatarUnknown: !!(listed && b.heygen_avatar_id && !avatar),
		voiceUnknown: !!(listed && b.heygen_voice_id && !voice)
	};
}

/** HeyGen's lists, only when the person asked to choose for this video (?choose): they are long and come from HeyGen. */
async function catalogToChoose(m: Membership, url: URL): Promise<Catalog | null> {
	if (!url.searchParams.has('choose') || !m.business.has_key) return null;
	return heygenCatalog(m.business.id).catch((err: unknown) => {
		log().error({ err: errInfo(err) }, 'HeyGen catalog failed');
		return { avatars: [], voices: [], credits: null, error: 'Could not load your avatars and voices right now.' };
	});
}

export const load: PageServerLoad = async ({ locals, params, url, cookies }) => {
	// Sent together: the estimate is only read once the membership is confirmed.
	const estimate = contentEstimate(params.businessId, params.contentId);
	estimate.catch(() => {});
	const { membership: m, data: page } = await requireMembershipWith(locals, params.businessId, contentPageQuery(params.contentId), { url });
	if (!page) error(404, 'Not found');
	const { content, jobs, translations, languages, steps, lastEventId, latestVideo, currentInputs, versions } = page;
	const current = jobs[0] ?? null;
	// The last job's choices (translated when it predates v3) are the form's defaults.
	const last = v3Options(current?.options ?? {});
	const chooseFrom = await catalogToChoose(m, url);
	const catalog = chooseFrom ?? knownCatalog(m.business.id);
	const choices = choicesFor(m, catalog);
	const spend = generateHint(m, await estimate);
	return {
		// The result of a form posted without JavaScript (post-redirect.ts); use:enhance's comes as `form`.
		flash: takeFormResult(cookies, url),
		content,
		jobs,
		translations,
		languages,
		current,
		steps,
		latestVideo,
		currentInputs,
		versions,
		lastEventId,
		// The version the player starts with (?play=<job id>: the language switcher without JavaScript).
		play: url.searchParams.get('play'),
		idempotencyKey: randomUUID(),
		translateKey: randomUUID(),
		againKey: randomUUID(),
		blockers: blockersFor(m, content.body, choices),
		spend,
		choices,
		chooseFrom: chooseFrom && {
			avatars: chooseFrom.avatars,
			voices: chooseFrom.voices,
			error: chooseFrom.error
		},
		estimate: {
			characters: [...content.body.trim()].length,
			seconds: spend.estimatedSeconds,
			// What HeyGen's GET /v3/users/me said last (the settings page or the lists above asked it); null when unknown.
			credits: catalog?.credits?.summary ?? null
		},
		defaults: { aspect: last.aspect_ratio ?? '16:9', resolution: last.resolution ?? '1080p', captions: last.captions ?? false }
	};
};

/** A HeyGen id as SQL accepts it (video_jobs_before_insert); empty = the business's. */
const optionalId = (what: string) =>
	z
		.string()
		.trim()
		.regex(/^[A-Za-z0-9_.:-]{0,200}$/, `That does not look like a HeyGen ${what} ID.`)
		.optional()
		.transform((s) => s || null);

const generateSchema = z.object({
	aspect: z.enum(ASPECT_RATIOS, `Choose one of the formats (${ASPECT_RATIOS.join(', ')}).`),
	resolution: z.enum(RESOLUTIONS, 'Choose 720p, 1080p or 4K.'),
	captions: z.literal('on').optional(),
	avatarId: optionalId('avatar'),
	voiceId: optionalId('voice'),
	idempotencyKey: z.uuid('The form is out of date; reload the page.')
});

const jobSchema = z.object({ jobId: z.uuid('Unknown video job.') });
const againSchema = jobSchema.extend({ idempotencyKey: z.uuid('The form is out of date; reload the page.') });

/** What the Generate forms say once the job is in. */
function startedMessage(r: { duplicate: boolean; status: string }): string {
	return r.duplicate
		? 'This video was already started; showing its progress.'
		: r.status === 'awaiting_approval'
			? 'The video waits for an owner or admin to approve it (Approvals) before it is sent to HeyGen.'
			: 'Video queued. Watch its progress below.';
}

/**
 * This video's avatar look and voice when they differ from the business's: checked against the
 * account's lists (the same check as settings), so an id HeyGen does not know is refused now with
 * the reason instead of failing at submit. Null ids = the business's.
 */
async function checkChoice(
	m: Membership,
	chosen: { avatarId: string | null; voiceId: string | null }
): Promise<
	| { ok: true; avatarId: string | null; voiceId: string | null }
	| { ok: false; message: string; errors: Record<string, string>; status: number }
> {
	const b = m.business;
	const avatarId = chosen.avatarId === b.heygen_avatar_id ? null : chosen.avatarId;
	const voiceId = chosen.voiceId === b.heygen_voice_id ? null : chosen.voiceId;
	if (!avatarId && !voiceId) return { ok: true, avatarId: null, voiceId: null };
	if (!b.has_key) return { ok: false, message: 'Add your HeyGen API key in HeyGen settings first.', errors: {}, status: 409 };
	const ids = { avatarId: avatarId ?? b.heygen_avatar_id ?? '', voiceId: voiceId ?? b.heygen_voice_id ?? '' };
	const check = await checkCatalogIds(b.id, ids);
	if (check.ok) return { ok: true, avatarId, voiceId };
	if (check.unavailable)
		return {
			ok: false,
			message: `${check.message.replace(/ The avatar and voice were not saved.*$/, '')} The video was not started, because its avatar and voice could not be checked.`,
			errors: {},
			status: 503
		};
	return { ok: false, message: `The video was not started: ${Object.values(check.errors).join(' ')}`, errors: check.errors, status: 400 };
}

/** HeyGen takes at most 100 languages in one request; a form sending more is not a person's. */
const MAX_LANGUAGES = 100;

const translateSchema = z.object({
	sourceJobId: z.uuid('Unknown video.'),
	languages: z
		.array(
			z
				.string()
				.trim()
				.min(1)
				.max(200, 'That is not one of HeyGen’s languages.')
				// A NUL cannot even reach SQL (which refuses every control character in a language).
				.regex(/^\P{Cc}*$/u, 'That is not one of HeyGen’s languages.')
		)
		.min(1, 'Choose at least one language.')
		.max(MAX_LANGUAGES, `Choose at most ${MAX_LANGUAGES} languages at once.`)
		.transform((l) => [...new Set(l)]),
	mode: z.enum(TRANSLATION_MODES, 'Choose Speed or Precision.'),
	captions: z.literal('on').optional(),
	translateKey: z.uuid('The form is out of date; reload the page.')
});

/** A refused Translate form: the message, and the languages that were ticked (a form field can repeat). */
function translateError(data: FormData, message: string, errors: Record<string, string> = {}, status = 400) {
	const languages = data.getAll('languages').filter((l): l is string => typeof l === 'string');
	return fail(status, { form: 'translate', message, errors, values: formValues(data), languages });
}

export const actions: Actions = redirectAfterPost({
	generate: async ({ locals, params, request, url }) => {
		const m = await requireMembership(locals, params.businessId, { url });
		const content = await loadContent(m.business.id, params.contentId);
		const data = await request.formData();
		const v = validate('generate', generateSchema, data);
		if (!v.ok) return v.failure;
		const choice = await checkChoice(m, v.data);
		if (!choice.ok) return formError('generate', data, choice.message, choice.errors, choice.status);
		const options: VideoOptions = videoOptionsSchema.parse({
			aspect_ratio: v.data.aspect,
			resolution: v.data.resolution,
			captions: v.data.captions === 'on',
			title: content.title.slice(0, 200)
		});
		try {
			const r = await createJob({
				userId: locals.user!.id,
				businessId: m.business.id,
				contentId: content.id,
				options,
				idempotencyKey: v.data.idempotencyKey,
				avatarId: choice.avatarId,
				voiceId: choice.voiceId
			});
			return { form: 'generate', jobId: r.jobId, message: startedMessage(r) };
		} catch (err) {
			// The trigger counts the script it will send: the body without surrounding blanks.
			const msg = dbErrorMessage(err, { scriptLength: [...content.body.trim()].length });
			if (msg) return formError('generate', data, msg, {}, 409);
			if (err instanceof FormReusedError) return formError('generate', data, err.message, {}, 409);
			log().error({ err: errInfo(err), contentId: content.id }, 'generate failed');
			throw err;
		}
	},

	translate: async ({ locals, params, request, url }) => {
		const m = await requireMembership(locals, params.businessId, { url });
		const data = await request.formData();
		const v = validate('translate', translateSchema, data, { ...Object.fromEntries(data), languages: data.getAll('languages') });
		if (!v.ok) return translateError(data, v.failure.data.message, v.failure.data.errors);
		// Tenancy: only a video of this business and this content (the insert names both, so SQL checks it too).
		const source = await findJob(m.business.id, v.data.sourceJobId, params.contentId);
		if (!source) error(404, 'Not found');
		try {
			const r = await createTranslations({
				userId: locals.user!.id,
				businessId: m.business.id,
				contentId: source.content_id,
				sourceJobId: source.id,
				languages: v.data.languages,
				options: translationOptionsSchema.parse({ mode: v.data.mode, captions: v.data.captions === 'on' }),
				idempotencyKey: v.data.translateKey
			});
			const names = v.data.languages.join(', ');
			return {
				form: 'translate',
				created: r.created,
				message:
					r.created === 0
						? `This translation was already started (${names}); showing its progress.`
						: `Translating into ${names}. Watch each language below.`
			};
		} catch (err) {
			const msg = dbErrorMessage(err);
			if (msg) return translateError(data, msg, {}, 409);
			log().error({ err: errInfo(err), sourceJobId: source.id }, 'translate failed');
			throw err;
		}
	},

	cancel: async ({ locals, params, request, url }) => {
		const m = await requireMembership(locals, params.businessId, { url });
		const data = await request.formData();
		const v = validate('cancel', jobSchema, data);
		if (!v.ok) return v.failure;
		const job = await findJob(m.business.id, v.data.jobId, params.contentId);
		if (!job) error(404, 'Not found');
		if (!isActive(job.status))
			return formError('cancel', data, `This video is already ${job.status}; there is nothing to cancel.`, {}, 409);
		try {
			await cancelJob(locals.user!.id, job.id, `Canceled by ${locals.user!.name}`);
		} catch (err) {
			const msg = dbErrorMessage(err);
			if (msg) return formError('cancel', data, msg, {}, 409);
			throw err;
		}
		return { form: 'cancel', kind: 'info' as const, about: 'canceled', message: 'Video canceled.' };
	},

	retry: async ({ locals, params, request, url }) => {
		const m = await requireMembership(locals, params.businessId, { url });
		const data = await request.formData();
		const v = validate('retry', jobSchema, data);
		if (!v.ok) return v.failure;
		const job = await findJob(m.business.id, v.data.jobId, params.contentId);
		if (!job) error(404, 'Not found');
		try {
			await retryJob(locals.user!.id, job.id);
		} catch (err) {
			const msg = dbErrorMessage(err);
			if (msg) return formError('retry', data, msg, {}, 409);
			throw err;
		}
		return { form: 'retry', kind: 'info' as const, about: 'active', message: 'Retrying: the video is queued again.' };
	},

	/**
	 * A new job for a failed or canceled one, with what the business has now: its avatar, voice and
	 * the content's current script (Retry re-sends the inputs frozen in the job, which the audit
	 * keeps). The format choices carry over.
	 */
	generateAgain: async ({ locals, params, request, url }) => {
		const m = await requireMembership(locals, params.businessId, { url });
		const content = await loadContent(m.business.id, params.contentId);
		const data = await request.formData();
		const v = validate('generateAgain', againSchema, data);
		if (!v.ok) return v.failure;
		const job = await findJob(m.business.id, v.data.jobId, params.contentId);
		if (!job || job.kind !== 'avatar') error(404, 'Not found');
		// A failed or canceled video, or (Regenerate) a finished one whose script is out of date.
		const outOfDate = job.status === 'completed' && content.video_is_stale;
		if (job.status !== 'failed' && job.status !== 'canceled' && !outOfDate)
			return formError(
				'generateAgain',
				data,
				job.status === 'completed'
					? 'This video already matches the script; there is nothing to regenerate.'
					: `This video is ${job.status}; only a failed or canceled one is made again.`,
				{},
				409
			);
		const options: VideoOptions = videoOptionsSchema.parse({ ...v3Options(job.options), title: content.title.slice(0, 200) });
		try {
			const r = await createJob({
				userId: locals.user!.id,
				businessId: m.business.id,
				contentId: content.id,
				options,
				idempotencyKey: v.data.idempotencyKey
			});
			return { form: 'generateAgain', jobId: r.jobId, message: startedMessage(r) };
		} catch (err) {
			const msg = dbErrorMessage(err, { scriptLength: [...content.body.trim()].length });
			if (msg) return formError('generateAgain', data, msg, {}, 409);
			if (err instanceof FormReusedError) return formError('generateAgain', data, err.message, {}, 409);
			throw err;
		}
	},

	/** Auto-generate's pending video: made now instead of after the delay (owners and admins, as SQL checks). */
	generateNow: async (event) => scheduled(event, 'now'),
	/** Auto-generate's pending video dropped; the content stays as it is. */
	cancelScheduled: async (event) => scheduled(event, 'cancel')
});

async function scheduled({ locals, params, url }: RequestEvent<{ businessId: string; contentId: string }>, what: 'now' | 'cancel') {
	const m = await requireMembership(locals, params.businessId, { url });
	const content = await loadContent(m.business.id, params.contentId);
	try {
		await scheduledVideo(locals.user!.id, content.id, what);
		return { form: 'scheduled', message: what === 'now' ? 'The video is being made now.' : 'The scheduled video was canceled.' };
	} catch (err) {
		if (err instanceof pg.DatabaseError && err.code === '42501') {
			return fail(403, { form: 'scheduled', message: 'Only owners and admins can change a scheduled video.', errors: {} });
		}
		const msg = dbErrorMessage(err);
		if (msg) return fail(409, { form: 'scheduled', message: msg, errors: {} });
		throw err;
	}
}
