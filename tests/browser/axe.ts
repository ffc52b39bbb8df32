/**
 * axe-core in the browser tests: evaluates axe's own source (axe-core/axe.min.js) in the page and
 * runs it there, so the tests check what a screen-reader or keyboard user meets. Critical, serious
 * and moderate violations count (the product promises none); minor ones do not.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { expect } from 'vitest';

const axeSource = readFileSync(fileURLToPath(import.meta.resolve('axe-core/axe.min.js')), 'utf8');

export interface AxeViolation {
	id: string;
	impact: string;
	help: string;
	targets: string[];
}

const COUNTED = ['serious', 'moderate', 'critical'];

/** Runs axe on the page as it is now; the serious (and critical) and moderate violations, with the elements they concern. */
export async function axeViolations(page: Page): Promise<AxeViolation[]> {
	// Evaluated over the DevTools protocol, not as a <script> tag: the app's CSP (nonces) rightly refuses inline scripts.
	if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
	const violations = await page.evaluate(async () => {
		const axe = (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: RawViolation[] }> } }).axe;
		interface RawViolation {
			id: string;
			impact: string | null;
			help: string;
			nodes: { target: unknown[] }[];
		}
		const result = await axe.run(document, { resultTypes: ['violations'] });
		return result.violations.map((v) => ({
			id: v.id,
			impact: v.impact ?? 'unknown',
			help: v.help,
			targets: v.nodes.map((n) => n.target.map(String).join(' '))
		}));
	});
	return violations.filter((v) => COUNTED.includes(v.impact));
}

/** One line per violation: what is wrong and where, for a failure message that says what to fix. */
export function describeViolations(violations: AxeViolation[]): string {
	return violations.map((v) => `${v.impact} ${v.id} (${v.help}): ${v.targets.join(', ')}`).join('\n');
}

/** Fails the test when axe finds a serious or moderate violation on the page; `where` names the page in the message. */
export async function expectAccessible(page: Page, where: string): Promise<void> {
	const violations = await axeViolations(page);
	expect(violations, `axe on ${where} (${page.url()}):\n${describeViolations(violations)}`).toEqual([]);
}
