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
-- pgboss.job routes to the queue's table by name and keeps one cached plan. pgboss_enqueue_at
-- takes a start time per job (a batch of polls backs off per job); pgboss_enqueue_many, one for all.
create function pgboss_enqueue_at(
  p_queue text, p_data jsonb[], p_singleton_keys text[], p_start_after timestamptz[], p_priority int default 0
) returns setof uuid
language plpgsql security definer set search_path = pg_catalog, public, pg_temp set plan_cache_mode = force_generic_plan as $$
declare
  q pgboss.queue;
  v_now timestamptz := pgboss.job_now();
begin
  select * into q from pgboss.queue where name = p_queue;
  if not found then
    raise exception 'pgboss_enqueue: queue "%" does not exist', p_queue using errcode = 'undefined_object';
  end if;
  if cardinality(p_data) is distinct from cardinality(p_singleton_keys) or cardinality(p_data) is distinct from cardinality(p_start_after) then
    raise exception 'pgboss_enqueue_at: % data items, % singleton keys and % start times', cardinality(p_data), cardinality(p_singleton_keys), cardinality(p_start_after)
      using errcode = 'invalid_parameter_value';
  end if;
  return query
    insert into pgboss.job as j (
      name, data, priority, start_after, created_on, singleton_key,
      expire_seconds, deletion_seconds, keep_until,
      retry_limit, retry_delay, retry_backoff, retry_delay_max,
      policy, dead_letter, heartbeat_seconds
    )
    select p_queue, u.d, p_priority, u.t, v_now, u.k,
           q.expire_seconds, q.deletion_seconds, u.t + make_interval(secs => q.retention_seconds),
           q.retry_limit, q.retry_delay, q.retry_backoff, q.retry_delay_max,
           q.policy, q.dead_letter, q.heartbeat_seconds
    from unnest(p_data, p_singleton_keys, p_start_after) as u (d, k, t)
    where u.d is not null
    on conflict do nothing
    returning j.id;
  -- FOUND: at least one row was inserted (ON CONFLICT may have skipped them all).
  if found and q.notify and exists (select 1 from unnest(p_start_after) t where t <= v_now) then
    perform pg_notify('pgboss_' || left(encode(sha224('pgboss'::bytea), 'hex'), 24), p_queue);
  end if;
end
$$;

create or replace function pgboss_enqueue_many(
  p_queue text, p_data jsonb[], p_singleton_keys text[] default null,
  p_start_after timestamptz default null, p_priority int default 0
) returns setof uuid
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  n int := coalesce(cardinality(p_data), 0);
begin
  if p_singleton_keys is not null and cardinality(p_singleton_keys) <> n then
    raise exception 'pgboss_enqueue_many: % data items but % singleton keys', n, cardinality(p_singleton_keys)
      using errcode = 'invalid_parameter_value';
  end if;
  return query select pgboss_enqueue_at(p_queue, coalesce(p_data, '{}'),
    coalesce(p_singleton_keys, array_fill(null::text, array[n])),
    array_fill(coalesce(p_start_after, pgboss.job_now()), array[n]), p_priority);
end
$$;

-- Like the other enqueue functions (0003): only their owner, the triggers and service_role.
revoke execute on function pgboss_enqueue_at(text, jsonb[], text[], timestamptz[], int) from public, anon, authenticated;
grant execute on function pgboss_enqueue_at(text, jsonb[], text[], timestamptz[], int) to service_role;

-- 4. A batch of due polls (video_jobs_apply_many, 0017) changed its jobs one UPDATE at a time, so
-- each job paid the statement triggers (event, NOTIFY, content sync) and a freshly planned
-- dynamic UPDATE on its own. Jobs of a batch that take the same kind of change (same expected
-- statuses, same patched columns, same next step) now move in one UPDATE; the triggers still
-- write one event per transition, and the next steps are enqueued together. Locks are taken in
-- id order first, as before, so two batches cannot deadlock on each other.
create or replace function video_jobs_apply_many(p_items jsonb, p_actor text) returns setof video_jobs
language plpgsql as $$
declare
  g record;
  changed video_jobs[];
