import type { PipelineContext } from '../context.ts';

/**
 * A content's auto-generate job is due (content.auto_generate, enqueued by the content's trigger
 * for its video_scheduled_at). Everything is decided in SQL under the content's row lock
 * (content_auto_generate_run, migration 0025): pushed back, waiting for an active job, nothing to
 * do, the job made, or refused (the reason stays on content.auto_generate_error).
 */
export async function autoGenerateVideo(ctx: PipelineContext, contentId: string): Promise<void> {
	const outcome = await ctx.store.runAutoGenerate(contentId);
	ctx.log.info({ contentId, outcome }, 'auto-generate');
}
