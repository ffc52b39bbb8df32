// Statistics and table output for the benchmarks.
/** Nearest-rank percentile of an unsorted sample. */
export function percentile(values: readonly number[], p: number): number {
	if (!values.length) return Number.NaN;
	const sorted = [...values].sort((a, b) => a - b);
	const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
	return sorted[rank - 1]!;
}

export function median(values: readonly number[]): number {
	if (!values.length) return Number.NaN;
	const s = [...values].sort((a, b) => a - b);
	const mid = Math.floor(s.length / 2);
	return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : String(n));
export const mb = (bytes: number): number => bytes / (1024 * 1024);

/** Prints a left-aligned table; the first row is the header. */
export function printTable(title: string, rows: string[][]): void {
	const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
	const line = (r: string[]) =>
		r
			.map((cell, c) => (cell ?? '').padEnd(widths[c]!))
			.join('  ')
			.trimEnd();
	console.log(`\n${title}`);
	console.log(line(rows[0]!));
	console.log(widths.map((w) => '-'.repeat(w)).join('  '));
	for (const r of rows.slice(1)) console.log(line(r));
}

export function section(title: string): void {
	console.log(`\n== ${title}`);
}
