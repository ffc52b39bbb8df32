import pg from 'pg';

const UUID_IN_TEXT = /\s*[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\s*/gi;

/**
 * A message for the person who submitted the form, from an error raised by the database's
 * triggers and functions (they are written to be read: 'video_jobs.script is 6000 characters;
 * HeyGen accepts at most 5000 per video'). Returns null for anything that is not such an error
 * (a bug or an outage), which the caller turns into a generic 500 and logs.
 */
export function dbErrorMessage(err: unknown): string | null {
	if (!(err instanceof pg.DatabaseError)) return null;
	const msg = err.message;
	const code = err.code ?? '';
	// Only errors about the data; connection problems, syntax errors etc. are not for the user.
	if (!/^(22|23|P0|42501|02)/.test(code)) return null;

	let m: RegExpMatchArray | null;
	if (err.constraint === 'video_jobs_one_active_per_content') {
		return 'A video for this content is already in progress. Wait for it to finish or cancel it first.';
	}
	if ((m = msg.match(/already has an active video job \S+ \((\w+)\)/))) {
		return `A video for this content is already in progress (${m[1]}). Wait for it to finish or cancel it first.`;
	}
	if ((m = msg.match(/script is (\d+) characters; HeyGen accepts at most (\d+)/))) {
		return `The script is ${Number(m[1]).toLocaleString('en')} characters; HeyGen accepts at most ${Number(m[2]).toLocaleString('en')} per video. Shorten it and try again.`;
	}
	if (/has no HeyGen API key/.test(msg)) return 'This business has no HeyGen API key. Add one in Settings first.';
	if (/has no HeyGen avatar configured/.test(msg)) return 'Choose an avatar in Settings first.';
	if (/has no HeyGen voice configured/.test(msg)) return 'Choose a voice in Settings first.';
	if (/script is empty/.test(msg)) return 'The script is empty. Write the text the avatar should say first.';
	// Anything else raised on purpose by our SQL: its text, without ids and the function prefix.
	const text = msg
		.replace(/^[a-z_]+: /, '')
		.replace(UUID_IN_TEXT, ' ')
		.replace(/\s+([,.;:)])/g, '$1')
		.replace(/\s{2,}/g, ' ')
		.trim();
	return text.charAt(0).toUpperCase() + text.slice(1);
}
