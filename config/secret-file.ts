import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * A random secret kept in `file` (mode 0600), made on first use so that a fresh install needs no
 * setup. Several processes starting at once agree on one file: the first creates it exclusively
 * ('wx'), the others read it. `envName` is named in the error when the file cannot be written.
 */
export function readOrCreateSecretFile(file: string, envName: string): string {
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
		throw new Error(`Could not create ${file}: ${(err as Error).message}. Set ${envName} instead.`, { cause: err });
	}
}
