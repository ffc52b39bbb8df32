-- Video jobs: the SQL API of the product. Another service inserts a row; triggers resolve the
-- defaults, validate, record the event, keep content in step, and enqueue the work in the same
-- transaction. The status machine is enforced here so every writer gets the same guarantees.

create type video_job_status as enum (
  'queued', 'submitting', 'rendering', 'transferring', 'completed', 'failed', 'canceled'
);

create table video_jobs (
  id uuid primary key default gen_random_uuid(),
  business_id uuid not null,
  content_id uuid not null,
  script text not null,
  avatar_id text not null,
  voice_id text not null,
  options jsonb not null default '{}',
  status video_job_status not null default 'queued',
  attempt int not null default 1,
  submit_count int not null default 0,
  poll_count int not null default 0,
  transfer_count int not null default 0,
  last_heygen_status text,
  heygen_video_id text,
  heygen_url text,
  thumbnail_url text,
  duration_seconds numeric,
  storage_path text,
  video_url text,
  size_bytes bigint,
  error_code text,
  error_message text,
  -- The latest transient problem (HeyGen 5xx, timeouts…) while the job keeps retrying.
  last_error text,
  idempotency_key text,
  requested_by text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  started_at timestamptz,
  completed_at timestamptz,
  deadline timestamptz,
  constraint video_jobs_content_fk foreign key (business_id, content_id)
    references content (business_id, id) on delete cascade,
  constraint video_jobs_idempotency_key_key unique (idempotency_key),
  constraint video_jobs_idempotency_key_check check (idempotency_key is null or length(idempotency_key) between 1 and 200),
  constraint video_jobs_counts_check check (attempt >= 1 and submit_count >= 0 and poll_count >= 0 and transfer_count >= 0),
  constraint video_jobs_rendering_has_video_id check (status not in ('rendering', 'transferring', 'completed') or heygen_video_id is not null),
  constraint video_jobs_completed_has_file check (status <> 'completed' or (storage_path is not null and video_url is not null)),
  constraint video_jobs_failed_has_reason check (status <> 'failed' or (error_code is not null and error_message is not null))
);

-- At most one active job per content.
create unique index video_jobs_one_active_per_content on video_jobs (content_id)
  where status in ('queued', 'submitting', 'rendering', 'transferring');
create index video_jobs_business_idx on video_jobs (business_id, created_at desc);
create index video_jobs_content_idx on video_jobs (content_id, created_at desc);
create index video_jobs_active_deadline_idx on video_jobs (deadline)
  where status in ('queued', 'submitting', 'rendering', 'transferring');

create table video_job_events (
  id bigint generated always as identity primary key,
  -- No foreign key: the audit trail outlives deleted jobs.
  job_id uuid not null,
  business_id uuid not null,
  content_id uuid not null,
  from_status video_job_status,
  to_status video_job_status not null,
  detail jsonb not null default '{}',
  actor text not null,
  at timestamptz not null default clock_timestamp()
);
create index video_job_events_job_idx on video_job_events (job_id, id);
create index video_job_events_business_idx on video_job_events (business_id, id);

create function video_job_events_append_only() returns trigger
language plpgsql as $$
begin
  raise exception 'video_job_events is append-only: % is not allowed', tg_op
    using errcode = 'insufficient_privilege';
end
$$;
create trigger video_job_events_no_update before update or delete on video_job_events
  for each row execute function video_job_events_append_only();
create trigger video_job_events_no_truncate before truncate on video_job_events
  for each statement execute function video_job_events_append_only();

-- Who made a change: the app sets `video_jobs.actor` (e.g. 'user:<id>', 'worker'); plain SQL
-- writers are recorded by their database role.
create function video_jobs_actor() returns text
language sql stable as $$
  select coalesce(nullif(current_setting('video_jobs.actor', true), ''), session_user::text)
$$;

create function video_jobs_is_active(s video_job_status) returns boolean
language sql immutable as $$ select s in ('queued', 'submitting', 'rendering', 'transferring') $$;

-- The options a job may carry; anything else is a clear error rather than silently ignored.
create function video_jobs_check_options(o jsonb) returns void
language plpgsql immutable as $$
declare
  k text;
  allowed text[] := array['dimension', 'caption', 'test', 'title', 'avatar_style', 'background_color', 'voice_speed'];
