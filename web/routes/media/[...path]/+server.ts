import { error, redirect } from '@sveltejs/kit';
import { createStorage, resolveLocalPath } from '$storage/index.ts';
import { config } from '$lib/server/config.ts';
import { serveFile } from '$lib/server/media.ts';
import { requireMembership } from '$lib/server/tenancy.ts';
import type { SupabaseVideoStorage } from '$storage/index.ts';
import type { RequestHandler } from './$types';

const UUID = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
const VIDEO_PATH = new RegExp(`^(${UUID})/(${UUID})/(${UUID})\\.mp4$`);

let supabase: SupabaseVideoStorage | null = null;

/**
 * Stored videos: /media/<business>/<content>/<job>.mp4. Only members of that business get it (404
 * for everyone else, signed in or not). Local storage is streamed with Range support so the player
 * can seek; Supabase Storage answers with a redirect to a short-lived signed URL.
 */
export const GET: RequestHandler = async ({ locals, params, request, url }) => {
	const m = VIDEO_PATH.exec(params.path);
	if (!m) error(404, 'Not found');
	if (!locals.user) error(404, 'Not found');
	await requireMembership(locals, m[1], { url });
	const c = config();
	if (c.STORAGE === 'supabase') {
		supabase ??= createStorage({ kind: 'supabase', url: c.SUPABASE_URL!, serviceRoleKey: c.SUPABASE_SERVICE_ROLE_KEY!, bucket: c.SUPABASE_BUCKET });
		redirect(302, await supabase.signedUrl(params.path, 3600));
	}
	let file: string;
	try {
		file = resolveLocalPath(c.storageDir, params.path);
	} catch {
		error(404, 'Not found');
	}
	return serveFile(request, file, 'video/mp4', {
		'cache-control': 'private, max-age=3600',
		'content-disposition': `inline; filename="${m[3]}.mp4"`
	});
};
