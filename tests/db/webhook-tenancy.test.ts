/**
 * heygen_webhook_receive() looks a job up by HeyGen's video id *within the business the delivery
 * was signed for*. A delivery verified with business A's secret that names business B's video is
 * "unknown_video": it records nothing, touches neither business and wakes nothing of B's.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect } from 'vitest';
import { signWebhookBody } from '../helpers/webhook-signature.ts';
import type { TestDatabase } from '../helpers/db.ts';
import { renderingJob, seedBusiness, TEST_KEY } from '../helpers/fixtures.ts';
import { webTest as it } from '../helpers/web-fixtures.ts';

// The webhook route needs the app, not the worker: a woken poll shows as a pg-boss row.
it.override({ appOptions: { worker: false } });

async function metric(appUrl: string, outcome: string): Promise<number> {
	const text = await (await fetch(`${appUrl}/metrics`)).text();
	const m = new RegExp(`^heygen_webhook_deliveries_total\\{outcome="${outcome}"\\} (\\d+)$`, 'm').exec(text);
	return m ? Number(m[1]) : 0;
}

/** Everything a delivery could change for a job and its business. */
async function footprint(db: TestDatabase, jobId: string, businessId: string) {
	const { rows } = await db.sql(
		`select (select status::text from video_jobs where id = $1) as status,
		        (select count(*)::int from video_job_events where job_id = $1) as events,
		        (select count(*)::int from heygen_webhook_events where job_id = $1 or business_id = $2) as deliveries,
		        (select count(*)::int from pgboss.job where data->>'jobId' = $1::text) as steps,
		        (select heygen_webhook_last_delivery_at::text from businesses where id = $2) as last_delivery`,
		[jobId, businessId]
	);
	return rows[0];
}

describe('a webhook delivery for one business naming another business’s video', () => {
	it('is unknown_video and records and wakes nothing', async ({ db, business: a }) => {
		const b = await seedBusiness(db, { name: 'Other tenant' });
		const theirs = await renderingJob(db, b.businessId);
		const beforeB = await footprint(db, theirs.jobId, b.businessId);
		expect(beforeB).toMatchObject({ status: 'rendering', steps: 0, deliveries: 0 });
		const beforeA = await db.sql('select count(*)::int as n from heygen_webhook_events where business_id = $1', [a.businessId]);

		const { rows } = await db.sql(`select heygen_webhook_receive($1, 'evt_cross_tenant', 'avatar_video.success', $2) as outcome`, [
			a.businessId,
			theirs.videoId
		]);
		expect(rows[0].outcome).toBe('unknown_video');
		expect(await footprint(db, theirs.jobId, b.businessId)).toEqual(beforeB);
		const afterA = await db.sql(
			'select count(*)::int as n, (select heygen_webhook_last_delivery_at from businesses where id = $1) as last from heygen_webhook_events where business_id = $1',
			[a.businessId]
		);
		expect(afterA.rows[0]).toEqual({ n: beforeA.rows[0].n, last: null });
	});

	it('the same delivery for the video’s own business is accepted and wakes its poll (the control case)', async ({ db }) => {
		const b = await seedBusiness(db, { name: 'Own tenant' });
		const own = await renderingJob(db, b.businessId);
		const { rows } = await db.sql(`select heygen_webhook_receive($1, 'evt_own', 'avatar_video.success', $2) as outcome`, [
			b.businessId,
			own.videoId
		]);
		expect(rows[0].outcome).toBe('accepted');
		const after = await footprint(db, own.jobId, b.businessId);
		expect(after).toMatchObject({ status: 'rendering', deliveries: 1, steps: 1 });
		expect(after.last_delivery).not.toBeNull();
		const poll = await db.sql(`select name, state from pgboss.job where data->>'jobId' = $1`, [own.jobId]);
		expect(poll.rows).toEqual([{ name: 'video.poll', state: 'created' }]);
	});

	it('through the webhook route: a delivery signed with A’s secret naming B’s video is answered alike and changes nothing', async ({
		app,
		db,
		business: a
	}) => {
		const secret = `whsec_${randomUUID()}`;
		const { rows: saved } = await db.sql('select saved from save_heygen_webhook($1, $2, $3, $4, $5)', [
			a.businessId,
			TEST_KEY,
			'ep_a',
			`${app.url}/hook`,
			secret
		]);
		expect(saved[0].saved).toBe(true);
		const b = await seedBusiness(db, { name: 'Other tenant, by route' });
		const theirs = await renderingJob(db, b.businessId);
		const before = await footprint(db, theirs.jobId, b.businessId);
		// The route answers every delivery alike (204); its metric says which outcome it was.
		const unknownVideos = () => metric(app.url, 'unknown_video');
		const unknownBefore = await unknownVideos();
		const raw = JSON.stringify({ event_type: 'avatar_video.success', event_data: { video_id: theirs.videoId, callback_id: theirs.jobId } });
		const res = await fetch(`${app.url}/api/heygen/webhook/${a.businessId}`, {
			method: 'POST',
			headers: {
				'content-type': 'application/json',
				'Heygen-Signature': signWebhookBody(raw, secret),
				'Heygen-Timestamp': String(Math.floor(Date.now() / 1000)),
				'Heygen-Event-Id': `evt_${randomUUID()}`
			},
			body: raw
		});
		expect(res.status).toBe(204);
		// Verified with A's secret and then not found within A: not refused for its signature.
		expect(await unknownVideos()).toBe(unknownBefore + 1);
		expect(await footprint(db, theirs.jobId, b.businessId)).toEqual(before);
		const { rows } = await db.sql('select count(*)::int as n from heygen_webhook_events where business_id = $1', [a.businessId]);
		expect(rows[0].n).toBe(0);
	});
});
