import { registerWebhook, webhookUrl } from '../heygen/webhook-registration.ts';
import { WEBHOOK_EVENTS } from '../heygen/webhooks.ts';
import type { PipelineContext } from './context.ts';

/** After a failed registration the worker tries again at most this often per business. */
const RETRY_AFTER_MS = 10 * 60_000;
const nextTry = new Map<string, number>();
const inFlight = new Map<string, Promise<void>>();
/** Endpoints this process has seen subscribed to every event of WEBHOOK_EVENTS. */
const eventsChecked = new Set<string>();

/**
 * Whether the business's endpoint at HeyGen misses an event this version listens to (one
 * registered before translations had only the avatar events). Asked once per endpoint and process.
 */
async function missesEvents(ctx: PipelineContext, endpointId: string, apiKey: string): Promise<boolean> {
	if (eventsChecked.has(endpointId)) return false;
	const found = (await ctx.webhooks!(apiKey).listEndpoints()).find((e) => e.id === endpointId);
	// Gone at HeyGen, or subscribed to all events (null) or to ours: nothing to do but remember.
	const misses = !!found && found.events !== null && WEBHOOK_EVENTS.some((e) => !found.events!.includes(e));
	if (!misses) eventsChecked.add(endpointId);
	return misses;
}

/**
 * A key set from SQL (set_heygen_key) has no webhook yet: register one on that account before the
 * business's next submit, so its completion arrives by webhook. An endpoint registered before this
 * version listened to translations is registered again, with every event, once (the old one is
 * deleted at HeyGen by registerWebhook). Cheap when there is nothing to do (one indexed row read);
 * never fails the submit — without a webhook the poll still finds the video.
 */
export function ensureWebhook(ctx: PipelineContext, businessId: string, apiKey: string): Promise<void> {
	const origin = ctx.settings.publicUrl;
	if (!origin || !ctx.webhooks) return Promise.resolve();
	if ((nextTry.get(businessId) ?? 0) > Date.now()) return Promise.resolve();
	const running = inFlight.get(businessId);
	if (running) return running;
	const p = (async () => {
		try {
			const row = await ctx.store.db
				.selectFrom('businesses')
				.select(['heygen_webhook_endpoint_id', 'heygen_webhook_url'])
				.where('id', '=', businessId)
				.executeTakeFirst();
			if (!row) return;
			const current = row.heygen_webhook_endpoint_id && row.heygen_webhook_url === webhookUrl(origin, businessId);
			if (current && !(await missesEvents(ctx, row.heygen_webhook_endpoint_id!, apiKey))) return;
			const r = await registerWebhook(ctx.store.db, { baseUrl: '', api: ctx.webhooks!, businessId, apiKey, origin });
			if (r.ok) {
				nextTry.delete(businessId);
				eventsChecked.add(r.endpointId);
				const why = current ? 'with the events it lacked' : 'for a key set from SQL';
				ctx.log.info({ businessId, endpointId: r.endpointId }, `registered the HeyGen webhook ${why}`);
			} else {
				nextTry.set(businessId, Date.now() + RETRY_AFTER_MS);
				ctx.log.warn({ businessId, reason: r.reason, message: r.message }, 'could not register the HeyGen webhook; polling only');
			}
		} catch (err) {
			nextTry.set(businessId, Date.now() + RETRY_AFTER_MS);
			ctx.log.warn({ businessId, err: { message: (err as Error).message } }, 'HeyGen webhook registration failed; polling only');
		} finally {
			inFlight.delete(businessId);
		}
	})();
	inFlight.set(businessId, p);
	return p;
}
