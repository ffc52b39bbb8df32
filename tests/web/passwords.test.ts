/**
 * Passwords are judged by zxcvbn-ts (web/lib/server/password-policy.ts) with the person's name,
 * email and this product's name as known words. The outside attack got each of these guessable
 * passwords past the old hand-written list of common ones.
 */
import { describe, expect } from 'vitest';
import { passwordProblem, personalWords } from '../../web/lib/server/password-policy.ts';
import type { TestDatabase } from '../helpers/db.ts';
import { webTest as test } from '../helpers/web-fixtures.ts';
import { Client } from './harness.ts';

// Only the sign-up form's tests start the app (fixtures start on first use).
test.override({ appOptions: { worker: false } });

const GUESSABLE = ['trustno1trustno1', 'qazwsxedcrfv', '!@#$%^&*()_+', 'Pa$$w0rd2025!', 'correcthorse', 'heygenheygen'];
const MARIA = { name: 'Maria Gonzalez', email: 'maria.gonzalez@acme.io' };
const HERS = ['MariaGonzalez2025', 'maria.gonzalez@acme', 'Gonzalez.Maria!2025'];
const STRONG = 'velvet tangerine orbits 48';

describe('the password policy', () => {
	test.each(GUESSABLE)('%j is too easy to guess, with zxcvbn naming why', (password) => {
		const problem = passwordProblem(password, MARIA);
		expect(problem).toMatch(/^This password is too easy to guess\. \S/);
	});

	test('named problems come from zxcvbn’s feedback', () => {
		expect(passwordProblem('trustno1trustno1')).toContain('Repeated character patterns like "abcabcabc" are easy to guess.');
		expect(passwordProblem('qazwsxedcrfv')).toContain('This is a commonly used password.');
		expect(passwordProblem('!@#$%^&*()_+')).toContain('Straight rows of keys on your keyboard are easy to guess.');
		expect(passwordProblem('heygenheygen')).toContain('There should not be any personal or page related data.');
	});

	test.each(HERS)('%j, built from Maria’s own name and email, is refused for her', (password) => {
		expect(passwordProblem(password, MARIA)).toMatch(/too easy to guess|mostly your name, your email/);
	});

	test('her words: name, email and their parts, plus the product', () => {
		expect(personalWords(MARIA)).toEqual(expect.arrayContaining(['acme.io', 'acme', 'heygen']));
		expect(personalWords(MARIA)).toEqual(
			expect.arrayContaining(['maria gonzalez', 'mariagonzalez', 'maria', 'gonzalez', 'maria.gonzalez@acme.io', 'maria.gonzalez'])
		);
	});

	test('a strong password passes, for her too; the length rules still hold', () => {
		expect(passwordProblem(STRONG, MARIA)).toBeNull();
		expect(passwordProblem('maria likes velvet tangerine orbits', MARIA)).toBeNull();
		expect(passwordProblem('short')).toBe('Use at least 12 characters.');
		expect(passwordProblem('x'.repeat(129))).toBe('Use at most 128 characters.');
		expect(passwordProblem(' '.repeat(12))).toBe('A password cannot be only spaces.');
	});

	test('only the first 64 characters are estimated (a long l33t run would cost seconds of CPU)', () => {
		expect(passwordProblem('a'.repeat(64) + STRONG)).toMatch(/too easy to guess/);
		expect(passwordProblem('p4$$w0rd'.repeat(16))).toMatch(/too easy to guess/);
	});
});

describe('the sign-up form', () => {
	const accounts = async (db: TestDatabase, email: string) =>
		(await db.sql('select count(*)::int as n from auth_users where email = $1', [email])).rows[0].n as number;

	type Case = [password: string, name: string, email: string];
	const cases: Case[] = [
		...GUESSABLE.map((p, i): Case => [p, 'Weak Walter', `walter.${i}@example.com`]),
		...HERS.slice(0, 2).map((p): Case => [p, MARIA.name, MARIA.email])
	];
	test.for(cases)('refuses %j (as %s)', async ([password, name, email], { db, app }) => {
		const r = await new Client(app.url).action('/signup', { name, email, password });
		expect(r.type).toBe('failure');
		expect(r.status).toBe(400);
		expect(r.data.errors.password).toMatch(/^This password (is too easy to guess\.|is mostly your name, your email)/);
		expect(r.data.values).toEqual({ name, email });
		expect(await accounts(db, email)).toBe(0);
	});

	test('accepts a strong one', async ({ db, app }) => {
		const r = await new Client(app.url).action('/signup', { name: MARIA.name, email: MARIA.email, password: STRONG });
		expect(r).toMatchObject({ type: 'redirect', location: '/login?signedUp=1' });
		expect(await accounts(db, MARIA.email)).toBe(1);
	});
});
