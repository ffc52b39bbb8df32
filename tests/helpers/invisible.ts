/**
 * Scripts with no visible character, one per kind of invisible character. SQL (video_jobs) and the
 * web forms must both refuse every one of them as empty.
 */
export const INVISIBLE_SCRIPTS: Array<[string, string]> = [
	['Hangul choseong filler U+115F', '\u115f\u115f'],
	['Hangul jungseong filler U+1160', '\u1160'],
	['Hangul filler U+3164', '\u3164\u3164\u3164'],
	['halfwidth Hangul filler U+FFA0', '\uffa0'],
	['braille blank U+2800', '\u2800\u2800'],
	['combining grapheme joiner U+034F', '\u034f'],
	['tag characters U+E0000-E007F', '\u{e0001}\u{e0041}\u{e007f}'],
	['variation selectors U+FE00-FE0F', '\ufe00\ufe0f'],
	['variation selectors supplement U+E0100-E01EF', '\u{e0100}\u{e01ef}'],
	['zero-width and Unicode spaces', '\u200b\u00a0\u3000\u2060'],
	['a mix of all of them with spaces and newlines', ' \u2800\n\u{e0041}\u3164\t\u{e0100}\u034f ']
];
