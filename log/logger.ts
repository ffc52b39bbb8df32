import pino, { type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

/**
 * One logger for web and worker. Anything that could hold the HeyGen key or a storage credential
 * is redacted by path, as a second line of defence: the code never logs them on purpose.
 *
 * Lines are JSON (one object per line, for log collectors) unless stdout is a terminal, where they
 * are printed readably ("12:03:04 INFO (app): ready url=…").
 */
export function createLogger(opts: { level?: string; name?: string; destination?: pino.DestinationStream } = {}): Logger {
	return pino(
		{
			name: opts.name ?? 'heygen-video-jobs',
			level: opts.level ?? 'info',
			redact: {
				paths: [
					'apiKey',
					'*.apiKey',
					'key',
					'*.key',
					'headers["x-api-key"]',
					'*.headers["x-api-key"]',
					'authorization',
					'*.authorization',
					'serviceRoleKey',
					'*.serviceRoleKey',
					'password',
					'*.password'
				],
				censor: '[redacted]'
			}
		},
		opts.destination ?? (process.stdout.isTTY ? prettyStdout() : undefined)
	);
}

let prettyStream: pino.DestinationStream | null = null;

/**
 * One synchronous pretty printer for every logger in the process, so lines never interleave. In
 * colour only where colour is wanted (a terminal, no NO_COLOR; FORCE_COLOR forces it), never in a log file.
 */
function prettyStdout(): pino.DestinationStream {
	return (prettyStream ??= pretty({
		colorize: pretty.isColorSupported,
		sync: true,
		translateTime: 'SYS:HH:MM:ss',
		ignore: 'pid,hostname'
	}));
}
