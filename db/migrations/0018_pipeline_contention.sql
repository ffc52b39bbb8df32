-- Where the pipeline's transactions waited on each other or re-did work per call
-- (bench:pipeline with BENCH_PROFILE=1 shows each statement's server time).

-- 1. The /metrics counters from 0015 were one row per (step, bucket) and per error code. Every job
-- that finished a step updated the same row, so concurrent transitions queued on its row lock
-- until the holder committed: the whole pipeline moved one commit at a time (bench:pipeline
-- profile: ~6.6 ms per counter update, most of it waiting). Each backend now adds to its own
-- shard of a counter; one backend runs one transaction at a time, so two transactions meet on a
-- row only when their backend pids share a shard. Readers sum the shards.

alter table video_job_step_durations add column shard smallint not null default 0;
alter table video_job_step_durations drop constraint video_job_step_durations_pkey;
alter table video_job_step_durations add primary key (step, le, shard);

alter table video_job_failure_counts add column shard smallint not null default 0;
alter table video_job_failure_counts drop constraint video_job_failure_counts_pkey;
alter table video_job_failure_counts add primary key (error_code, shard);

create function video_job_counter_shard() returns smallint
language sql volatile parallel safe as $$ select (pg_backend_pid() % 64)::smallint $$;
comment on function video_job_counter_shard() is
  'The shard of a /metrics counter this backend adds to (see 0018): spreads concurrent writers over rows.';

create or replace function video_job_events_count() returns trigger
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
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

-- 2. A job leaving the in-flight states wakes its business's oldest submit that waits for a slot.
-- The search walked every queued job of the business and probed pg-boss for each, ~3 ms at 100
-- queued jobs, even when nothing waits, which is the common case (no business at its limit).
-- Waiting submits are few and indexed by (name, state, blocked, start_after): look there first.
create or replace function video_jobs_wake_waiting_submit() returns trigger
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare n int;
begin
  if not exists (select 1 from pgboss.job w where w.name = 'video.submit' and w.state in ('created', 'retry') and w.start_after > now()) then
    return null;
  end if;
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

-- 3. Enqueueing built its INSERT with format() for the queue's table, so every call was planned
-- afresh (~0.8 ms per insert with pg-boss' partial indexes). Inserting into the partitioned parent
-- pgboss.job routes to the queue's table by name and keeps one cached plan.
create or replace function pgboss_enqueue_many(
  p_queue text, p_data jsonb[], p_singleton_keys text[] default null,
  p_start_after timestamptz default null, p_priority int default 0
) returns setof uuid
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  q pgboss.queue;
  v_now timestamptz := pgboss.job_now();
  v_start timestamptz := coalesce(p_start_after, pgboss.job_now());
begin
  select * into q from pgboss.queue where name = p_queue;
  if not found then
    raise exception 'pgboss_enqueue: queue "%" does not exist', p_queue using errcode = 'undefined_object';
  end if;
  if coalesce(array_length(p_data, 1), 0) = 0 then
    return;
  end if;
  if p_singleton_keys is not null and array_length(p_singleton_keys, 1) <> array_length(p_data, 1) then
    raise exception 'pgboss_enqueue_many: % data items but % singleton keys', array_length(p_data, 1), array_length(p_singleton_keys, 1)
      using errcode = 'invalid_parameter_value';
  end if;

  return query
    insert into pgboss.job as j (
      name, data, priority, start_after, created_on, singleton_key,
      expire_seconds, deletion_seconds, keep_until,
      retry_limit, retry_delay, retry_backoff, retry_delay_max,
      policy, dead_letter, heartbeat_seconds
    )
    select p_queue, u.d, p_priority, v_start, v_now, u.k,
           q.expire_seconds, q.deletion_seconds, v_start + make_interval(secs => q.retention_seconds),
           q.retry_limit, q.retry_delay, q.retry_backoff, q.retry_delay_max,
           q.policy, q.dead_letter, q.heartbeat_seconds
    from unnest(p_data, p_singleton_keys) as u (d, k)
    where u.d is not null
    on conflict do nothing
    returning j.id;

  -- FOUND: at least one row was inserted (ON CONFLICT may have skipped them all).
  if found and q.notify and v_start <= v_now then
    perform pg_notify('pgboss_' || left(encode(sha224('pgboss'::bytea), 'hex'), 24), p_queue);
  end if;
end
$$;
