import type { DestinationStream } from 'pino';
import { createLogger, type Logger } from '$log/logger.ts';
import { config } from './config.ts';

let logger: Logger | null = null;

/**
 * Where log lines go: stdout, unless the process that loaded the app put a stream at this
 * well-known symbol first (tests use it to scan every line for secrets).
 */
export const LOG_DESTINATION = Symbol.for('heygen-video-jobs.web.logDestination');

/** The web process's logger (pino, with the same secret redaction as the worker). */
export function log(): Logger {
	if (!logger) {
		const destination = (globalThis as Record<symbol, unknown>)[LOG_DESTINATION] as DestinationStream | undefined;
		logger = createLogger({ level: config().LOG_LEVEL, name: 'web', ...(destination && { destination }) });
	}
	return logger;
}

/** An error reduced to what may be logged: never a request body, header or key. */
export function errInfo(err: unknown): { message: string; code?: string } {
	if (err instanceof Error) {
		const code = (err as { code?: unknown }).code;
		return typeof code === 'string' ? { message: err.message, code } : { message: err.message };
	}
	return { message: String(err) };
}
