// What POST /v3/videos accepts, checked like HeyGen does, and the [sim …] title switches.
import { apiError, HttpFail, isObj } from './http.ts';
import { SIM_AVATARS, SIM_MAX_SCRIPT_CHARS, SIM_VOICES, type SimFailure, type VideoBehaviour } from './types.ts';

/** Parse `[sim renderMs=… sizeBytes=… failWith=…]` out of a title. */
export function parseTitleBehaviour(title: string | null | undefined): VideoBehaviour {
	const out: VideoBehaviour = {};
	if (!title) return out;
	const m = /\[sim\s+([^\]]*)\]/.exec(title);
	if (!m || !m[1]) return out;
	for (const pair of m[1].trim().split(/\s+/)) {
		const [k, v] = pair.split('=');
		if (!k || v === undefined || v === '') continue;
		if (k === 'renderMs' && /^\d+$/.test(v)) out.renderMs = Number(v);
		else if (k === 'sizeBytes' && /^\d+$/.test(v)) out.sizeBytes = Number(v);
		else if (k === 'failWith') out.failWith = v;
	}
	return out;
}

export function toFailure(f: string | SimFailure): SimFailure {
	return typeof f === 'string' ? { code: f, message: `Video render failed (${f}).` } : f;
}

export const CREATE_FIELDS = new Set([
	'type',
	'avatar_id',
	'script',
	'voice_id',
	'audio_url',
	'audio_asset_id',
	'title',
	'resolution',
	'aspect_ratio',
	'fit',
	'background',
	'remove_background',
	'output_format',
	'caption',
	'voice_settings',
	'motion_prompt',
	'expressiveness',
	'engine',
	'callback_url',
	'callback_id',
	'watermark'
]);

export interface CreateRequest {
	avatarId: string;
	voiceId: string;
	script: string;
	title: string | null;
	resolution: string;
	aspectRatio: string;
	caption: boolean;
	callbackId: string | null;
	callbackUrl: string | null;
}

/** Validate a `POST /v3/videos` body like HeyGen (type "avatar" only). Throws HttpFail. */
export function validateCreate(body: unknown): CreateRequest {
	const bad = (param: string, message: string) => new HttpFail(400, apiError('invalid_parameter', message, param));
	if (!isObj(body)) throw bad('body', 'Request body must be a JSON object');
	for (const k of Object.keys(body)) if (!CREATE_FIELDS.has(k)) throw bad(k, `Unknown field ${k}`);
	if (body['type'] !== 'avatar') throw bad('type', 'type must be "avatar" (image, cinematic_avatar and studio are not simulated)');
	const str = (k: string, required = false): string | null => {
		const v = body[k];
		if (v === undefined || v === null) {
			if (required) throw bad(k, `${k} is required`);
			return null;
		}
		if (typeof v !== 'string') throw bad(k, `${k} must be a string`);
		return v;
	};
	const avatarId = str('avatar_id', true)!;
	const script = str('script', true)!;
	if (script.trim() === '') throw bad('script', 'script must not be empty');
	if (script.length > SIM_MAX_SCRIPT_CHARS) throw bad('script', `script must be at most ${SIM_MAX_SCRIPT_CHARS} characters`);
	const voiceId = str('voice_id', true)!;
	const oneOf = (k: string, values: string[], dflt: string) => {
		const v = str(k);
		if (v === null) return dflt;
		if (!values.includes(v)) throw bad(k, `${k} must be one of ${values.join(', ')}`);
		return v;
	};
	const resolution = oneOf('resolution', ['4k', '1080p', '720p'], '1080p');
	const aspectRatio = oneOf('aspect_ratio', ['16:9', '9:16', '4:5', '5:4', '1:1', 'auto'], '16:9');
	const bg = body['background'];
	if (bg !== undefined) {
		if (!isObj(bg) || (bg['type'] !== 'color' && bg['type'] !== 'image'))
			throw bad('background.type', 'background.type must be color or image');
		if (bg['type'] === 'color' && (typeof bg['value'] !== 'string' || !/^#[0-9a-fA-F]{6}$/.test(bg['value']))) {
			throw bad('background.value', 'background.value must be a hex colour like #ffffff');
		}
	}
	const vs = body['voice_settings'];
	if (vs !== undefined) {
		if (!isObj(vs)) throw bad('voice_settings', 'voice_settings must be an object');
		const range = (k: string, min: number, max: number) => {
			const v = vs[k];
			if (v !== undefined && (typeof v !== 'number' || v < min || v > max))
				throw bad(`voice_settings.${k}`, `voice_settings.${k} must be between ${min} and ${max}`);
		};
		range('speed', 0.5, 1.5);
		range('pitch', -50, 50);
		range('volume', 0, 1);
		if (vs['locale'] !== undefined && typeof vs['locale'] !== 'string')
			throw bad('voice_settings.locale', 'voice_settings.locale must be a string');
	}
	const cap = body['caption'];
	if (cap !== undefined && (!isObj(cap) || cap['file_format'] !== 'srt'))
		throw bad('caption.file_format', 'caption.file_format must be "srt"');
	const rb = body['remove_background'];
	if (rb !== undefined && typeof rb !== 'boolean') throw bad('remove_background', 'remove_background must be a boolean');
	const engine = body['engine'];
	if (engine !== undefined && (!isObj(engine) || !['avatar_iv', 'avatar_v', 'avatar_iii'].includes(String(engine['type'])))) {
		throw bad('engine.type', 'engine.type must be one of avatar_iv, avatar_v, avatar_iii');
	}
	const callbackUrl = str('callback_url');
	if (callbackUrl !== null && !/^https?:\/\//.test(callbackUrl)) throw bad('callback_url', 'callback_url must be an http(s) URL');
	if (!SIM_AVATARS.includes(avatarId as (typeof SIM_AVATARS)[number])) {
		throw new HttpFail(404, apiError('not_found', `Avatar look ${avatarId} not found`, 'avatar_id'));
	}
	if (!SIM_VOICES.includes(voiceId as (typeof SIM_VOICES)[number])) {
		throw new HttpFail(404, apiError('not_found', 'Voice not found', 'voice_id'));
	}
	return {
		avatarId,
		voiceId,
		script,
		title: str('title'),
		resolution,
		aspectRatio,
		caption: cap !== undefined,
		callbackId: str('callback_id'),
		callbackUrl
	};
}
