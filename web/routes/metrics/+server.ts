import { config } from '$lib/server/config.ts';
import { metricsAccess } from '$lib/server/metrics-access.ts';
import { renderMetrics } from '$lib/server/metrics.ts';
import type { RequestHandler } from './$types';

/** Prometheus exposition format. Aggregates only (no business names or ids), and not for everyone. */
export const GET: RequestHandler = async ({ request, getClientAddress }) => {
	const access = metricsAccess(request.headers, getClientAddress(), config().METRICS_TOKEN);
	if (!access.ok) {
		return new Response(access.message + '\n', {
			status: access.status,
			headers: {
				'content-type': 'text/plain; charset=utf-8',
				'cache-control': 'no-store',
				...(access.status === 401 && { 'www-authenticate': 'Bearer realm="metrics"' })
			}
		});
	}
	const { body, contentType } = await renderMetrics();
	return new Response(body, { headers: { 'content-type': contentType, 'cache-control': 'no-store' } });
};
