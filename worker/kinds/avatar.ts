/** An avatar job: `POST /v3/videos` with the script, polled as a video. */
import { v3Options } from '../../heygen/index.ts';
import type { JobKind } from './index.ts';

export const avatarKind: JobKind = {
	async create(_ctx, job, client) {
		const { videoId } = await client.generateVideo({
			script: job.script!,
			avatarId: job.avatar_id!,
			voiceId: job.voice_id!,
			options: v3Options(job.options),
			callbackId: job.id,
			idempotencyKey: job.heygen_idempotency_key!
		});
		return videoId;
	},
	statuses: (client, ids) => client.getVideoStatuses(ids),
	status: (client, id) => client.getVideoStatus(id),
	failed: (said) => (said ? `HeyGen could not render the video: ${said}` : 'HeyGen reported the render as failed without giving a reason.'),
	async files(client, job) {
		const s = await client.getVideoStatus(job.heygen_video_id!);
		return { videoUrl: s.videoUrl, thumbnailUrl: s.thumbnailUrl, srtUrl: s.subtitleUrl, vttUrl: null };
	},
	captions: (job) => v3Options(job.options).captions === true,
	alwaysFreshUrls: (job) => v3Options(job.options).captions === true
};
