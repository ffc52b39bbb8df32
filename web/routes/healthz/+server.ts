import { json } from '@sveltejs/kit';
import { checkHealth } from '$lib/server/health.ts';
import type { RequestHandler } from './$types';

/** Liveness/readiness: 200 when the database answers (status "ok", or "degraded" with no live worker), 503 when it does not. */
export const GET: RequestHandler = async () => {
	const h = await checkHealth();
	return json(h, { status: h.status === 'down' ? 503 : 200, headers: { 'cache-control': 'no-store' } });
};
