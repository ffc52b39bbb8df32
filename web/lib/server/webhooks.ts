import { readHeyGenKey } from '$db/heygen-key.ts';
import {
	isHttpsOrigin,
	registerWebhook,
	unregisterWebhook,
	webhookStatus,
	webhookUrl,
	type RegisterResult,
	type WebhookStatus
} from '$heygen/webhook-registration.ts';
import { config } from './config.ts';
import { db } from './db.ts';
import { errInfo, log } from './log.ts';

function apiOptions() {
	return { baseUrl: config().HEYGEN_API_URL, timeoutMs: config().HEYGEN_TIMEOUT_MS };
}

const storedKey = (businessId: string) => readHeyGenKey(db(), businessId);

/** Registers (or re-registers) the business's webhook with its stored key. Never throws. */
export async function registerBusinessWebhook(businessId: string): Promise<RegisterResult> {
	try {
		const apiKey = await storedKey(businessId);
		if (!apiKey) return { ok: false, reason: 'key_changed', message: 'No HeyGen API key is saved.' };
		const r = await registerWebhook(db(), { ...apiOptions(), businessId, apiKey, origin: config().ORIGIN });
		if (r.ok) log().info({ businessId, endpointId: r.endpointId }, 'HeyGen webhook registered');
		else log().warn({ businessId, reason: r.reason, message: r.message }, 'HeyGen webhook not registered');
		return r;
	} catch (err) {
		log().error({ businessId, err: errInfo(err) }, 'HeyGen webhook registration failed');
		return { ok: false, reason: 'heygen_refused', message: 'The webhook could not be registered right now. Try again in a moment.' };
	}
}

/**
 * Before the key is replaced (by a different one) or removed: delete the endpoint on the old
 * account, which only the old key can reach. Never throws; a failure leaves an endpoint at HeyGen
 * whose deliveries are refused (its secret is gone).
 */
export async function retireBusinessWebhook(businessId: string, newKey: string | null): Promise<void> {
	try {
		const oldKey = await storedKey(businessId);
		if (!oldKey || oldKey === newKey) return;
		const deleted = await unregisterWebhook(db(), { ...apiOptions(), businessId, apiKey: oldKey });
		if (!deleted) log().warn({ businessId }, 'could not delete the old HeyGen webhook endpoint; its deliveries will be refused');
	} catch (err) {
		log().error({ businessId, err: errInfo(err) }, 'retiring the HeyGen webhook failed');
	}
}

export interface WebhookView extends WebhookStatus {
	/** The URL HeyGen would deliver to, or null when ORIGIN is not set. */
	expectedUrl: string | null;
	/** ORIGIN is http: HeyGen itself refuses such endpoints. */
	httpOrigin: boolean;
	/** Registered, but for another URL (ORIGIN changed): needs re-registering. */
	stale: boolean;
}

export async function webhookView(businessId: string): Promise<WebhookView> {
	const origin = config().ORIGIN;
	const s = await webhookStatus(db(), businessId);
	const expectedUrl = origin ? webhookUrl(origin, businessId) : null;
	return { ...s, expectedUrl, httpOrigin: !!origin && !isHttpsOrigin(origin), stale: s.registered && s.url !== expectedUrl };
}
