import type { ActionResult, SubmitFunction } from '@sveltejs/kit';
import { tick } from 'svelte';
import { isMessageKind, toasts } from './toast.svelte.ts';

type Data = Record<string, unknown> | undefined;

export interface FormOptions {
	/** Toast after success (or a redirect that follows success). A function can read the action's data. */
	success?: string | ((data: Data) => string | undefined);
	/** Clear the fields after success (creation forms). Default false. */
	reset?: boolean;
	/** Runs before the request; return false to cancel it. */
	confirm?: () => boolean;
}

/** Where the message of the last action is shown: the toast, or a form's FormMessage. */
export const TOAST_ID = 'action-message';
export const FORM_MESSAGE_ATTR = 'data-form-message';

/**
 * Progressive enhancement for one form: `use:enhance={form.submit}` keeps the page in place,
 * `form.pending` drives the button's loading state (and blocks a second submit), a success becomes
 * a toast. A failure is not toasted: the page shows it once, by the field or atop the form
 * (FormMessage). Without JavaScript the same forms post normally and the server renders the result
 * (Toasts.svelte renders a success's message from the page's `form`).
 *
 * One message per action: a new submit removes the previous action's toast. An action's data may
 * say what its message is (`message`), its kind (`kind`: success, info, error; default success:
 * "Video canceled." is info, not an error) and the state it describes (`about`, e.g. the job's
 * new status: the page calls `toasts.stateIs(status)` and the message goes once the state moved on
 * from it).
 *
 * Focus stays where the person was: SvelteKit moves it to <body> after a successful enhanced
 * submit (and a disabled or removed button loses it); it goes back to the submitting button, or,
 * when that is gone, to the message (a failing field, the form's message, or the toast).
 */
export class FormState {
	pending = $state(false);
	#opts: FormOptions;

	constructor(opts: FormOptions = {}) {
		this.#opts = opts;
	}

	submit: SubmitFunction = ({ cancel, formElement, submitter }) => {
		if (this.pending || (this.#opts.confirm && !this.#opts.confirm())) {
			cancel();
			return;
		}
		this.pending = true;
		// Another action ran: the previous one's message is stale.
		toasts.dismiss();
		return async ({ result, update }) => {
			try {
				await this.#handle(result, update);
			} finally {
				this.pending = false;
			}
			if (result.type === 'success' || result.type === 'failure') await restoreFocus(result.type, formElement, submitter);
		};
	};

	async #handle(result: ActionResult, update: (opts?: { reset?: boolean; invalidateAll?: boolean }) => Promise<void>): Promise<void> {
		const okMessage = (data: Data) => (typeof this.#opts.success === 'function' ? this.#opts.success(data) : this.#opts.success);
		switch (result.type) {
			case 'success': {
				await update({ reset: this.#opts.reset ?? false });
				// After the page's data is reloaded (toasts.stateIs: a message about a state goes once
				// the page showed that state and then another).
				const data = result.data;
				const msg = (typeof data?.['message'] === 'string' ? data['message'] : undefined) ?? okMessage(data);
				const about = data?.['about'];
				if (msg) toasts.show(msg, isMessageKind(data?.['kind']) ? data['kind'] : 'success', typeof about === 'string' ? { about } : {});
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

const focusable = (el: Element | null | undefined): el is HTMLElement =>
	el instanceof HTMLElement && el.isConnected && !(el as HTMLButtonElement).disabled && el.getClientRects().length > 0;

/** Focus is nowhere in particular (on <body>, or on an element the update removed). */
const focusLost = () => !document.activeElement || document.activeElement === document.body || !document.activeElement.isConnected;

async function restoreFocus(kind: 'success' | 'failure', form: HTMLFormElement, submitter: HTMLElement | null): Promise<void> {
	await tick();
	if (!focusLost()) return;
	const message = (el: Element | null) => {
		if (!(el instanceof HTMLElement)) return null;
		if (!el.hasAttribute('tabindex')) el.tabIndex = -1;
		return el;
	};
	const scope = form.isConnected ? (form.closest('section, .card, li, main') ?? form) : null;
	const candidates: (HTMLElement | null)[] =
		kind === 'failure'
			? [
					form.querySelector<HTMLElement>('[aria-invalid="true"]'),
					submitter,
					message(scope?.querySelector(`[${FORM_MESSAGE_ATTR}]`) ?? null),
					message(document.querySelector(`[${FORM_MESSAGE_ATTR}]`))
				]
			: [submitter, message(document.getElementById(TOAST_ID))];
	const target = candidates.find(focusable) ?? document.getElementById('main');
	target?.focus({ preventScroll: true });
	if (target) keepFocusNear(target, kind === 'success' ? () => message(document.getElementById(TOAST_ID)) : () => null);
}

/**
 * The page's data may still change after the action's own reload (a live update that overtook it
 * lands later) and remove the element that has focus, which drops focus to <body>: then it moves
 * to the message, or to the page's main region. Watches until focus moves elsewhere, or 15 s.
 */
function keepFocusNear(el: HTMLElement, message: () => HTMLElement | null): void {
	const stop = () => {
		observer.disconnect();
		clearTimeout(timer);
		document.removeEventListener('focusin', onFocus);
	};
	const onFocus = (e: FocusEvent) => {
		if (e.target !== el) stop();
	};
	const observer = new MutationObserver(() => {
		if (el.isConnected) return;
		stop();
		if (focusLost()) [message(), document.getElementById('main')].find(focusable)?.focus({ preventScroll: true });
	});
	observer.observe(document.body, { childList: true, subtree: true });
	document.addEventListener('focusin', onFocus);
	const timer = setTimeout(stop, 15_000);
}
