import { createLocalStorage, type LocalVideoStorage } from './local.ts';
import type { SupabaseStorageOptions, SupabaseVideoStorage } from './supabase.ts';
import type { VideoStorage } from './types.ts';

export type LocalStorageConfig = { kind: 'local'; dir: string; publicBaseUrl?: string };
export type SupabaseStorageConfig = { kind: 'supabase' } & SupabaseStorageOptions;
export type StorageConfig = LocalStorageConfig | SupabaseStorageConfig;

/**
 * Builds the storage adapter named by `config.kind` (local disk is the default in the app). The
 * Supabase adapter is loaded only when asked for: supabase-js and tus-js-client add ~15 MiB to a
 * process that stores on local disk.
 */
export async function createStorage(config: LocalStorageConfig): Promise<LocalVideoStorage>;
export async function createStorage(config: SupabaseStorageConfig): Promise<SupabaseVideoStorage>;
export async function createStorage(config: StorageConfig): Promise<VideoStorage>;
export async function createStorage(config: StorageConfig): Promise<VideoStorage> {
	switch (config.kind) {
		case 'local': {
			const { kind: _kind, ...options } = config;
			return createLocalStorage(options);
		}
		case 'supabase': {
			const { kind: _kind, ...options } = config;
			const { createSupabaseStorage } = await import('./supabase.ts');
			return createSupabaseStorage(options);
		}
		default: {
			const unknown: never = config;
			throw new TypeError(`unknown storage kind ${JSON.stringify((unknown as { kind?: unknown }).kind)}`);
		}
	}
}

export { createLocalStorage, PARTIAL_MAX_AGE_MS, PARTIAL_TOUCH_MS, resolveLocalPath, sweepPartials } from './local.ts';
export type { LocalVideoStorage } from './local.ts';
export type { SupabaseStorageOptions, SupabaseVideoStorage } from './supabase.ts';
export { StorageError, isStorageError } from './types.ts';
export type { VideoStorage } from './types.ts';
