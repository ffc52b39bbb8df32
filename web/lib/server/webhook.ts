import { createHmac, timingSafeEqual } from 'node:crypto';

/** Hex or base64 HMAC-SHA256 of the raw body, optionally prefixed `sha256=`, compared in constant time. */
export function verifySignature(raw: Uint8Array, header: string | null, secret: string): boolean {
	if (!header) return false;
	const mac = createHmac('sha256', secret).update(raw).digest();
	for (const part of header.split(',')) {
		const sig = part.trim().replace(/^(sha256=|v1=)/i, '');
		if (!sig) continue;
		const candidates = [/^[0-9a-f]{64}$/i.test(sig) ? Buffer.from(sig, 'hex') : null, Buffer.from(sig, 'base64')];
		for (const candidate of candidates) {
			if (candidate && candidate.length === mac.length && timingSafeEqual(candidate, mac)) return true;
		}
	}
	return false;
}
