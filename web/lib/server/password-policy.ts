import { COMMON_PASSWORDS } from './common-passwords.ts';

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 128;

/**
 * Why a new password is too weak, or null. Length first (12+), then what guessing tries early: the
 * bundled list of common passwords, those words with digits or symbols around them ("Password2024!"),
 * short patterns repeated ("abcabcabcabc", twelve spaces), and the person's own email or name.
 */
export function passwordProblem(password: string, who: { email?: string; name?: string } = {}): string | null {
	if ([...password].length < MIN_PASSWORD_LENGTH) return `Use at least ${MIN_PASSWORD_LENGTH} characters.`;
	if (password.length > MAX_PASSWORD_LENGTH) return `Use at most ${MAX_PASSWORD_LENGTH} characters.`;
	if (password.trim() === '') return 'A password cannot be only spaces.';
	const lower = password.toLowerCase().normalize('NFKC');
	const compact = lower.replace(/\s+/g, '');
	const core = compact.replace(/^[\d\W_]+/u, '').replace(/[\d\W_]+$/u, '');
	if (COMMON_PASSWORDS.has(lower) || COMMON_PASSWORDS.has(compact) || (core.length >= 4 && COMMON_PASSWORDS.has(core))) {
		return 'That password is one of the most common ones and is guessed first. Choose another.';
	}
	if (/^(.{1,4}?)\1+$/su.test(compact) || new Set(compact).size < 4) return 'That password is too repetitive. Choose another.';
	const local = who.email?.toLowerCase().split('@')[0] ?? '';
	if (local.length >= 4 && compact.includes(local.replace(/\s+/g, ''))) return 'Do not use your email address in your password.';
	const name = who.name?.toLowerCase().replace(/\s+/g, '') ?? '';
	if (name.length >= 4 && compact.includes(name)) return 'Do not use your name in your password.';
	return null;
}
