/** Why HeyGen generation of a business is paused (businesses_heygen_paused_reason_check, migration 0024). */
export type PausedReason = 'insufficient_credit' | 'key_rejected';

/** The column's text as the type; SQL's check admits only the two, so anything else is not expected. */
export function asPausedReason(r: string | null): PausedReason | null {
	if (r === null) return null;
	return r === 'insufficient_credit' ? r : 'key_rejected';
}
