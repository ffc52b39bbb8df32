-- HeyGen v3 (issue 9): v3 video options, one HeyGen video per job attempt, the business's
-- concurrent-render limit, and the thumbnail and subtitles kept beside the video.

-- 1. Options ---------------------------------------------------------------------------------
-- The allowed options as data, so the insert check and heygen/options.ts (OPTION_SPECS) can be
-- compared row by row (tests/db/option-specs.test.ts) instead of drifting apart as three copies.
create table video_job_option_specs (
  key text primary key,
  kind text not null check (kind in ('boolean', 'enum', 'number', 'string', 'retired')),
  enum_values text[],
  min numeric,
  max numeric,
  pattern text,
  max_length int,
  -- For strings: what a valid value looks like. For retired keys: what to use instead.
  hint text,
  position int not null unique
);
comment on table video_job_option_specs is 'The keys video_jobs.options may carry (HeyGen v3), and the retired v1/v2 keys with their replacement. Mirrors OPTION_SPECS in heygen/options.ts.';

insert into video_job_option_specs (position, key, kind, enum_values, min, max, pattern, max_length, hint) values
  (1,  'title',             'string',  null, null, null, '^.+$', 200, 'a string of 1 to 200 characters'),
  (2,  'resolution',        'enum',    array['4k', '1080p', '720p'], null, null, null, null, null),
  (3,  'aspect_ratio',      'enum',    array['16:9', '9:16', '4:5', '5:4', '1:1'], null, null, null, null, null),
  (4,  'background_color',  'string',  null, null, null, '^#[0-9A-Fa-f]{6}$', 7, 'a colour like #1a2b3c'),
  (5,  'voice_speed',       'number',  null, 0.5, 1.5, null, null, null),
  (6,  'voice_pitch',       'number',  null, -50, 50, null, null, null),
  (7,  'voice_locale',      'string',  null, null, null, '^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}$', 20, 'a locale like en-US'),
  (8,  'captions',          'boolean', null, null, null, null, null, null),
  (9,  'remove_background', 'boolean', null, null, null, null, null, null),
  (10, 'engine',            'enum',    array['avatar_iv', 'avatar_v', 'avatar_iii'], null, null, null, null, null),
  (101, 'dimension',    'retired', null, null, null, null, null, 'use "resolution" (4k, 1080p, 720p) and "aspect_ratio" (16:9, 9:16, 4:5, 5:4, 1:1) instead'),
  (102, 'test',         'retired', null, null, null, null, null, 'HeyGen v3 has no test mode; leave it out (every v3 video is a real, billed render)'),
  (103, 'avatar_style', 'retired', null, null, null, null, null, 'HeyGen v3 has no avatar style; leave it out (the framing comes from the avatar look; use "aspect_ratio")'),
  (104, 'caption',      'retired', null, null, null, null, null, 'use "captions" (true gives an SRT subtitle file stored beside the video)');

-- Checked on insert only (the before-insert trigger calls it): rows made before v3 keep their
-- options, and the worker translates the retired keys it can.
create or replace function video_jobs_check_options(o jsonb) returns void
language plpgsql stable set search_path = pg_catalog, public as $$
declare
  k text;
  v jsonb;
  s video_job_option_specs;
  allowed text;
