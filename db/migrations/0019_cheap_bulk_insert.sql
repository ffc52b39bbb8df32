-- A bulk `insert into video_jobs` paid ~130 µs per row in triggers (bench:enqueue, 5,000 rows):
-- three before-insert row triggers, each a plpgsql call with its own GUC save/restore, four or
-- more queries per row (content, business, every option key, the active job), and two regexes
-- that walk the whole script. Same checks, same errors, same order; less work per row:
--
-- 1. One before-insert row trigger instead of three. video_jobs_before_insert now also does what
--    video_jobs_before_insert_v3 (0012) and the insert half of video_jobs_check_input (0013) did,
--    after its own checks, so a row with several problems still reports the same one first.
--    video_jobs_check_input stays for updates only, and runs only when the deadline changes.
-- 2. One query per row: the content, its business and the content's active job in one lookup.
-- 3. Nothing done that cannot fail: empty options are not looked up in video_job_option_specs;
--    an avatar or voice taken from the business is not re-checked (businesses_heygen_avatar_id_check
--    and businesses_heygen_voice_id_check hold the same pattern); a script that starts with a
--    visible ASCII character is not searched for visible characters.
-- 4. Cheaper equivalent checks: `^[A-Za-z0-9_.:-]{1,200}$` expands to 200 copies of the class in
--    the regex engine; length ≤ 200 and no character outside the class says the same (the value
--    is never empty there). "Only invisible characters" is "no character outside the invisible
--    set", a search that stops at the first visible one, instead of deleting them all and
--    comparing with ''.
-- 5. The after-insert statement trigger writes content's video columns from the new rows
--    directly instead of first packing every new row (script included) into a video_jobs[] for
--    video_jobs_sync_content, and reads the actor once per statement.
--
-- What stays per row, and why: the defaults (business_id, script, avatar_id, voice_id are NOT NULL,
-- so they must be filled before the row exists), and the active-job check: the unique index
-- video_jobs_one_active_per_content rejects the row the moment it is inserted, before any
-- statement-level trigger could run, so the clearer error has to come first. It also still sees
-- earlier rows of the same statement (two rows for one content in one insert).
--
-- Still SECURITY DEFINER with a pinned search_path: a writer needs no rights on businesses'
-- secrets column, content's video columns, the audit trail or pg-boss, and a caller's temp tables
-- cannot stand in for content. Measured: the definer switch and search_path are not what cost.

create or replace function video_jobs_before_insert() returns trigger
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  v_business uuid;
  v_body text;
  v_avatar text;
  v_voice text;
  v_has_key boolean;
  active_id uuid;
  active_status video_job_status;
  bad text;
