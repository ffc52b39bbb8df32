/**
 * A content title may be 300 characters (the form's limit, web/lib/server/content.ts), not 301:
 * the database's check and the form agree, so a title the form accepts is never refused by SQL.
 */
import { describe, expect } from 'vitest';
import { pgError, type TestDatabase } from '../helpers/db.ts';
import { webTest as it } from '../helpers/web-fixtures.ts';

const insert = (db: TestDatabase, businessId: string, title: string) =>
	db.sql(`insert into content (business_id, title, body) values ($1, $2, 'Body.') returning length(title) as n`, [businessId, title]);

it.override({ appOptions: { worker: false } });

describe('content title length', () => {
	it('SQL stores a 300-character title', async ({ db, business }) => {
		const { rows } = await insert(db, business.businessId, 't'.repeat(300));
		expect(rows[0].n).toBe(300);
	});

	it('SQL refuses a 301-character title with content_title_check', async ({ db, business }) => {
		const err = await pgError(insert(db, business.businessId, 't'.repeat(301)));
		expect([err.code, err.constraint]).toEqual(['23514', 'content_title_check']);
	});

	it('the form saves a 300-character title and refuses 301 next to the field, saving nothing', async ({ db, owner }) => {
		const path = `/b/${owner.businessId}/content/new`;
		const ok = await owner.client.action(path, { title: 'a'.repeat(300), body: 'Three hundred.' });
		expect(ok.type, JSON.stringify(ok)).toBe('redirect');
		const tooLong = await owner.client.action(path, { title: 'b'.repeat(301), body: 'Three hundred and one.' });
		expect({ type: tooLong.type, status: tooLong.status }).toEqual({ type: 'failure', status: 400 });
		expect(JSON.stringify(tooLong.data)).toContain('Use at most 300 characters for the title.');
		const { rows } = await db.sql('select length(title) as n from content where business_id = $1', [owner.businessId]);
		expect(rows).toEqual([{ n: 300 }]);
	});
});
