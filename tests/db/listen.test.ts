// db/listen.ts: the one reconnecting LISTEN connection of the web (live status) and the worker (key cache).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listen, type Listener } from '../../db/listen.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';

let db: TestDatabase;
beforeAll(async () => {
	db = await createTestDatabase();
});
afterAll(async () => {
	await db?.drop();
});

/** A promise with its resolver, for events the listener reports. */
function signal<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
	let resolve!: (v: T) => void;
	const promise = new Promise<T>((r) => (resolve = r));
	return { promise, resolve };
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
	let timer: NodeJS.Timeout;
	const late = new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
	return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

describe('listen()', () => {
	it('after its backend is terminated it reconnects, says so, and delivers the next notification', async () => {
		const got: string[] = [];
		let nextPayload = signal<string>();
		let listening = signal<boolean>();
		const lost = signal<void>();
		const listener: Listener = listen({
			connectionString: db.url,
			channels: ['listen_test', 'listen test "quoted"'],
			applicationName: 'listen-test',
			name: 'test listener',
			retryMinMs: 10,
			onNotification: (channel, payload) => {
				got.push(`${channel}:${payload}`);
				nextPayload.resolve(payload ?? '');
			},
			onListening: (again) => listening.resolve(again),
			onLost: () => lost.resolve()
		});
		try {
			expect(await within(listening.promise, 5_000, 'first listen')).toBe(false);
			await listener.ready();
			await db.sql(`select pg_notify('listen test "quoted"', 'one')`);
			expect(await within(nextPayload.promise, 5_000, 'first notification')).toBe('one');

			listening = signal<boolean>();
			nextPayload = signal<string>();
			const killed = await db.sql(`select pg_terminate_backend(pid) as ok from pg_stat_activity
				where application_name = 'listen-test' and datname = current_database()`);
			expect(killed.rows).toEqual([{ ok: true }]);
			await within(lost.promise, 5_000, 'loss noticed');
			expect(await within(listening.promise, 5_000, 'listening again')).toBe(true);
			await listener.ready();
			await db.sql(`select pg_notify('listen_test', 'two')`);
			expect(await within(nextPayload.promise, 5_000, 'notification after the reconnect')).toBe('two');
			expect(got).toEqual(['listen test "quoted":one', 'listen_test:two']);
		} finally {
			await listener.stop();
		}
		const left = await db.sql(`select count(*)::int as n from pg_stat_activity
			where application_name = 'listen-test' and datname = current_database()`);
		expect(left.rows[0].n).toBe(0);
	});
});
