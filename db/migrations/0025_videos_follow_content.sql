-- Videos that follow their content (issue 23): out-of-date marks, auto-generate with a debounce,
-- automatic re-translation, and a limit on stored versions.
--
-- 1. content.video_is_stale: the content's body (as the script a job would get: trimmed, CRLF as LF)
--    differs from the script of its current video, the latest completed avatar job (by
--    completed_at). Kept by content_follow_body (body changes) and video_jobs_follow_content (a
--    video completes).
-- 2. businesses.auto_generate: an insert of content with a body, or an update that changes the
--    script its body makes, sets content.video_scheduled_at = now() + auto_generate_delay_seconds
--    and moves (or makes) the content's one pending job on the pg-boss queue
--    content_auto_generate_queue() to that time. Further changes push it back. When it runs, the
--    worker calls content_auto_generate_run: it waits for an active avatar job of the content (the
--    job's end wakes it again, by trigger), skips when the body already is the script of the active
--    or current video, and otherwise inserts the job as actor and requester 'auto', in a savepoint:
--    a refusal goes to content.auto_generate_error, never to the content's writer.
-- 3. An auto-generated video that completes re-translates the languages the previous version had,
--    through ordinary translation jobs (requested_by 'auto').
-- 4. businesses.keep_video_versions: when an avatar video completes, the files of older versions
--    (and their translations) are removed from Storage by the worker (queue
--    video_remove_files_queue(), worker/handlers/remove-files.ts), which sets
--    video_jobs.files_removed_at and appends an event {"event": "files_removed", "reason": …}.
--    remove_video_files(job, reason) asks for the same by hand ('deleted_by_user').
-- 5. regenerate_stale_videos, generate_scheduled_video_now, cancel_scheduled_video.
--
-- The new content columns are written only by these triggers and functions (42501 otherwise,
-- like the video columns). An auto job's creation event says why through the transaction-local
-- setting video_jobs.event_detail, merged into the job's first event by video_job_events_add_detail.
--
-- Function restated here from its current form (db/schema.sql) with its settings:
-- video_jobs_before_update (a completed job may get files_removed_at, once).

-- 1. Columns ------------------------------------------------------------------------------------
alter table content
  add column video_is_stale boolean not null default false,
  add column video_scheduled_at timestamptz,
  add column auto_generate_error text,
  add constraint content_auto_generate_error_length check (length(auto_generate_error) <= 2000);
comment on column content.video_is_stale is 'The body differs from the script of the current video (the latest completed avatar job). Kept by trigger; false without a video.';
comment on column content.video_scheduled_at is 'When the auto-generated video for the latest body change will be made (businesses.auto_generate); null when nothing is pending.';
comment on column content.auto_generate_error is 'Why the last auto-generated job (or its re-translation) could not be made; null when fine. Cleared when an auto job is made.';
create index content_stale_idx on content (business_id) where video_is_stale;
create index content_scheduled_idx on content (video_scheduled_at) where video_scheduled_at is not null;

alter table businesses
  add column auto_generate boolean not null default false,
  add column auto_generate_delay_seconds integer not null default 300,
  add column keep_video_versions integer not null default 5,
  add constraint businesses_auto_generate_delay_seconds_check check (auto_generate_delay_seconds between 1 and 86400),
  add constraint businesses_keep_video_versions_check check (keep_video_versions >= 1);
comment on column businesses.auto_generate is 'A change of a content''s body makes a new video by itself, auto_generate_delay_seconds after the last change.';
comment on column businesses.auto_generate_delay_seconds is 'Seconds an auto-generated video waits after the last body change (1 to 86400); each change within it starts it again.';
comment on column businesses.keep_video_versions is 'Completed videos of a content whose files stay in Storage; older versions keep their rows and history, their files are removed by the worker.';

alter table video_jobs
  add column files_removed_at timestamptz,
  add constraint video_jobs_files_removed_completed check (files_removed_at is null or status = 'completed');
comment on column video_jobs.files_removed_at is 'When the worker deleted this completed job''s files (video, thumbnail, captions) from Storage; the version is then not playable.';

-- 2. Queues ---------------------------------------------------------------------------------------
-- Not status steps (video_job_statuses): work about a content or a finished job. Their names live
-- here once; the worker's entries are TASKS in worker/steps/registry.ts.
select pgboss.create_queue(q.name, q.options)
from (values
  ('content.auto_generate', '{"policy":"standard","retryLimit":10,"retryDelay":2,"retryBackoff":true,"retryDelayMax":60,"expireInSeconds":60,"deleteAfterSeconds":86400,"heartbeatSeconds":10,"notify":true}'::jsonb),
  ('video.remove_files',    '{"policy":"standard","retryLimit":10,"retryDelay":10,"retryBackoff":true,"retryDelayMax":600,"expireInSeconds":300,"deleteAfterSeconds":604800,"heartbeatSeconds":10,"notify":true}'::jsonb)
) as q (name, options)
where not exists (select 1 from pgboss.queue where pgboss.queue.name = q.name);

create function content_auto_generate_queue() returns text language sql immutable as $$select 'content.auto_generate'$$;
comment on function content_auto_generate_queue() is 'The pg-boss queue of scheduled auto-generated videos; payload {"contentId"}, one pending job per content (singleton_key = content id).';
create function video_remove_files_queue() returns text language sql immutable as $$select 'video.remove_files'$$;
comment on function video_remove_files_queue() is 'The pg-boss queue of file removals; payload {"jobId", "reason"}, singleton_key = job id.';

-- 3. Helpers --------------------------------------------------------------------------------------
-- The script an avatar job made from this body gets (video_jobs_before_insert: trimmed, then CRLF as LF).
create function content_video_script(p_body text) returns text
language sql immutable as $$ select replace(btrim(p_body, E' \t\r\n'), E'\r\n', E'\n') $$;

-- The current video of a content: its latest completed avatar job (null when none).
create function content_current_video(p_content_id uuid) returns video_jobs
language sql stable set search_path = pg_catalog, public, pg_temp as $$
  select * from video_jobs
  where content_id = p_content_id and kind = 'avatar' and status = 'completed'
  order by completed_at desc, id desc
  limit 1
$$;
comment on function content_current_video(uuid) is 'The latest completed avatar job of the content (by completed_at): its current video. Null when there is none.';

-- Runs body with the follow columns writable (content_follow_body lets them change only then).
-- The flag is transaction-local; callers restore the previous value so nesting works.
create function content_follow_allow(p_on boolean) returns text
language plpgsql as $$
declare v_prev text := coalesce(current_setting('video_jobs.content_follow', true), '');
begin
  perform set_config('video_jobs.content_follow', case when p_on then 'on' else '' end, true);
  return v_prev;
end
$$;

-- Moves the content's pending auto-generate job to p_at, or makes one. pg-boss's standard policy
-- keeps no singleton, so "one pending job per content" is kept here.
create function content_auto_generate_wake(p_content_id uuid, p_at timestamptz) returns void
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  n int;
  v_queue text := content_auto_generate_queue();
begin
  update pgboss.job set start_after = p_at
  where name = v_queue and singleton_key = p_content_id::text and state in ('created', 'retry');
  get diagnostics n = row_count;
  if n = 0 then
    perform pgboss_enqueue(v_queue, jsonb_build_object('contentId', p_content_id), p_at, p_content_id::text);
  elsif p_at <= now() then
    perform pg_notify('pgboss_' || left(encode(sha224('pgboss'::bytea), 'hex'), 24), v_queue);
  end if;
end
$$;
revoke execute on function content_auto_generate_wake(uuid, timestamptz) from public;

-- Asks the worker to delete these completed jobs' files (skipping those already removed or asked).
create function video_jobs_request_file_removal(p_job_ids uuid[], p_reason text) returns integer
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  v_queue text := video_remove_files_queue();
  v_ids uuid[];
begin
  select array_agg(v.id order by v.id) into v_ids
  from video_jobs v
  where v.id = any (p_job_ids) and v.status = 'completed' and v.files_removed_at is null
    and not exists (select 1 from pgboss.job b where b.name = v_queue and b.singleton_key = v.id::text
                    and b.state in ('created', 'retry', 'active'));
  if v_ids is null then
    return 0;
  end if;
  perform pgboss_enqueue_many(v_queue,
    array(select jsonb_build_object('jobId', i, 'reason', p_reason) from unnest(v_ids) i),
    v_ids::text[]);
  return cardinality(v_ids);
end
$$;
revoke execute on function video_jobs_request_file_removal(uuid[], text) from public;

-- The worker, once the files are gone: records it (once) with an event, and tells LISTENers.
create function video_jobs_files_removed(p_job_id uuid, p_reason text) returns boolean
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  j video_jobs;
  v_event bigint;
begin
  update video_jobs set files_removed_at = now()
  where id = p_job_id and status = 'completed' and files_removed_at is null
  returning * into j;
  if not found then
    return false;
  end if;
  insert into video_job_events (job_id, business_id, content_id, from_status, to_status, detail, actor)
  values (j.id, j.business_id, j.content_id, j.status, j.status,
          jsonb_build_object('event', 'files_removed', 'reason', p_reason), video_jobs_actor())
  returning id into v_event;
  perform pg_notify('video_jobs', json_build_object('event_id', v_event, 'id', j.id, 'content_id', j.content_id,
    'business_id', j.business_id, 'status', j.status)::text);
  return true;
end
$$;
revoke execute on function video_jobs_files_removed(uuid, text) from public;
grant execute on function video_jobs_files_removed(uuid, text) to service_role;

-- 4. Content: out of date, and scheduling ---------------------------------------------------------
create function content_follow_body() returns trigger
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  v_script text;
  v_current video_jobs;
  v_auto boolean;
  v_delay int;
begin
  if current_setting('video_jobs.content_follow', true) is distinct from 'on' then
    if tg_op = 'INSERT' and (new.video_is_stale or new.video_scheduled_at is not null or new.auto_generate_error is not null)
       or tg_op = 'UPDATE' and (new.video_is_stale, new.video_scheduled_at, new.auto_generate_error)
                               is distinct from (old.video_is_stale, old.video_scheduled_at, old.auto_generate_error) then
      raise exception 'content.video_is_stale, video_scheduled_at and auto_generate_error are kept by trigger and cannot be written directly'
        using errcode = 'insufficient_privilege',
              hint = 'Use cancel_scheduled_video(content_id) or generate_scheduled_video_now(content_id) for a scheduled video.';
    end if;
  end if;
  v_script := content_video_script(new.body);
  if tg_op = 'UPDATE' and v_script is not distinct from content_video_script(old.body) then
    return new;
  end if;
  if tg_op = 'UPDATE' then
    v_current := content_current_video(new.id);
    new.video_is_stale := v_current.id is not null and v_current.script is distinct from v_script;
  end if;
  if v_script = '' then
    return new;
  end if;
  select b.auto_generate, b.auto_generate_delay_seconds into v_auto, v_delay from businesses b where b.id = new.business_id;
  if not coalesce(v_auto, false) then
    return new;
  end if;
  new.video_scheduled_at := now() + make_interval(secs => v_delay);
  -- The content's write never fails because of its video.
  begin
    perform content_auto_generate_wake(new.id, new.video_scheduled_at);
  exception when others then
    new.video_scheduled_at := null;
    new.auto_generate_error := left('The video could not be scheduled: ' || sqlerrm, 2000);
  end;
  return new;
end
$$;
create trigger content_follow_insert before insert on content
  for each row execute function content_follow_body();
create trigger content_follow_update before update on content
  for each row when (old.body is distinct from new.body
                     or old.video_is_stale is distinct from new.video_is_stale
                     or old.video_scheduled_at is distinct from new.video_scheduled_at
                     or old.auto_generate_error is distinct from new.auto_generate_error)
  execute function content_follow_body();

-- Turning auto-generate off drops what it had scheduled.
create function businesses_auto_generate_off() returns trigger
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare v_prev text := content_follow_allow(true);
begin
  update content set video_scheduled_at = null where business_id = new.id and video_scheduled_at is not null;
  perform set_config('video_jobs.content_follow', v_prev, true);
  return null;
end
$$;
create trigger businesses_auto_generate_off after update of auto_generate on businesses
  for each row when (old.auto_generate and not new.auto_generate) execute function businesses_auto_generate_off();

-- 5. The scheduled job ----------------------------------------------------------------------------
-- Run by the worker when the content's auto-generate job is due. Returns what it did: nothing
-- (nothing pending), rescheduled (pushed back meanwhile), waiting (an active job; its end wakes
-- this again), in_progress / unchanged (the active or current video already says the body), made,
-- refused (the reason is on content.auto_generate_error).
create function content_auto_generate_run(p_content_id uuid) returns text
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  c content;
  v_script text;
  v_active video_jobs;
  v_current video_jobs;
  v_prev_follow text;
  v_prev_actor text := current_setting('video_jobs.actor', true);
  v_outcome text;
begin
  select * into c from content where id = p_content_id for update;
  if not found or c.video_scheduled_at is null then
    return 'nothing';
  end if;
  if c.video_scheduled_at > now() then
    perform content_auto_generate_wake(c.id, c.video_scheduled_at);
    return 'rescheduled';
  end if;
  v_script := content_video_script(c.body);
  select * into v_active from video_jobs v
  where v.content_id = c.id and v.kind = 'avatar' and video_jobs_is_active(v.status) limit 1;
  if found and v_active.script is distinct from v_script then
    return 'waiting';
  end if;
  v_prev_follow := content_follow_allow(true);
  v_current := content_current_video(c.id);
  if v_active.id is not null or v_current.script is not distinct from v_script then
    update content set video_scheduled_at = null where id = c.id;
    v_outcome := case when v_active.id is not null then 'in_progress' else 'unchanged' end;
  else
    begin
      perform set_config('video_jobs.actor', 'auto', true);
      perform set_config('video_jobs.event_detail', jsonb_build_object('auto_generate', jsonb_strip_nulls(jsonb_build_object(
        'change', 'body', 'scheduled_at', c.video_scheduled_at, 'previous_job_id', v_current.id)))::text, true);
      -- An earlier auto job still awaiting approval says an older body: this one replaces it.
      update video_jobs set status = 'canceled', error_code = 'superseded',
        error_message = 'Replaced by a newer auto-generated video of the changed content.'
      where content_id = c.id and kind = 'avatar' and status = 'awaiting_approval' and requested_by = 'auto';
      insert into video_jobs (content_id, requested_by) values (c.id, 'auto');
      perform set_config('video_jobs.event_detail', '', true);
      update content set video_scheduled_at = null, auto_generate_error = null where id = c.id;
      v_outcome := 'made';
    exception
      when unique_violation then
        -- Another job started meanwhile: wait for its end like any active job.
        v_outcome := 'waiting';
      when others then
        update content set video_scheduled_at = null, auto_generate_error = left(sqlerrm, 2000) where id = c.id;
        v_outcome := 'refused';
    end;
  end if;
  perform set_config('video_jobs.actor', coalesce(v_prev_actor, ''), true);
  perform set_config('video_jobs.content_follow', v_prev_follow, true);
  return v_outcome;
end
$$;
revoke execute on function content_auto_generate_run(uuid) from public;
grant execute on function content_auto_generate_run(uuid) to service_role;

-- A due schedule with no pending run and no active job to wait for lost its run (pg-boss gave up
-- after its retries, or the queue was cleared): the worker's sweep gives it one again.
create function content_auto_generate_sweep(p_grace interval = '1 minute') returns integer
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare n int;
begin
  perform content_auto_generate_wake(c.id, now())
  from content c
  where c.video_scheduled_at < now() - p_grace
    and not exists (select 1 from pgboss.job b where b.name = content_auto_generate_queue() and b.singleton_key = c.id::text
                    and b.state in ('created', 'retry', 'active'))
    and not exists (select 1 from video_jobs v where v.content_id = c.id and v.kind = 'avatar' and video_jobs_is_active(v.status));
  get diagnostics n = row_count;
  return n;
end
$$;
revoke execute on function content_auto_generate_sweep(interval) from public;
grant execute on function content_auto_generate_sweep(interval) to service_role;

-- The extra detail of a job's first event (video_jobs.event_detail, a JSON object, set for the
-- insert by the function that makes the job).
create function video_job_events_add_detail() returns trigger
language plpgsql as $$
begin
  new.detail := new.detail || current_setting('video_jobs.event_detail')::jsonb;
  return new;