begin
  if jsonb_typeof(p_items) is distinct from 'array' then
    raise exception 'video_jobs_apply_many: the items must be a JSON array' using errcode = '22023';
  end if;
  perform set_config('video_jobs.actor', p_actor, true);
  perform 1 from video_jobs
  where id = any (array(select (e->>'id')::uuid from jsonb_array_elements(p_items) e))
  order by id for update;

  for g in
    select array(select jsonb_array_elements_text(e->'from'))::video_job_status[] as from_statuses,
           coalesce((select array_agg(k order by k) from jsonb_object_keys(coalesce(e->'patch', '{}'::jsonb)) k), '{}') as cols,
           e->>'queue' as queue,
           jsonb_agg(e order by (e->>'id')::uuid) as items
    from jsonb_array_elements(p_items) e
    group by 1, 2, 3
  loop
    if cardinality(g.cols) = 0 then
      select array_agg(v order by v.id) into changed from video_jobs v
      where v.id = any (array(select (i->>'id')::uuid from jsonb_array_elements(g.items) i)) and v.status = any (g.from_statuses);
    else
      execute format($sql$
        with it as (select (i->>'id')::uuid as id, i->'patch' as patch from jsonb_array_elements($1) i),
        u as (
          update video_jobs v set (%s) = (select %s from jsonb_populate_record(null::video_jobs, it.patch) r)
          from it where v.id = it.id and v.status = any ($2)
          returning v.*
        )
        select array_agg(u order by u.id) from u
      $sql$,
        (select string_agg(format('%I', c), ', ' order by c) from unnest(g.cols) c),
        (select string_agg(format('r.%I', c), ', ' order by c) from unnest(g.cols) c))
      into changed using g.items, g.from_statuses;
    end if;
    continue when changed is null;

    if g.queue is not null then
      perform pgboss_cancel_for_video_jobs(array(select (c).id from unnest(changed) c), array[g.queue]);
      perform pgboss_enqueue_at(g.queue,
        array_agg(jsonb_build_object('jobId', x.id) order by x.id),
        array_agg(x.id::text order by x.id),
        array_agg(now() + make_interval(secs => greatest(x.delay_seconds, 0)) order by x.id))
      from (
        select (i->>'id')::uuid as id, (i->>'delay_seconds')::float8 as delay_seconds
        from jsonb_array_elements(g.items) i
        where (i->>'id')::uuid = any (array(select (c).id from unnest(changed) c))
      ) x;
    end if;
    return query select * from unnest(changed);
  end loop;
end
$$;

-- 5. video_jobs_apply (0017) built its UPDATE from the patch's keys, so each call was parsed and
-- planned afresh: about a third of a step's server time (perf on a backend running applies).
-- A patch of the columns a step writes now goes through one static UPDATE that writes those
-- columns from the locked row with the patch applied (unchanged values stay unchanged, so the
-- triggers see exactly the same change); it is planned once per connection. A patch naming any
-- other column still takes the dynamic path, which refuses what the triggers refuse.
create or replace function video_jobs_apply(
  p_id uuid,
  p_from video_job_status[],
  p_patch jsonb,
  p_actor text,
  p_queue text = null,
  p_delay_seconds float8 = null
) returns setof video_jobs
language plpgsql as $$
declare
  cur video_jobs;
  want video_jobs;
  done video_jobs;
  sets text;
