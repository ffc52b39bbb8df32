import type { Database } from './client.ts';

/**
 * The business's HeyGen API key from Vault (get_heygen_key, migration 0005), or null when it has
 * none. The one place web and worker read it; callers keep it in memory only, never in a log line,
 * a job payload, an error or a page.
 */
export async function readHeyGenKey(db: Database, businessId: string): Promise<string | null> {
	const { key } = await db
		.selectNoFrom((eb) => eb.fn<string | null>('get_heygen_key', [eb.val(businessId)]).as('key'))
		.executeTakeFirstOrThrow();
	return key;
}
