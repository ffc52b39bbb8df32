import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { pidAlive } from '../../db/embedded.ts';

/** `npm start`'s database: data kept across restarts, clean Ctrl-C, a clear message when locked. */
const dataDir = mkdtempSync(path.join(tmpdir(), 'hvj-lifecycle-'));

function holdDatabase() {
	const child = spawn(process.execPath, [path.resolve('tests/fixtures/hold-database.ts')], {
		env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir },
		stdio: ['ignore', 'pipe', 'pipe']
	});
	let out = '';
	const line = new Promise<string>((resolve, reject) => {
		child.stdout.on('data', (c) => {
			out += String(c);
			const m = /(READY|FAILED) (.*)\n/.exec(out);
			if (m) resolve(`${m[1]} ${m[2]}`);
		});
		child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)));
	});
	const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
	return { child, line, exited };
}

function postmasterPid(): number | null {
	const file = path.join(dataDir, 'pg', 'postmaster.pid');
	return existsSync(file) ? Number(readFileSync(file, 'utf8').split('\n')[0]) : null;
}

const alive = pidAlive;

/** A numeric field of /proc/<pid>/stat after the command name: 1 = parent pid, 2 = process group. */
function statField(pid: number, index: number): number {
	const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
	return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[index]);
}

async function waitForExit(pid: number, timeoutMs = 15_000): Promise<boolean> {
	const until = Date.now() + timeoutMs;
	while (alive(pid) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
	return !alive(pid);
}

afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

describe('embedded Postgres lifecycle', () => {
	it('keeps data across a Ctrl-C and restart, leaves no postgres behind, and refuses a second instance', async () => {
		const first = holdDatabase();
		const ready = await first.line;
		expect(ready).toMatch(/^READY postgres:\/\//);
		const url = ready.slice('READY '.length);
		const c = new pg.Client(url);
		await c.connect();
		await c.query(`insert into businesses (name) values ('Survives restarts')`);
		await c.end();

		const second = holdDatabase();
		expect(await second.line).toMatch(/^FAILED .*already in use by another running instance.*Stop that instance first, or set DATA_DIR/);
		expect(await second.exited).toBe(3);

		const pid = postmasterPid();
		expect(pid && alive(pid)).toBe(true);
		first.child.kill('SIGINT');
		expect(await first.exited).toBe(0);
		expect(alive(pid!)).toBe(false);
		expect(existsSync(path.join(dataDir, 'pg', 'postmaster.pid'))).toBe(false);

		const third = holdDatabase();
		const again = (await third.line).slice('READY '.length);
		const d = new pg.Client(again);
		await d.connect();
		const { rows } = await d.query(`select name from businesses`);
		await d.end();
		expect(rows).toEqual([{ name: 'Survives restarts' }]);
		third.child.kill('SIGTERM');
		expect(await third.exited).toBe(0);
	}, 60_000);

	it('stops Postgres when the app is killed hard, and the next start works', async () => {
		const first = holdDatabase();
		await first.line;
		const pid = postmasterPid()!;
		first.child.kill('SIGKILL');
		await first.exited;
		// Postgres runs under a supervisor process that stops it when the app goes away.
		expect(await waitForExit(pid)).toBe(true);
		const next = holdDatabase();
		expect(await next.line).toMatch(/^READY /);
		next.child.kill('SIGINT');
		expect(await next.exited).toBe(0);
	}, 60_000);

	it('recovers the data directory when Postgres itself was left orphaned', async () => {
		const first = holdDatabase();
		await first.line;
		const pid = postmasterPid()!;
		const supervisor = statField(pid, 1);
		// Kill the supervisor first so nothing stops Postgres, then the app.
		process.kill(supervisor, 'SIGKILL');
		first.child.kill('SIGKILL');
		await first.exited;
		expect(alive(pid)).toBe(true);
		const next = holdDatabase();
		expect(await next.line).toMatch(/^READY /);
		expect(alive(pid)).toBe(false);
		next.child.kill('SIGINT');
		expect(await next.exited).toBe(0);
	}, 60_000);

	it('Ctrl-C reaches only the app: Postgres is in a process group of its own', async () => {
		const first = holdDatabase();
		await first.line;
		const pid = postmasterPid()!;
		expect(statField(pid, 2)).not.toBe(statField(first.child.pid!, 2));
		first.child.kill('SIGINT');
		expect(await first.exited).toBe(0);
		expect(alive(pid)).toBe(false);
	}, 60_000);

	it('keeps a random superuser password in DATA_DIR, readable only by its owner', async () => {
		const file = path.join(dataDir, 'postgres-password');
		const password = readFileSync(file, 'utf8').trim();
		expect(password.length).toBeGreaterThanOrEqual(24);
		expect(password).not.toBe('postgres');
		expect(statSync(file).mode & 0o777).toBe(0o600);
		const first = holdDatabase();
		const url = new URL((await first.line).slice('READY '.length));
		url.password = 'postgres';
		const c = new pg.Client(url.toString());
		await expect(c.connect()).rejects.toThrow(/password authentication failed/);
		first.child.kill('SIGINT');
		expect(await first.exited).toBe(0);
	}, 60_000);
});
