-- Spend guard (issue 22): approval, monthly budgets, and pausing a business instead of failing its jobs.
--
-- 1. Status awaiting_approval: a job that waits for a person. It is not active (no step, no pg-boss
--    job, no render slot, not counted by the one-active-job rules), so a held job never blocks a
--    content edit or a retry; approve_video_job moves it to queued (enqueued by the after-update
--    trigger in the same transaction) and reject_video_job ends it as canceled with the reason.
--    Approving fails with 23505 if the content meanwhile has another active job.
-- 2. businesses.require_approval: every new job of the business starts awaiting approval
--    (hold_reason approval_required).
-- 3. businesses.monthly_video_seconds_limit: each job gets estimated_seconds at insert (avatar: the
--    script's words at 2.5 words a second, scaled by options.voice_speed; translation: the source
--    video's duration). A job that would take the calendar month (UTC) over the limit is held
--    (hold_reason over_budget; its event names used and limit), never refused.
--    business_video_seconds_used() is the month's count: completed jobs' duration_seconds (the
--    estimate until known) and active jobs' estimates. business_video_usage is the per-month view.
-- 4. Pausing: businesses.heygen_paused_reason/heygen_paused_at. heygen_pause_business (the worker,
--    on HeyGen's 402 or 401 at submit) pauses the business and puts the job back to queued without
--    spending a submit; video_jobs_claim_submit holds a paused business's queued jobs back (they
--    wait like jobs without a render slot, so the deadline still ends them); resume_heygen (by
--    hand, by the worker when /v3/users/me shows credits, or by set_heygen_key) wakes them.
--    Every pause and resume is a row of business_heygen_events.
--
-- Functions restated here, each once, from their current form (db/schema.sql) with their settings:
-- video_jobs_before_insert, video_jobs_after_insert, video_jobs_claim_submit, set_heygen_key.

-- The new value is usable only after a commit (see db/migrate.ts).
alter type video_job_status add value if not exists 'awaiting_approval' before 'queued';
-- migrate:commit

-- 1. Columns ------------------------------------------------------------------------------------
alter table businesses
  add column require_approval boolean not null default false,
  add column monthly_video_seconds_limit integer,
  add column heygen_paused_reason text,
  add column heygen_paused_at timestamptz,
  add constraint businesses_monthly_video_seconds_limit_check check (monthly_video_seconds_limit > 0),
  add constraint businesses_heygen_paused_reason_check check (heygen_paused_reason in ('insufficient_credit', 'key_rejected')),
  add constraint businesses_heygen_paused_complete check ((heygen_paused_reason is null) = (heygen_paused_at is null));
comment on column businesses.require_approval is 'Every new job starts in awaiting_approval until approve_video_job (or reject_video_job).';
comment on column businesses.monthly_video_seconds_limit is 'Seconds of video a calendar month (UTC) may use; a job that would go over is held in awaiting_approval (over_budget). Null: no limit.';
comment on column businesses.heygen_paused_reason is 'Set while HeyGen refuses this business''s submits (402: insufficient_credit, 401: key_rejected); no job is submitted until resume_heygen.';

alter table video_jobs
  add column estimated_seconds numeric,
  add column hold_reason text,
  add constraint video_jobs_hold_reason_check check (hold_reason in ('approval_required', 'over_budget'));
comment on column video_jobs.estimated_seconds is 'Seconds of video expected, set at insert: script words / (2.5 * voice_speed) for avatar jobs, the source''s duration for translations.';
comment on column video_jobs.hold_reason is 'Why the job was created in awaiting_approval: approval_required or over_budget. Kept after approval as a record.';

-- 2. The status and its moves --------------------------------------------------------------------
-- First in pipeline order: the positions move up by one (in two steps, as position is unique).
update video_job_statuses set position = position + 1000;
update video_job_statuses set position = position - 999;
insert into video_job_statuses (status, position, is_active, holds_render_slot, step_queue) values
  ('awaiting_approval', 1, false, false, null);
insert into video_job_transitions (from_status, to_status, kind) values
  ('awaiting_approval', 'queued', 'step'),
  ('awaiting_approval', 'canceled', 'stop'),
  -- HeyGen refused the submit for the account (402/401), not for the job: back to wait, paused.
  ('submitting', 'queued', 'step');
select video_job_states_compile();
-- 0020: the partial indexes use the compiled functions.
reindex index video_jobs_one_active_per_content;
reindex index video_jobs_one_active_translation;
reindex index video_jobs_business_in_flight_idx;

-- 3. Budget -----------------------------------------------------------------------------------------
-- The one rule for an avatar job's length, also what the app shows before a job is made.
create function video_job_estimate_seconds(p_script text, p_options jsonb default '{}') returns numeric
language sql immutable set search_path = pg_catalog, public, pg_temp as $$
  select case when coalesce(btrim(p_script, E' \t\r\n'), '') = '' then 0
              else round(cardinality(regexp_split_to_array(btrim(p_script, E' \t\r\n'), '\s+'))
                         / (2.5 * coalesce((p_options ->> 'voice_speed')::numeric, 1)), 1) end
$$;
comment on function video_job_estimate_seconds(text, jsonb) is 'Seconds of video a script makes: its words at 2.5 words a second, divided by options.voice_speed (default 1).';
create function business_video_seconds_used(p_business_id uuid, p_at timestamptz default now()) returns numeric
language sql stable set search_path = pg_catalog, public, pg_temp as $$
  select coalesce(sum(coalesce(v.duration_seconds, v.estimated_seconds)), 0)
  from video_jobs v
  where v.business_id = p_business_id
    and v.created_at >= date_trunc('month', p_at, 'UTC')
    and v.created_at < date_trunc('month', p_at, 'UTC') + interval '1 month'
    and (v.status = 'completed' or video_jobs_is_active(v.status))
$$;
comment on function business_video_seconds_used(uuid, timestamptz) is 'Seconds of video the business used in the calendar month (UTC) of p_at: completed jobs (duration_seconds, else the estimate) and active jobs (their estimate). Held, failed and canceled jobs do not count.';

create view business_video_usage with (security_invoker = true) as
with jobs as (
  select v.business_id, date_trunc('month', v.created_at, 'UTC') as month, v.status, v.error_code,
         v.estimated_seconds, v.duration_seconds,
         case when v.status = 'completed' or video_jobs_is_active(v.status) then coalesce(v.duration_seconds, v.estimated_seconds) end as used
  from video_jobs v
), by_status as (
  select business_id, month, jsonb_object_agg(status, n) as jobs_by_status
  from (select business_id, month, status, count(*) as n from jobs group by 1, 2, 3) s group by 1, 2
), failures as (
  select business_id, month, jsonb_object_agg(error_code, n) as failures_by_error_code
  from (select business_id, month, error_code, count(*) as n from jobs where status = 'failed' group by 1, 2, 3) f group by 1, 2
)
select j.business_id, (j.month at time zone 'UTC')::date as month, count(*)::int as jobs,
       s.jobs_by_status,
       coalesce(sum(j.estimated_seconds), 0) as estimated_seconds,
       coalesce(sum(j.duration_seconds), 0) as actual_seconds,
       coalesce(sum(j.used), 0) as used_seconds,
       b.monthly_video_seconds_limit as limit_seconds,
       coalesce(f.failures_by_error_code, '{}'::jsonb) as failures_by_error_code
from jobs j
join businesses b on b.id = j.business_id
join by_status s using (business_id, month)
left join failures f using (business_id, month)
group by j.business_id, j.month, s.jobs_by_status, b.monthly_video_seconds_limit, f.failures_by_error_code;
comment on view business_video_usage is 'Per business and calendar month (UTC, by created_at): jobs, jobs by status, estimated and actual seconds, used_seconds (what the monthly limit counts: completed and active jobs), the limit, and failures by error code.';

-- 4. Who may approve ------------------------------------------------------------------------------
-- On Supabase a signed-in caller (auth.uid()) must be an owner or admin of the business; the
-- server and SQL services (no auth.uid()) are trusted like for retry and cancel.
create function business_check_manager(p_business_id uuid, p_what text) returns void
language plpgsql stable set search_path = pg_catalog, public, pg_temp as $$
declare uid text;
begin
  if to_regprocedure('auth.uid()') is null then
    return;
  end if;
  execute 'select auth.uid()::text' into uid;
  if uid is not null and not exists (
    select 1 from business_members where business_id = p_business_id and user_id = uid and role in ('owner', 'admin')
  ) then
    raise exception 'not allowed to % for business %: only its owners and admins may', p_what, p_business_id
      using errcode = 'insufficient_privilege';
  end if;
end
$$;

create function approve_video_job(p_job_id uuid) returns video_jobs
language plpgsql set search_path = pg_catalog, public, pg_temp as $$
declare j video_jobs;
begin
  select * into j from video_jobs where id = p_job_id for update;
  if not found then
    raise exception 'approve_video_job: no video job %', p_job_id using errcode = 'no_data_found', detail = 'job_not_found';
  end if;
  perform business_check_manager(j.business_id, 'approve video jobs');
  if j.status <> 'awaiting_approval' then
    raise exception 'approve_video_job: job % is %; only a job awaiting approval can be approved', p_job_id, j.status
      using errcode = 'check_violation', detail = 'job_not_awaiting_approval';
  end if;
  -- The deadline window starts when it is approved, not when it was asked for.
  update video_jobs set status = 'queued', deadline = greatest(deadline, now() + (deadline - created_at))
  where id = p_job_id returning * into j;
  return j;
end
$$;

create function reject_video_job(p_job_id uuid, p_reason text) returns video_jobs
language plpgsql set search_path = pg_catalog, public, pg_temp as $$
declare j video_jobs;
begin
  select * into j from video_jobs where id = p_job_id for update;
  if not found then
    raise exception 'reject_video_job: no video job %', p_job_id using errcode = 'no_data_found', detail = 'job_not_found';
  end if;
  perform business_check_manager(j.business_id, 'reject video jobs');
  if j.status <> 'awaiting_approval' then
    raise exception 'reject_video_job: job % is %; only a job awaiting approval can be rejected', p_job_id, j.status
      using errcode = 'check_violation', detail = 'job_not_awaiting_approval', hint = 'Cancel an active job with select cancel_video_job(id).';
  end if;
  if length(p_reason) > 2000 then
    raise exception 'reject_video_job: the reason is % characters; at most 2000', length(p_reason)
      using errcode = 'check_violation', detail = 'reason_too_long';
  end if;
  update video_jobs set status = 'canceled', error_code = 'rejected',
    error_message = coalesce(nullif(btrim(p_reason), ''), 'Rejected by ' || video_jobs_actor())
  where id = p_job_id returning * into j;
  return j;
end
$$;
grant execute on function approve_video_job(uuid) to public;
grant execute on function reject_video_job(uuid, text) to public;

-- 5. Pausing ----------------------------------------------------------------------------------------
create table business_heygen_events (
  id bigint generated always as identity primary key,
  business_id uuid not null references businesses (id) on delete cascade,
  event text not null check (event in ('paused', 'resumed')),
  reason text not null check (reason in ('insufficient_credit', 'key_rejected', 'credits_back', 'by_hand', 'key_saved')),
  job_id uuid,
  actor text not null,
  at timestamptz not null default clock_timestamp()
);
create index business_heygen_events_business_idx on business_heygen_events (business_id, id);
comment on table business_heygen_events is 'Each pause (HeyGen refused a submit: insufficient_credit, key_rejected; job_id is the job it refused) and resume (credits_back: the worker saw credits at /v3/users/me; by_hand: resume_heygen; key_saved: set_heygen_key) of a business.';
-- Supabase grants new tables to its API roles: members read their businesses' rows, nobody writes.
alter table business_heygen_events enable row level security;
do $rls$
begin
  if to_regprocedure('is_business_member(uuid)') is not null then
    create policy business_heygen_events_member_select on business_heygen_events for select to authenticated
      using (is_business_member(business_id));
  end if;
end
$rls$;

-- The worker, when HeyGen answers a submit with 402 or 401. The job's submit is given back.
create function heygen_pause_business(p_job_id uuid, p_reason text, p_message text, p_actor text) returns boolean
language plpgsql set search_path = pg_catalog, public, pg_temp as $$
declare j video_jobs;
begin
  if p_reason is null or p_reason not in ('insufficient_credit', 'key_rejected') then
    raise exception 'heygen_pause_business: the reason must be insufficient_credit or key_rejected, got %', coalesce(p_reason, 'null')
      using errcode = 'check_violation';
  end if;
  perform set_config('video_jobs.actor', p_actor, true);
  select * into j from video_jobs where id = p_job_id for update;
  if not found or j.status <> 'submitting' then
    return false;
  end if;
  update businesses set heygen_paused_reason = p_reason, heygen_paused_at = now()
  where id = j.business_id and heygen_paused_reason is null;
  if found then
    insert into business_heygen_events (business_id, event, reason, job_id, actor)
    values (j.business_id, 'paused', p_reason, p_job_id, p_actor);
  end if;
  update video_jobs set status = 'queued', submit_count = greatest(j.submit_count - 1, 0), last_error = left(p_message, 2000)
  where id = p_job_id;
  return true;
end
$$;
grant execute on function heygen_pause_business(uuid, text, text, text) to service_role;

create function resume_heygen(p_business_id uuid, p_reason text default 'by_hand') returns boolean
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  n int;
  v_queue text := video_jobs_step_queue('queued');
begin
  if p_reason is null or p_reason not in ('credits_back', 'by_hand', 'key_saved') then
    raise exception 'resume_heygen: the reason must be credits_back, by_hand or key_saved, got %', coalesce(p_reason, 'null')
      using errcode = 'check_violation';
  end if;
  perform 1 from businesses where id = p_business_id for update;
  if not found then
    raise exception 'resume_heygen: no business %', p_business_id using errcode = 'no_data_found', detail = 'business_not_found';
  end if;
  perform business_check_manager(p_business_id, 'resume HeyGen');
  update businesses set heygen_paused_reason = null, heygen_paused_at = null
  where id = p_business_id and heygen_paused_reason is not null;
  if not found then
    return false; -- not paused
  end if;
  insert into business_heygen_events (business_id, event, reason, actor) values (p_business_id, 'resumed', p_reason, video_jobs_actor());
  -- The held jobs wait on a delayed video.submit: run them now.
  update pgboss.job b set start_after = now()
  where b.name = v_queue and b.state in ('created', 'retry') and b.start_after > now()
    and b.singleton_key in (select v.id::text from video_jobs v where v.business_id = p_business_id and v.status = 'queued');
  get diagnostics n = row_count;
  if n > 0 then
    perform pg_notify('pgboss_' || left(encode(sha224('pgboss'::bytea), 'hex'), 24), v_queue);
  end if;
  return true;
end
$$;
revoke execute on function resume_heygen(uuid, text) from public;
grant execute on function resume_heygen(uuid, text) to service_role;

-- 6. Restated functions ----------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION public.video_jobs_before_insert()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public', 'pg_temp'
AS $function$
declare
  v_business uuid;
  v_body text;
  v_avatar text;
  v_voice text;
  v_has_key boolean;
  active_id uuid;
  active_status video_job_status;
  bad text;
  v_translation boolean := new.kind = 'translation';
  v_source_content uuid;
  v_source_status video_job_status;
  v_source_seconds numeric;
  v_require_approval boolean;
  v_limit int;
  v_used numeric;
begin
  if v_translation then
    if new.source_job_id is null then
      raise exception 'video_jobs.source_job_id is required for a translation: the completed job whose video is translated'
        using errcode = 'not_null_violation', detail = 'source_required', column = 'source_job_id';
    end if;
    -- The source, its business and the active translation into the same language in one lookup;
    -- the active one is reported last, as for avatar jobs.
    select s.business_id, s.content_id, s.status, b.heygen_secret_id is not null, a.id, a.status,
           coalesce(s.duration_seconds, s.estimated_seconds), b.require_approval, b.monthly_video_seconds_limit
      into v_business, v_source_content, v_source_status, v_has_key, active_id, active_status,
           v_source_seconds, v_require_approval, v_limit
    from video_jobs s
    join businesses b on b.id = s.business_id
    left join lateral (
      select v.id, v.status from video_jobs v
      where v.source_job_id = s.id and v.output_language = new.output_language and video_jobs_is_active(v.status)
        and (new.idempotency_key is null or v.idempotency_key is distinct from new.idempotency_key)
      limit 1
    ) a on true
    where s.id = new.source_job_id;
    if not found then
      raise exception 'video_jobs.source_job_id %: no such video job', new.source_job_id
        using errcode = 'foreign_key_violation', detail = 'source_not_found', column = 'source_job_id';
    end if;
    if new.business_id is not null and new.business_id <> v_business then
      raise exception 'video_jobs: source job % belongs to another business, not %', new.source_job_id, new.business_id
        using errcode = 'foreign_key_violation', detail = 'source_other_business', column = 'source_job_id';
    end if;
    if new.content_id is not null and new.content_id <> v_source_content then
      raise exception 'video_jobs: a translation belongs to its source''s content %, not %', v_source_content, new.content_id
        using errcode = 'check_violation', detail = 'source_other_content', column = 'content_id', hint = 'Leave content_id out.';
    end if;
    new.business_id := v_business;
    new.content_id := v_source_content;
  elsif new.kind is distinct from 'avatar' then
    raise exception 'video_jobs.kind must be avatar or translation, got %', coalesce(new.kind, 'null')
      using errcode = 'check_violation', detail = 'kind_invalid', column = 'kind';
  else
    if new.content_id is null then
      raise exception 'video_jobs.content_id is required' using errcode = 'not_null_violation', detail = 'content_required';
    end if;
    -- content.business_id references businesses, so the join finds the business whenever the
    -- content exists. The active job is read here and reported last.
    select c.business_id, c.body, b.heygen_avatar_id, b.heygen_voice_id, b.heygen_secret_id is not null, a.id, a.status,
           b.require_approval, b.monthly_video_seconds_limit
      into v_business, v_body, v_avatar, v_voice, v_has_key, active_id, active_status, v_require_approval, v_limit
    from content c
    join businesses b on b.id = c.business_id
    left join lateral (
      -- A retried request with the same idempotency key is left to ON CONFLICT (idempotency_key).
      select v.id, v.status from video_jobs v
      where v.content_id = c.id and video_jobs_is_active(v.status) and v.kind = 'avatar'
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

  if v_translation then
    bad := case when new.script is not null then 'script' when new.avatar_id is not null then 'avatar_id'
                when new.voice_id is not null then 'voice_id' end;
    if bad is not null then
      raise exception 'video_jobs.%: a translation keeps the source video''s words, avatar and voice; leave % out', bad, bad
        using errcode = 'check_violation', detail = 'translation_' || bad || '_given', column = bad;
    end if;
    if v_source_status <> 'completed' then
      raise exception 'video_jobs.source_job_id %: the source job is %; only a completed video can be translated', new.source_job_id, v_source_status
        using errcode = 'check_violation', detail = 'source_not_completed', column = 'source_job_id';
    end if;
    if new.output_language is null then
      raise exception 'video_jobs.output_language is required for a translation (one of HeyGen''s language names, e.g. Spanish (Spain))'
        using errcode = 'not_null_violation', detail = 'language_required', column = 'output_language',
              hint = 'select name from heygen_languages order by name';
    end if;
    if length(new.output_language) not between 1 and 100 or new.output_language ~ '[[:cntrl:]]'
       or (not exists (select 1 from heygen_languages where name = new.output_language) and exists (select 1 from heygen_languages)) then
      raise exception 'video_jobs.output_language "%" is not one of HeyGen''s language names', left(new.output_language, 100)
        using errcode = 'check_violation', detail = 'language_unknown', column = 'output_language',
              hint = 'select name from heygen_languages order by name';
    end if;
  else
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
  end if;
  if not v_has_key then
    raise exception 'video_jobs: business % has no HeyGen API key', v_business
      using errcode = 'check_violation', detail = 'api_key_missing', hint = 'Save one with select set_heygen_key(business_id, key).';
  end if;

  if v_translation then
    -- The kind's defaults (captions: true), overlaid with what was given.
    new.options := coalesce((select jsonb_object_agg(key, default_value) from video_job_option_specs
                             where job_kind = 'translation' and default_value is not null), '{}'::jsonb)
                   || coalesce(new.options, '{}'::jsonb);
  end if;
  if new.options is null then
    new.options := '{}'::jsonb;
  elsif new.options <> '{}'::jsonb then
    perform video_jobs_check_options(new.options, new.kind);
  end if;

  if new.deadline is null then
    new.deadline := now() + interval '60 minutes';
  elsif new.deadline <= now() then
    raise exception 'video_jobs.deadline % is in the past', new.deadline using errcode = 'check_violation', detail = 'deadline_past';
  end if;
  new.requested_by := coalesce(new.requested_by, video_jobs_actor());
  new.created_at := now();
  new.updated_at := now();

  if active_id is not null and v_translation then
    raise exception 'video_jobs: source job % already has an active translation into % (job %, %)', new.source_job_id, new.output_language, active_id, active_status
      using errcode = 'unique_violation', detail = 'active_translation_exists', constraint = 'video_jobs_one_active_translation',
            column = 'output_language', hint = 'Wait for it to finish or cancel it with select cancel_video_job(id).';
  elsif active_id is not null then
    raise exception 'video_jobs: content % already has an active video job % (%)', new.content_id, active_id, active_status
      using errcode = 'unique_violation', detail = 'active_job_exists', constraint = 'video_jobs_one_active_per_content', hint = 'Wait for it to finish or cancel it with select cancel_video_job(id).';
  end if;

  if new.heygen_idempotency_key is not null or new.heygen_submitted_at is not null or new.heygen_completed_at is not null
     or new.thumbnail_path is not null or new.subtitles_path is not null or new.vtt_path is not null then
    raise exception 'video_jobs: progress columns (heygen_idempotency_key, heygen_submitted_at, heygen_completed_at, thumbnail_path, subtitles_path, vtt_path) are set by the worker; leave them out of the insert'
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

  -- Spend guard (0024): the estimate, then held for approval or for the monthly budget. Held, not
  -- refused: an auto-generated job must never roll back the content edit that made it.
  new.hold_reason := null;
  if v_translation then
    new.estimated_seconds := v_source_seconds;
  else
    new.estimated_seconds := video_job_estimate_seconds(new.script, new.options);
  end if;
  if v_require_approval then
    new.hold_reason := 'approval_required';
  elsif v_limit is not null then
    -- One budget check at a time per business, so two inserts cannot both take the last seconds.
    perform 1 from businesses where id = new.business_id for no key update;
    v_used := business_video_seconds_used(new.business_id);
    if v_used + coalesce(new.estimated_seconds, 0) > v_limit then
      new.hold_reason := 'over_budget';
    end if;
  end if;
  if new.hold_reason is not null then
    new.status := 'awaiting_approval';
  end if;

  if v_translation then
    return new;
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
$function$;

CREATE OR REPLACE FUNCTION public.video_jobs_after_insert()
 RETURNS trigger
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public', 'pg_temp'
AS $function$
declare
  notified int;
  v_actor text := video_jobs_actor();
begin
  with ev as (
    insert into video_job_events (job_id, business_id, content_id, from_status, to_status, detail, actor)
    select n.id, n.business_id, n.content_id, null, n.status,
           jsonb_strip_nulls(jsonb_build_object('attempt', n.attempt, 'idempotency_key', n.idempotency_key,
             'kind', nullif(n.kind, 'avatar'), 'source_job_id', n.source_job_id, 'output_language', n.output_language,
             -- A held job's event says why and how long; a queued job's stays as it was.
             'hold_reason', n.hold_reason, 'estimated_seconds', case when n.hold_reason is not null then n.estimated_seconds end))
           -- An over-budget hold names the month's use and the limit it would pass.
           || case when n.hold_reason = 'over_budget' then jsonb_build_object(
                'used_seconds', business_video_seconds_used(n.business_id),
                'limit_seconds', (select b.monthly_video_seconds_limit from businesses b where b.id = n.business_id))
              else '{}'::jsonb end,
           v_actor
    from new_rows n
    returning id, job_id, business_id, content_id, to_status
  )
  select count(pg_notify('video_jobs', json_build_object(
           'event_id', ev.id, 'id', ev.job_id, 'content_id', ev.content_id,
           'business_id', ev.business_id, 'status', ev.to_status)::text))
  into notified from ev;

  -- What video_jobs_sync_content writes for these rows. A new job is active or held, the unique
  -- index and the before-insert trigger leave at most one per content in a statement, and none has
  -- a video yet (the before-insert trigger refuses those columns): video_long_url keeps the last
  -- stored video.
  update content c set
    heygen_video_id = n.heygen_video_id,
    heygen_status = n.status::text,
    heygen_url = n.heygen_url,
    video_long_url = coalesce(n.video_url, c.video_long_url)
  from new_rows n
  where c.id = n.content_id and n.kind = 'avatar';

  perform pgboss_enqueue_many(video_jobs_step_queue('queued'),
    array(select jsonb_build_object('jobId', n.id) from new_rows n where n.status = 'queued' order by n.id),
    array(select n.id::text from new_rows n where n.status = 'queued' order by n.id));
  return null;
end
$function$;

CREATE OR REPLACE FUNCTION public.video_jobs_claim_submit(p_id uuid, p_wait_seconds double precision, p_actor text)
 RETURNS SETOF video_jobs
 LANGUAGE plpgsql
AS $function$
declare
  cur video_jobs;
  done video_jobs;
  v_limit int;
  v_in_flight int;
  v_paused text;
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
    select b.heygen_concurrency, b.heygen_paused_reason,
           (select count(*)::int from video_jobs v where v.business_id = b.id and video_jobs_holds_render_slot(v.status))
      into v_limit, v_paused, v_in_flight
      from businesses b where b.id = cur.business_id;
    -- A paused business's jobs wait like jobs without a free slot (resume_heygen wakes them).
    if v_paused is not null or (v_limit is not null and v_in_flight >= v_limit) then
      -- A paused job looks again at most once a minute, and at its deadline (resume_heygen wakes
      -- it sooner): a long pause of many jobs costs few claims.
      if v_paused is not null then
        p_wait_seconds := greatest(p_wait_seconds, least(60, extract(epoch from coalesce(cur.deadline, now()) - now())));
      end if;
      perform pgboss_cancel_for_video_jobs(array[p_id], array[v_queue]);
      perform pgboss_enqueue(v_queue, jsonb_build_object('jobId', p_id),
        case when p_wait_seconds > 0 then now() + make_interval(secs => p_wait_seconds) end, p_id::text);
      perform set_config('video_jobs.claim',
        case when v_paused is not null then 'paused:' || v_paused else format('wait:%s:%s', v_in_flight, v_limit) end, true);
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
$function$;

CREATE OR REPLACE FUNCTION public.set_heygen_key(p_business_id uuid, p_new_key text)
 RETURNS void
 LANGUAGE plpgsql
 SECURITY DEFINER
 SET search_path TO 'pg_catalog', 'public', 'pg_temp'
AS $function$
declare
  v_secret uuid;
  v_endpoint text;
  v_old text;
begin
  -- Messages here never include the key itself.
  if p_new_key is null or p_new_key = '' then
    raise exception 'set_heygen_key: the key is empty' using errcode = 'check_violation';
  end if;
  if length(p_new_key) > 500 then
    raise exception 'set_heygen_key: the key is too long (% characters; at most 500)', length(p_new_key) using errcode = 'check_violation';
  end if;
  if p_new_key ~ '[[:space:][:cntrl:]]' then
    raise exception 'set_heygen_key: the key contains spaces or control characters; paste it without surrounding whitespace' using errcode = 'check_violation';
  end if;
  select heygen_secret_id, heygen_webhook_endpoint_id into v_secret, v_endpoint from businesses where id = p_business_id for update;
  if not found then
    raise exception 'set_heygen_key: no business %', p_business_id using errcode = 'foreign_key_violation';
  end if;
  perform heygen_key_check_caller(p_business_id);

  select decrypted_secret into v_old from vault.decrypted_secrets where id = v_secret;
  if v_old is distinct from p_new_key then
    perform heygen_webhook_forget(p_business_id);
    if v_endpoint is not null then
      perform heygen_endpoint_retire(p_business_id, v_endpoint, v_secret, 'key_replaced');
      v_secret := null;
    end if;
  end if;
  if v_secret is not null and exists (select 1 from vault.secrets where id = v_secret) then
    perform vault.update_secret(v_secret, p_new_key);
  else
    delete from vault.secrets where name = 'heygen_api_key:' || p_business_id;
    v_secret := vault.create_secret(p_new_key, 'heygen_api_key:' || p_business_id, 'HeyGen API key for business ' || p_business_id);
    update businesses set heygen_secret_id = v_secret where id = p_business_id;
  end if;
  perform pg_notify('heygen_key_changed', p_business_id::text);
  -- A new key is the fix for key_rejected, and may be a funded account: try again at once.
  perform resume_heygen(p_business_id, 'key_saved');
end
$function$;