begin
  if jsonb_typeof(p_patch) is distinct from 'object' then
    raise exception 'video_jobs_apply: the patch must be a JSON object' using errcode = '22023';
  end if;
  perform set_config('video_jobs.actor', p_actor, true);
  select * into cur from video_jobs where id = p_id for update;
  if not found or not (cur.status = any (p_from)) then
    return;
  end if;
  if p_patch = '{}'::jsonb then
    done := cur;
  else
    want := jsonb_populate_record(cur, p_patch);
    if not exists (select 1 from jsonb_object_keys(p_patch) k where k <> all (array[
         'status', 'submit_count', 'poll_count', 'transfer_count', 'last_heygen_status', 'heygen_video_id',
         'heygen_url', 'thumbnail_url', 'duration_seconds', 'storage_path', 'video_url', 'size_bytes',
         'error_code', 'error_message', 'last_error', 'heygen_completed_at', 'thumbnail_path', 'subtitles_path'])) then
      update video_jobs set
        status = want.status, submit_count = want.submit_count, poll_count = want.poll_count,
        transfer_count = want.transfer_count, last_heygen_status = want.last_heygen_status,
        heygen_video_id = want.heygen_video_id, heygen_url = want.heygen_url, thumbnail_url = want.thumbnail_url,
        duration_seconds = want.duration_seconds, storage_path = want.storage_path, video_url = want.video_url,
        size_bytes = want.size_bytes, error_code = want.error_code, error_message = want.error_message,
        last_error = want.last_error, heygen_completed_at = want.heygen_completed_at,
        thumbnail_path = want.thumbnail_path, subtitles_path = want.subtitles_path
      where id = p_id
      returning * into done;
    else
      select string_agg(format('%I = ($1).%I', k, k), ', ') into sets from jsonb_object_keys(p_patch) k;
      execute format('update video_jobs set %s where id = ($1).id returning *', sets) into done using want;
    end if;
  end if;
  if p_queue is not null then
    perform pgboss_cancel_for_video_jobs(array[p_id], array[p_queue]);
    perform pgboss_enqueue_many(p_queue, array[jsonb_build_object('jobId', p_id)], array[p_id::text],
      case when p_delay_seconds > 0 then now() + make_interval(secs => p_delay_seconds) end);
  end if;
  return next done;
end
$$;

-- 6. The statements inside these functions were planned afresh on most calls: with parameters,
-- Postgres plans custom for each call until a generic plan looks as cheap, and for the pg-boss
-- table (partitioned, with many partial indexes) it seldom does, so each cancel or enqueue paid
-- ~1 ms of planning for a plan that is the same every time (an index lookup by key). A generic
-- plan is made once per connection and re-made when the tables' statistics change. Not for
-- functions whose set_config(…, true) must outlive them (video_jobs_apply, _claim_submit): a
-- SET clause restores settings when the function returns. (pgboss_enqueue_at, which does the
-- enqueue's insert, is created with the setting above.)
alter function video_jobs_after_update() set plan_cache_mode = force_generic_plan;
alter function video_jobs_sync_content(video_jobs[]) set plan_cache_mode = force_generic_plan;
alter function video_jobs_wake_waiting_submit() set plan_cache_mode = force_generic_plan;
alter function video_job_events_count() set plan_cache_mode = force_generic_plan;
alter function pgboss_cancel_for_video_jobs(uuid[], text[]) set plan_cache_mode = force_generic_plan;

-- 7. Checks written as one bounded regex ('^[…]{1,N}$') cost ~80 µs per row in Postgres' regex
-- engine; the heygen_idempotency_key one ran on every update of a submitted job, ~10% of the
-- server's time in bench:pipeline. Same rule, same constraint names: a length range and no
-- character outside the class.
alter table video_jobs
  drop constraint video_jobs_heygen_idempotency_key_check,
  add constraint video_jobs_heygen_idempotency_key_check check (heygen_idempotency_key is null or (
    length(heygen_idempotency_key) between 1 and 255 and heygen_idempotency_key !~ '[^A-Za-z0-9_:.-]'));
alter table businesses
  drop constraint businesses_heygen_avatar_id_check,
  add constraint businesses_heygen_avatar_id_check check (heygen_avatar_id is null or (
    length(heygen_avatar_id) between 1 and 200 and heygen_avatar_id !~ '[^A-Za-z0-9_.:-]')),
  drop constraint businesses_heygen_voice_id_check,
  add constraint businesses_heygen_voice_id_check check (heygen_voice_id is null or (
    length(heygen_voice_id) between 1 and 200 and heygen_voice_id !~ '[^A-Za-z0-9_.:-]'));
