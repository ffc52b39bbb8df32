import path from 'node:path';
import { z } from 'zod';
import { readOrCreateSecretFile } from './secret-file.ts';

/**
 * Every environment variable the project reads, parsed once. Each entry point (npm start, the
 * worker, the CLI) calls loadConfig() and passes the result down as a value; nothing else reads
 * process.env, so a typo or a bad value fails at start-up with the variable's name instead of
 * somewhere deep in a request. One exception, outside our code: adapter-node reads ORIGIN from
 * process.env when build/handler.js loads (scripts/app.ts sets it just before).
 */
const bool = z.enum(['1', '0', 'true', 'false', 'yes', 'no', '']).transform((v) => v === '1' || v === 'true' || v === 'yes');

/** See POLL_BATCH_SIZE below; also what benchmarks give pg-boss as the worker's poll batch. */
export const POLL_BATCH_SIZE_DEFAULT = 500;

const schema = z.object({
	DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
	/** Where the embedded Postgres keeps its data when DATABASE_URL is unset. */
	DATA_DIR: z.string().min(1).default('.data'),
	HOST: z.string().default('127.0.0.1'),
	PORT: z.coerce.number().int().min(0).max(65535).default(5173),
	/**
	 * The URL people use to reach the app; links and each business's HeyGen webhook endpoint
	 * (<ORIGIN>/api/heygen/webhook/<business id>) are built from it. HeyGen accepts only https.
	 */
	ORIGIN: z.url().optional(),
	LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),

	HEYGEN_API_URL: z.url().default('https://api.heygen.com'),
	HEYGEN_TIMEOUT_MS: z.coerce.number().int().positive().default(30_000),

	POLL_INITIAL_SECONDS: z.coerce.number().positive().default(5),
	// 5 s, then every 6 s: without webhooks a finished render is noticed under 5 s later (median)
	// for renders of 1–15 min (8 s measured 5.5 s); renders are paced per account, so this costs
	// little (bench:pipeline prints the delay and the status calls per video).
	POLL_MAX_SECONDS: z.coerce.number().positive().default(6),
	/**
	 * Due status polls one worker takes at once; they are checked with one bulk status call per
	 * account (up to 100 videos each), so larger batches mean fewer HeyGen calls: with many
	 * accounts, a batch of 100 held ~1.6 videos per account (bench:pipeline, 10,000 rendering over
	 * 100 accounts: 1,459 polls/s of 2,000 due, worker CPU-bound); 500 held ~5 and kept up.
	 */
	POLL_BATCH_SIZE: z.coerce.number().int().min(1).max(500).default(POLL_BATCH_SIZE_DEFAULT),
	RETRY_BASE_SECONDS: z.coerce.number().positive().default(2),
	RETRY_MAX_SECONDS: z.coerce.number().positive().default(60),
	MAX_SUBMITS: z.coerce.number().int().min(1).default(5),
	MAX_TRANSFERS: z.coerce.number().int().min(1).default(8),
	DOWNLOAD_STALL_SECONDS: z.coerce.number().positive().default(60),
	/** How often a job waiting for a free HeyGen render slot (businesses.heygen_concurrency) looks again. */
	SLOT_WAIT_SECONDS: z.coerce.number().positive().default(5),
	/** A business paused because HeyGen said 402 (no credit) or 401 (key rejected) is first probed at /v3/users/me after this long. */
	HEYGEN_PAUSE_PROBE_SECONDS: z.coerce.number().positive().default(120),
	/** The probe's gap doubles up to this. */
	HEYGEN_PAUSE_PROBE_MAX_SECONDS: z.coerce.number().positive().default(600),
	/** How many jobs of each step one worker process runs at once. */
	WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(500).default(20),
	WORKER_SHUTDOWN_SECONDS: z.coerce.number().positive().default(20),
	/** How often pg-boss looks for jobs whose worker died (their heartbeat stopped). */
	WORKER_MONITOR_SECONDS: z.coerce.number().int().min(1).default(10),
	/** Run the worker inside the web process (npm start); npm run web sets it to false. */
	RUN_WORKER: bool.default(true),

	STORAGE: z.enum(['local', 'supabase']).default('local'),
	STORAGE_DIR: z.string().optional(),
	SUPABASE_URL: z.url().optional(),
	SUPABASE_SERVICE_ROLE_KEY: z.string().min(1).optional(),
	SUPABASE_BUCKET: z.string().min(1).default('videos'),

	AUTH_SECRET: z.string().min(32, 'AUTH_SECRET must be at least 32 characters').optional(),
	/**
	 * The root key of the Vault stand-in on plain Postgres (db/README.md, "Vault root key"): without
	 * it nothing in the database decrypts. Default: generated once into <DATA_DIR>/vault-root.key.
	 */
	VAULT_ROOT_KEY: z
		.string()
		.min(32, 'VAULT_ROOT_KEY must be at least 32 characters')
		.regex(/^[\x21-\x7e]+$/, 'VAULT_ROOT_KEY must be printable ASCII without spaces')
		.optional(),
	/** When set, /metrics answers only requests with `Authorization: Bearer <METRICS_TOKEN>`; else only loopback. */
	METRICS_TOKEN: z
		.string()
		.min(16, 'METRICS_TOKEN must be at least 16 characters')
		.regex(/^[\x21-\x7e]+$/, 'METRICS_TOKEN must be printable ASCII without spaces')
		.optional()
});

