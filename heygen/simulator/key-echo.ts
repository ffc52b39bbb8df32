/**
 * The simulator's key-echo faults: HeyGen (or a proxy in front of it) answering with the caller's
 * API key inside an error's `code` and `message`, in one of the forms a careless server or logger
 * produces. The product must never store, log or show any of them (heygen/secret-forms.ts).
 */
export const KEY_ECHO_FORMS = [
	'raw',
	'minus_one',
	'upper',
	'lower',
	'base64',
	'base64url',
	'hex',
	'percent',
	'spaced',
	'zero_width',
	'reversed'
] as const;
export type KeyEchoForm = (typeof KEY_ECHO_FORMS)[number];

/** `key` written in `form`. */
export function echoKey(key: string, form: KeyEchoForm): string {
	const bytes = Buffer.from(key, 'utf8');
	switch (form) {
		case 'raw':
			return key;
		case 'minus_one':
			return key.slice(0, key.length >> 1) + key.slice((key.length >> 1) + 1);
		case 'upper':
			return key.toUpperCase();
		case 'lower':
			return key.toLowerCase();
		case 'base64':
			return bytes.toString('base64');
		case 'base64url':
			return bytes.toString('base64url');
		case 'hex':
			return bytes.toString('hex');
		case 'percent':
			return [...bytes].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
		case 'spaced':
			return [...key].join(' ');
		case 'zero_width':
			return [...key].join('\u200B');
		case 'reversed':
			return [...key].reverse().join('');
	}
}

/** An error code and message that carry the key in `form`, as the fault sends them. */
export function echoedError(key: string, form: KeyEchoForm): { code: string; message: string } {
	const k = echoKey(key, form);
	return { code: k, message: `Request refused for the API key ${k}; check the key ${k}.` };
}
