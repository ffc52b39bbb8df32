import type { Selectable } from 'kysely';
import type { JsonObject, VideoJobs, VideoJobStatus } from '$db/types.ts';

/** Shapes shared by server loads and the pages (no runtime code, safe to import anywhere). */

/** 'avatar' (a video rendered from the script) or 'translation' (a finished video in another language). */
export type JobKind = Selectable<VideoJobs>['kind'];

/** A job as the pages show it: the row plus who asked, step durations and where it plays. */
export interface JobView {
	id: string;
	kind: JobKind;
	/** A translation's language (one of HeyGen's language names); null for an avatar video. */
	outputLanguage: string | null;
	/** The avatar video a translation translates; null for an avatar video. */
	sourceJobId: string | null;
	contentId: string;
	contentTitle: string;
	status: VideoJobStatus;
	attempt: number;
	/** As stored: HeyGen v3's options, or the retired keys of a job made before v3 (describeOptions reads both). */
	options: JsonObject;
	avatarId: string | null;
	voiceId: string | null;
	errorCode: string | null;
	errorMessage: string | null;
	lastError: string | null;
	heygenVideoId: string | null;
	heygenUrl: string | null;
	/** The stored thumbnail (the player's poster), served by the media route. */
	thumbnailUrl: string | null;
	/** The stored subtitles as WebVTT (the player's captions track), when captions were asked for. */
	captionsUrl: string | null;
	/** When HeyGen finished rendering. */
	renderedAt: string | null;
	videoUrl: string | null;
	durationSeconds: number | null;
	sizeBytes: number | null;
	createdAt: string;
	completedAt: string | null;
	requestedBy: string;
	/** Seconds; null until the step is over. */
	renderSeconds: number | null;
	transferSeconds: number | null;
	totalSeconds: number | null;
}

/**
 * A row of a jobs table (JobsTable): all a content page's history sends per job. The content
 * column's fields are there only where the table shows it (the jobs page sends whole JobViews).
 */
export type JobSummary = Pick<
	JobView,
	| 'id'
	| 'kind'
	| 'outputLanguage'
	| 'sourceJobId'
	| 'status'
	| 'attempt'
	| 'options'
	| 'errorCode'
	| 'errorMessage'
	| 'lastError'
	| 'videoUrl'
	| 'createdAt'
	| 'requestedBy'
	| 'renderSeconds'
	| 'transferSeconds'
	| 'totalSeconds'
> &
	Partial<Pick<JobView, 'contentId' | 'contentTitle'>>;

/** What the player shows of a finished job. */
export type PlayableVideo = Pick<JobView, 'id' | 'thumbnailUrl' | 'captionsUrl' | 'heygenUrl' | 'durationSeconds' | 'sizeBytes'> & {
	videoUrl: string;
};

/** A translation of the content page's video: a history row that also plays with its captions. */
export type LanguageVersion = JobSummary & Pick<JobView, 'captionsUrl'> & { outputLanguage: string };

/** A step as the content page's progress list draws it. */
export type StepSummary = Pick<StepEvent, 'id' | 'from' | 'status' | 'at'>;

export interface StepEvent {
	/** video_job_events.id (for a live event also its SSE id, for Last-Event-ID replay). */
	id: number;
	from: VideoJobStatus | null;
	status: VideoJobStatus;
	at: string;
	attempt: number | null;
	errorCode: string | null;
	errorMessage: string | null;
}

/** One job status change as the browser receives it (an SSE `job` event). */
export interface LiveEvent extends StepEvent {
	jobId: string;
	/** Null when the job row is gone. */
	kind: JobKind | null;
	outputLanguage: string | null;
	contentId: string;
	businessId: string;
	/** Set on `completed`: where the stored video plays from (the media route). */
	videoUrl: string | null;
	thumbnailUrl: string | null;
	captionsUrl: string | null;
	heygenUrl: string | null;
}
