import pg from 'pg';

/** The unique index that allows one active job per content (db/migrations/0016). */
export const ONE_ACTIVE_INDEX = 'video_jobs_one_active_per_content';

const ALREADY_RUNNING = 'A video for this content is already in progress. Wait for it to finish or cancel it first.';
const SCRIPT_EMPTY = 'The script is empty. Write the text the avatar should say first.';

/**
 * What the person who submitted the form reads, by the code our SQL puts in an error's detail
 * (db/migrations/0016). A code missing here falls back to the generic text below.
 */
const BY_CODE: Record<string, string | ((ctx: DbErrorContext, err: pg.DatabaseError) => string)> = {
	active_job_exists: ALREADY_RUNNING,
	script_too_long: (ctx) =>
		ctx.scriptLength !== undefined
			? `The script is ${ctx.scriptLength.toLocaleString('en')} characters; HeyGen accepts at most 5,000 per video. Shorten it and try again.`
			: 'The script is longer than the 5,000 characters HeyGen accepts per video. Shorten it and try again.',
	script_empty: SCRIPT_EMPTY,
	script_blank: SCRIPT_EMPTY,
	script_invisible: SCRIPT_EMPTY,
	script_control_character:
		'The script contains an invisible control character; only line breaks and tabs are allowed. Retype the text around it and try again.',
	api_key_missing: 'This business has no HeyGen API key. Add one in Settings first.',
	avatar_missing: 'Choose an avatar in Settings first.',
	voice_missing: 'Choose a voice in Settings first.',
	avatar_id_invalid: 'The avatar in Settings is not a valid HeyGen avatar id. Choose one from the list in Settings.',
	voice_id_invalid: 'The voice in Settings is not a valid HeyGen voice id. Choose one from the list in Settings.',
	content_not_found: 'This content no longer exists.',
	job_not_completed: 'Only a finished video can be deleted; cancel one that is still in progress.',
	content_has_active_job: 'A video of this content is still in progress. Cancel it or wait for it to finish, then delete the content.',
	job_not_found: 'This video job no longer exists.',
	job_not_active: 'This video has already finished; there is nothing to cancel.',
	job_not_retryable: 'Only a failed or canceled video can be retried.',
	// Translations (db/migrations/0023): the SQL message names the language or the source's status.
	language_unknown: (_, err) => `HeyGen does not translate into “${quoted(err) ?? 'that language'}”. Choose languages from the list.`,
	language_required: 'Choose at least one language.',
	active_translation_exists: (_, err) => {
		const m = /translation into (.+) \(job [0-9a-f-]+, (\w+)\)$/.exec(err.message);
		return `This video is already being translated into ${m?.[1] ?? 'that language'}. Wait for it to finish or cancel it first.`;
	},
	source_not_completed: (_, err) => {
		const status = /the source job is (\w+)/.exec(err.message)?.[1];
		return `Only a finished video can be translated${status ? `; this one is ${status}` : ''}.`;
	},
	source_not_found: 'This video no longer exists.',
	source_other_business: 'This video belongs to another business.',
	source_other_content: 'This video belongs to other content.',
	// Membership (db/migrations/0028): the SQL message says it in full.
	last_owner: (_, err) => err.message,
	invite_self: (_, err) => err.message,
	already_member: (_, err) => err.message
};

/** The first "quoted" value in an error's message (our SQL quotes the value it refuses). */
const quoted = (err: pg.DatabaseError) => /"([^"]*)"/.exec(err.message)?.[1];

/** Constraint violations the database reports by name rather than by code. */
const BY_CONSTRAINT: Record<string, string> = {
	[ONE_ACTIVE_INDEX]: ALREADY_RUNNING
};

export interface DbErrorContext {
	/** Length of the script that was sent, for a message that can say how long it is. */
	scriptLength?: number;
}

/**
 * A message for the person who submitted the form, from an error raised on purpose by the
 * database's triggers and functions (detail = code) or a named constraint. Returns null for
 * anything else (a bug or an outage), which the caller turns into a generic 500 and logs.
 */
export function dbErrorMessage(err: unknown, ctx: DbErrorContext = {}): string | null {
	if (!(err instanceof pg.DatabaseError)) return null;
	const sqlstate = err.code ?? '';
	// Only errors about the data; connection problems, syntax errors etc. are not for the user.
	if (!/^(22|23|P0|42501|02)/.test(sqlstate)) return null;
	const byCode = err.detail ? BY_CODE[err.detail] : undefined;
	if (byCode) return typeof byCode === 'function' ? byCode(ctx, err) : byCode;
	if (sqlstate.startsWith('23') && err.constraint && BY_CONSTRAINT[err.constraint]) return BY_CONSTRAINT[err.constraint]!;
	return 'The database refused this change. Reload the page and try again.';
}
