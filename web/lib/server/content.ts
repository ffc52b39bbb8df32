import { z } from 'zod';
import { MAX_SCRIPT_CHARS } from '$heygen/index.ts';
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
