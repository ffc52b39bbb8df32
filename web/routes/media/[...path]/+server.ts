import { error, redirect } from '@sveltejs/kit';
import { createStorage, resolveLocalPath } from '$storage/index.ts';
import { config } from '$lib/server/config.ts';
import { serveFile, srtToVtt } from '$lib/server/media.ts';
import { readFile } from 'node:fs/promises';
import { requireMembership } from '$lib/server/tenancy.ts';
import type { SupabaseVideoStorage } from '$storage/index.ts';
import type { RequestHandler } from './$types';

const UUID = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
const MEDIA_PATH = new RegExp(`^(${UUID})/(${UUID})/(${UUID})\\.(mp4|jpg|vtt)$`);
const SRT_MAX_BYTES = 2 * 1024 * 1024;

let supabase: SupabaseVideoStorage | null = null;

/**
 * A job's stored files: /media/<business>/<content>/<job>.mp4, its thumbnail `.jpg`, and its SRT
 * subtitles served as WebVTT `.vtt` (what a <track> element reads). Only members of that business
 * get them (404 for everyone else, signed in or not). Local storage is streamed with Range support
 * so the player can seek; Supabase Storage answers with a redirect to a short-lived signed URL.
 */
export const GET: RequestHandler = async ({ locals, params, request, url }) => {
	const m = MEDIA_PATH.exec(params.path);
	if (!m) error(404, 'Not found');
	if (!locals.user) error(404, 'Not found');
	await requireMembership(locals, m[1], { url });
	const ext = m[4] as 'mp4' | 'jpg' | 'vtt';
	// Subtitles are stored as HeyGen gives them: SRT for an avatar video (served converted), WebVTT
	// (and SRT) for a translation (served as they are).
	const srtPath = params.path.replace(/\.vtt$/, '.srt');
	const stored = params.path;
	const c = config();
	if (c.STORAGE === 'supabase') {
		supabase ??= await createStorage({
			kind: 'supabase',
			url: c.SUPABASE_URL!,
			serviceRoleKey: c.SUPABASE_SERVICE_ROLE_KEY!,
			bucket: c.SUPABASE_BUCKET
		});
		const store = supabase;
		if (ext !== 'vtt') redirect(302, await store.signedUrl(stored, 3600).catch(() => error(404, 'Not found')));
		const text = async (p: string) => {
			const signed = await store.signedUrl(p, 3600).catch(() => null);
			const res = signed ? await fetch(signed) : null;
			return res?.ok ? res.text() : null;
		};
		const vtt = await text(stored);
		return subtitlesResponse(vtt, vtt === null ? await text(srtPath) : null);
	}
	let file: string;
	try {
		file = resolveLocalPath(c.storageDir, stored);
	} catch {
		error(404, 'Not found');
	}
	if (ext === 'vtt') {
		const read = (p: string) => readFile(resolveLocalPath(c.storageDir, p), 'utf8').catch(() => null);
		const vtt = await read(stored);
		return subtitlesResponse(vtt, vtt === null ? await read(srtPath) : null);
	}
	return serveFile(request, file, ext === 'mp4' ? 'video/mp4' : 'image/jpeg', {
		'cache-control': 'private, max-age=3600',
		'content-disposition': `inline; filename="${m[3]}.${ext}"`,
		'x-content-type-options': 'nosniff'
	});
};

/** The stored WebVTT as it is, else the stored SRT converted; 404 when there is neither (or it is too big). */
function subtitlesResponse(vtt: string | null, srt: string | null): Response {
	const text = vtt ?? (srt === null ? null : srtToVtt(srt));
	if (text === null || text.length > SRT_MAX_BYTES) error(404, 'Not found');
	return new Response(text, {
		headers: { 'content-type': 'text/vtt; charset=utf-8', 'cache-control': 'private, max-age=3600', 'x-content-type-options': 'nosniff' }
	});
}
