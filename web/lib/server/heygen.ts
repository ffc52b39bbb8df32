import { readHeyGenKey } from '$db/heygen-key.ts';
import { createHeyGenClient, isHeyGenError, type Avatar, type Credits, type HeyGenClient, type Voice } from '$heygen/index.ts';
import { config } from './config.ts';
import { db } from './db.ts';
import { errInfo, log } from './log.ts';

/** Every HeyGen call, the web's and the worker's, has the one configured timeout. */
function timeoutMs(): number {
	return config().HEYGEN_TIMEOUT_MS;
}

/**
 * Why a typed key cannot be a HeyGen key, or null. HeyGen keys are printable ASCII; anything else
 * could not even be sent in a request header, and must not be reported as a network problem.
 */
export function keyFormatProblem(apiKey: string): string | null {
	if (/\s/.test(apiKey)) return 'The key cannot contain spaces. Paste it exactly as HeyGen shows it.';
	if (!/^[\x21-\x7e]+$/.test(apiKey)) {
		return 'The key has characters a HeyGen API key cannot have (only letters, digits and punctuation; no accents, symbols or control characters). Copy it again from HeyGen.';
	}
	return null;
}

/** A client for a key someone just typed (to check it before it is saved). */
export function clientForKey(apiKey: string): HeyGenClient {
	return createHeyGenClient({ baseUrl: config().HEYGEN_API_URL, apiKey, timeoutMs: timeoutMs() });
}

/**
 * A client with the business's stored key, or null when it has none. The key is read with
 * get_heygen_key and stays inside the client; it is never returned, logged or put in a page.
 */
export async function clientForBusiness(businessId: string): Promise<HeyGenClient | null> {
	const key = await readHeyGenKey(db(), businessId);
	return key ? clientForKey(key) : null;
}

/** What to tell a person when a HeyGen call made on their behalf failed. Never contains the key. */
export function describeHeyGenError(err: unknown, action = 'HeyGen'): string {
	if (!isHeyGenError(err)) return `${action} failed unexpectedly. Try again in a moment.`;
	switch (err.code) {
		case 'invalid_api_key':
			return 'HeyGen rejected this API key. Copy it again from HeyGen (Settings → API) and paste the whole key.';
		case 'forbidden':
			return 'HeyGen refused this key for the request (its plan or permissions do not allow it).';
		case 'timeout':
			return `HeyGen did not answer in time (${Math.round(timeoutMs() / 1000)} s). Nothing was saved; try again.`;
		case 'network':
		case 'aborted':
			return 'Could not reach HeyGen (no network connection to the HeyGen API). Nothing was saved; check the connection and try again.';
		case 'rate_limited':
		case 'request_in_progress':
			return 'HeyGen is rate-limiting requests right now. Wait a minute and try again.';
		case 'insufficient_credit':
			return 'HeyGen has no credits left on this account.';
		default:
			if (err.retryable) return `HeyGen is having trouble right now (${err.code}). Nothing was saved; try again in a moment.`;
			return err.message;
	}
}

export interface Catalog {
	/** Avatar looks, every page of them. */
	avatars: Avatar[];
	/** Voices, every page of them. */
	voices: Voice[];
	credits: Credits | null;
	/** Why the lists could not be loaded, in words; null when they were. */
	error: string | null;
}

const CATALOG_TTL_MS = 5 * 60_000;
const catalogs = new Map<string, { at: number; value: Promise<Catalog> }>();
// The last catalog that arrived, per business: pages that must not wait on HeyGen read this.
const arrived = new Map<string, Catalog>();

