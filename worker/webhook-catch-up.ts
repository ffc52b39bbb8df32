/**
 * Catch-up after downtime (issue 25). Deliveries HeyGen makes while the app is down are lost, and
 * their jobs would wait for the slow poll. HeyGen keeps the events it delivered
 * (GET /v3/webhooks/events), so the worker reads them, newest first, back to where the last
 * catch-up stopped (businesses.heygen_events_cursor) or to the oldest rendering job's submit, and
 * feeds each through heygen_webhook_receive: the same dedupe (event id per business) and the same
 * effect (the job's poll woken) as a live delivery. An event already received live is a
 * `duplicate` there and changes nothing.
 *
 * It runs when the worker starts (every business with jobs rendering), and on the sweep's beat for
 * a business whose webhook has been silent for `silenceMs` while it has had jobs rendering that
 * long (SQL: heygen_catch_up_due, migration 0030). Never throws: without it the poll still comes.
 */
import { sql } from 'kysely';
import { isHeyGenError } from '../heygen/errors.ts';
import { WEBHOOK_EVENTS, webhookPayload, type WebhookEvent } from '../heygen/webhooks.ts';
import type { PipelineContext } from './context.ts';

/** A business silent this long while it has jobs rendering that long is caught up. */
export const WEBHOOK_SILENCE_MS = 2 * 60_000;
/** Pages of 100 events read at most per business and catch-up. */
const MAX_PAGES = 20;

type Ctx = Pick<PipelineContext, 'store' | 'webhooks' | 'log'>;

export interface CatchUpResult {
	businessId: string;
	read: number;
	accepted: number;
}

/** Reads one business's history back to `since` and feeds it to heygen_webhook_receive. */
async function catchUpBusiness(ctx: Ctx, businessId: string, since: Date): Promise<CatchUpResult> {
	const result = { businessId, read: 0, accepted: 0 };
	const key = await ctx.store.apiKey(businessId);
	if (!key || !ctx.webhooks) return result;
	const api = ctx.webhooks(key);
	let newest: Date | null = null;
	let token: string | null = null;
	for (let page = 0; page < MAX_PAGES; page++) {
		const { events, nextToken } = await api.listEvents({ token });
		let reachedCursor = false;
		for (const e of events) {
			if (e.createdAt && e.createdAt < since) {
				reachedCursor = true;
				continue;
			}
			result.read++;
			if (e.createdAt && (!newest || e.createdAt > newest)) newest = e.createdAt;
			if ((await receive(ctx, businessId, e)) === 'accepted') result.accepted++;
		}
		if (reachedCursor || !nextToken) break;
		token = nextToken;
	}
	await sql`select heygen_catch_up_done(${businessId}::uuid, ${newest})`.execute(ctx.store.db);
	return result;
}

/** One event from the history, as the webhook route takes a verified delivery (web/lib/server/webhook.ts). */
async function receive(ctx: Ctx, businessId: string, e: WebhookEvent): Promise<string> {
	if (!(WEBHOOK_EVENTS as readonly string[]).includes(e.type)) return 'ignored_event';
	const parsed = webhookPayload.safeParse({ event_type: e.type, event_id: e.id, event_data: e.data });
	if (!parsed.success) return 'malformed';
	const { rows } = await sql<{ outcome: string }>`
		select heygen_webhook_receive(${businessId}::uuid, ${e.id}, ${e.type}, ${parsed.data.event_data.video_id}) as outcome`.execute(
		ctx.store.db
	);
	return rows[0]?.outcome ?? 'error';
}

/** Catches up every business that is due (all with jobs rendering when `all`); one at a time. */
export async function catchUpWebhooks(ctx: Ctx, opts: { all: boolean; silenceMs?: number }): Promise<CatchUpResult[]> {
	if (!ctx.webhooks) return [];
	const silence = `${(opts.silenceMs ?? WEBHOOK_SILENCE_MS) / 1000} seconds`;
	const { rows } = await sql<{ business_id: string; since: Date }>`
		select * from heygen_catch_up_due(${silence}::interval, ${opts.all})`.execute(ctx.store.db);
	const out: CatchUpResult[] = [];
	for (const r of rows) {
		try {
			const done = await catchUpBusiness(ctx, r.business_id, r.since);
			out.push(done);
			if (done.accepted) ctx.log.info(done, 'HeyGen webhook catch-up: polls woken for events missed');
		} catch (err) {
			const code = isHeyGenError(err) ? err.code : 'unexpected';
			ctx.log.warn({ businessId: r.business_id, code }, 'HeyGen webhook catch-up failed; the poll will find the videos');
		}
	}
	return out;
}

export interface WebhookCatchUp {
	/** Catch up the due businesses (all with jobs rendering the first time). */
	wake(): void;
	idle(): Promise<void>;
}

export function webhookCatchUp(ctx: Ctx, silenceMs = WEBHOOK_SILENCE_MS): WebhookCatchUp {
	let first = true;
	let running: Promise<void> | null = null;
	let again = false;
	function run(): void {
		if (running) {
			again = true;
			return;
		}
		again = false;
		const all = first;
		first = false;
		running = catchUpWebhooks(ctx, { all, silenceMs })
			.then(() => {})
			.catch((err: unknown) => ctx.log.warn({ err: { message: (err as Error).message } }, 'HeyGen webhook catch-up failed'))
			.finally(() => {
				running = null;
				if (again) run();
			});
	}
	return {
		wake: run,
		async idle() {
			while (running) await running;
		}
	};
}