begin
  if o is null or jsonb_typeof(o) <> 'object' then
    raise exception 'video_jobs.options must be a JSON object, got %', coalesce(jsonb_typeof(o), 'null')
      using errcode = 'check_violation';
  end if;
  for k in select jsonb_object_keys(o) loop
    if not k = any (allowed) then
      raise exception 'video_jobs.options has unknown key "%"; allowed keys: %', k, array_to_string(allowed, ', ')
        using errcode = 'check_violation';
    end if;
  end loop;
  if o ? 'dimension' and not (
       jsonb_typeof(o -> 'dimension') = 'object'
       and (select count(*) from jsonb_object_keys(o -> 'dimension')) = 2
       and jsonb_typeof(o -> 'dimension' -> 'width') = 'number'
       and jsonb_typeof(o -> 'dimension' -> 'height') = 'number'
       and (o -> 'dimension' ->> 'width') ~ '^[0-9]+$' and (o -> 'dimension' ->> 'height') ~ '^[0-9]+$'
       and (o -> 'dimension' ->> 'width')::numeric between 128 and 4096
       and (o -> 'dimension' ->> 'height')::numeric between 128 and 4096) then
    raise exception 'video_jobs.options.dimension must be {"width": W, "height": H} with whole numbers from 128 to 4096, got %', o -> 'dimension'
      using errcode = 'check_violation';
  end if;
  if o ? 'caption' and jsonb_typeof(o -> 'caption') <> 'boolean' then
    raise exception 'video_jobs.options.caption must be true or false, got %', o -> 'caption' using errcode = 'check_violation';
  end if;
  if o ? 'test' and jsonb_typeof(o -> 'test') <> 'boolean' then
    raise exception 'video_jobs.options.test must be true or false, got %', o -> 'test' using errcode = 'check_violation';
  end if;
  if o ? 'title' and not (jsonb_typeof(o -> 'title') = 'string' and length(o ->> 'title') between 1 and 200) then
    raise exception 'video_jobs.options.title must be a string of 1 to 200 characters' using errcode = 'check_violation';
  end if;
  if o ? 'avatar_style' and not (jsonb_typeof(o -> 'avatar_style') = 'string' and o ->> 'avatar_style' in ('normal', 'circle', 'closeUp')) then
    raise exception 'video_jobs.options.avatar_style must be one of normal, circle, closeUp, got %', o -> 'avatar_style' using errcode = 'check_violation';
  end if;
  if o ? 'background_color' and not (jsonb_typeof(o -> 'background_color') = 'string' and o ->> 'background_color' ~ '^#[0-9A-Fa-f]{6}$') then
    raise exception 'video_jobs.options.background_color must be a colour like "#1a2b3c", got %', o -> 'background_color' using errcode = 'check_violation';
  end if;
  if o ? 'voice_speed' and not (jsonb_typeof(o -> 'voice_speed') = 'number' and (o ->> 'voice_speed')::numeric between 0.5 and 1.5) then
    raise exception 'video_jobs.options.voice_speed must be a number from 0.5 to 1.5, got %', o -> 'voice_speed' using errcode = 'check_violation';
  end if;
end
$$;

-- Resolves defaults from the content and its business, and refuses anything that could not be
-- rendered, before the row exists.
create function video_jobs_before_insert() returns trigger
language plpgsql security definer set search_path = pg_catalog, public as $$
declare
  c content;
  b businesses;
  active_id uuid;
  active_status video_job_status;