export type Config = z.infer<typeof schema> & { storageDir: string };

export class ConfigError extends Error {
	override name = 'ConfigError';
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
	const parsed = schema.safeParse(env);
	if (!parsed.success) {
		const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
		throw new ConfigError(`Invalid environment:\n${lines.join('\n')}`);
	}
	const c = parsed.data;
	if (c.STORAGE === 'supabase' && (!c.SUPABASE_URL || !c.SUPABASE_SERVICE_ROLE_KEY)) {
		throw new ConfigError('Invalid environment:\n  STORAGE=supabase needs SUPABASE_URL and SUPABASE_SERVICE_ROLE_KEY');
	}
	return { ...c, storageDir: c.STORAGE_DIR ?? `${c.DATA_DIR}/videos` };
}

/** Where the Vault root key is kept when VAULT_ROOT_KEY is not set. */
export const vaultRootKeyFile = (dataDir: string): string => path.resolve(dataDir, 'vault-root.key');

/**
 * The Vault stand-in's root key: VAULT_ROOT_KEY, else <DATA_DIR>/vault-root.key (made, mode 0600,
 * on first use). Every connection that encrypts or decrypts secrets gets it through db/client.ts.
 */
export function resolveVaultRootKey(config: Pick<Config, 'VAULT_ROOT_KEY' | 'DATA_DIR'>): string {
	const key = config.VAULT_ROOT_KEY ?? readOrCreateSecretFile(vaultRootKeyFile(config.DATA_DIR), 'VAULT_ROOT_KEY');
	if (!/^[\x21-\x7e]{32,}$/.test(key)) {
		throw new ConfigError(`${vaultRootKeyFile(config.DATA_DIR)} must hold at least 32 printable characters without spaces`);
	}
	return key;
}

// The parsed settings of this process, handed from the entry point that parsed them to code it
// loads separately: the built web app (build/handler.js bundles its own copy of this module, so
// a module variable would not be shared) and the dev server's hooks. A global symbol is shared.
const PROVIDED = Symbol.for('heygen-video-jobs.config');

/** Makes `config` the settings that providedConfig() returns; call before loading the web app. */
export function provideConfig(config: Config): void {
	(globalThis as Record<symbol, unknown>)[PROVIDED] = config;
}

/** The settings an entry point provided, or null when it did not (then parse the environment). */
export function providedConfig(): Config | null {
	return ((globalThis as Record<symbol, unknown>)[PROVIDED] as Config | undefined) ?? null;
}