begin
  if new.content_id is null then
    raise exception 'video_jobs.content_id is required' using errcode = 'not_null_violation', detail = 'content_required';
  end if;
  -- content.business_id references businesses, so the join finds the business whenever the
  -- content exists. The active job is read here and reported last, where the check used to be.
  select c.business_id, c.body, b.heygen_avatar_id, b.heygen_voice_id, b.heygen_secret_id is not null, a.id, a.status
    into v_business, v_body, v_avatar, v_voice, v_has_key, active_id, active_status
  from content c
  join businesses b on b.id = c.business_id
  left join lateral (
    -- A retried request with the same idempotency key is left to ON CONFLICT (idempotency_key).
    select v.id, v.status from video_jobs v
    where v.content_id = c.id and video_jobs_is_active(v.status)
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
  new.script := btrim(coalesce(new.script, v_body), E' \t\r\n');
  if new.script = '' then
    raise exception 'video_jobs.script is empty: content % has no body and no script was given', new.content_id
      using errcode = 'check_violation', detail = 'script_empty';
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
  if not v_has_key then
    raise exception 'video_jobs: business % has no HeyGen API key', v_business
      using errcode = 'check_violation', detail = 'api_key_missing', hint = 'Save one with select set_heygen_key(business_id, key).';
  end if;

  if new.options is null then
    new.options := '{}'::jsonb;
  elsif new.options <> '{}'::jsonb then
    perform video_jobs_check_options(new.options);
  end if;

  if new.deadline is null then
    new.deadline := now() + interval '60 minutes';
  elsif new.deadline <= now() then
    raise exception 'video_jobs.deadline % is in the past', new.deadline using errcode = 'check_violation', detail = 'deadline_past';
  end if;
  new.requested_by := coalesce(new.requested_by, video_jobs_actor());
  new.created_at := now();
  new.updated_at := now();

  if active_id is not null then
    raise exception 'video_jobs: content % already has an active video job % (%)', new.content_id, active_id, active_status
      using errcode = 'unique_violation', detail = 'active_job_exists', constraint = 'video_jobs_one_active_per_content', hint = 'Wait for it to finish or cancel it with select cancel_video_job(id).';
  end if;

  -- Formerly video_jobs_before_insert_v3 (0012): the v3 progress columns are the worker's too.
  if new.heygen_idempotency_key is not null or new.heygen_submitted_at is not null or new.heygen_completed_at is not null
     or new.thumbnail_path is not null or new.subtitles_path is not null then
    raise exception 'video_jobs: progress columns (heygen_idempotency_key, heygen_submitted_at, heygen_completed_at, thumbnail_path, subtitles_path) are set by the worker; leave them out of the insert'
      using errcode = 'check_violation';
  end if;

  -- Formerly the insert half of video_jobs_check_input (0013): deadlines and scripts that crash
  -- or waste a render.
  if not isfinite(new.deadline) then
    raise exception 'video_jobs.deadline must be a real point in time, got %', new.deadline
      using errcode = 'check_violation', detail = 'deadline_not_finite', hint = 'Leave it out for the default (60 minutes), or give a time within 7 days.';
  end if;
  if new.deadline > now() + interval '7 days' then
    raise exception 'video_jobs.deadline % is more than 7 days away; give a time within 7 days', new.deadline
      using errcode = 'check_violation', detail = 'deadline_too_far';
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
  -- Unicode spaces and characters that render as nothing (zero-width, joiners, bidi marks,
  -- variation selectors, fillers): a script of only these is empty to a viewer. A first
  -- character from '!' to '~' is visible, which settles it for most scripts without a search.
  if not ascii(new.script) between 33 and 126
     and new.script !~ '[^[:space:]\u00a0\u00ad\u034f\u061c\u115f\u1160\u1680\u17b4\u17b5\u180b-\u180e\u2000-\u200f\u2028-\u202f\u205f-\u2064\u2066-\u206f\u3000\u3164\ufe00-\ufe0f\ufeff\uffa0]' then
    raise exception 'video_jobs.script is empty: it has only spaces or invisible characters'
      using errcode = 'check_violation', detail = 'script_invisible';
  end if;
  return new;
end
$$;

drop trigger video_jobs_before_insert_v3 on video_jobs;
drop function video_jobs_before_insert_v3();

-- Updates only now: a deadline moved later must still be a real time within 7 days. The WHEN
-- keeps the call off the many updates that leave the deadline alone (poll counters, transitions).
create or replace function video_jobs_check_input() returns trigger
language plpgsql set search_path = pg_catalog, public, pg_temp as $$
begin
  if new.deadline is not null and new.deadline is distinct from old.deadline then
    if not isfinite(new.deadline) then
      raise exception 'video_jobs.deadline must be a real point in time, got %', new.deadline
        using errcode = 'check_violation', detail = 'deadline_not_finite', hint = 'Leave it out for the default (60 minutes), or give a time within 7 days.';
    end if;
    if new.deadline > now() + interval '7 days' then
      raise exception 'video_jobs.deadline % is more than 7 days away; give a time within 7 days', new.deadline
        using errcode = 'check_violation', detail = 'deadline_too_far';
    end if;
  end if;
  return new;
end
$$;
drop trigger video_jobs_check_input on video_jobs;
-- Still named check_… so it runs after video_jobs_before_update (triggers of one kind run in
-- name order), which sets a retried job's new deadline.
create trigger video_jobs_check_input before update on video_jobs
  for each row when (new.deadline is distinct from old.deadline)
  execute function video_jobs_check_input();

create or replace function video_jobs_after_insert() returns trigger
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  notified int;
  v_actor text := video_jobs_actor();
begin
  with ev as (
    insert into video_job_events (job_id, business_id, content_id, from_status, to_status, detail, actor)
    select n.id, n.business_id, n.content_id, null, n.status,
           jsonb_strip_nulls(jsonb_build_object('attempt', n.attempt, 'idempotency_key', n.idempotency_key)),
           v_actor
    from new_rows n
    returning id, job_id, business_id, content_id, to_status
  )
  select count(pg_notify('video_jobs', json_build_object(
           'event_id', ev.id, 'id', ev.job_id, 'content_id', ev.content_id,
           'business_id', ev.business_id, 'status', ev.to_status)::text))
  into notified from ev;

  -- What video_jobs_sync_content writes for these rows. Every new job is active, so the unique
  -- index leaves at most one per content, and none has a video yet (the before-insert trigger
  -- refuses those columns): video_long_url keeps the last stored video.
  update content c set
    heygen_video_id = n.heygen_video_id,
    heygen_status = n.status::text,
    heygen_url = n.heygen_url,
    video_long_url = coalesce(n.video_url, c.video_long_url)
  from new_rows n
  where c.id = n.content_id;

  perform pgboss_enqueue_many('video.submit',
    array(select jsonb_build_object('jobId', n.id) from new_rows n order by n.id),
    array(select n.id::text from new_rows n order by n.id));
  return null;
end
$$;
