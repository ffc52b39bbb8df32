-- One definition of each trigger function, state rules as data, and two fixes (foundation issue).
--
-- Before this file the video_jobs triggers had been restated and amended over 0004-0019: three
-- before-update row triggers (0004, 0012, 0013/0019), settings added later with ALTER FUNCTION
-- (lost whenever a body was restated without them), and the active statuses and queue names
-- written out as literals in several functions. After it:
--
-- 1. Statuses and transitions are rows: video_job_statuses (active?, holds a HeyGen render slot?,
--    the pg-boss queue of its step) and video_job_transitions (which status may follow which).
--    The before-update trigger reads the transitions; the view video_job_states and the generated
--    db/job-states.ts read both. video_jobs_is_active, video_jobs_holds_render_slot,
--    video_jobs_step_queue and video_jobs_step_queues are compiled from the statuses table by
--    video_job_states_compile(): indexes need IMMUTABLE functions, so they cannot read a table,
--    and a compiled body is also what the planner inlines. A later migration that changes the
--    statuses table calls video_job_states_compile() again.
-- 2. One UPDATE of a job fires at most two row triggers: video_jobs_before_update (the status
--    machine, frozen columns, the per-attempt resets, the HeyGen key and deadline checks that
--    0012's video_jobs_before_update_v3 and 0019's video_jobs_check_input did, in that order) and,
--    only when a job leaves the render slots, video_jobs_wake_waiting_submit. Plus the statement
--    trigger video_jobs_after_update.
-- 3. Every trigger function of video_jobs and video_job_events that has settings is restated here
--    once, in its current form, with its settings in the definition (search_path with pg_temp
--    last, plan_cache_mode where 0018 set it).
-- 4. Fix: a retry is a fresh attempt, so submit_count starts again at 0 like the other counters
--    (a job that failed after its last submit attempt used to fail again at once on retry).
-- 5. Fix: a script with no visible character is refused for every writer. Braille blank
--    (U+2800), tag characters (U+E0000-E007F) and the variation selectors supplement
--    (U+E0100-E01EF) were missing from the invisible set; the three script-is-empty errors now
--    also name the column (script).

-- 1. Statuses and transitions as data --------------------------------------------------------------
create table video_job_statuses (
  status video_job_status primary key,
  position int not null unique,
  -- Still moving: at most one active job per content; cancel applies; the sweep watches it.
  is_active boolean not null,
  -- Counts against businesses.heygen_concurrency (a render HeyGen is working on for the account).
  holds_render_slot boolean not null,
  -- The pg-boss queue whose handler moves a job on from this status; null for a finished status.
  step_queue text,
  constraint video_job_statuses_queue_iff_active check (is_active = (step_queue is not null)),
  constraint video_job_statuses_slot_is_active check (not holds_render_slot or is_active)
);
comment on table video_job_statuses is
  'Every job status: whether it is active, whether it holds a HeyGen render slot, and the pg-boss queue of its step. '
  'After changing it, run select video_job_states_compile(). db/job-states.ts is generated from it.';

insert into video_job_statuses (status, position, is_active, holds_render_slot, step_queue) values
  ('queued',       1, true,  false, 'video.submit'),
  ('submitting',   2, true,  true,  'video.submit'),
  ('rendering',    3, true,  true,  'video.poll'),
  ('transferring', 4, true,  false, 'video.transfer'),
  ('completed',    5, false, false, null),
  ('failed',       6, false, false, null),
  ('canceled',     7, false, false, null);

create table video_job_transitions (
  from_status video_job_status not null references video_job_statuses (status),
  to_status video_job_status not null references video_job_statuses (status),
  -- step: the pipeline moves on; stop: an active job ends; retry: a new attempt (counters reset).
  kind text not null check (kind in ('step', 'stop', 'retry')),
  primary key (from_status, to_status)
);
comment on table video_job_transitions is
  'The status changes video_jobs allows (checked by video_jobs_before_update); anything else raises.';

insert into video_job_transitions (from_status, to_status, kind)
select f, t, k::text from (values
  ('queued'::video_job_status, 'submitting'::video_job_status, 'step'),
  ('submitting', 'rendering', 'step'),
  ('rendering', 'transferring', 'step'),
  ('transferring', 'completed', 'step'),
  ('failed', 'queued', 'retry'),
  ('canceled', 'queued', 'retry')
) v (f, t, k)
union all
select s.status, stop.s, 'stop'
from video_job_statuses s cross join (values ('failed'::video_job_status), ('canceled')) stop (s)
where s.is_active;