begin
  if o is null or jsonb_typeof(o) <> 'object' then
    raise exception 'video_jobs.options must be a JSON object, got %', coalesce(jsonb_typeof(o), 'null')
      using errcode = 'check_violation';
  end if;
  for k, v in select * from jsonb_each(o) loop
    select * into s from video_job_option_specs where key = k;
    if not found then
      select string_agg(key, ', ' order by position) into allowed from video_job_option_specs where kind <> 'retired';
      raise exception 'video_jobs.options has unknown key "%"; allowed keys: %', k, allowed
        using errcode = 'check_violation';
    end if;
    if s.kind = 'retired' then
      raise exception 'video_jobs.options.% is a HeyGen v1/v2 option that v3 does not have: %', k, s.hint
        using errcode = 'check_violation';
    elsif s.kind = 'boolean' and jsonb_typeof(v) <> 'boolean' then
      raise exception 'video_jobs.options.% must be true or false, got %', k, v using errcode = 'check_violation';
    elsif s.kind = 'enum' and not (jsonb_typeof(v) = 'string' and (v #>> '{}') = any (s.enum_values)) then
      raise exception 'video_jobs.options.% must be one of %, got %', k, array_to_string(s.enum_values, ', '), v using errcode = 'check_violation';
    elsif s.kind = 'number' and not (jsonb_typeof(v) = 'number' and (v #>> '{}')::numeric between s.min and s.max) then
      raise exception 'video_jobs.options.% must be a number from % to %, got %', k, s.min, s.max, v using errcode = 'check_violation';
    elsif s.kind = 'string' and not (jsonb_typeof(v) = 'string' and length(v #>> '{}') <= s.max_length and (v #>> '{}') ~ s.pattern) then
      raise exception 'video_jobs.options.% must be %, got %', k, s.hint, left(v::text, 80) using errcode = 'check_violation';
    end if;
  end loop;
end
$$;

-- 2. One HeyGen video per job attempt ---------------------------------------------------------
alter table video_jobs
  -- Sent as HeyGen's Idempotency-Key. Saved (and committed) before the first POST /v3/videos of an
  -- attempt, so every later try of that attempt — after a lost reply, a killed worker or a
  -- database outage — sends the same key and HeyGen replays the video it already made.
  add column heygen_idempotency_key text,
  -- When that key was first sent; HeyGen keeps keys for 24 hours.
  add column heygen_submitted_at timestamptz,
  -- HeyGen's own completion time and the extra files stored beside the MP4.
  add column heygen_completed_at timestamptz,
  add column thumbnail_path text,
  add column subtitles_path text,
  add constraint video_jobs_heygen_idempotency_key_check
    check (heygen_idempotency_key is null or heygen_idempotency_key ~ '^[A-Za-z0-9_:.-]{1,255}$');

-- The new progress columns are the worker's, like the others (0004's insert check lists those).
create function video_jobs_before_insert_v3() returns trigger
language plpgsql as $$
begin
  if new.heygen_idempotency_key is not null or new.heygen_submitted_at is not null or new.heygen_completed_at is not null
     or new.thumbnail_path is not null or new.subtitles_path is not null then
    raise exception 'video_jobs: progress columns (heygen_idempotency_key, heygen_submitted_at, heygen_completed_at, thumbnail_path, subtitles_path) are set by the worker; leave them out of the insert'
      using errcode = 'check_violation';
  end if;
  return new;
end
$$;
create trigger video_jobs_before_insert_v3 before insert on video_jobs
  for each row execute function video_jobs_before_insert_v3();

-- A retry is a new attempt: a new key, and none of the previous attempt's files.
create function video_jobs_before_update_v3() returns trigger
language plpgsql as $$
begin
  if new.status = 'queued' and old.status <> 'queued' then
    new.heygen_idempotency_key := null;
    new.heygen_submitted_at := null;
    new.heygen_completed_at := null;
    new.thumbnail_path := null;
    new.subtitles_path := null;
  elsif new.heygen_idempotency_key is distinct from old.heygen_idempotency_key and old.heygen_idempotency_key is not null then
    raise exception 'video_jobs %: the HeyGen idempotency key of an attempt cannot change (it keeps HeyGen from making a second video)', old.id
      using errcode = 'check_violation';
  end if;
  return new;
end
$$;
create trigger video_jobs_before_update_v3 before update on video_jobs
  for each row execute function video_jobs_before_update_v3();

-- 3. Renders at once per business ---------------------------------------------------------------
alter table businesses
  add column heygen_concurrency int not null default 10,
  add constraint businesses_heygen_concurrency_check check (heygen_concurrency between 1 and 100);
comment on column businesses.heygen_concurrency is 'Videos HeyGen renders at once for this account (10 on pay-as-you-go). The worker never has more of this business''s jobs submitting or rendering; the rest wait in queued.';

create index video_jobs_business_in_flight_idx on video_jobs (business_id)
  where status in ('submitting', 'rendering');
create index video_jobs_business_queued_idx on video_jobs (business_id, created_at, id)
  where status = 'queued';

-- When a job leaves submitting/rendering, wake the business's oldest waiting submit, so queued
-- jobs start as soon as there is room (the worker also re-checks on a timer, so a missed wake-up
-- only costs a few seconds). A row trigger with a WHEN clause: the many updates that keep the
-- status (poll counters) never call it.
create function video_jobs_wake_waiting_submit() returns trigger
language plpgsql security definer set search_path = pg_catalog, public as $$
declare n int;
begin
  update pgboss.job b set start_after = now()
  where b.name = 'video.submit' and b.state in ('created', 'retry') and b.start_after > now()
    and b.singleton_key = (
      select v.id::text from video_jobs v
      where v.business_id = new.business_id and v.status = 'queued'
        and exists (select 1 from pgboss.job w where w.name = 'video.submit' and w.singleton_key = v.id::text
                    and w.state in ('created', 'retry') and w.start_after > now())
      order by v.created_at, v.id limit 1);
  get diagnostics n = row_count;
  if n > 0 then
    perform pg_notify('pgboss_' || left(encode(sha224('pgboss'::bytea), 'hex'), 24), 'video.submit');
  end if;
  return null;
end
$$;
create trigger video_jobs_wake_waiting_submit after update on video_jobs
  for each row when (old.status in ('submitting', 'rendering') and new.status not in ('submitting', 'rendering'))
  execute function video_jobs_wake_waiting_submit();
