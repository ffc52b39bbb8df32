/**
 * Refreshes heygen/schemas/v3-subset.json from the full set of HeyGen v3 schemas (extracted from
 * HeyGen's CLI, heygen-com/heygen-cli gen/*.go, Apache-2.0):
 *
 *   npm run heygen:schemas -- path/to/heygen-v3-schemas.json
 *
 * It keeps the routes this product calls, plus the ones the next features need, verbatim. The
 * contract test (tests/heygen/contract.test.ts) checks the client's requests and the simulator's
 * replies against them.
 */
import { readFileSync, writeFileSync } from 'node:fs';

/** Routes the product calls today (heygen/client.ts, heygen/translations.ts, heygen/webhooks.ts). */
export const USED_ROUTES = [
	'POST /v3/video-translations/batches',
	'GET /v3/video-translations/batches/{batch_id}',
	'GET /v3/video-translations/{video_translation_id}',
	'GET /v3/video-translations/statuses',
	'GET /v3/video-translations/languages',
	'GET /v3/video-translations',
	'POST /v3/assets',
	'POST /v3/videos',
	'GET /v3/videos/{video_id}',
	'GET /v3/videos/statuses',
	'GET /v3/avatars/looks',
	'GET /v3/voices',
	'GET /v3/users/me',
	'POST /v3/webhooks/endpoints',
	'GET /v3/webhooks/endpoints',
	'DELETE /v3/webhooks/endpoints/{endpoint_id}',
	'GET /v3/webhooks/events'
];

/** Routes the next features need (video translations, asset upload). */
function neededNext(route: string): boolean {
	const path = route.slice(route.indexOf(' ') + 1);
	return path.startsWith('/v3/video-translations') || path === '/v3/assets';
}

const OUT = new URL('./v3-subset.json', import.meta.url);

interface Full {
	source: string;
	endpoints: Record<string, unknown>;
}

function main(): void {
	const input = process.argv[2];
	if (!input) {
		console.error('Usage: npm run heygen:schemas -- path/to/heygen-v3-schemas.json');
		process.exit(2);
	}
	const full = JSON.parse(readFileSync(input, 'utf8')) as Full;
	if (typeof full.source !== 'string' || typeof full.endpoints !== 'object' || full.endpoints === null) {
		console.error(`${input} is not a schema set: expected {"source": "...", "endpoints": {"METHOD /path": …}}`);
		process.exit(1);
	}
	const missing = USED_ROUTES.filter((r) => !(r in full.endpoints));
	if (missing.length) {
		console.error(`${input} lacks routes the product calls: ${missing.join(', ')}`);
		process.exit(1);
	}
	const keep = Object.keys(full.endpoints)
		.filter((r) => USED_ROUTES.includes(r) || neededNext(r))
		.sort();
	const subset = {
		source: full.source,
		licence: 'Apache-2.0 (HeyGen CLI, github.com/heygen-com/heygen-cli); see README.md beside this file',
		extracted: new Date().toISOString().slice(0, 10),
		extractedBy: 'npm run heygen:schemas (heygen/schemas/extract.ts)',
		used: USED_ROUTES,
		endpoints: Object.fromEntries(keep.map((r) => [r, full.endpoints[r]]))
	};
	writeFileSync(OUT, `${JSON.stringify(subset, null, '\t')}\n`);
	console.log(`wrote ${keep.length} routes to ${OUT.pathname}`);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
