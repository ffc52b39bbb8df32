-- Enqueue pg-boss jobs from SQL. pg-boss has no SQL API, and a bare insert into pgboss.job would
-- ignore the queue's settings, so this copies them from pgboss.queue exactly as pg-boss's own
-- send() does, and wakes LISTEN-ing workers with the same NOTIFY channel pg-boss listens on.
-- The migration runner starts pg-boss once before this file so its schema exists.
-- Written against pg-boss 12.38 (pinned in package.json); re-run the queue tests on any upgrade.

select pgboss.create_queue(q.name, q.options)
from (values
  ('video.submit',   '{"policy":"standard","retryLimit":8,"retryDelay":5,"retryBackoff":true,"retryDelayMax":300,"expireInSeconds":120,"deleteAfterSeconds":604800,"heartbeatSeconds":10,"notify":true}'::jsonb),
  ('video.poll',     '{"policy":"standard","retryLimit":20,"retryDelay":5,"retryBackoff":true,"retryDelayMax":120,"expireInSeconds":120,"deleteAfterSeconds":86400,"heartbeatSeconds":10,"notify":true}'::jsonb),
  ('video.transfer', '{"policy":"standard","retryLimit":10,"retryDelay":10,"retryBackoff":true,"retryDelayMax":300,"expireInSeconds":3600,"deleteAfterSeconds":604800,"heartbeatSeconds":10,"notify":true}'::jsonb)
) as q (name, options)
where not exists (select 1 from pgboss.queue where pgboss.queue.name = q.name);

-- One row per element of p_data; returns the new pg-boss job ids. Set-based so that a 5,000-row
-- insert into video_jobs costs one statement here, not 5,000.
create function pgboss_enqueue_many(
  p_queue text,
  p_data jsonb[],
  p_singleton_keys text[] = null,
  p_start_after timestamptz = null,
  p_priority int = 0
) returns setof uuid
language plpgsql security definer set search_path = pg_catalog, public as $$
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

  return query execute format($sql$
    insert into pgboss.%I (
      name, data, priority, start_after, created_on, singleton_key,
      expire_seconds, deletion_seconds, keep_until,
      retry_limit, retry_delay, retry_backoff, retry_delay_max,
      policy, dead_letter, heartbeat_seconds
    )
    select $1, u.d, $2, $3, $4, u.k,
           $6, $7, $3 + make_interval(secs => $8),
           $9, $10, $11, $12,
           $13, $14, $15
    from unnest($16::jsonb[], $5::text[]) as u (d, k)
    where u.d is not null
    on conflict do nothing
    returning id
  $sql$, q.table_name)
  using p_queue, p_priority, v_start, v_now, p_singleton_keys,
        q.expire_seconds, q.deletion_seconds, q.retention_seconds,
        q.retry_limit, q.retry_delay, q.retry_backoff, q.retry_delay_max,
        q.policy, q.dead_letter, q.heartbeat_seconds,
        p_data;

  -- FOUND: at least one row was inserted (ON CONFLICT may have skipped them all).
  if found and q.notify and v_start <= v_now then
    perform pg_notify('pgboss_' || left(encode(sha224('pgboss'::bytea), 'hex'), 24), p_queue);
  end if;
end
$$;

create function pgboss_enqueue(
  p_queue text,
  p_data jsonb,
  p_start_after timestamptz = null,
  p_singleton_key text = null,
  p_priority int = 0
) returns uuid
language sql as $$
  select pgboss_enqueue_many(p_queue, array[p_data], array[p_singleton_key], p_start_after, p_priority) limit 1
$$;

-- Cancels the not-yet-started pg-boss jobs of the given video jobs in the given queues. Every job
-- this product enqueues carries the video job id as its singleton_key, which pg-boss indexes for
-- queued jobs, so this is an index lookup however many jobs are waiting.
create function pgboss_cancel_for_video_jobs(
  p_job_ids uuid[],
  p_queues text[] = array['video.submit', 'video.poll', 'video.transfer']
) returns int
language plpgsql security definer set search_path = pg_catalog, public as $$
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

-- SECURITY DEFINER above: only the owner (and the triggers that call these) may enqueue or cancel.
revoke execute on function pgboss_enqueue_many(text, jsonb[], text[], timestamptz, int),
  pgboss_enqueue(text, jsonb, timestamptz, text, int),
  pgboss_cancel_for_video_jobs(uuid[], text[]) from public, anon, authenticated;
grant execute on function pgboss_enqueue_many(text, jsonb[], text[], timestamptz, int),
  pgboss_enqueue(text, jsonb, timestamptz, text, int),
  pgboss_cancel_for_video_jobs(uuid[], text[]) to service_role;
