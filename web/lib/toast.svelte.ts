export interface Toast {
	id: number;
	message: string;
}

let nextId = 1;

/**
 * The confirmation of an action that worked ("Saved"), announced to screen readers by Toasts.svelte.
 * Only successes: a failure is shown once, where it happened (next to the field or atop the form).
 * At most one at a time, and it does not outlive the page it was shown on.
 */
class ToastStore {
	current = $state<Toast | null>(null);
	#timer: ReturnType<typeof setTimeout> | undefined;

	success(message: string, ms = 4000): void {
		clearTimeout(this.#timer);
		const id = nextId++;
		this.current = { id, message };
		this.#timer = setTimeout(() => this.dismiss(id), ms);
	}

	dismiss(id?: number): void {
		if (id === undefined || this.current?.id === id) {
			clearTimeout(this.#timer);
			this.current = null;
		}
	}
}

export const toasts = new ToastStore();