end
$$;
create trigger video_job_events_add_detail before insert on video_job_events
  for each row when (new.from_status is null and current_setting('video_jobs.event_detail', true) > '')
  execute function video_job_events_add_detail();

-- 6. When an avatar job ends ----------------------------------------------------------------------
create function video_jobs_follow_content() returns trigger
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  v_prev_follow text;
  v_prev_actor text;
  r record;
begin
  -- Most updates (poll counters, steps) end no job: one look at the transition tables.
  if not exists (select 1 from new_rows n join old_rows o using (id)
                 where video_jobs_is_active(o.status) and not video_jobs_is_active(n.status)) then
    return null;
  end if;
  v_prev_follow := content_follow_allow(true);

  -- Out of date or not, against the new current video.
  update content c set video_is_stale = s.stale
  from (
    select cc.id as content_id, cur.script is distinct from content_video_script(cc.body) as stale
    from content cc
    cross join lateral (select v.script from video_jobs v
                        where v.content_id = cc.id and v.kind = 'avatar' and v.status = 'completed'
                        order by v.completed_at desc, v.id desc limit 1) cur
    where cc.id in (select n.content_id from new_rows n join old_rows o using (id)
                    where n.kind = 'avatar' and n.status = 'completed' and o.status <> 'completed')
  ) s
  where c.id = s.content_id and c.video_is_stale is distinct from s.stale;

  -- An auto video replaces a version that had translations: the same languages again.
  for r in
    select n.id, n.content_id, p.id as previous_id
    from new_rows n join old_rows o using (id)
    cross join lateral (
      select v.id from video_jobs v
      where v.content_id = n.content_id and v.kind = 'avatar' and v.status = 'completed' and v.id <> n.id
      order by v.completed_at desc, v.id desc limit 1
    ) p
    where n.kind = 'avatar' and n.status = 'completed' and o.status <> 'completed' and n.requested_by = 'auto'
      and exists (select 1 from video_jobs t where t.source_job_id = p.id and t.status = 'completed')
  loop
    begin
      v_prev_actor := current_setting('video_jobs.actor', true);
      perform set_config('video_jobs.actor', 'auto', true);
      perform set_config('video_jobs.event_detail', jsonb_build_object('auto_generate', jsonb_build_object(
        'change', 'new_version', 'previous_job_id', r.previous_id))::text, true);
      insert into video_jobs (kind, source_job_id, output_language, options, requested_by)
      select distinct on (t.output_language) 'translation', r.id, t.output_language, t.options, 'auto'
      from video_jobs t
      where t.source_job_id = r.previous_id and t.status = 'completed'
      order by t.output_language, t.completed_at desc;
      perform set_config('video_jobs.event_detail', '', true);
      perform set_config('video_jobs.actor', coalesce(v_prev_actor, ''), true);
    exception when others then
      update content set auto_generate_error = left('The new video could not be translated again: ' || sqlerrm, 2000)
      where id = r.content_id;
    end;
  end loop;

  -- Versions beyond the business's keep_video_versions: their files (and their translations') go.
  -- Looked at whenever a video of the content completes, so a translation of an old version that
  -- finishes late goes too.
  perform video_jobs_request_file_removal(array(
    select t.id
    from (
      select v.id, row_number() over (partition by v.content_id order by v.completed_at desc, v.id desc) as rank,
             b.keep_video_versions as keep
      from video_jobs v join businesses b on b.id = v.business_id
      where v.content_id in (select n.content_id from new_rows n join old_rows o using (id)
                             where n.status = 'completed' and o.status <> 'completed')
        and v.kind = 'avatar' and v.status = 'completed'
    ) aged
    join video_jobs t on (t.id = aged.id or t.source_job_id = aged.id) and t.status = 'completed' and t.files_removed_at is null
    where aged.rank > aged.keep
  ), 'version_limit');

  -- A scheduled video waiting for this job: due now (or at its time).
  perform content_auto_generate_wake(c.id, greatest(c.video_scheduled_at, now()))
  from content c
  where c.video_scheduled_at is not null
    and c.id in (select n.content_id from new_rows n join old_rows o using (id)
                 where n.kind = 'avatar' and video_jobs_is_active(o.status) and not video_jobs_is_active(n.status));

  perform set_config('video_jobs.content_follow', v_prev_follow, true);
  return null;
