/**
 * Registers and removes a business's HeyGen webhook endpoint, used by the settings page (saving,
 * replacing, removing a key; the re-register button) and by the worker (a key set from SQL).
 *
 * The secret HeyGen returns goes straight into Vault through save_heygen_webhook (0014); it is
 * never returned, logged or stored elsewhere. That function only saves when the key used is still
 * the business's key, so a registration racing a key change cannot attach one account's secret to
 * another account; the endpoint it created is then deleted again.
 */
import { sql } from 'kysely';
import type { Database } from '../db/client.ts';
import type { Businesses } from '../db/types.ts';
import { isHeyGenError } from './errors.ts';
import { createWebhookApi, type WebhookApi } from './webhooks.ts';

/** What save_heygen_webhook returns (a set-returning SQL function, so the query stays raw). */
type SavedWebhook = { saved: boolean; previous_endpoint_id: Businesses['heygen_webhook_endpoint_id'] };

export interface WebhookApiFactoryOptions {
	baseUrl: string;
	/** HEYGEN_TIMEOUT_MS, as for every HeyGen call; default the transport's. */
	timeoutMs?: number;
	/** For tests: replaces the real API. */
	api?: (apiKey: string) => WebhookApi;
}

export type RegisterResult =
	| { ok: true; endpointId: string; url: string }
	| { ok: false; reason: 'no_public_url' | 'key_changed' | 'heygen_refused'; message: string };

/** Where HeyGen delivers a business's events. */
export function webhookUrl(origin: string, businessId: string): string {
	return new URL(`/api/heygen/webhook/${businessId}`, origin).toString();
}

/** HeyGen only accepts https endpoints; the simulator (and local use) accepts http. */
export function isHttpsOrigin(origin: string | undefined | null): boolean {
	return !!origin && origin.startsWith('https://');
}

function api(opts: WebhookApiFactoryOptions, apiKey: string): WebhookApi {
	if (opts.api) return opts.api(apiKey);
	return createWebhookApi({ baseUrl: opts.baseUrl, apiKey, ...(opts.timeoutMs !== undefined && { timeoutMs: opts.timeoutMs }) });
}

function describe(err: unknown): string {
	if (isHeyGenError(err)) return err.message.slice(0, 400);
	return 'unexpected error while talking to HeyGen';
}

/**
 * Creates an endpoint on the account of `apiKey` for the business and stores its secret. An
 * endpoint it replaces (the same account's previous one) is deleted at HeyGen afterwards, so a
 * re-registration has no gap in which deliveries would be refused.
 */
export async function registerWebhook(
	db: Database,
	opts: WebhookApiFactoryOptions & { businessId: string; apiKey: string; origin: string | undefined | null }
): Promise<RegisterResult> {
	const { businessId, apiKey } = opts;
	if (!opts.origin) {
		return { ok: false, reason: 'no_public_url', message: 'The app does not know its public URL (set ORIGIN), so HeyGen cannot reach it.' };
	}
	const url = webhookUrl(opts.origin, businessId);
	const heygen = api(opts, apiKey);
	let created;
	try {
		created = await heygen.createEndpoint(url);
	} catch (err) {
		const message = `HeyGen did not register the webhook: ${describe(err)}`;
		await sql`update businesses set heygen_webhook_error = ${message.slice(0, 500)} where id = ${businessId}`.execute(db);
		return { ok: false, reason: 'heygen_refused', message };
	}
	let saved: SavedWebhook | undefined;
	try {
		({
			rows: [saved]
		} = await sql<SavedWebhook>`
			select * from save_heygen_webhook(${businessId}, ${apiKey}, ${created.id}, ${url}, ${created.secret})`.execute(db));
	} catch (err) {
		await heygen.deleteEndpoint(created.id).catch(() => {});
		throw err;
	}
	if (!saved?.saved) {
		await heygen.deleteEndpoint(created.id).catch(() => {});
		return { ok: false, reason: 'key_changed', message: 'The API key changed while the webhook was being registered.' };
	}
	if (saved.previous_endpoint_id) await heygen.deleteEndpoint(saved.previous_endpoint_id).catch(() => {});
	return { ok: true, endpointId: created.id, url };
}

/**
 * Deletes the business's current endpoint at HeyGen with `apiKey` (the key of the account it
 * belongs to) and forgets it and its secret. Call before the key is replaced or removed: the old
 * key is the only way to reach the old account. Returns false when HeyGen could not be reached;
 * the registration is forgotten anyway, because the key is about to go.
 */
export async function unregisterWebhook(
	db: Database,
	opts: WebhookApiFactoryOptions & { businessId: string; apiKey: string }
): Promise<boolean> {
	const row = await db.selectFrom('businesses').select('heygen_webhook_endpoint_id').where('id', '=', opts.businessId).executeTakeFirst();
	const endpointId = row?.heygen_webhook_endpoint_id;
	if (!endpointId) return true;
	let ok = true;
	try {
		await api(opts, opts.apiKey).deleteEndpoint(endpointId);
	} catch {
		ok = false;
	}
	await sql`select clear_heygen_webhook(${opts.businessId}, ${endpointId})`.execute(db);
	return ok;
}

export interface WebhookStatus {
	registered: boolean;
	url: string | null;
	registeredAt: Date | null;
	lastDeliveryAt: Date | null;
	error: string | null;
}

export async function webhookStatus(db: Database, businessId: string): Promise<WebhookStatus> {
	const r = await db
		.selectFrom('businesses')
		.select([
			'heygen_webhook_endpoint_id',
			'heygen_webhook_url',
			'heygen_webhook_registered_at',
			'heygen_webhook_last_delivery_at',
			'heygen_webhook_error'
		])
		.where('id', '=', businessId)
		.executeTakeFirst();
	return {
		registered: !!r?.heygen_webhook_endpoint_id,
		url: r?.heygen_webhook_url ?? null,
		registeredAt: r?.heygen_webhook_registered_at ?? null,
		lastDeliveryAt: r?.heygen_webhook_last_delivery_at ?? null,
		error: r?.heygen_webhook_error ?? null
	};
}
