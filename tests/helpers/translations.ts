/**
 * Translation jobs in tests: the SQL contract's insert, a finished source job, and what the
 * simulator made for a job (a translation's callback id is `<job id>:<attempt>`).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import type { HeyGenSimulator, SimVideo } from '../../heygen/simulator/server.ts';
import type { TestDatabase } from './db.ts';

/** The insert: one row per language, one statement. */
export async function translate(db: TestDatabase, sourceJobId: string, languages: string[]): Promise<string[]> {
	const { rows } = await db.sql<{ id: string }>(
		`insert into video_jobs (kind, source_job_id, output_language) select 'translation', $1, unnest($2::text[]) returning id`,
		[sourceJobId, languages]
	);
	return rows.map((r) => r.id);
}

/** Translations HeyGen made for a job (any attempt). */
export function translationsFor(sim: HeyGenSimulator, jobId: string): SimVideo[] {
	return [...sim.videos.values()].filter((v) => v.translation && v.callbackId?.startsWith(`${jobId}:`));
}

/** Batch-create requests that reached HeyGen for a job attempt's Idempotency-Key (replays included). */
export function translateCallsFor(sim: HeyGenSimulator, job: { heygen_idempotency_key: string }): number {
	return sim.requests.filter((r) => r.endpoint === 'translate' && r.idempotencyKey === job.heygen_idempotency_key).length;
}

/** A completed translation: one translation at HeyGen, its MP4 and captions in storage. */
export function expectTranslated(sim: HeyGenSimulator, job: Record<string, any>, storageDir: string, language: string): void {
	expect(job.status, `${job.error_code}: ${job.error_message}`).toBe('completed');
	const made = translationsFor(sim, job.id);
	expect(made.map((v) => [v.id, v.translation!.outputLanguage])).toEqual([[job.heygen_video_id, language]]);
	const base = path.join(storageDir, job.business_id, job.content_id, job.id);
	expect(readFileSync(`${base}.mp4`).equals(sim.mp4)).toBe(true);
	expect(readFileSync(`${base}.vtt`, 'utf8')).toMatch(/^WEBVTT\n\n1\n00:00:00\.000 --> /);
	expect(readFileSync(`${base}.srt`, 'utf8')).toContain(`${language} version`);
	expect([job.storage_path, job.vtt_path, job.subtitles_path]).toEqual(
		['mp4', 'vtt', 'srt'].map((ext) => `videos/${job.business_id}/${job.content_id}/${job.id}.${ext}`)
	);
}
