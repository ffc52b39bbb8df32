/**
 * Vitest fixtures for pipeline tests, on top of dbTest's `db` and `business`: `pipeline`, the
 * worker with the HeyGen simulator and local storage on this file's database (file scope, stopped
 * after the file). Set its options per file with `pipelineTest.override({ pipelineOptions: … })`
 * at the top level of the file.
 */
import { dbTest } from './fixtures.ts';
import { startPipeline } from './pipeline.ts';

export type PipelineOptions = NonNullable<Parameters<typeof startPipeline>[1]>;

export const pipelineTest = dbTest
	.extend('pipelineOptions', { scope: 'file' }, {} as PipelineOptions)
	.extend('pipeline', { scope: 'file' }, async ({ db, pipelineOptions }, { onCleanup }) => {
		const p = await startPipeline(db, pipelineOptions);
		onCleanup(() => p.stop());
		return p;
	});
