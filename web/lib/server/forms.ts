import { fail, type ActionFailure } from '@sveltejs/kit';
import type { z } from 'zod';

export type FieldErrors = Record<string, string>;

export interface FormFailure {
	/** Which form on the page failed (pages with several forms show errors next to the right one). */
	form: string;
	message: string;
	errors: FieldErrors;
	/** What the person typed, to put back in the fields. Never passwords or API keys. */
	values: Record<string, string>;
}

const SECRET_FIELDS = new Set(['password', 'currentPassword', 'newPassword', 'apiKey', 'key']);

export function formValues(data: FormData): Record<string, string> {
	const out: Record<string, string> = {};
	for (const [k, v] of data) if (typeof v === 'string' && !SECRET_FIELDS.has(k)) out[k] = v.replaceAll('\u0000', '');
	return out;
}

/** fail(status) with a form-level message and optional field errors, keeping the typed values. */
export function formError(
	form: string,
	data: FormData,
	message: string,
	errors: FieldErrors = {},
	status = 400
): ActionFailure<FormFailure> {
	return fail(status, { form, message, errors, values: formValues(data) });
}

/**
 * Validates a submitted form with a zod schema. On failure returns the ActionFailure to return
 * from the action (first message per field, typed values kept).
 */
export function validate<S extends z.ZodType>(
	form: string,
	schema: S,
	data: FormData,
	input: Record<string, unknown> = Object.fromEntries(data)
): { ok: true; data: z.infer<S> } | { ok: false; failure: ActionFailure<FormFailure> } {
	// A NUL can never be stored (Postgres text cannot hold it); name the field instead of failing later.
	const nul: FieldErrors = {};
	for (const [k, v] of Object.entries(input))
		if (typeof v === 'string' && v.includes('\u0000')) nul[k] = 'This field contains a NUL character (\\0); remove it.';
	if (Object.keys(nul).length) return { ok: false, failure: formError(form, data, 'Please fix the highlighted field.', nul) };
	const parsed = schema.safeParse(input);
	if (parsed.success) return { ok: true, data: parsed.data };
	const errors: FieldErrors = {};
	for (const issue of parsed.error.issues) {
		const field = issue.path.map(String).join('.') || '_';
		errors[field] ??= issue.message;
	}
	const count = Object.keys(errors).length;
	return {
		ok: false,
		failure: formError(
			form,
			data,
			count === 1 ? 'Please fix the highlighted field.' : `Please fix the ${count} highlighted fields.`,
			errors
		)
	};
}