end
$$;
create trigger video_jobs_follow_content after update on video_jobs
  referencing old table as old_rows new table as new_rows
  for each statement execute function video_jobs_follow_content();

-- 7. Functions for people and services -----------------------------------------------------------
create function generate_scheduled_video_now(p_content_id uuid) returns void
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  c content;
  v_prev text;
begin
  select * into c from content where id = p_content_id for update;
  if not found then
    raise exception 'generate_scheduled_video_now: no content %', p_content_id using errcode = 'no_data_found', detail = 'content_not_found';
  end if;
  perform business_check_manager(c.business_id, 'generate videos');
  if c.video_scheduled_at is null then
    return; -- nothing pending (already made, or canceled)
  end if;
  v_prev := content_follow_allow(true);
  update content set video_scheduled_at = now() where id = c.id;
  perform set_config('video_jobs.content_follow', v_prev, true);
  perform content_auto_generate_wake(c.id, now());
end
$$;
grant execute on function generate_scheduled_video_now(uuid) to public;

create function cancel_scheduled_video(p_content_id uuid) returns void
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  c content;
  v_prev text;
begin
  select * into c from content where id = p_content_id for update;
  if not found then
    raise exception 'cancel_scheduled_video: no content %', p_content_id using errcode = 'no_data_found', detail = 'content_not_found';
  end if;
  perform business_check_manager(c.business_id, 'cancel scheduled videos');
  if c.video_scheduled_at is null then
    return;
  end if;
  v_prev := content_follow_allow(true);
  update content set video_scheduled_at = null where id = c.id;
  perform set_config('video_jobs.content_follow', v_prev, true);
  update pgboss.job set state = 'cancelled', completed_on = pgboss.job_now()
  where name = content_auto_generate_queue() and singleton_key = c.id::text and state in ('created', 'retry');
