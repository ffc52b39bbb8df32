import { invalidateAll } from '$app/navigation';

/**
 * Reloads the page's data whenever a job of the business changes (at most twice a second), from
 * the business's live stream. Call in onMount; returns the cleanup.
 */
export function refreshOnJobEvents(base: string, lastEventId: number): () => void {
	let timer: ReturnType<typeof setTimeout> | undefined;
	const es = new EventSource(`${base}/events?since=${lastEventId}`);
	const refresh = () => {
		if (timer) return;
		timer = setTimeout(() => {
			timer = undefined;
			void invalidateAll();
		}, 500);
	};
	es.addEventListener('job', refresh);
	es.addEventListener('reload', refresh);
	return () => {
		es.close();
		clearTimeout(timer);
	};
}
