import { handleWebhook } from '$lib/server/webhook.ts';
import type { RequestHandler } from './$types';

/**
 * HeyGen's webhook for one business's account (avatar_video.success | avatar_video.fail), signed
 * with that account's endpoint secret. Registered automatically (web/lib/server/webhooks.ts).
 */
export const POST: RequestHandler = ({ params, request }) => handleWebhook(params.businessId, request);
