/**
 * Vitest fixtures for pipeline tests, on top of dbTest's `db` and `business`: `pipeline`, the
 * worker with the HeyGen simulator and local storage on this file's database (file scope, stopped
 * after the file). Set its options per file with `pipelineTest.override({ pipelineOptions: … })`
 * at the top level of the file. `startPipeline` starts pipelines with options of a test's own,
 * stopped after that test.
 */
import { dbTest, stoppedOnCleanup } from './fixtures.ts';
import { startPipeline, type Pipeline } from './pipeline.ts';

export type PipelineOptions = NonNullable<Parameters<typeof startPipeline>[1]>;
/** The `startPipeline` fixture: a pipeline on the test's database with these options. */
export type StartPipeline = (options?: PipelineOptions) => Promise<Pipeline>;

export const pipelineTest = dbTest
	.extend('pipelineOptions', { scope: 'file' }, {} as PipelineOptions)
	.extend('pipeline', { scope: 'file' }, ({ db, pipelineOptions }, { onCleanup }) =>
		stoppedOnCleanup(startPipeline(db, pipelineOptions), onCleanup)
	)
	.extend('startPipeline', ({ db }, { onCleanup }) => {
		const started: Pipeline[] = [];
		onCleanup(async () => {
			for (const p of started) await p.stop();
		});
		const start: StartPipeline = async (options = {}) => {
			const p = await startPipeline(db, options);
			started.push(p);
			return p;
		};
		return start;
	});
