-- Catch-up after downtime (issue 25). HeyGen keeps the events it delivered (GET /v3/webhooks/events);
-- deliveries made while the app was down are lost, so without this their jobs wait for the slow poll.
-- The worker reads that history when it starts, and when a business's webhook has been silent while
-- it has jobs rendering, and feeds each event through heygen_webhook_receive, the same dedupe as a
-- live delivery (an event seen live is a `duplicate` there and changes nothing).
--
-- businesses.heygen_events_cursor is where the last catch-up stopped: the newest `created_at` it read
-- (HeyGen's clock), so the next one reads only what came after it.

alter table businesses
  add column heygen_events_cursor timestamptz,
  add column heygen_events_caught_up_at timestamptz;
comment on column businesses.heygen_events_cursor is 'Newest created_at (HeyGen''s clock) of the webhook history the worker has read (GET /v3/webhooks/events); the next catch-up stops there.';
comment on column businesses.heygen_events_caught_up_at is 'When the worker last read the webhook history (worker/webhook-catch-up.ts).';

-- Businesses whose webhook history is worth reading now, and how far back to read it. Only those
-- with a registered endpoint (no endpoint, no history) and jobs rendering. With p_all (the worker
-- starting) every such business; otherwise only those whose jobs have rendered longer than
-- p_silent while neither a delivery nor a catch-up came in that long.
-- `since`: no event of a job still rendering is older than its submit, and nothing older than the
-- cursor is unread; a minute of slack for HeyGen's clock against ours.
create function heygen_catch_up_due(p_silent interval, p_all boolean default false)
returns table (business_id uuid, since timestamptz)
language sql stable security definer
set search_path = pg_catalog, public, pg_temp
as $$
  select b.id,
         greatest(b.heygen_events_cursor, min(coalesce(j.heygen_submitted_at, j.updated_at)) - interval '1 minute')
  from businesses b
  join video_jobs j on j.business_id = b.id and j.status = 'rendering'
  where b.heygen_webhook_endpoint_id is not null
  group by b.id
  having p_all
      or (min(coalesce(j.heygen_submitted_at, j.updated_at)) < now() - p_silent
          and coalesce(max(b.heygen_webhook_last_delivery_at), '-infinity') < now() - p_silent
          and coalesce(max(b.heygen_events_caught_up_at), '-infinity') < now() - p_silent)
$$;

-- Records a catch-up: the cursor only moves forward (a catch-up that read nothing keeps it).
create function heygen_catch_up_done(p_business_id uuid, p_cursor timestamptz)
returns void
language sql security definer
set search_path = pg_catalog, public, pg_temp
as $$
  update businesses
  set heygen_events_cursor = greatest(heygen_events_cursor, p_cursor),
      heygen_events_caught_up_at = now()
  where id = p_business_id
$$;

revoke execute on function heygen_catch_up_due(interval, boolean), heygen_catch_up_done(uuid, timestamptz) from public;
do $$
begin
  if exists (select 1 from pg_roles where rolname = 'anon') then
    execute 'revoke execute on function heygen_catch_up_due(interval, boolean), heygen_catch_up_done(uuid, timestamptz)
      from anon, authenticated';
  end if;
end
$$;
grant execute on function heygen_catch_up_due(interval, boolean), heygen_catch_up_done(uuid, timestamptz) to service_role;
