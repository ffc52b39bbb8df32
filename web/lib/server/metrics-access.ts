import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/** Headers a reverse proxy adds: a request carrying one came from elsewhere, whatever the socket says. */
const FORWARDED = ['forwarded', 'x-forwarded-for', 'x-real-ip', 'x-forwarded-host', 'true-client-ip', 'cf-connecting-ip'];

export function isLoopback(address: string): boolean {
	const a = address.toLowerCase().replace(/^::ffff:/, '');
	if (isIP(a) === 4) return a.startsWith('127.');
	return a === '::1';
}

function sameSecret(given: string, expected: string): boolean {
	// Hash both so the comparison takes the same time whatever the lengths.
	const h = (s: string) => createHash('sha256').update(s).digest();
	return timingSafeEqual(h(given), h(expected));
}

export type MetricsAccess = { ok: true } | { ok: false; status: 401 | 403; message: string };

/**
 * Who may read /metrics: with a token configured, exactly the requests that carry it as a bearer
 * token (loopback included); without one, only requests from this machine that did not pass
 * through a reverse proxy (which would make every visitor look local).
 */
export function metricsAccess(headers: Headers, clientAddress: string, token: string | undefined): MetricsAccess {
	if (token) {
		const m = /^Bearer\s+(\S+)\s*$/i.exec(headers.get('authorization') ?? '');
		if (m && sameSecret(m[1]!, token)) return { ok: true };
		return { ok: false, status: 401, message: 'Send the metrics token as "Authorization: Bearer <METRICS_TOKEN>".' };
	}
	if (isLoopback(clientAddress) && !FORWARDED.some((h) => headers.has(h))) return { ok: true };
	return { ok: false, status: 403, message: 'Metrics are only served to this machine. Set METRICS_TOKEN to scrape them from elsewhere.' };
}