begin
  if new.content_id is null then
    raise exception 'video_jobs.content_id is required' using errcode = 'not_null_violation';
  end if;
  select * into c from content where id = new.content_id;
  if not found then
    raise exception 'video_jobs.content_id %: no such content', new.content_id using errcode = 'foreign_key_violation';
  end if;
  if new.business_id is null then
    new.business_id := c.business_id;
  elsif new.business_id <> c.business_id then
    raise exception 'video_jobs: content % belongs to another business, not %', new.content_id, new.business_id
      using errcode = 'foreign_key_violation';
  end if;
  select * into b from businesses where id = new.business_id;

  if new.status is distinct from 'queued' then
    raise exception 'video_jobs.status must be queued for a new job, got %', new.status using errcode = 'check_violation';
  end if;
  if new.heygen_video_id is not null or new.heygen_url is not null or new.storage_path is not null
     or new.video_url is not null or new.error_code is not null or new.error_message is not null or new.last_error is not null
     or new.submit_count <> 0 or new.poll_count <> 0 or new.transfer_count <> 0 or new.attempt <> 1
     or new.started_at is not null or new.completed_at is not null or new.last_heygen_status is not null
     or new.thumbnail_url is not null or new.size_bytes is not null or new.duration_seconds is not null then
    raise exception 'video_jobs: progress columns (heygen_*, storage_path, video_url, error_*, counters, timestamps) are set by the worker; leave them out of the insert'
      using errcode = 'check_violation';
  end if;

  if new.script is not null and btrim(new.script, E' \t\r\n') = '' then
    raise exception 'video_jobs.script is empty; leave it out to use the content''s body'
      using errcode = 'check_violation';
  end if;
  new.script := btrim(coalesce(new.script, c.body), E' \t\r\n');
  if new.script = '' then
    raise exception 'video_jobs.script is empty: content % has no body and no script was given', new.content_id
      using errcode = 'check_violation';
  end if;
  if length(new.script) > 5000 then
    raise exception 'video_jobs.script is % characters; HeyGen accepts at most 5000 per video', length(new.script)
      using errcode = 'check_violation';
  end if;

  new.avatar_id := coalesce(nullif(btrim(new.avatar_id), ''), b.heygen_avatar_id);
  if new.avatar_id is null then
    raise exception 'video_jobs.avatar_id: business % has no HeyGen avatar configured and none was given', b.id
      using errcode = 'check_violation', hint = 'Set businesses.heygen_avatar_id or pass avatar_id.';
  end if;
  if new.avatar_id !~ '^[A-Za-z0-9_.:-]{1,200}$' then
    raise exception 'video_jobs.avatar_id "%" is not a valid HeyGen avatar id', left(new.avatar_id, 80) using errcode = 'check_violation';
  end if;
  new.voice_id := coalesce(nullif(btrim(new.voice_id), ''), b.heygen_voice_id);
  if new.voice_id is null then
    raise exception 'video_jobs.voice_id: business % has no HeyGen voice configured and none was given', b.id
      using errcode = 'check_violation', hint = 'Set businesses.heygen_voice_id or pass voice_id.';
  end if;
  if new.voice_id !~ '^[A-Za-z0-9_.:-]{1,200}$' then
    raise exception 'video_jobs.voice_id "%" is not a valid HeyGen voice id', left(new.voice_id, 80) using errcode = 'check_violation';
  end if;
  if b.heygen_secret_id is null then
    raise exception 'video_jobs: business % has no HeyGen API key', b.id
      using errcode = 'check_violation', hint = 'Save one with select set_heygen_key(business_id, key).';
  end if;

  perform video_jobs_check_options(coalesce(new.options, '{}'::jsonb));
  new.options := coalesce(new.options, '{}'::jsonb);

  if new.deadline is null then
    new.deadline := now() + interval '60 minutes';
  elsif new.deadline <= now() then
    raise exception 'video_jobs.deadline % is in the past', new.deadline using errcode = 'check_violation';
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
      using errcode = 'unique_violation', hint = 'Wait for it to finish or cancel it with select cancel_video_job(id).';
  end if;
  return new;
end
$$;
create trigger video_jobs_before_insert before insert on video_jobs
  for each row execute function video_jobs_before_insert();

-- The status machine. Everything else about a job is frozen at insert, and a finished job only
-- changes through an explicit retry (failed|canceled -> queued).
create function video_jobs_before_update() returns trigger
language plpgsql as $$
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
    return new;
  end if;

  if not (
       (old.status = 'queued'       and new.status in ('submitting', 'failed', 'canceled'))
    or (old.status = 'submitting'   and new.status in ('rendering', 'failed', 'canceled'))
    or (old.status = 'rendering'    and new.status in ('transferring', 'failed', 'canceled'))
    or (old.status = 'transferring' and new.status in ('completed', 'failed', 'canceled'))
    or (old.status in ('failed', 'canceled') and new.status = 'queued')
  ) then
    raise exception 'video_jobs %: illegal status change % -> %', old.id, old.status, new.status
      using errcode = 'check_violation',
            hint = 'Allowed: queued -> submitting -> rendering -> transferring -> completed; any active state -> failed or canceled; failed or canceled -> queued (retry).';
  end if;

  new.updated_at := now();
  if new.status = 'submitting' and new.started_at is null then
    new.started_at := now();
  end if;
  if new.status in ('completed', 'failed', 'canceled') then
    new.completed_at := now();
  end if;
  if new.status = 'canceled' then
    new.error_code := coalesce(new.error_code, 'canceled');
    new.error_message := coalesce(new.error_message, 'Canceled by ' || video_jobs_actor());
  end if;
  if new.status = 'queued' then
    -- A retry is a fresh render: forget the previous attempt's progress.
    new.attempt := old.attempt + 1;
    new.heygen_video_id := null; new.heygen_url := null; new.thumbnail_url := null;
    new.duration_seconds := null; new.storage_path := null; new.video_url := null; new.size_bytes := null;
    new.error_code := null; new.error_message := null; new.last_error := null; new.last_heygen_status := null;
    new.started_at := null; new.completed_at := null;
    new.poll_count := 0; new.transfer_count := 0;
    if new.deadline is not distinct from old.deadline or new.deadline <= now() then
      new.deadline := now() + interval '60 minutes';
    end if;
  end if;
  return new;