-- Rewrites the status functions from video_job_statuses. Their bodies are literal so that they are
-- truly IMMUTABLE (index predicates use them) and inline into the queries that call them. A
-- migration that changes is_active or holds_render_slot must also reindex the partial indexes
-- that use them (video_jobs_one_active_per_content, video_jobs_business_in_flight_idx).
create function video_job_states_compile() returns void
language plpgsql set search_path = pg_catalog, public, pg_temp as $$
declare
  v_active text;
  v_slot text;
  v_cases text;
  v_queues text;
begin
  select coalesce('s in (' || string_agg(quote_literal(status), ', ' order by position) filter (where is_active) || ')', 'false'),
         coalesce('s in (' || string_agg(quote_literal(status), ', ' order by position) filter (where holds_render_slot) || ')', 'false'),
         string_agg(format('when %L then %L', status, step_queue), ' ' order by position) filter (where step_queue is not null)
    into v_active, v_slot, v_cases
  from video_job_statuses;
  select quote_literal(array_agg(q order by p)::text) into v_queues
  from (select step_queue as q, min(position) as p from video_job_statuses where step_queue is not null group by 1) x;

  execute format($f$create or replace function public.video_jobs_is_active(s video_job_status) returns boolean
    language sql immutable as 'select %s'$f$, replace(v_active, '''', ''''''));
  execute format($f$create or replace function public.video_jobs_holds_render_slot(s video_job_status) returns boolean
    language sql immutable as 'select %s'$f$, replace(v_slot, '''', ''''''));
  execute format($f$create or replace function public.video_jobs_step_queue(s video_job_status) returns text
    language sql immutable as 'select case s %s end'$f$, replace(v_cases, '''', ''''''));
  execute format($f$create or replace function public.video_jobs_step_queues() returns text[]
    language sql immutable as 'select %s::text[]'$f$, replace(v_queues, '''', ''''''));
end
$$;
select video_job_states_compile();
comment on function video_jobs_is_active(video_job_status) is
  'Compiled from video_job_statuses.is_active by video_job_states_compile().';
comment on function video_jobs_holds_render_slot(video_job_status) is
  'Compiled from video_job_statuses.holds_render_slot by video_job_states_compile().';
comment on function video_jobs_step_queue(video_job_status) is
  'The pg-boss queue that moves a job on from this status; null for a finished status. Compiled from video_job_statuses.';
comment on function video_jobs_step_queues() is
  'Every pipeline queue, in pipeline order. Compiled from video_job_statuses.';

-- Same columns as 0016's view, now read from the table.
create or replace view video_job_states as
select status, position, is_active as active, step_queue as queue from video_job_statuses;

-- Reference data for the server; Supabase's API roles get nothing (like the view in 0016).
revoke all on video_job_statuses, video_job_transitions from public;
do $$
begin
  if exists (select 1 from pg_roles where rolname = 'anon') then
    revoke all on video_job_statuses, video_job_transitions from anon, authenticated;
  end if;
end
$$;

-- The render-slot index, by the function instead of a copy of the list (same name, same rows).
drop index video_jobs_business_in_flight_idx;
create index video_jobs_business_in_flight_idx on video_jobs (business_id) where video_jobs_holds_render_slot(status);

-- 2. Inserts ---------------------------------------------------------------------------------------
-- As 0019, plus: the invisible set includes braille blank, tag characters and the variation
-- selectors supplement, and the script-is-empty errors name the column.
create or replace function video_jobs_before_insert() returns trigger
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  v_business uuid;
  v_body text;
  v_avatar text;
  v_voice text;
  v_has_key boolean;
  active_id uuid;
  active_status video_job_status;
  bad text;
begin
  if new.content_id is null then
    raise exception 'video_jobs.content_id is required' using errcode = 'not_null_violation', detail = 'content_required';
  end if;
  -- content.business_id references businesses, so the join finds the business whenever the
  -- content exists. The active job is read here and reported last.
  select c.business_id, c.body, b.heygen_avatar_id, b.heygen_voice_id, b.heygen_secret_id is not null, a.id, a.status
    into v_business, v_body, v_avatar, v_voice, v_has_key, active_id, active_status
  from content c
  join businesses b on b.id = c.business_id
  left join lateral (
    -- A retried request with the same idempotency key is left to ON CONFLICT (idempotency_key).
    select v.id, v.status from video_jobs v
    where v.content_id = c.id and video_jobs_is_active(v.status)
      and (new.idempotency_key is null or v.idempotency_key is distinct from new.idempotency_key)
    limit 1
  ) a on true
  where c.id = new.content_id;
  if not found then
    raise exception 'video_jobs.content_id %: no such content', new.content_id using errcode = 'foreign_key_violation', detail = 'content_not_found';
  end if;
  if new.business_id is null then
    new.business_id := v_business;
  elsif new.business_id <> v_business then
    raise exception 'video_jobs: content % belongs to another business, not %', new.content_id, new.business_id
      using errcode = 'foreign_key_violation', detail = 'content_other_business';
  end if;

  if new.status is distinct from 'queued' then
    raise exception 'video_jobs.status must be queued for a new job, got %', new.status using errcode = 'check_violation', detail = 'status_not_queued';
  end if;
  if new.heygen_video_id is not null or new.heygen_url is not null or new.storage_path is not null
     or new.video_url is not null or new.error_code is not null or new.error_message is not null or new.last_error is not null
     or new.submit_count <> 0 or new.poll_count <> 0 or new.transfer_count <> 0 or new.attempt <> 1
     or new.started_at is not null or new.completed_at is not null or new.last_heygen_status is not null
     or new.thumbnail_url is not null or new.size_bytes is not null or new.duration_seconds is not null then
    raise exception 'video_jobs: progress columns (heygen_*, storage_path, video_url, error_*, counters, timestamps) are set by the worker; leave them out of the insert'
      using errcode = 'check_violation', detail = 'progress_columns_set';
  end if;

  if new.script is not null and btrim(new.script, E' \t\r\n') = '' then
    raise exception 'video_jobs.script is empty; leave it out to use the content''s body'
      using errcode = 'check_violation', detail = 'script_blank', column = 'script';
  end if;
  new.script := btrim(coalesce(new.script, v_body), E' \t\r\n');
  if new.script = '' then
    raise exception 'video_jobs.script is empty: content % has no body and no script was given', new.content_id
      using errcode = 'check_violation', detail = 'script_empty', column = 'script';
  end if;
  if length(new.script) > 5000 then
    raise exception 'video_jobs.script is % characters; HeyGen accepts at most 5000 per video', length(new.script)
      using errcode = 'check_violation', detail = 'script_too_long';
  end if;

  new.avatar_id := nullif(btrim(new.avatar_id), '');
  if new.avatar_id is null then
    new.avatar_id := v_avatar;
    if new.avatar_id is null then
      raise exception 'video_jobs.avatar_id: business % has no HeyGen avatar configured and none was given', v_business
        using errcode = 'check_violation', detail = 'avatar_missing', hint = 'Set businesses.heygen_avatar_id or pass avatar_id.';
    end if;
  elsif length(new.avatar_id) > 200 or new.avatar_id ~ '[^A-Za-z0-9_.:-]' then
    raise exception 'video_jobs.avatar_id "%" is not a valid HeyGen avatar id', left(new.avatar_id, 80) using errcode = 'check_violation', detail = 'avatar_id_invalid';
  end if;
  new.voice_id := nullif(btrim(new.voice_id), '');
  if new.voice_id is null then
    new.voice_id := v_voice;
    if new.voice_id is null then
      raise exception 'video_jobs.voice_id: business % has no HeyGen voice configured and none was given', v_business
        using errcode = 'check_violation', detail = 'voice_missing', hint = 'Set businesses.heygen_voice_id or pass voice_id.';
    end if;
  elsif length(new.voice_id) > 200 or new.voice_id ~ '[^A-Za-z0-9_.:-]' then
    raise exception 'video_jobs.voice_id "%" is not a valid HeyGen voice id', left(new.voice_id, 80) using errcode = 'check_violation', detail = 'voice_id_invalid';
  end if;
  if not v_has_key then
    raise exception 'video_jobs: business % has no HeyGen API key', v_business
      using errcode = 'check_violation', detail = 'api_key_missing', hint = 'Save one with select set_heygen_key(business_id, key).';
  end if;

  if new.options is null then
    new.options := '{}'::jsonb;
  elsif new.options <> '{}'::jsonb then
    perform video_jobs_check_options(new.options);
  end if;

  if new.deadline is null then
    new.deadline := now() + interval '60 minutes';
  elsif new.deadline <= now() then
    raise exception 'video_jobs.deadline % is in the past', new.deadline using errcode = 'check_violation', detail = 'deadline_past';
  end if;
  new.requested_by := coalesce(new.requested_by, video_jobs_actor());
  new.created_at := now();
  new.updated_at := now();

  if active_id is not null then
    raise exception 'video_jobs: content % already has an active video job % (%)', new.content_id, active_id, active_status
      using errcode = 'unique_violation', detail = 'active_job_exists', constraint = 'video_jobs_one_active_per_content', hint = 'Wait for it to finish or cancel it with select cancel_video_job(id).';
  end if;

  if new.heygen_idempotency_key is not null or new.heygen_submitted_at is not null or new.heygen_completed_at is not null
     or new.thumbnail_path is not null or new.subtitles_path is not null then
    raise exception 'video_jobs: progress columns (heygen_idempotency_key, heygen_submitted_at, heygen_completed_at, thumbnail_path, subtitles_path) are set by the worker; leave them out of the insert'
      using errcode = 'check_violation';
  end if;

  if not isfinite(new.deadline) then
    raise exception 'video_jobs.deadline must be a real point in time, got %', new.deadline
      using errcode = 'check_violation', detail = 'deadline_not_finite', hint = 'Leave it out for the default (60 minutes), or give a time within 7 days.';
  end if;
  if new.deadline > now() + interval '7 days' then
    raise exception 'video_jobs.deadline % is more than 7 days away; give a time within 7 days', new.deadline
      using errcode = 'check_violation', detail = 'deadline_too_far';
  end if;
  -- Windows line ends are fine; a lone carriage return is a control character like any other.
  new.script := replace(new.script, E'\r\n', E'\n');
  -- C0 except tab and newline, DEL and C1.
  bad := substring(new.script from '[\u0001-\u0008\u000b-\u001f\u007f-\u009f]');
  if bad is not null then
    raise exception 'video_jobs.script contains the control character U+% at position %; only newlines and tabs are allowed',
      lpad(upper(to_hex(ascii(bad))), 4, '0'), position(bad in new.script)
      using errcode = 'check_violation', detail = 'script_control_character';
  end if;
  -- Characters that render as nothing: Unicode spaces, zero-width characters, joiners, bidi marks,
  -- fillers (Hangul U+115F, U+1160, U+3164, U+FFA0; braille blank U+2800), the combining grapheme
  -- joiner, variation selectors (U+FE00-FE0F, U+E0100-E01EF) and tag characters (U+E0000-E007F,
  -- with the rest of that default-ignorable block). A script of only these is empty to a viewer.
  -- web/lib/server/text-rules.ts (INVISIBLE) holds the same set for the forms. A first character
  -- from '!' to '~' is visible, which settles it for most scripts without a search.
  if not ascii(new.script) between 33 and 126
     and new.script !~ '[^[:space:]\u00a0\u00ad\u034f\u061c\u115f\u1160\u1680\u17b4\u17b5\u180b-\u180f\u2000-\u200f\u2028-\u202f\u205f-\u2064\u2066-\u206f\u2800\u3000\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e0fff]' then
    raise exception 'video_jobs.script is empty: it has only spaces or invisible characters'
      using errcode = 'check_violation', detail = 'script_invisible', column = 'script';
  end if;
  return new;
end
$$;

-- The statement trigger after an insert: events + NOTIFY, content's video columns, the first step.
create or replace function video_jobs_after_insert() returns trigger
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  notified int;
  v_actor text := video_jobs_actor();
begin
  with ev as (
    insert into video_job_events (job_id, business_id, content_id, from_status, to_status, detail, actor)
    select n.id, n.business_id, n.content_id, null, n.status,
           jsonb_strip_nulls(jsonb_build_object('attempt', n.attempt, 'idempotency_key', n.idempotency_key)),
           v_actor
    from new_rows n
    returning id, job_id, business_id, content_id, to_status
  )
  select count(pg_notify('video_jobs', json_build_object(
           'event_id', ev.id, 'id', ev.job_id, 'content_id', ev.content_id,
           'business_id', ev.business_id, 'status', ev.to_status)::text))
  into notified from ev;

  -- What video_jobs_sync_content writes for these rows. Every new job is active, so the unique
  -- index leaves at most one per content, and none has a video yet (the before-insert trigger
  -- refuses those columns): video_long_url keeps the last stored video.
  update content c set
    heygen_video_id = n.heygen_video_id,
    heygen_status = n.status::text,
    heygen_url = n.heygen_url,
    video_long_url = coalesce(n.video_url, c.video_long_url)
  from new_rows n
  where c.id = n.content_id;

  perform pgboss_enqueue_many(video_jobs_step_queue('queued'),
    array(select jsonb_build_object('jobId', n.id) from new_rows n order by n.id),
    array(select n.id::text from new_rows n order by n.id));
  return null;
end
$$;

-- 3. Updates ---------------------------------------------------------------------------------------
drop trigger video_jobs_before_update_v3 on video_jobs;
drop function video_jobs_before_update_v3();
drop trigger video_jobs_check_input on video_jobs;
drop function video_jobs_check_input();

-- The one before-update row trigger. In order: frozen columns; the status machine (a status
-- change must be a row of video_job_transitions); what a change implies (timestamps, a retry's
-- fresh attempt); the attempt's HeyGen idempotency key never changes; a moved deadline is a real
-- time within 7 days. SECURITY DEFINER so a writer needs no rights on video_job_transitions.
create or replace function video_jobs_before_update() returns trigger
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  v_kind text;
begin
  if new.id <> old.id or new.business_id <> old.business_id or new.content_id <> old.content_id
     or new.script <> old.script or new.avatar_id <> old.avatar_id or new.voice_id <> old.voice_id
     or new.options <> old.options or new.created_at <> old.created_at
     or new.requested_by is distinct from old.requested_by
     or new.idempotency_key is distinct from old.idempotency_key then
    raise exception 'video_jobs %: id, business, content, script, avatar, voice, options, requester and idempotency key are fixed when the job is created', old.id
      using errcode = 'check_violation', hint = 'Insert a new job instead.';
  end if;

  if new.status = old.status then
    if not video_jobs_is_active(old.status) and new is distinct from old then
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
      new.thumbnail_path := null; new.subtitles_path := null;
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

-- Writes content's latest-video columns from the given jobs (the content guard lets trigger-nested
-- updates through).
create or replace function video_jobs_sync_content(jobs video_jobs[]) returns void
language plpgsql security definer set search_path = pg_catalog, public, pg_temp set plan_cache_mode = force_generic_plan as $$
begin
  if coalesce(array_length(jobs, 1), 0) = 0 then
    return; -- most updates (poll counters) change nothing content shows
  end if;
  update content c set
    heygen_video_id = j.heygen_video_id,
    heygen_status = j.status::text,
    heygen_url = j.heygen_url,
    -- Keep the last stored video playable while a newer one renders or after it fails.
    video_long_url = coalesce(j.video_url, c.video_long_url)
  from (select distinct on (content_id) * from unnest(jobs) order by content_id, updated_at desc) j
  where c.id = j.content_id;
end
$$;

-- The statement trigger after an update: one event + NOTIFY per status change, content's video
-- columns, a retried job's first step, and a finished job's pending steps canceled.
create or replace function video_jobs_after_update() returns trigger
language plpgsql security definer set search_path = pg_catalog, public, pg_temp set plan_cache_mode = force_generic_plan as $$
declare
  notified int;
  requeued uuid[];
  canceled uuid[];
begin
  with changed as (
    select n.*, o.status as old_status
    from new_rows n join old_rows o using (id)
    where n.status <> o.status
  ), ev as (
    insert into video_job_events (job_id, business_id, content_id, from_status, to_status, detail, actor)
    select c.id, c.business_id, c.content_id, c.old_status, c.status,
           jsonb_strip_nulls(jsonb_build_object(
             'attempt', c.attempt,
             'heygen_video_id', c.heygen_video_id,
             'error_code', case when c.status in ('failed', 'canceled') then c.error_code end,
             'error_message', case when c.status in ('failed', 'canceled') then c.error_message end,
             'storage_path', case when c.status = 'completed' then c.storage_path end,
             'size_bytes', case when c.status = 'completed' then c.size_bytes end,
             'poll_count', case when c.status in ('transferring', 'failed') then c.poll_count end)),
           video_jobs_actor()
    from changed c
    order by c.id
    returning id, job_id, business_id, content_id, to_status
  )
  select count(pg_notify('video_jobs', json_build_object(
           'event_id', ev.id, 'id', ev.job_id, 'content_id', ev.content_id,
           'business_id', ev.business_id, 'status', ev.to_status)::text))
  into notified from ev;

  perform video_jobs_sync_content(array(
    select n::video_jobs from new_rows n join old_rows o using (id)
    where (n.status, n.heygen_video_id, n.heygen_url, n.video_url) is distinct from (o.status, o.heygen_video_id, o.heygen_url, o.video_url)));

  select array_agg(n.id) into requeued
  from new_rows n join old_rows o using (id) where n.status = 'queued' and o.status <> 'queued';
  if requeued is not null then
    perform pgboss_enqueue_many(video_jobs_step_queue('queued'),
      array(select jsonb_build_object('jobId', r) from unnest(requeued) r), requeued::text[]);
  end if;

  -- A finished job needs none of its pending steps any more.
  select array_agg(n.id) into canceled
  from new_rows n join old_rows o using (id) where n.status in ('canceled', 'failed') and n.status <> o.status;
  if canceled is not null then
    perform pgboss_cancel_for_video_jobs(canceled);
  end if;
  return null;
end
$$;

-- When a job gives up its render slot, wake the business's oldest submit that waits for one (see
-- 0012 and 0018). A row trigger with a WHEN clause: updates that keep the slot never call it.
create or replace function video_jobs_wake_waiting_submit() returns trigger
language plpgsql security definer set search_path = pg_catalog, public, pg_temp set plan_cache_mode = force_generic_plan as $$
declare
  n int;
  v_queue text := video_jobs_step_queue('queued');
begin
  if not exists (select 1 from pgboss.job w where w.name = v_queue and w.state in ('created', 'retry') and w.start_after > now()) then
    return null;
  end if;
  update pgboss.job b set start_after = now()
  where b.name = v_queue and b.state in ('created', 'retry') and b.start_after > now()
    and b.singleton_key = (
      select v.id::text from video_jobs v
      where v.business_id = new.business_id and v.status = 'queued'
        and exists (select 1 from pgboss.job w where w.name = v_queue and w.singleton_key = v.id::text
                    and w.state in ('created', 'retry') and w.start_after > now())
      order by v.created_at, v.id limit 1);
  get diagnostics n = row_count;
  if n > 0 then
    perform pg_notify('pgboss_' || left(encode(sha224('pgboss'::bytea), 'hex'), 24), v_queue);
  end if;
  return null;
end
$$;
drop trigger video_jobs_wake_waiting_submit on video_jobs;
create trigger video_jobs_wake_waiting_submit after update on video_jobs
  for each row when (video_jobs_holds_render_slot(old.status) and not video_jobs_holds_render_slot(new.status))
  execute function video_jobs_wake_waiting_submit();

-- 4. The audit trail's counter trigger (0018's body; its plan_cache_mode was set by ALTER) --------
create or replace function video_job_events_count() returns trigger
language plpgsql security definer set search_path = pg_catalog, public, pg_temp set plan_cache_mode = force_generic_plan as $$
declare
  v_step text;
  v_secs double precision;
begin
  if new.to_status = 'failed' then
    insert into video_job_failure_counts as f (error_code, shard, failures)
    values (coalesce(new.detail->>'error_code', 'unknown'), video_job_counter_shard(), 1)
    on conflict (error_code, shard) do update set failures = f.failures + 1;
    return null;
  end if;
  v_step := case
    when new.from_status = 'rendering' and new.to_status = 'transferring' then 'render'
    when new.from_status = 'transferring' and new.to_status = 'completed' then 'transfer'
  end;
  if v_step is null then
    return null;
  end if;
  -- The step started with the job's previous event (video_job_events_job_idx).
  select extract(epoch from new.at - e.at)::float8 into v_secs
  from video_job_events e where e.job_id = new.job_id and e.id < new.id order by e.id desc limit 1;
  if v_secs is null then
    return null;
  end if;
  insert into video_job_step_durations as d (step, le, shard, observations, seconds)
  values (v_step, (select min(b) from unnest(video_job_duration_buckets()) b where b >= v_secs), video_job_counter_shard(), 1, v_secs)
  on conflict (step, le, shard) do update set observations = d.observations + 1, seconds = d.seconds + excluded.seconds;
  return null;
end
$$;

-- 5. Functions that spelled out queue names or the render-slot statuses ----------------------------
-- Cancels the not-yet-started pg-boss jobs of the given video jobs in the given queues (by
-- default every pipeline queue).
create or replace function pgboss_cancel_for_video_jobs(
  p_job_ids uuid[],
  p_queues text[] = video_jobs_step_queues()
) returns int
language plpgsql security definer set search_path = pg_catalog, public, pg_temp set plan_cache_mode = force_generic_plan as $$
declare n int;
begin
  update pgboss.job set state = 'cancelled', completed_on = pgboss.job_now()
  where name = any (p_queues)
    and state < 'active'
    and singleton_key = any (p_job_ids::text[]);
  get diagnostics n = row_count;
  return n;
end
$$;

-- Makes the job's next status check happen now (a HeyGen webhook arrived, or a person asked).
create or replace function video_jobs_wake_poll(p_job_id uuid) returns boolean
language plpgsql as $$
declare
  n int;
  v_queue text := video_jobs_step_queue('rendering');
begin
  if not exists (select 1 from video_jobs where id = p_job_id and status = 'rendering') then
    return false;
  end if;
  update pgboss.job set start_after = pgboss.job_now()
  where name = v_queue and state < 'active' and singleton_key = p_job_id::text;
  get diagnostics n = row_count;
  if n = 0 then
    perform pgboss_enqueue(v_queue, jsonb_build_object('jobId', p_job_id), null, p_job_id::text);
  else
    perform pg_notify('pgboss_' || left(encode(sha224('pgboss'::bytea), 'hex'), 24), v_queue);
  end if;
  return true;
end
$$;

-- The start of a submit (0017): the statuses the submit queue serves, and the render slots, come
-- from video_job_statuses. No SET clause: its set_config(…, true) must outlive the call.
create or replace function video_jobs_claim_submit(p_id uuid, p_wait_seconds float8, p_actor text) returns setof video_jobs
language plpgsql as $$
declare
  cur video_jobs;
  done video_jobs;
  v_limit int;
  v_in_flight int;
  v_queue text := video_jobs_step_queue('queued');
begin
  perform set_config('video_jobs.actor', p_actor, true);
  perform set_config('video_jobs.claim', '', true);
  select * into cur from video_jobs where id = p_id for update;
  if not found or video_jobs_step_queue(cur.status) is distinct from v_queue then
    return;
  end if;
  -- See JobStore.claimSubmit: the claim is safe to lose in a crash, so its commit does not wait
  -- for the WAL flush, and one business's claims do not queue behind each other's fsync.
  perform set_config('synchronous_commit', 'off', true);
  if cur.status = 'queued' then
    perform 1 from businesses where id = cur.business_id for no key update;
    select b.heygen_concurrency,
           (select count(*)::int from video_jobs v where v.business_id = b.id and video_jobs_holds_render_slot(v.status))
      into v_limit, v_in_flight
      from businesses b where b.id = cur.business_id;
    if v_limit is not null and v_in_flight >= v_limit then
      perform pgboss_cancel_for_video_jobs(array[p_id], array[v_queue]);
      perform pgboss_enqueue(v_queue, jsonb_build_object('jobId', p_id),
        case when p_wait_seconds > 0 then now() + make_interval(secs => p_wait_seconds) end, p_id::text);
      perform set_config('video_jobs.claim', format('wait:%s:%s', v_in_flight, v_limit), true);
      return next cur;
      return;
    end if;
  end if;
  update video_jobs set
    status = 'submitting',
    submit_count = cur.submit_count + 1,
    heygen_idempotency_key = coalesce(cur.heygen_idempotency_key, format('video-job:%s:attempt-%s', cur.id, cur.attempt)),
    heygen_submitted_at = coalesce(cur.heygen_submitted_at, now())
  where id = p_id
  returning * into done;
  perform set_config('video_jobs.claim', case when cur.status = 'queued' then 'started' else 'resumed' end, true);
  return next done;
end
$$;

-- Recompiling the status functions is a migration's job, not a caller's.
revoke execute on function video_job_states_compile() from public;
