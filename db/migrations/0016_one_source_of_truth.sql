-- One source of truth for job states, and a stable code on every error the app maps.
--
-- 1. video_jobs_is_active (0004) stays the one list of active statuses; video_jobs_step_queue
--    says which pg-boss queue serves a status. The view video_job_states lists both for every
--    status in enum order; `npm run db:types` writes db/job-states.ts from it, so the app has no
--    copy of its own. Indexes that spelled the list out now call the function.
-- 2. Errors raised on purpose carry detail = '<code>' (message unchanged, still for people), so
--    the app maps codes instead of parsing sentences. The active-job check also names the unique
--    index's constraint, so the trigger and the index report the same conflict the same way.

-- 1. Job states ---------------------------------------------------------------------------------
create function video_jobs_step_queue(s video_job_status) returns text
language sql immutable as $$
  select case s
    when 'queued' then 'video.submit'
    when 'submitting' then 'video.submit'
    when 'rendering' then 'video.poll'
    when 'transferring' then 'video.transfer'
  end
$$;
comment on function video_jobs_step_queue(video_job_status) is
  'The pg-boss queue that moves a job on from this status; null for a finished status.';

create view video_job_states as
select s.status, s.position::int as position, video_jobs_is_active(s.status) as active,
       video_jobs_step_queue(s.status) as queue
from unnest(enum_range(null::video_job_status)) with ordinality as s(status, position);
comment on view video_job_states is
  'Every job status in pipeline order, whether it is active, and the queue that serves it. db/job-states.ts is generated from it.';

-- Same names, same rows; the predicate now comes from the function.
drop index video_jobs_one_active_per_content;
create unique index video_jobs_one_active_per_content on video_jobs (content_id)
  where video_jobs_is_active(status);

create or replace function video_jobs_sweep(p_grace interval = interval '2 minutes')
returns table (job_id uuid, action text)
language plpgsql as $$
begin
  if not pg_try_advisory_xact_lock(7341902119) then
    return;
  end if;
  return query
  with orphans as (
    select j.id, j.status, j.deadline
    from video_jobs j
    where video_jobs_is_active(j.status)
      and j.updated_at < now() - p_grace
      and not exists (
        select 1 from pgboss.job b
        where b.name in (select s.queue from video_job_states s where s.queue is not null)
          and b.singleton_key = j.id::text and b.state in ('created', 'retry', 'active'))
    for update of j skip locked
  ), failed as (
    update video_jobs v set status = 'failed', error_code = 'deadline_exceeded',
      error_message = 'The video was not finished before its deadline (' || to_char(v.deadline, 'YYYY-MM-DD HH24:MI:SS TZ') || ').'
    from orphans o where v.id = o.id and o.deadline < now()
    returning v.id
  ), requeued as (
    select o.id, pgboss_enqueue(video_jobs_step_queue(o.status), jsonb_build_object('jobId', o.id), null, o.id::text) as pgboss_id,
      o.status
    from orphans o where o.deadline >= now()
  )
  select f.id, 'failed: deadline passed' from failed f
  union all
  select r.id, 're-enqueued ' || r.status::text from requeued r;
end
$$;

-- 2. Error codes --------------------------------------------------------------------------------
create or replace function video_jobs_before_insert() returns trigger
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  c content;
  b businesses;
  active_id uuid;
  active_status video_job_status;
begin
  if new.content_id is null then
    raise exception 'video_jobs.content_id is required' using errcode = 'not_null_violation', detail = 'content_required';
  end if;
  select * into c from content where id = new.content_id;
  if not found then
    raise exception 'video_jobs.content_id %: no such content', new.content_id using errcode = 'foreign_key_violation', detail = 'content_not_found';
  end if;
  if new.business_id is null then
    new.business_id := c.business_id;
  elsif new.business_id <> c.business_id then
    raise exception 'video_jobs: content % belongs to another business, not %', new.content_id, new.business_id
      using errcode = 'foreign_key_violation', detail = 'content_other_business';
  end if;
  select * into b from businesses where id = new.business_id;

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
      using errcode = 'check_violation', detail = 'script_blank';
  end if;
  new.script := btrim(coalesce(new.script, c.body), E' \t\r\n');
  if new.script = '' then
    raise exception 'video_jobs.script is empty: content % has no body and no script was given', new.content_id
      using errcode = 'check_violation', detail = 'script_empty';
  end if;
  if length(new.script) > 5000 then
    raise exception 'video_jobs.script is % characters; HeyGen accepts at most 5000 per video', length(new.script)
      using errcode = 'check_violation', detail = 'script_too_long';
  end if;

  new.avatar_id := coalesce(nullif(btrim(new.avatar_id), ''), b.heygen_avatar_id);
  if new.avatar_id is null then
    raise exception 'video_jobs.avatar_id: business % has no HeyGen avatar configured and none was given', b.id
      using errcode = 'check_violation', detail = 'avatar_missing', hint = 'Set businesses.heygen_avatar_id or pass avatar_id.';
  end if;
  if new.avatar_id !~ '^[A-Za-z0-9_.:-]{1,200}$' then
    raise exception 'video_jobs.avatar_id "%" is not a valid HeyGen avatar id', left(new.avatar_id, 80) using errcode = 'check_violation', detail = 'avatar_id_invalid';
  end if;
  new.voice_id := coalesce(nullif(btrim(new.voice_id), ''), b.heygen_voice_id);
  if new.voice_id is null then
    raise exception 'video_jobs.voice_id: business % has no HeyGen voice configured and none was given', b.id
      using errcode = 'check_violation', detail = 'voice_missing', hint = 'Set businesses.heygen_voice_id or pass voice_id.';
  end if;
  if new.voice_id !~ '^[A-Za-z0-9_.:-]{1,200}$' then
    raise exception 'video_jobs.voice_id "%" is not a valid HeyGen voice id', left(new.voice_id, 80) using errcode = 'check_violation', detail = 'voice_id_invalid';
  end if;
  if b.heygen_secret_id is null then
    raise exception 'video_jobs: business % has no HeyGen API key', b.id
      using errcode = 'check_violation', detail = 'api_key_missing', hint = 'Save one with select set_heygen_key(business_id, key).';
  end if;

  perform video_jobs_check_options(coalesce(new.options, '{}'::jsonb));
  new.options := coalesce(new.options, '{}'::jsonb);

  if new.deadline is null then
    new.deadline := now() + interval '60 minutes';
  elsif new.deadline <= now() then
    raise exception 'video_jobs.deadline % is in the past', new.deadline using errcode = 'check_violation', detail = 'deadline_past';
  end if;
  new.requested_by := coalesce(new.requested_by, video_jobs_actor());
  new.created_at := now();
  new.updated_at := now();

  -- A clearer message than the unique index's; a retried request with the same idempotency key
  -- is left to ON CONFLICT (idempotency_key).
  select id, status into active_id, active_status from video_jobs
  where content_id = new.content_id and video_jobs_is_active(status)
    and (new.idempotency_key is null or idempotency_key is distinct from new.idempotency_key)
  limit 1;
  if found then
    raise exception 'video_jobs: content % already has an active video job % (%)', new.content_id, active_id, active_status
      using errcode = 'unique_violation', detail = 'active_job_exists', constraint = 'video_jobs_one_active_per_content', hint = 'Wait for it to finish or cancel it with select cancel_video_job(id).';
  end if;
  return new;
