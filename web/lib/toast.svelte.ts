export type ToastKind = 'success' | 'error' | 'info';

export interface Toast {
	id: number;
	kind: ToastKind;
	message: string;
}

let nextId = 1;

/** Short-lived messages for the results of actions, announced to screen readers by Toasts.svelte. */
class ToastStore {
	items = $state<Toast[]>([]);

	show(kind: ToastKind, message: string, ms = kind === 'error' ? 8000 : 4000): void {
		const id = nextId++;
		this.items = [...this.items.filter((t) => t.message !== message), { id, kind, message }].slice(-4);
		setTimeout(() => this.dismiss(id), ms);
	}

	success(message: string): void {
		this.show('success', message);
	}

	error(message: string): void {
		this.show('error', message);
	}

	info(message: string): void {
		this.show('info', message);
	}

	dismiss(id: number): void {
		this.items = this.items.filter((t) => t.id !== id);
	}
}

export const toasts = new ToastStore();