end
$$;
grant execute on function cancel_scheduled_video(uuid) to public;

create function regenerate_stale_videos(p_business_id uuid) returns integer
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare n int;
begin
  if not exists (select 1 from businesses where id = p_business_id) then
    raise exception 'regenerate_stale_videos: no business %', p_business_id using errcode = 'no_data_found', detail = 'business_not_found';
  end if;
  perform business_check_manager(p_business_id, 'regenerate videos');
  perform set_config('video_jobs.event_detail', '{"regenerate": "stale"}', true);
  -- One statement; approval and the monthly limit apply through video_jobs_before_insert. A
  -- content with a job already on its way (active or awaiting approval) gets no second one.
  with made as (
    insert into video_jobs (content_id)
    select c.id from content c
    where c.business_id = p_business_id and c.video_is_stale
      and content_video_script(c.body) <> '' and length(content_video_script(c.body)) <= 5000
      and not exists (select 1 from video_jobs v where v.content_id = c.id and v.kind = 'avatar'
                      and (video_jobs_is_active(v.status) or v.status = 'awaiting_approval'))
    order by c.id
    returning 1
  )
  select count(*)::int into n from made;
  perform set_config('video_jobs.event_detail', '', true);
  return n;
end
$$;
grant execute on function regenerate_stale_videos(uuid) to public;

