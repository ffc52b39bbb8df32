/**
 * What a test needs to know about the HeyGen simulator, in one place: how many videos were
 * created, how many status calls were answered, and the few ways tests steer a render. Keeping
 * these here means a change of HeyGen API version only has to be followed in this file.
 */
import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { HeyGenError } from '../../heygen/errors.ts';
import { startHeyGenSimulator, type HeyGenSimulator } from '../../heygen/simulator/server.ts';

/**
 * One simulator for the tests of a file: started before them (handed to `started`), closed after
 * them, and reset after each test (no faults, videos or requests left, renders instant).
 */
export function simulatorForFile(started: (sim: HeyGenSimulator) => void): void {
	let sim: HeyGenSimulator | undefined;
	beforeAll(async () => {
		sim = await startHeyGenSimulator();
		started(sim);
	});
	afterAll(() => sim?.close());
	afterEach(() => {
		sim?.reset();
		if (sim) sim.renderMs = 0;
	});
}

/** "Create video" calls HeyGen accepted: all of them, or for one job (our job id is the callback id). */
export function countSubmits(sim: HeyGenSimulator, jobId?: string): number {
	return jobId === undefined ? sim.submits.length : sim.submitsFor(jobId);
}

/** A status check: one video (`GET /v3/videos/{id}`) or many (`GET /v3/videos/statuses`). */
const isStatusCall = (endpoint: string | null) => endpoint === 'status' || endpoint === 'statuses';

/** HTTP statuses of the status calls (single or bulk) HeyGen has answered so far, in order. */
export function statusReplies(sim: HeyGenSimulator): number[] {
	return sim.requests.filter((r) => isStatusCall(r.endpoint) && r.status !== null).map((r) => r.status!);
}

/** Status calls (single or bulk) that have reached HeyGen, answered or not. */
export function countStatusCalls(sim: HeyGenSimulator): number {
	return sim.requests.filter((r) => isStatusCall(r.endpoint)).length;
}

/** Bulk status calls (`GET /v3/videos/statuses`) and the video ids each asked about. */
export function bulkStatusCalls(sim: HeyGenSimulator): Array<{ path: string; ids: string[] }> {
	return sim.requests
		.filter((r) => r.endpoint === 'statuses')
		.map((r) => ({ path: r.path, ids: new URLSearchParams(r.search).get('video_ids')?.split(',') ?? [] }));
}

/** Resolves once the simulator's state satisfies `predicate` (re-checked on every change). */
export function waitForSim(sim: HeyGenSimulator, predicate: (sim: HeyGenSimulator) => boolean, timeoutMs = 10_000): Promise<void> {
	return sim.waitFor(predicate, timeoutMs);
}

/** HeyGen's video id for a job (the callback id we sent is the job id). */
export function videoIdFor(sim: HeyGenSimulator, jobId: string): string | undefined {
	return sim.submits.find((s) => s.callbackId === jobId)?.videoId;
}

/** The next `times` "create video" calls take `ms` before HeyGen answers. */
export function slowSubmits(sim: HeyGenSimulator, ms: number, times = Infinity): void {
	sim.setFaults({ slow: { ms, endpoint: 'generate', times } });
}

/** The next `times` status calls take `ms` before HeyGen answers. */
export function slowStatusCalls(sim: HeyGenSimulator, ms: number, times = 1): void {
	sim.setFaults({ slow: { ms, endpoint: 'status', times } });
}

/** HeyGen reports the video as `waiting` (queued on their side) until `finishRender`. */
export function reportWaiting(sim: HeyGenSimulator, videoId: string): void {
	const v = sim.videos.get(videoId);
	if (!v) throw new Error(`the simulator has no video ${videoId}`);
	v.renderMs = Number.MAX_SAFE_INTEGER;
	(v as { status: string }).status = 'waiting';
}

/** The render finishes now: the next status call reports it completed. */
export function finishRender(sim: HeyGenSimulator, videoId: string): void {
	const v = sim.videos.get(videoId);
	if (!v) throw new Error(`the simulator has no video ${videoId}`);
	v.renderMs = 0;
	v.status = 'processing';
}

/** Longer than any test: a render held this long ends only when the test calls `finishRender`. */
const HELD_MS = 10 * 60_000;

/**
 * Videos created from now on keep rendering until the test calls `finishRender` for them, so a test
 * can look at the "rendering" state for as long as it needs instead of racing a short render.
 * Returns a function that restores the simulator's render time for later videos.
 */
export function holdRenders(sim: HeyGenSimulator): () => void {
	const before = sim.renderMs;
	sim.renderMs = HELD_MS;
	return () => {
		sim.renderMs = before;
	};
}

/** Runs `fn`, expects it to reject with a HeyGenError, and returns it. */
export async function heygenError(fn: () => Promise<unknown>): Promise<HeyGenError> {
	try {
		await fn();
	} catch (err) {
		expect(err).toBeInstanceOf(HeyGenError);
		return err as HeyGenError;
	}
	throw new Error('expected a HeyGenError, but the call succeeded');
}
