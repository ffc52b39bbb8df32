import { z } from 'zod';

/** Control characters other than tab, newline and carriage return (C0, DEL, C1). */
const CONTROL_IN_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
/** Any control character: single-line fields (names, titles) have no use for tabs or newlines. */
const CONTROL_IN_LINE = /[\u0000-\u001f\u007f-\u009f]/;
/**
 * Bidirectional overrides, embeddings and isolates (U+202A–U+202E, U+2066–U+2069) and the line and
 * paragraph separators: they make a name display as something other than what it is.
 */
const DECEPTIVE = /[\u202a-\u202e\u2066-\u2069\u2028\u2029]/;

function codePoint(ch: string): string {
	return `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Why a one-line name or title cannot be used, or null. */
export function lineProblem(value: string, what: string): string | null {
	const control = CONTROL_IN_LINE.exec(value);
	if (control) return `${what} cannot contain control characters (found ${codePoint(control[0])}).`;
	const deceptive = DECEPTIVE.exec(value);
	if (deceptive) return `${what} cannot contain text-direction or separator characters (found ${codePoint(deceptive[0])}).`;
	return null;
}

/** Why multi-line text (a script) cannot be used, or null. Tabs and newlines are fine. */
export function textProblem(value: string, what: string): string | null {
	const control = CONTROL_IN_TEXT.exec(value);
	if (control) return `${what} cannot contain control characters (found ${codePoint(control[0])}); only tabs and line breaks are allowed.`;
	return null;
}

/**
 * Characters that show as nothing: Unicode spaces, zero-width characters, joiners, bidi marks,
 * fillers (Hangul, braille blank), the combining grapheme joiner, variation selectors and tag
 * characters. The same set as the script check in SQL (video_jobs_before_insert, migration 0020).
 */
const INVISIBLE =
	/[\s\u00a0\u00ad\u034f\u061c\u115f\u1160\u1680\u17b4\u17b5\u180b-\u180f\u2000-\u200f\u2028-\u202f\u205f-\u2064\u2066-\u206f\u2800\u3000\u3164\ufe00-\ufe0f\ufeff\uffa0\u{e0000}-\u{e0fff}]/gu;

export function isVisiblyEmpty(value: string): boolean {
	return value.replace(INVISIBLE, '') === '';
}

/** A trimmed one-line field: required, at most `max` characters, no control or bidi characters. */
export function lineField(what: string, opts: { max: number; required: string; tooLong?: string }) {
	return z
		.string()
		.trim()
		.superRefine((s, ctx) => {
			if (isVisiblyEmpty(s)) ctx.addIssue({ code: 'custom', message: opts.required });
			else if (s.length > opts.max) ctx.addIssue({ code: 'custom', message: opts.tooLong ?? `Use at most ${opts.max} characters.` });
			else {
				const problem = lineProblem(s, what);
				if (problem) ctx.addIssue({ code: 'custom', message: problem });
			}
		});
}
