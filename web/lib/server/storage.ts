import { createStorage, type VideoStorage } from '$storage/index.ts';
import { config } from './config.ts';

let storage: Promise<VideoStorage> | null = null;

/** The web process's Storage adapter (the worker's, built from the same settings), made on first use. */
export function videoStorage(): Promise<VideoStorage> {
	const c = config();
	storage ??=
		c.STORAGE === 'supabase'
			? createStorage({ kind: 'supabase', url: c.SUPABASE_URL!, serviceRoleKey: c.SUPABASE_SERVICE_ROLE_KEY!, bucket: c.SUPABASE_BUCKET })
			: createStorage({ kind: 'local', dir: c.storageDir, publicBaseUrl: '/media' });
	return storage;
}
