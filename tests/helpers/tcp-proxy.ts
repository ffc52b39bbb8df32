import { EventEmitter } from 'node:events';
import net from 'node:net';

/**
 * A TCP proxy in front of Postgres that a test can cut: `down()` drops every connection and
 * refuses new ones (what a worker sees when the database stops), `up()` lets them through again.
 */
export interface TcpProxy {
	port: number;
	/** `url` with host and port replaced by the proxy's. */
	urlFor(url: string): string;
	down(): void;
	up(): void;
	/** Resolves once `n` connections have been refused while down (someone kept trying to reach Postgres). */
	refusedAtLeast(n: number, timeoutMs?: number): Promise<void>;
	close(): Promise<void>;
}

export async function startTcpProxy(targetUrl: string): Promise<TcpProxy> {
	const target = new URL(targetUrl);
	const sockets = new Set<net.Socket>();
	let isUp = true;
	let refused = 0;
	const refusals = new EventEmitter();
	const server = net.createServer((client) => {
		if (!isUp) {
			client.destroy();
			refused++;
			refusals.emit('refused');
			return;
		}
		const upstream = net.connect(Number(target.port || 5432), target.hostname);
		sockets.add(client).add(upstream);
		const drop = () => {
			client.destroy();
			upstream.destroy();
			sockets.delete(client);
			sockets.delete(upstream);
		};
		client.on('error', drop).on('close', drop);
		upstream.on('error', drop).on('close', drop);
		client.pipe(upstream).pipe(client);
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const port = (server.address() as net.AddressInfo).port;
	return {
		port,
		urlFor(url) {
			const u = new URL(url);
			u.hostname = '127.0.0.1';
			u.port = String(port);
			return u.toString();
		},
		down() {
			isUp = false;
			for (const s of sockets) s.destroy();
			sockets.clear();
		},
		up() {
			isUp = true;
		},
		refusedAtLeast(n, timeoutMs = 10_000) {
			return new Promise<void>((resolve, reject) => {
				const check = () => {
					if (refused < n) return;
					clearTimeout(timer);
					refusals.off('refused', check);
					resolve();
				};
				const timer = setTimeout(() => {
					refusals.off('refused', check);
					reject(new Error(`only ${refused} of ${n} connections refused within ${timeoutMs} ms`));
				}, timeoutMs);
				refusals.on('refused', check);
				check();
			});
		},
		close: () =>
			new Promise<void>((resolve) => {
				for (const s of sockets) s.destroy();
				server.close(() => resolve());
			})
	};
}
