import path from 'node:path';
import { readOrCreateSecretFile } from '$config/secret-file.ts';

/**
 * AUTH_SECRET when configured; otherwise a random secret generated once and kept in
 * `<DATA_DIR>/auth-secret` (mode 0600), so sessions survive restarts without any setup.
 */
export function resolveAuthSecret(configured: string | undefined, dataDir: string): string {
	return configured || readOrCreateSecretFile(path.resolve(dataDir, 'auth-secret'), 'AUTH_SECRET');
}
