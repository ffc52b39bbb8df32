import client from 'prom-client';

/** Every way a HeyGen webhook delivery can end; a fixed set so /metrics has bounded labels. */
export const WEBHOOK_OUTCOMES = [
	'accepted',
	'duplicate',
	'unknown_video',
	'unknown_business',
	'bad_signature',
	'stale_timestamp',
	'malformed',
	'too_large',
	'ignored_event',
	'error'
] as const;
export type WebhookOutcome = (typeof WEBHOOK_OUTCOMES)[number];

// Counted in this process (each web process reports its own deliveries, as Prometheus expects).
const deliveries = new client.Counter({
	name: 'heygen_webhook_deliveries_total',
	help: 'HeyGen webhook deliveries received by this process, by outcome (accepted, duplicate, unknown_video, unknown_business, bad_signature, stale_timestamp, malformed, too_large, ignored_event, error).',
	labelNames: ['outcome'],
	registers: []
});
for (const outcome of WEBHOOK_OUTCOMES) deliveries.inc({ outcome }, 0);

export function countDelivery(outcome: WebhookOutcome): void {
	deliveries.inc({ outcome });
}

export function registerWebhookMetrics(registry: client.Registry): void {
	registry.registerMetric(deliveries);
}