end
$$;

create or replace function video_jobs_check_input() returns trigger
language plpgsql set search_path = pg_catalog, public, pg_temp as $$
declare
  bad text;
  -- Unicode spaces and characters that render as nothing (zero-width, joiners, bidi marks,
  -- variation selectors, fillers): a script of only these is empty to a viewer.
  invisible constant text := '[[:space:]\u00a0\u00ad\u034f\u061c\u115f\u1160\u1680\u17b4\u17b5\u180b-\u180e\u2000-\u200f\u2028-\u202f\u205f-\u2064\u2066-\u206f\u3000\u3164\ufe00-\ufe0f\ufeff\uffa0]';
  -- C0 except tab and newline, DEL and C1.
  control constant text := '[\u0001-\u0008\u000b-\u001f\u007f-\u009f]';
begin
  if new.deadline is not null and (tg_op = 'INSERT' or new.deadline is distinct from old.deadline) then
    if not isfinite(new.deadline) then
      raise exception 'video_jobs.deadline must be a real point in time, got %', new.deadline
        using errcode = 'check_violation', detail = 'deadline_not_finite', hint = 'Leave it out for the default (60 minutes), or give a time within 7 days.';
    end if;
    if new.deadline > now() + interval '7 days' then
      raise exception 'video_jobs.deadline % is more than 7 days away; give a time within 7 days', new.deadline
        using errcode = 'check_violation', detail = 'deadline_too_far';
    end if;
  end if;

  if tg_op = 'INSERT' then
    -- Windows line ends are fine; a lone carriage return is a control character like any other.
    new.script := replace(new.script, E'\r\n', E'\n');
    bad := substring(new.script from control);
    if bad is not null then
      raise exception 'video_jobs.script contains the control character U+% at position %; only newlines and tabs are allowed',
        lpad(upper(to_hex(ascii(bad))), 4, '0'), position(bad in new.script)
        using errcode = 'check_violation', detail = 'script_control_character';
    end if;
    if regexp_replace(new.script, invisible, '', 'g') = '' then
      raise exception 'video_jobs.script is empty: it has only spaces or invisible characters'
        using errcode = 'check_violation', detail = 'script_invisible';
    end if;
  end if;
  return new;
end
$$;

create or replace function cancel_video_job(p_job_id uuid, p_reason text = null) returns video_jobs
language plpgsql as $$
declare j video_jobs;
begin
  select * into j from video_jobs where id = p_job_id for update;
  if not found then
    raise exception 'cancel_video_job: no video job %', p_job_id using errcode = 'no_data_found', detail = 'job_not_found';
  end if;
  if not video_jobs_is_active(j.status) then
    raise exception 'cancel_video_job: job % is already % and cannot be canceled', p_job_id, j.status
      using errcode = 'check_violation', detail = 'job_not_active';
  end if;
  update video_jobs set status = 'canceled', error_code = 'canceled',
    error_message = coalesce(nullif(btrim(p_reason), ''), 'Canceled by ' || video_jobs_actor())
  where id = p_job_id returning * into j;
  return j;
end
$$;

create or replace function retry_video_job(p_job_id uuid) returns video_jobs
language plpgsql as $$
declare j video_jobs;
begin
  select * into j from video_jobs where id = p_job_id for update;
  if not found then
    raise exception 'retry_video_job: no video job %', p_job_id using errcode = 'no_data_found', detail = 'job_not_found';
  end if;
  if j.status not in ('failed', 'canceled') then
    raise exception 'retry_video_job: job % is % ; only failed or canceled jobs can be retried', p_job_id, j.status
      using errcode = 'check_violation', detail = 'job_not_retryable';
  end if;
  update video_jobs set status = 'queued' where id = p_job_id returning * into j;
  return j;
end
$$;

-- Supabase exposes new public relations to its API roles: the view is reference data only.
do $$
begin
  if exists (select 1 from pg_roles where rolname = 'anon') then
    revoke all on video_job_states from anon, authenticated;
  end if;
end
$$;
