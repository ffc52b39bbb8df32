-- Functions the worker and the webhook use. Kept in SQL so that a DBA can run them by hand too.

-- Makes the job's next status check happen now (a HeyGen webhook arrived, or a person asked).
-- Only a wake-up: the poll itself re-reads the status from HeyGen. Returns false when the job is
-- not rendering, so duplicates and unknown ids are harmless.
create function video_jobs_wake_poll(p_job_id uuid) returns boolean
language plpgsql as $$
declare
  n int;
begin
  if not exists (select 1 from video_jobs where id = p_job_id and status = 'rendering') then
    return false;
  end if;
  update pgboss.job set start_after = pgboss.job_now()
  where name = 'video.poll' and state < 'active' and singleton_key = p_job_id::text;
  get diagnostics n = row_count;
  if n = 0 then
    perform pgboss_enqueue('video.poll', jsonb_build_object('jobId', p_job_id), null, p_job_id::text);
  else
    perform pg_notify('pgboss_' || left(encode(sha224('pgboss'::bytea), 'hex'), 24), 'video.poll');
  end if;
  return true;
end
$$;

-- Safety net run periodically by one worker at a time. A job can only be left behind if its
-- pg-boss job was lost (retries exhausted by a database outage, a manual delete); then this
-- re-enqueues the step it was at, or fails it once it is past its deadline.
create function video_jobs_sweep(p_grace interval = interval '2 minutes')
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
        where b.name in ('video.submit', 'video.poll', 'video.transfer')
          and b.singleton_key = j.id::text and b.state in ('created', 'retry', 'active'))
    for update of j skip locked
  ), failed as (
    update video_jobs v set status = 'failed', error_code = 'deadline_exceeded',
      error_message = 'The video was not finished before its deadline (' || to_char(v.deadline, 'YYYY-MM-DD HH24:MI:SS TZ') || ').'
    from orphans o where v.id = o.id and o.deadline < now()
    returning v.id
  ), requeued as (
    select o.id, pgboss_enqueue(
      case o.status when 'rendering' then 'video.poll' when 'transferring' then 'video.transfer' else 'video.submit' end,
      jsonb_build_object('jobId', o.id), null, o.id::text) as pgboss_id,
      o.status
    from orphans o where o.deadline >= now()
  )
  select f.id, 'failed: deadline passed' from failed f
  union all
  select r.id, 're-enqueued ' || r.status::text from requeued r;
end
$$;