create function remove_video_files(p_job_id uuid, p_reason text) returns void
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare j video_jobs;
begin
  if p_reason is null or p_reason not in ('version_limit', 'deleted_by_user') then
    raise exception 'remove_video_files: the reason must be version_limit or deleted_by_user, got %', coalesce(p_reason, 'null')
      using errcode = 'check_violation', detail = 'reason_invalid';
  end if;
  select * into j from video_jobs where id = p_job_id;
  if not found then
    raise exception 'remove_video_files: no video job %', p_job_id using errcode = 'no_data_found', detail = 'job_not_found';
  end if;
  perform business_check_manager(j.business_id, 'delete videos');
  if j.status <> 'completed' then
    raise exception 'remove_video_files: job % is %; only a completed video has files to remove', p_job_id, j.status
      using errcode = 'check_violation', detail = 'job_not_completed', hint = 'Cancel an active job with select cancel_video_job(id).';
  end if;
  perform video_jobs_request_file_removal(array[p_job_id], p_reason);
end
$$;
grant execute on function remove_video_files(uuid, text) to public;

-- 8. video_jobs_before_update: files_removed_at is the one change a finished job accepts ---------
create or replace function video_jobs_before_update() returns trigger
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  v_kind text;
  v_rest video_jobs;
begin
  if new.id <> old.id or new.business_id <> old.business_id or new.content_id <> old.content_id
     or new.script is distinct from old.script or new.avatar_id is distinct from old.avatar_id
     or new.voice_id is distinct from old.voice_id
     or new.kind <> old.kind or new.source_job_id is distinct from old.source_job_id
     or new.output_language is distinct from old.output_language
     or new.options <> old.options or new.created_at <> old.created_at
     or new.requested_by is distinct from old.requested_by
     or new.idempotency_key is distinct from old.idempotency_key then
    raise exception 'video_jobs %: id, business, content, kind, source, language, script, avatar, voice, options, requester and idempotency key are fixed when the job is created', old.id
      using errcode = 'check_violation', hint = 'Insert a new job instead.';
  end if;
  -- Set once, on a completed job, when the worker has deleted its files (video_jobs_files_removed).
  if new.files_removed_at is distinct from old.files_removed_at
     and (old.files_removed_at is not null or new.files_removed_at is null or old.status <> 'completed' or new.status <> 'completed') then
    raise exception 'video_jobs %: files_removed_at is set once, when a completed job''s files are removed', old.id
      using errcode = 'check_violation', hint = 'select remove_video_files(id, reason)';
  end if;

  if new.status = old.status then
    v_rest := new;
    v_rest.files_removed_at := old.files_removed_at;
    if not video_jobs_is_active(old.status) and v_rest is distinct from old then
      raise exception 'video_jobs %: job is % and can no longer change', old.id, old.status
        using errcode = 'check_violation', hint = case when old.status = 'completed' then 'Insert a new job for a new video.' else 'Retry it with select retry_video_job(id).' end;
    end if;
    new.updated_at := now();
  else
    select t.kind into v_kind from video_job_transitions t where t.from_status = old.status and t.to_status = new.status;
    if v_kind is null then
      raise exception 'video_jobs %: illegal status change % -> %', old.id, old.status, new.status
        using errcode = 'check_violation',
              hint = 'Allowed: queued -> submitting -> rendering -> transferring -> completed; any active state -> failed or canceled; failed or canceled -> queued (retry).';
    end if;

    new.updated_at := now();
    if new.status = 'submitting' and new.started_at is null then
      new.started_at := now();
    end if;
    if not video_jobs_is_active(new.status) then
      new.completed_at := now();
    end if;
    if new.status = 'canceled' then
      new.error_code := coalesce(new.error_code, 'canceled');
      new.error_message := coalesce(new.error_message, 'Canceled by ' || video_jobs_actor());
    end if;
    if v_kind = 'retry' then
      -- A retry is a fresh attempt: forget the previous attempt's progress, every per-attempt
      -- counter starts again, and it gets a new HeyGen idempotency key.
      new.attempt := old.attempt + 1;
      new.heygen_video_id := null; new.heygen_url := null; new.thumbnail_url := null;
      new.duration_seconds := null; new.storage_path := null; new.video_url := null; new.size_bytes := null;
      new.error_code := null; new.error_message := null; new.last_error := null; new.last_heygen_status := null;
      new.started_at := null; new.completed_at := null;
      new.submit_count := 0; new.poll_count := 0; new.transfer_count := 0;
      new.heygen_idempotency_key := null; new.heygen_submitted_at := null; new.heygen_completed_at := null;
      new.thumbnail_path := null; new.subtitles_path := null; new.vtt_path := null;
      if new.deadline is not distinct from old.deadline or new.deadline <= now() then
        new.deadline := now() + interval '60 minutes';
      end if;
    end if;
  end if;

  if v_kind is distinct from 'retry' and old.heygen_idempotency_key is not null
     and new.heygen_idempotency_key is distinct from old.heygen_idempotency_key then
    raise exception 'video_jobs %: the HeyGen idempotency key of an attempt cannot change (it keeps HeyGen from making a second video)', old.id
      using errcode = 'check_violation';
  end if;

  if new.deadline is not null and new.deadline is distinct from old.deadline then
    if not isfinite(new.deadline) then
      raise exception 'video_jobs.deadline must be a real point in time, got %', new.deadline
        using errcode = 'check_violation', detail = 'deadline_not_finite', hint = 'Leave it out for the default (60 minutes), or give a time within 7 days.';
    end if;
    if new.deadline > now() + interval '7 days' then
      raise exception 'video_jobs.deadline % is more than 7 days away; give a time within 7 days', new.deadline
        using errcode = 'check_violation', detail = 'deadline_too_far';
    end if;
  end if;
  return new;
end
$$;

-- 9. Existing content: out of date against its current video (no trigger bumps updated_at) -----------
alter table content disable trigger content_guard;
select content_follow_allow(true);
update content c set video_is_stale = true
from (select distinct on (v.content_id) v.content_id, v.script from video_jobs v
      where v.kind = 'avatar' and v.status = 'completed'
      order by v.content_id, v.completed_at desc, v.id desc) cur
where cur.content_id = c.id and cur.script is distinct from content_video_script(c.body);
select content_follow_allow(false);
alter table content enable trigger content_guard;
