import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * One logger for web and worker. Anything that could hold the HeyGen key or a storage credential
 * is redacted by path, as a second line of defence: the code never logs them on purpose.
 */
export function createLogger(opts: { level?: string; name?: string; destination?: pino.DestinationStream } = {}): Logger {
	return pino(
		{
			name: opts.name ?? 'heygen-video-jobs',
			level: opts.level ?? 'info',
			redact: {
				paths: [
					'apiKey', '*.apiKey', 'key', '*.key', 'headers["x-api-key"]', '*.headers["x-api-key"]',
					'authorization', '*.authorization', 'serviceRoleKey', '*.serviceRoleKey', 'password', '*.password'
				],
				censor: '[redacted]'
			}
		},
		opts.destination
	);
}
