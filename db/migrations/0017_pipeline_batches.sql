-- Fewer round trips per pipeline step (issue 13). A worker step used to change a job in five
-- round trips (begin; lock and re-read; update; cancel + enqueue the next step; commit). These
-- functions do the same work, with the same guarantees, inside one statement: the row is locked,
-- its status checked against what the step expects, the patch applied (the video_jobs triggers
-- still validate the transition and write the one event), and the next pg-boss step enqueued,
-- all atomically. New functions only: the video_jobs triggers are untouched.

-- Applies `p_patch` (column → value, as JSON) to job `p_id` if its status is one of `p_from`, and
-- enqueues `p_queue` after `p_delay_seconds` (replacing a pending delivery of that step). Returns
-- the updated row, or no row when the job has moved on (then nothing is written or enqueued).
-- Only the columns named in the patch are written, as a hand-written UPDATE would.
create function video_jobs_apply(
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
    select string_agg(format('%I = ($1).%I', k, k), ', ') into sets from jsonb_object_keys(p_patch) k;
    execute format('update video_jobs set %s where id = ($1).id returning *', sets) into done using want;
  end if;
  if p_queue is not null then
    perform pgboss_cancel_for_video_jobs(array[p_id], array[p_queue]);
    perform pgboss_enqueue(
      p_queue,
      jsonb_build_object('jobId', p_id),
      case when p_delay_seconds > 0 then now() + make_interval(secs => p_delay_seconds) end,
      p_id::text
    );
  end if;
  return next done;
end
$$;

-- Many video_jobs_apply in one statement: `p_items` is a JSON array of
-- {id, from: [status…], patch: {…}, queue?, delay_seconds?}. Each job is locked, checked, changed
-- and enqueued exactly as by video_jobs_apply (in id order, so two batches cannot deadlock on each
-- other); returns the rows that changed. A batch of due polls settles in one round trip.
create function video_jobs_apply_many(p_items jsonb, p_actor text) returns setof video_jobs
language plpgsql as $$
declare
  it jsonb;
begin
  if jsonb_typeof(p_items) is distinct from 'array' then
    raise exception 'video_jobs_apply_many: the items must be a JSON array' using errcode = '22023';
  end if;
  for it in select e from jsonb_array_elements(p_items) e order by (e->>'id')::uuid loop
    return query select * from video_jobs_apply(
      (it->>'id')::uuid,
      array(select jsonb_array_elements_text(it->'from'))::video_job_status[],
      coalesce(it->'patch', '{}'::jsonb),
      p_actor,
      it->>'queue',
      (it->>'delay_seconds')::float8
    );
  end loop;
end
$$;

-- The worker's tools, not the app's: Supabase roles do not get them.
revoke execute on function video_jobs_apply(uuid, video_job_status[], jsonb, text, text, float8),
  video_jobs_apply_many(jsonb, text) from public;
do $$
begin
  if exists (select 1 from pg_roles where rolname = 'anon') then
    revoke execute on function video_jobs_apply(uuid, video_job_status[], jsonb, text, text, float8),
      video_jobs_apply_many(jsonb, text) from anon, authenticated;
  end if;
end
$$;

-- The start of a submit (JobStore.claimSubmit) in one round trip instead of seven, with the same
-- steps: lock the job; a `submitting` job is resumed; a `queued` one starts only while its
-- business has a free render slot (the business row is locked, then the slots counted), else
-- its submit is scheduled again after `p_wait_seconds`. Returns the job row (changed when it
-- started or resumed) and sets `video_jobs.claim` for this transaction to
-- 'started' | 'resumed' | 'wait:<in flight>:<limit>'; no row when the job has moved on.
create function video_jobs_claim_submit(p_id uuid, p_wait_seconds float8, p_actor text) returns setof video_jobs
language plpgsql as $$
declare
  cur video_jobs;
  done video_jobs;
  v_limit int;
  v_in_flight int;
begin
  perform set_config('video_jobs.actor', p_actor, true);
  perform set_config('video_jobs.claim', '', true);
  select * into cur from video_jobs where id = p_id for update;
  if not found or cur.status not in ('queued', 'submitting') then
    return;
  end if;
  -- See JobStore.claimSubmit: the claim is safe to lose in a crash, so its commit does not wait
  -- for the WAL flush, and one business's claims do not queue behind each other's fsync.
  perform set_config('synchronous_commit', 'off', true);
  if cur.status = 'queued' then
    perform 1 from businesses where id = cur.business_id for no key update;
    select b.heygen_concurrency,
           (select count(*)::int from video_jobs v where v.business_id = b.id and v.status in ('submitting', 'rendering'))
      into v_limit, v_in_flight
      from businesses b where b.id = cur.business_id;
    if v_limit is not null and v_in_flight >= v_limit then
      perform pgboss_cancel_for_video_jobs(array[p_id], array['video.submit']);
      perform pgboss_enqueue('video.submit', jsonb_build_object('jobId', p_id),
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

revoke execute on function video_jobs_claim_submit(uuid, float8, text) from public;
do $$
begin
  if exists (select 1 from pg_roles where rolname = 'anon') then
    revoke execute on function video_jobs_claim_submit(uuid, float8, text) from anon, authenticated;
  end if;
end
$$;
