/**
 * A failed translation's `failure_message` as a sentence a user understands. HeyGen gives free
 * text and no code for translations; free text is never stored as it came (it may echo the key,
 * and it is not written for the business's staff), so it is sorted into a few causes, each told
 * in our own words, with HeyGen's code kept only when it is one (heygen-said.ts).
 */
import { safeCode } from './heygen-said.ts';

const CAUSES: ReadonlyArray<[RegExp, string]> = [
	[/language|locale/i, 'HeyGen cannot translate this video into the chosen language.'],
	[/download|fetch|url|access|expired|not reachable|unreachable/i, 'HeyGen could not download the original video to translate it.'],
	[/speech|speaker|voice|audio|silent|silence/i, 'HeyGen found no speech it could translate in the original video.'],
	[/duration|too long|too short|length|minute/i, 'The original video is too long or too short for HeyGen to translate.'],
	[/credit|quota|balance|payment/i, 'The HeyGen account has no credits left for translations.'],
	[/format|codec|corrupt|invalid video|resolution/i, 'HeyGen could not read the original video file.']
];

export interface TranslationFailure {
	code: string;
	message: string;
}

/** The job's error for a translation HeyGen reports failed. */
export function translationFailure(raw: { code?: unknown; message?: unknown } | null | undefined, apiKey: string): TranslationFailure {
	const said = typeof raw?.message === 'string' ? raw.message : '';
	const cause = CAUSES.find(([re]) => re.test(said))?.[1];
	const code = safeCode(raw?.code, apiKey) ?? 'translation_failed';
	return {
		code: code === 'render_failed' ? 'translation_failed' : code,
		message:
			cause ?? (said ? 'HeyGen could not translate the video.' : 'HeyGen reported the translation as failed without giving a reason.')
	};
}
