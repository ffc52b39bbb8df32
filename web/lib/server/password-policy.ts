import { ZxcvbnFactory, type ZxcvbnResult } from '@zxcvbn-ts/core';
import * as common from '@zxcvbn-ts/language-common';
import * as en from '@zxcvbn-ts/language-en';

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 128;
/** zxcvbn's score 3: about 10^8 guesses or more ("safely unguessable" for an online attack). */
export const MIN_PASSWORD_SCORE = 3;

/** Words of this product an attacker tries with everyone's password. */
const PRODUCT_WORDS = ['heygen', 'avatar', 'avatars', 'video', 'videos', 'avatarvideos'];

const ESTIMATE_LENGTH = 64;

let estimator: ZxcvbnFactory | null = null;

/** zxcvbn with its common and English dictionaries, built once per process on first use. */
function strength(): ZxcvbnFactory {
	estimator ??= new ZxcvbnFactory({
		dictionary: { ...common.dictionary, ...en.dictionary },
		graphs: common.adjacencyGraphs,
		translations: en.translations,
		// The estimate grows steeply with length (a 128-character run of l33t symbols takes seconds);
		// the first 64 characters say enough, and a form post cannot tie up the CPU.
		maxLength: ESTIMATE_LENGTH,
		l33tMaxSubstitutions: 20
	});
	return estimator;
}

/**
 * The person's own words an attacker would try first: the name (whole, joined, each part), the
 * email (whole, local part with and without its separators, each part, the domain and its labels)
 * and this product's name.
 */
export function personalWords(who: { email?: string; name?: string }): string[] {
	const words = new Set<string>(PRODUCT_WORDS);
	const add = (w: string) => {
		const word = w.trim().toLowerCase();
		if ([...word].length >= 3) words.add(word);
	};
	const name = who.name?.normalize('NFKC') ?? '';
	add(name);
	add(name.replace(/\s+/g, ''));
	for (const part of name.split(/[^\p{L}\p{N}]+/u)) add(part);
	const email = who.email?.normalize('NFKC') ?? '';
	add(email);
	const at = email.lastIndexOf('@');
	const local = at >= 0 ? email.slice(0, at) : email;
	const domain = at >= 0 ? email.slice(at + 1) : '';
	add(local);
	add(local.replace(/[._+-]+/g, ''));
	for (const part of local.split(/[._+-]+/)) add(part);
	add(domain);
	for (const label of domain.split('.')) add(label);
	return [...words];
}

/** The password with every personal word taken out (longest first, any case). */
function withoutWords(password: string, words: string[]): string {
	let rest = password;
	for (const w of [...words].sort((a, b) => b.length - a.length)) {
		rest = rest.replace(new RegExp(w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'giu'), '');
	}
	return rest;
}

/** zxcvbn's own words about what is weak (its warning, then its suggestions). */
function feedback(result: ZxcvbnResult): string {
	return [result.feedback.warning, ...result.feedback.suggestions].filter(Boolean).join(' ');
}

/** The cheap rules alone: 12 to 128 characters, not only spaces. */
export function passwordLengthProblem(password: string): string | null {
	if ([...password].length < MIN_PASSWORD_LENGTH) return `Use at least ${MIN_PASSWORD_LENGTH} characters.`;
	if (password.length > MAX_PASSWORD_LENGTH) return `Use at most ${MAX_PASSWORD_LENGTH} characters.`;
	if (password.trim() === '') return 'A password cannot be only spaces.';
	return null;
}

/**
 * Why a new password is too weak, or null. The length rules first, then the zxcvbn estimate with
 * the person's name, email and this product's name as known words: a score under
 * MIN_PASSWORD_SCORE is refused with zxcvbn's feedback. What is left once those personal words are
 * taken out must score as well, so "MariaGonzalez2025" or "Gonzalez.Maria!2025" count as weak.
 * Costs up to a few hundred milliseconds of CPU: call it after rate limiting.
 */
export function passwordProblem(password: string, who: { email?: string; name?: string } = {}): string | null {
	const length = passwordLengthProblem(password);
	if (length) return length;
	const words = personalWords(who);
	const result = strength().check(password, words);
	if (result.score < MIN_PASSWORD_SCORE) return `This password is too easy to guess. ${feedback(result)}`.trim();
	const rest = withoutWords(password, words);
	if (rest !== password && strength().check(rest, words).score < MIN_PASSWORD_SCORE) {
		return 'This password is mostly your name, your email or the name of this product. Add words that have nothing to do with you.';
	}
	return null;
}
