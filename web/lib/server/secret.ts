import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * AUTH_SECRET when configured; otherwise a random secret generated once and kept in
 * `<DATA_DIR>/auth-secret` (mode 0600), so sessions survive restarts without any setup. Several
 * processes starting at once agree on one file: the first creates it exclusively ('wx'), the
 * others read it.
 */
export function resolveAuthSecret(configured: string | undefined, dataDir: string): string {
	if (configured) return configured;
	const file = path.resolve(dataDir, 'auth-secret');
	const read = () => readFileSync(file, 'utf8').trim();
	try {
		const existing = read();
		if (existing.length >= 32) return existing;
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
	}
	mkdirSync(path.dirname(file), { recursive: true });
	const secret = randomBytes(32).toString('base64url');
	try {
		writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: 'wx' });
		return secret;
	} catch (err) {
		if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
			const other = read();
			if (other.length >= 32) return other;
		}
		throw new Error(`Could not create ${file} for the session secret: ${(err as Error).message}. Set AUTH_SECRET instead.`);
	}
}
