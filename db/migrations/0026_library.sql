-- The video library and the content list (issue 24): keyset indexes, and deleting content.
--
-- 1. Keyset paging. Each order a list offers has an index whose columns are the order plus the id
--    (the tie-breaker), so "the page after (key, id)" is a range scan that stops after one page,
--    however deep the page: content by last change, by creation, by title (case-insensitive);
--    a business's jobs newest first (the library and the Jobs page). The two older indexes with
--    the same leading columns are replaced under their names, not kept beside the new ones.
-- 2. delete_content(content_id): deletes a piece of content, refused while one of its jobs is
--    active. Its jobs go with it (video_jobs references content on delete cascade); what they
--    were stays in video_job_events (no foreign key, append-only), and one more event per job
--    records the deletion (detail {"event": "content_deleted", ...}, status unchanged). It
--    returns the storage paths of the files its jobs stored (and that were not removed already,
--    files_removed_at), for the caller to remove from Storage (the web app does so right after).
-- 3. Events that note something about a job without moving it (from_status = to_status, like
--    the deletion above) are not counted as failures or step durations by /metrics.

drop index content_business_updated_idx;
create index content_business_updated_idx on content (business_id, updated_at desc, id desc);
create index content_business_created_idx on content (business_id, created_at desc, id desc);
create index content_business_title_idx on content (business_id, lower(title), id);

drop index video_jobs_business_idx;
create index video_jobs_business_idx on video_jobs (business_id, created_at desc, id desc);

drop trigger video_job_events_count on video_job_events;
create trigger video_job_events_count after insert on video_job_events for each row
  when (new.to_status in ('transferring', 'completed', 'failed') and new.from_status is distinct from new.to_status)
  execute function video_job_events_count();

create function delete_content(p_content_id uuid) returns table (storage_path text)
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  c content;
  active_job uuid;
  active_status video_job_status;
begin
  -- The row lock also waits for (and then defeats) a job insert for this content in flight: the
  -- insert's foreign key check holds a lock on the same row.
  select * into c from content where id = p_content_id for update;
  if not found then
    raise exception 'delete_content: no content %', p_content_id using errcode = 'no_data_found', detail = 'content_not_found';
  end if;
  perform business_check_manager(c.business_id, 'delete content');
  select j.id, j.status into active_job, active_status
  from video_jobs j where j.content_id = p_content_id and video_jobs_is_active(j.status)
  order by j.created_at limit 1 for update;
  if active_job is not null then
    raise exception 'delete_content: content % has a video job in progress (job %, %); cancel it or wait for it to finish first',
        p_content_id, active_job, active_status
      using errcode = 'check_violation', detail = 'content_has_active_job', hint = 'Cancel it with select cancel_video_job(id).';
  end if;
  insert into video_job_events (job_id, business_id, content_id, from_status, to_status, detail, actor)
  select j.id, j.business_id, j.content_id, j.status, j.status,
         jsonb_build_object('event', 'content_deleted', 'title', c.title, 'kind', j.kind, 'attempt', j.attempt)
           || jsonb_strip_nulls(jsonb_build_object('storage_path', j.storage_path, 'output_language', j.output_language)),
         video_jobs_actor()
  from video_jobs j where j.content_id = p_content_id
  order by j.created_at, j.id;
  return query
    select p from video_jobs j
    cross join lateral unnest(array[j.storage_path, j.thumbnail_path, j.subtitles_path, j.vtt_path]) as p
    where j.content_id = p_content_id and j.files_removed_at is null and p is not null;
  delete from content where id = p_content_id;
end
$$;
comment on function delete_content(uuid) is
  'Deletes a content and its jobs (refused while a job is active, detail content_has_active_job); the jobs'' events stay, with one content_deleted event each. Returns the storage paths to remove.';
revoke execute on function delete_content(uuid) from public, anon, authenticated;
grant execute on function delete_content(uuid) to service_role;
