import { error, redirect, type RequestEvent } from '@sveltejs/kit';
import { z } from 'zod';
import { MAX_SCRIPT_CHARS } from '$heygen/index.ts';
import { validate } from './forms.ts';
import { requireMembership } from './tenancy.ts';
import { isVisiblyEmpty, lineField, textProblem } from './text-rules.ts';

/** The content form: a title and the script (what the avatar says; HeyGen's 5,000-character limit). */
export const contentSchema = z.object({
	title: lineField('The title', { max: 300, required: 'Give the content a title.', tooLong: 'Use at most 300 characters for the title.' }),
	body: z
		.string()
		.transform((s) => s.replace(/\r\n/g, '\n').trim())
		.superRefine((s, ctx) => {
			if (isVisiblyEmpty(s)) ctx.addIssue({ code: 'custom', message: 'Write the script the avatar should say.' });
			else if (s.length > MAX_SCRIPT_CHARS) {
				ctx.addIssue({
					code: 'custom',
					message: `The script is ${s.length.toLocaleString('en')} characters; HeyGen accepts at most ${MAX_SCRIPT_CHARS.toLocaleString('en')} per video. Shorten it by ${(s.length - MAX_SCRIPT_CHARS).toLocaleString('en')}.`
				});
			} else {
				const problem = textProblem(s, 'The script');
				if (problem) ctx.addIssue({ code: 'custom', message: problem });
			}
		})
});

/**
 * The content form's action (new and edit): the title and body checked by contentSchema, handed to
 * `save` with the member's business id, then the content's page. `save` returns the content's id,
 * or null when the business has no such content (a 404).
 */
export async function saveContent(
	{ locals, params, request, url }: RequestEvent<{ businessId: string }>,
	save: (businessId: string, fields: z.infer<typeof contentSchema>) => Promise<string | null>
) {
	const { business } = await requireMembership(locals, params.businessId, { url });
	const v = validate('content', contentSchema, await request.formData());
	if (!v.ok) return v.failure;
	const contentId = await save(business.id, v.data);
	if (!contentId) error(404, 'Not found');
	redirect(303, `/b/${business.id}/content/${contentId}`);
}
