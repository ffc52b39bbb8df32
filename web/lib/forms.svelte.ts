import type { ActionResult, SubmitFunction } from '@sveltejs/kit';
import { toasts } from './toast.svelte.ts';

type Data = Record<string, unknown> | undefined;

export interface FormOptions {
	/** Toast after success (or a redirect that follows success). A function can read the action's data. */
	success?: string | ((data: Data) => string | undefined);
	/** Clear the fields after success (creation forms). Default false. */
	reset?: boolean;
	/** Runs before the request; return false to cancel it. */
	confirm?: () => boolean;
}

/**
 * Progressive enhancement for one form: `use:enhance={form.submit}` keeps the page in place,
 * `form.pending` drives the button's loading state (and blocks a second submit), a success becomes
 * a toast. A failure is not toasted: the page shows it once, by the field or atop the form
 * (FormMessage). Without JavaScript the same forms post normally and the server renders the result.
 */
export class FormState {
	pending = $state(false);
	#opts: FormOptions;

	constructor(opts: FormOptions = {}) {
		this.#opts = opts;
	}

	submit: SubmitFunction = ({ cancel }) => {
		if (this.pending || (this.#opts.confirm && !this.#opts.confirm())) {
			cancel();
			return;
		}
		this.pending = true;
		return async ({ result, update }) => {
			try {
				await this.#handle(result, update);
			} finally {
				this.pending = false;
			}
		};
	};

	async #handle(result: ActionResult, update: (opts?: { reset?: boolean; invalidateAll?: boolean }) => Promise<void>): Promise<void> {
		const okMessage = (data: Data) => (typeof this.#opts.success === 'function' ? this.#opts.success(data) : this.#opts.success);
		switch (result.type) {
			case 'success': {
				const msg = (result.data?.['message'] as string | undefined) ?? okMessage(result.data);
				if (msg) toasts.success(msg);
				await update({ reset: this.#opts.reset ?? false });
				break;
			}
			case 'redirect': {
				await update();
				// After the navigation, which clears the previous page's toast.
				const msg = okMessage(undefined);
				if (msg) toasts.success(msg);
				break;
			}
			case 'failure':
				await update({ reset: false });
				break;
			case 'error':
				// An unexpected server error: the error page says so (with its reference id).
				await update();
				break;
		}
	}
}
