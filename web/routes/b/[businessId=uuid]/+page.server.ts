import type { Selectable } from 'kysely';
import type { Content } from '$db/types.ts';
import { db } from '$lib/server/db.ts';
import { requireMembership } from '$lib/server/tenancy.ts';
import type { PageServerLoad } from './$types';

export const load: PageServerLoad = async ({ locals, params, url }) => {
	const { business } = await requireMembership(locals, params.businessId, { url });
	const [content, videos] = await Promise.all([
		db()
			.selectFrom('content')
			.select((eb) => [
				'id',
				'title',
				'heygen_status',
				'updated_at',
				eb.fn<Selectable<Content>['body']>('left', ['body', eb.lit(180)]).as('excerpt'),
				eb.fn<number>('length', ['body']).as('chars')
			])
			.where('business_id', '=', business.id)
			.orderBy('updated_at', 'desc')
			.limit(500)
			.execute(),
		db()
			.selectFrom('video_jobs')
			.select((eb) => eb.fn.countAll<number>().as('n'))
			.where('business_id', '=', business.id)
			.where('status', '=', 'completed')
			.executeTakeFirst()
	]);
	return {
		content,
		setup: {
			key: business.has_key,
			voice: !!(business.heygen_avatar_id && business.heygen_voice_id),
			content: content.length > 0,
			video: (videos?.n ?? 0) > 0
		}
	};
};