async function fetchCatalog(businessId: string): Promise<Catalog> {
	const client = await clientForBusiness(businessId);
	if (!client) return { avatars: [], voices: [], credits: null, error: null };
	const [avatars, voices, account] = await Promise.allSettled([client.listAvatars(), client.listVoices(), client.account()]);
	const firstError = [avatars, voices, account].find((r) => r.status === 'rejected');
	if (firstError) log().warn({ businessId, err: errInfo(firstError.reason) }, 'HeyGen catalog incomplete');
	const sortByName = <T extends { name: string }>(xs: T[]) => [...xs].sort((a, b) => a.name.localeCompare(b.name));
	return {
		avatars: avatars.status === 'fulfilled' ? sortByName(avatars.value) : [],
		voices: voices.status === 'fulfilled' ? sortByName(voices.value) : [],
		credits: account.status === 'fulfilled' ? account.value.credits : null,
		error: firstError ? describeHeyGenError(firstError.reason, 'Loading your HeyGen avatars and voices') : null
	};
}

/** The business's avatar looks, voices and remaining credits from HeyGen, cached for a few minutes. */
export function heygenCatalog(businessId: string): Promise<Catalog> {
	const hit = catalogs.get(businessId);
	if (hit && Date.now() - hit.at < CATALOG_TTL_MS) return hit.value;
	const value = fetchCatalog(businessId).then((c) => {
		// Failures are not cached: the next page view tries again.
		if (c.error) catalogs.delete(businessId);
		else arrived.set(businessId, c);
		return c;
	});
	catalogs.set(businessId, { at: Date.now(), value });
	return value;
}

export function forgetCatalog(businessId: string): void {
	catalogs.delete(businessId);
	arrived.delete(businessId);
}

/** The catalog HeyGen last sent (within the cache's lifetime), without asking it; null when unknown. */
export function knownCatalog(businessId: string): Catalog | null {
	const hit = catalogs.get(businessId);
	if (!hit || Date.now() - hit.at >= CATALOG_TTL_MS) return null;
	return arrived.get(businessId) ?? null;
}

/** The remaining credits HeyGen last reported (within the cache's lifetime), without asking it; null when unknown. */
export function knownCredits(businessId: string): Credits | null {
	return knownCatalog(businessId)?.credits ?? null;
}

export type CatalogCheck =
	| { ok: true; avatar: Avatar; voice: Voice }
	| { ok: false; errors: { avatarId?: string; voiceId?: string }; message: string; unavailable: boolean };

/**
 * Whether an avatar look and a voice are in this business's HeyGen account, before they are saved
 * (a made-up id would otherwise fail every video at submit). A miss in the cached lists looks
 * again at HeyGen once, for a look or voice created in the last few minutes.
 */
export async function checkCatalogIds(businessId: string, ids: { avatarId: string; voiceId: string }): Promise<CatalogCheck> {
	const find = (c: Catalog) => ({
		avatar: c.avatars.find((a) => a.id === ids.avatarId),
		voice: c.voices.find((v) => v.id === ids.voiceId)
	});
	let catalog = await heygenCatalog(businessId);
	let found = find(catalog);
	if (!found.avatar || !found.voice) {
		forgetCatalog(businessId);
		catalog = await heygenCatalog(businessId);
		found = find(catalog);
	}
	if (found.avatar && found.voice) return { ok: true, avatar: found.avatar, voice: found.voice };
	if (catalog.error && (!catalog.avatars.length || !catalog.voices.length)) {
		return {
			ok: false,
			errors: {},
			unavailable: true,
			message: `${catalog.error} The avatar and voice were not saved, because they could not be checked.`
		};
	}
	const errors: { avatarId?: string; voiceId?: string } = {};
	if (!found.avatar) errors.avatarId = `This HeyGen account has no avatar look with the ID "${ids.avatarId}". Choose one from the list.`;
	if (!found.voice) errors.voiceId = `This HeyGen account has no voice with the ID "${ids.voiceId}". Choose one from the list.`;
	const what = [errors.avatarId && 'avatar', errors.voiceId && 'voice'].filter(Boolean).join(' and ');
	return {
		ok: false,
		errors,
		unavailable: false,
		message: `Nothing was saved: the ${what} ${what.includes(' and ') ? 'are' : 'is'} not in your HeyGen account.`
	};
}
