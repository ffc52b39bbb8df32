/**
 * What an action's message is: it worked (success), it is under way or done as asked but is no
 * achievement (info: "Video canceled.", "Retrying…"), or it failed (error). Styled by kind, so
 * nothing that is not an error is shown in red.
 */
export type MessageKind = 'success' | 'info' | 'error';

export const MESSAGE_KINDS: readonly MessageKind[] = ['success', 'info', 'error'];

export const isMessageKind = (k: unknown): k is MessageKind => typeof k === 'string' && (MESSAGE_KINDS as readonly string[]).includes(k);

export interface Toast {
	id: number;
	message: string;
	kind: MessageKind;
	/**
	 * The state the message describes (e.g. the job's status after "Video canceled."): once the
	 * page's state is another one, the message is stale and goes (see `stateIs`).
	 */
	about?: string;
}

let nextId = 1;

/**
 * The one message of the last action (announced to screen readers by Toasts.svelte). At most one
 * at a time: a new action's message replaces the previous one. It does not outlive the page it was
 * shown on, nor the state it describes. A failure is shown where it happened (next to the field or
 * atop the form, FormMessage), not here, so no message is shown twice.
 */
class ToastStore {
	current = $state<Toast | null>(null);
	#timer: ReturnType<typeof setTimeout> | undefined;
	/** The message whose state the page has shown (see stateIs). */
	#seen = 0;

	show(message: string, kind: MessageKind = 'success', opts: { about?: string; ms?: number } = {}): void {
		clearTimeout(this.#timer);
		const id = nextId++;
		this.current = { id, message, kind, ...(opts.about !== undefined && { about: opts.about }) };
		// A message about a state stays while it is true (stateIs removes it when not), a little longer.
		this.#timer = setTimeout(() => this.dismiss(id), opts.ms ?? (opts.about === undefined ? 6000 : 12_000));
	}

	success(message: string, ms?: number): void {
		this.show(message, 'success', { ms });
	}

	info(message: string, ms?: number): void {
		this.show(message, 'info', { ms });
	}

	dismiss(id?: number): void {
		if (id === undefined || this.current?.id === id) {
			clearTimeout(this.#timer);
			this.current = null;
		}
	}

	/**
	 * The page's state is now `state`. A message about a state goes once the page has shown that
	 * state and then another: stale. (Until the page's data has caught up with the action, e.g. a
	 * live reload that overtook the action's own, the old state is no reason to drop it.)
	 */
	stateIs(state: string | null | undefined): void {
		const t = this.current;
		if (t?.about === undefined || state === undefined || state === null) return;
		if (state === t.about) this.#seen = t.id;
		else if (this.#seen === t.id) this.dismiss();
	}
}

export const toasts = new ToastStore();
