import { createHmac } from 'node:crypto';

/** `Heygen-Signature` as HeyGen computes it: hex HMAC-SHA256 of the raw body, keyed with the secret string as it is. */
export function signWebhookBody(raw: Uint8Array | string, secret: string): string {
	return createHmac('sha256', secret).update(raw).digest('hex');
}
