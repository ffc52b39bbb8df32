-- Indexes for what is queried, and counters so /metrics stops scanning the whole audit trail.

-- The HeyGen webhook finds a job by HeyGen's video id.
create index video_jobs_heygen_video_id_idx on video_jobs (heygen_video_id) where heygen_video_id is not null;

-- The content list orders a business's content by last change; nothing orders it by creation.
create index content_business_updated_idx on content (business_id, updated_at desc);
drop index content_business_idx;

-- Nothing reads jobs by deadline: the sweep finds orphans by status and updated_at, the poll step
-- checks the deadline of the one job it holds.
drop index video_jobs_active_deadline_idx;

-- /metrics counters, kept by a trigger on video_job_events so a scrape reads a few rows instead of
-- every event ever written. Durations are bucketed where they are recorded: each observation adds
-- to the smallest bucket whose upper bound holds it ('infinity' for the rest); a reader sums the
-- buckets up to a bound for Prometheus' cumulative counts.
create table video_job_step_durations (
  step text not null check (step in ('render', 'transfer')),
  le double precision not null,
  observations bigint not null default 0,
  seconds double precision not null default 0,
  primary key (step, le)
);
comment on table video_job_step_durations is
  'Histogram of step durations for /metrics: render = rendering→transferring, transfer = transferring→completed. Kept by trigger.';

create table video_job_failure_counts (
  error_code text primary key,
  failures bigint not null default 0
);
comment on table video_job_failure_counts is 'Jobs that moved to failed, by error code, for /metrics. Kept by trigger.';

create function video_job_duration_buckets() returns double precision[]
language sql immutable as $$ select array[5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 'infinity']::float8[] $$;

create function video_job_events_count() returns trigger
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  v_step text;
  v_secs double precision;
begin
  if new.to_status = 'failed' then
    insert into video_job_failure_counts as f (error_code, failures)
    values (coalesce(new.detail->>'error_code', 'unknown'), 1)
    on conflict (error_code) do update set failures = f.failures + 1;
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
  insert into video_job_step_durations as d (step, le, observations, seconds)
  values (v_step, (select min(b) from unnest(video_job_duration_buckets()) b where b >= v_secs), 1, v_secs)
  on conflict (step, le) do update set observations = d.observations + 1, seconds = d.seconds + excluded.seconds;
  return null;
end
$$;
revoke all on function video_job_events_count() from public;

create trigger video_job_events_count after insert on video_job_events
  for each row when (new.to_status in ('transferring', 'completed', 'failed'))
  execute function video_job_events_count();

-- What the audit trail already holds, counted once.
insert into video_job_failure_counts (error_code, failures)
select coalesce(detail->>'error_code', 'unknown'), count(*) from video_job_events where to_status = 'failed' group by 1;

insert into video_job_step_durations (step, le, observations, seconds)
select step, (select min(b) from unnest(video_job_duration_buckets()) b where b >= secs), count(*), sum(secs)
from (
  select case when prev = 'rendering' and to_status = 'transferring' then 'render'
              when prev = 'transferring' and to_status = 'completed' then 'transfer' end as step, secs
  from (
    select to_status, lag(to_status) over w as prev, extract(epoch from at - lag(at) over w)::float8 as secs
    from video_job_events window w as (partition by job_id order by id)
  ) s
) t
where step is not null and secs is not null
group by 1, 2;

-- Supabase exposes new public tables to its API roles: these are server-side figures only.
do $$
begin
  if exists (select 1 from pg_roles where rolname = 'anon') then
    revoke all on video_job_step_durations, video_job_failure_counts from anon, authenticated;
  end if;
end
$$;