end
$$;
create trigger video_jobs_before_update before update on video_jobs
  for each row execute function video_jobs_before_update();

-- Writes content's latest-video columns from the given jobs (the content guard lets trigger-nested
-- updates through). SECURITY DEFINER, like the other trigger functions here, so that a role that
-- may write video_jobs needs no rights on content, the event table or pg-boss, and so cannot forge
-- events by writing them directly.
create function video_jobs_sync_content(jobs video_jobs[]) returns void
language plpgsql security definer set search_path = pg_catalog, public as $$
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

create function video_jobs_after_insert() returns trigger
language plpgsql security definer set search_path = pg_catalog, public as $$
declare notified int;
begin
  with ev as (
    insert into video_job_events (job_id, business_id, content_id, from_status, to_status, detail, actor)
    select n.id, n.business_id, n.content_id, null, n.status,
           jsonb_strip_nulls(jsonb_build_object('attempt', n.attempt, 'idempotency_key', n.idempotency_key)),
           video_jobs_actor()
    from new_rows n
    returning id, job_id, business_id, content_id, to_status
  )
  select count(pg_notify('video_jobs', json_build_object(
           'event_id', ev.id, 'id', ev.job_id, 'content_id', ev.content_id,
           'business_id', ev.business_id, 'status', ev.to_status)::text))
  into notified from ev;

  perform video_jobs_sync_content(array(select n::video_jobs from new_rows n));
  perform pgboss_enqueue_many('video.submit',
    array(select jsonb_build_object('jobId', n.id) from new_rows n order by n.id),
    array(select n.id::text from new_rows n order by n.id));
  return null;
end
$$;
create trigger video_jobs_after_insert after insert on video_jobs
  referencing new table as new_rows
  for each statement execute function video_jobs_after_insert();

create function video_jobs_after_update() returns trigger
language plpgsql security definer set search_path = pg_catalog, public as $$
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
    perform pgboss_enqueue_many('video.submit',
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
create trigger video_jobs_after_update after update on video_jobs
  referencing old table as old_rows new table as new_rows
  for each statement execute function video_jobs_after_update();

-- Convenience for SQL users and the app; both are plain UPDATEs underneath, so the trigger rules
-- above apply unchanged.
create function cancel_video_job(p_job_id uuid, p_reason text = null) returns video_jobs
language plpgsql as $$
declare j video_jobs;
begin
  select * into j from video_jobs where id = p_job_id for update;
  if not found then
    raise exception 'cancel_video_job: no video job %', p_job_id using errcode = 'no_data_found';
  end if;
  if not video_jobs_is_active(j.status) then
    raise exception 'cancel_video_job: job % is already % and cannot be canceled', p_job_id, j.status using errcode = 'check_violation';
  end if;
  update video_jobs set status = 'canceled', error_code = 'canceled',
    error_message = coalesce(nullif(btrim(p_reason), ''), 'Canceled by ' || video_jobs_actor())
  where id = p_job_id returning * into j;
  return j;
end
$$;

create function retry_video_job(p_job_id uuid) returns video_jobs
language plpgsql as $$
declare j video_jobs;
begin
  select * into j from video_jobs where id = p_job_id for update;
  if not found then
    raise exception 'retry_video_job: no video job %', p_job_id using errcode = 'no_data_found';
  end if;
  if j.status not in ('failed', 'canceled') then
    raise exception 'retry_video_job: job % is % ; only failed or canceled jobs can be retried', p_job_id, j.status using errcode = 'check_violation';
  end if;
  update video_jobs set status = 'queued' where id = p_job_id returning * into j;
  return j;
end
$$;
