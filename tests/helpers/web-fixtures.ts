/**
 * Vitest fixtures for tests that drive the built web app (tests/web, tests/browser, form checks in
 * tests/db): on top of `dbTest`'s `db` and `business`,
 * - `app`: the app of this file, on `db`, with the HeyGen simulator and the worker (file scope);
 *   override its options per file with `webTest.override({ appOptions: … })`;
 * - `owner`: a freshly signed-up user with a business of their own (test scope), so no test depends
 *   on an account or business an earlier test made;
 * - `studio`: an owner whose business has a HeyGen key (`studioKey`, default the simulator's test
 *   key), avatar and voice saved, shared by the file's tests (file scope), for files whose tests
 *   each make their own content and videos in one business.
 */
import { expect } from 'vitest';
import type { VideoJobStatus } from '../../db/types.ts';
import type { TestDatabase } from './db.ts';
import { dbTest, stoppedOnCleanup, TEST_KEY } from './fixtures.ts';
import { waitForStatus } from './pipeline.ts';
import {
	type Client,
	configureHeyGen,
	createBusiness,
	createContent,
	generateVideo,
	signUp,
	startTestApp,
	type TestApp
} from '../web/harness.ts';

export type AppOptions = Parameters<typeof startTestApp>[1];

export interface Owner {
	client: Client;
	email: string;
	password: string;
	name: string;
	businessId: string;
}

let ownerSeq = 0;

export const webTest = dbTest
	.extend('appOptions', { scope: 'file' }, {} as AppOptions)
	.extend('app', { scope: 'file' }, ({ db, appOptions }, { onCleanup }) => stoppedOnCleanup(startTestApp(db, appOptions), onCleanup))
	.extend('owner', ({ app }) => newOwner(app))
	.extend('studioKey', { scope: 'file' }, TEST_KEY as string)
	.extend('studio', { scope: 'file' }, async ({ app, studioKey }) => {
		const owner = await newOwner(app);
		await configureHeyGen(owner.client, owner.businessId, studioKey);
		return owner;
	});

async function newOwner(app: TestApp): Promise<Owner> {
	const name = `Owner ${++ownerSeq}`;
	const { client, email, password } = await signUp(app, name);
	return { client, email, password, name, businessId: await createBusiness(client, `${name}'s business`) };
}

/** A piece of content of `owner`'s business whose video has been generated through the form and has finished. */
export async function contentWithVideo(
	db: TestDatabase,
	owner: Pick<Owner, 'client' | 'businessId'>,
	opts: { body?: string; title?: string; until?: VideoJobStatus } = {}
): Promise<{ contentId: string; jobId: string }> {
	const contentId = await createContent(
		owner.client,
		owner.businessId,
		opts.body ?? 'A script with a video.',
		opts.title ?? 'With a video'
	);
	const jobId = await generateVideo(owner.client, owner.businessId, contentId);
	await waitForStatus(db, jobId, opts.until ?? 'completed');
	return { contentId, jobId };
}

/** A job inserted by SQL (as a CRM would) for a new piece of content of a business with approval on: it waits. */
export async function heldJob(db: TestDatabase, owner: Owner, title: string): Promise<string> {
	const contentId = await createContent(owner.client, owner.businessId, 'Hello from the CRM. This week we ship the spring range.', title);
	const { rows } = await db.sql(`insert into video_jobs (content_id, business_id) values ($1, $2) returning id, status`, [
		contentId,
		owner.businessId
	]);
	expect(rows[0].status).toBe('awaiting_approval');
	return rows[0].id as string;
}
