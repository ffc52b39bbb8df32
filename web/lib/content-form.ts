/**
 * What the content editor (ContentForm) shows on the new and edit pages: after a refused save, the
 * title and body as sent with the refusal's messages; otherwise `saved` (empty for new content).
 */
export function contentFormFields(
	form: { values?: Record<string, string>; errors?: Record<string, string>; message?: string } | null | undefined,
	saved: { title: string; body: string } = { title: '', body: '' }
) {
	return {
		title: form?.values?.title ?? saved.title,
		body: form?.values?.body ?? saved.body,
		errors: form?.errors,
		message: form?.message
	};
}
