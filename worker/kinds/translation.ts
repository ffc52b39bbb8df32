/**
 * A translation job: HeyGen translates the source job's finished video into output_language.
 *
 * The source video: a fresh presigned URL from HeyGen (`GET /v3/videos/{id}`, or the translation's
 * own route when the source is itself a translation); when HeyGen no longer has it, the stored MP4
 * is uploaded (`POST /v3/assets`, at most 32 MB) and its asset id used; when neither works the job
 * fails with a sentence saying so.
 *
 * Exactly once: a resumed submit (after a crash or a lost reply) first looks for the translation
 * made for this job attempt by its callback id, then creates through the batch route with the
 * attempt's Idempotency-Key, which returns the same batch when the first create did arrive.
 */
import {
	ASSET_MAX_BYTES,
	HeyGenError,
	isHeyGenError,
	translationOptions,
	type HeyGenClient,
	type TranslationSource
} from '../../heygen/index.ts';
import { isStorageError } from '../../storage/index.ts';
import type { PipelineContext } from '../context.ts';
import type { VideoJob } from '../job-store.ts';
import type { JobKind } from './index.ts';

const gone = (message: string) => new HeyGenError({ code: 'source_unavailable', kind: 'permanent', message });

/** The callback id of a job attempt: a retry is a new attempt and must not find the old translation. */
export const translationCallbackId = (job: Pick<VideoJob, 'id' | 'attempt'>) => `${job.id}:${job.attempt}`;

async function sourceVideo(ctx: PipelineContext, job: VideoJob, client: HeyGenClient): Promise<TranslationSource> {
	const src = job.source_job_id ? await ctx.store.get(job.source_job_id) : undefined;
	if (!src || src.status !== 'completed' || !src.heygen_video_id) {
		throw gone('The original video of this translation is no longer there, so it cannot be translated.');
	}
	try {
		const s =
			src.kind === 'translation' ? await client.getTranslation(src.heygen_video_id) : await client.getVideoStatus(src.heygen_video_id);
		if (s.status === 'completed' && s.videoUrl) return { type: 'url', url: s.videoUrl };
	} catch (err) {
		// Anything but "HeyGen does not have it" (an outage, a bad key) is the submit's error to retry or report.
		if (!isHeyGenError(err) || err.httpStatus !== 404) throw err;
	}
	ctx.log.info({ jobId: job.id, sourceJobId: src.id }, 'HeyGen no longer has the source video; uploading the stored copy');
	if (!src.storage_path) throw gone('HeyGen no longer has the original video and no copy of it is stored, so it cannot be translated.');
	let bytes: Uint8Array;
	try {
		bytes = await ctx.storage.read(src.storage_path.replace(/^videos\//, ''), ASSET_MAX_BYTES);
	} catch (err) {
		if (isStorageError(err, 'too_large')) {
			throw gone('HeyGen no longer has the original video, and the stored copy is larger than the 32 MB HeyGen accepts as an upload.');
		}
		if (isStorageError(err, 'not_found')) {
			throw gone('HeyGen no longer has the original video and the stored copy is missing, so it cannot be translated.');
		}
		throw err;
	}
	const { assetId } = await client.uploadAsset(bytes, `${src.id}.mp4`, 'video/mp4');
	return { type: 'asset_id', assetId };
}

export const translationKind: JobKind = {
	async create(ctx, job, client) {
		const callbackId = translationCallbackId(job);
		// A submit that ran before for this attempt may have made the translation already.
		if (job.submit_count > 1) {
			const found = await client.findTranslation(callbackId);
			if (found) {
				ctx.log.info({ jobId: job.id, translationId: found }, 'found the translation an earlier submit made');
				return found;
			}
		}
		const source = await sourceVideo(ctx, job, client);
		const { translationId } = await client.createTranslation({
			source,
			outputLanguage: job.output_language!,
			options: translationOptions(job.options),
			callbackId,
			idempotencyKey: job.heygen_idempotency_key!
		});
		return translationId;
	},
	statuses: (client, ids) => client.getTranslationStatuses(ids),
	async status(client, id) {
		const t = await client.getTranslation(id);
		return { ...t, thumbnailUrl: null, subtitleUrl: t.srtUrl, completedAt: null };
	},
	failed: (said) => said || 'HeyGen reported the translation as failed without giving a reason.',
	async files(client, job) {
		const t = await client.getTranslation(job.heygen_video_id!);
		return { videoUrl: t.videoUrl, thumbnailUrl: null, srtUrl: t.srtUrl, vttUrl: t.vttUrl };
	},
	captions: (job) => translationOptions(job.options).captions === true,
	alwaysFreshUrls: () => true
};
