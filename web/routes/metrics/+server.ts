import { renderMetrics } from '$lib/server/metrics.ts';
import type { RequestHandler } from './$types';

/** Prometheus exposition format. Aggregates only (no business names or ids). */
export const GET: RequestHandler = async () => {
	const { body, contentType } = await renderMetrics();
	return new Response(body, { headers: { 'content-type': contentType, 'cache-control': 'no-store' } });
};
