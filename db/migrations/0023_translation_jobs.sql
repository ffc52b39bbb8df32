-- Translation jobs (issue 21): one finished video, many languages, each a job of its own.
--
--   insert into video_jobs (kind, source_job_id, output_language)
--   select 'translation', $1, unnest($2::text[]);       -- one row per language, one statement
--
-- 1. video_jobs.kind ('avatar', the default and every earlier job, or 'translation'),
--    source_job_id (the completed job whose video is translated; content and business default
--    from it) and output_language (one of HeyGen's language names). A translation has no script,
--    avatar or voice: those columns become nullable, and video_jobs_kind_columns says which kind
--    has which. vtt_path: the WebVTT captions HeyGen makes for a translation (subtitles_path stays
--    the SRT file).
-- 2. heygen_languages: HeyGen's language names, written by the worker (heygen_languages_replace)
--    when a key is saved and daily. An output_language not on a non-empty list is refused (23514).
-- 3. One active translation per (source, language): the partial unique index
--    video_jobs_one_active_translation; the before-insert trigger reports it first, by name (23505).
--    The one-active-job-per-content rule stays, for avatar jobs only: translations of a video run
--    beside each other and beside a new render of the same content.
-- 4. Option specs per kind: video_job_option_specs gains job_kind (its `kind` column already says
--    the value's type) and default_value; the avatar rows are unchanged. A translation's options are
--    its kind's defaults (captions: true) overlaid with what the insert gave.
-- 5. Statuses, transitions, queues, render slots, events, retry, cancel, deadline and the sweep are
--    shared: a translation moves through the same statuses and pg-boss queues, and each step's
--    handler does its kind's work (worker/kinds/). See db/README.md, "Translations".
--
-- Functions restated here, each once, from their current form (db/schema.sql) with their settings:
-- video_jobs_before_insert, video_jobs_before_update, video_jobs_after_insert,
-- video_jobs_sync_content; video_jobs_check_options gains the kind (the one-argument form is dropped).

-- 1. Columns -------------------------------------------------------------------------------------
alter table video_jobs
  add column kind text not null default 'avatar',
  add column source_job_id uuid,
  add column output_language text,
  add column vtt_path text,
  alter column script drop not null,
  alter column avatar_id drop not null,
  alter column voice_id drop not null;

alter table video_jobs
  add constraint video_jobs_kind_check check (kind in ('avatar', 'translation')),
  add constraint video_jobs_source_job_fk foreign key (source_job_id) references video_jobs (id) on delete cascade,
  add constraint video_jobs_kind_columns check (
    (kind = 'avatar' and script is not null and avatar_id is not null and voice_id is not null
      and source_job_id is null and output_language is null)
    or (kind = 'translation' and script is null and avatar_id is null and voice_id is null
      and source_job_id is not null and output_language is not null));

comment on column video_jobs.kind is 'avatar (a HeyGen render of a script) or translation (HeyGen''s translation of source_job_id''s video into output_language).';
comment on column video_jobs.source_job_id is 'Translations: the completed job whose video is translated; content and business are its.';
comment on column video_jobs.output_language is 'Translations: one of HeyGen''s language names (heygen_languages), e.g. Spanish (Spain).';
comment on column video_jobs.vtt_path is 'WebVTT captions stored beside the video (translations with captions); subtitles_path is the SRT.';

-- One active avatar job per content, as before; translations are counted per source and language.
drop index video_jobs_one_active_per_content;
create unique index video_jobs_one_active_per_content on video_jobs (content_id)
  where video_jobs_is_active(status) and kind = 'avatar';
create unique index video_jobs_one_active_translation on video_jobs (source_job_id, output_language)
  where video_jobs_is_active(status) and source_job_id is not null;
-- A video's language versions (and the FK's cascade) without a scan.
create index video_jobs_source_idx on video_jobs (source_job_id, created_at desc) where source_job_id is not null;

-- 2. HeyGen's languages ----------------------------------------------------------------------------
create table heygen_languages (
  name text primary key check (length(name) between 1 and 100 and name !~ '[[:cntrl:]]'),
  refreshed_at timestamptz not null default now()
);
comment on table heygen_languages is 'The output language names HeyGen translates into (GET /v3/video-translations/languages), replaced by the worker when a key is saved and daily. Empty until first read: then any name is accepted and HeyGen judges it.';
-- Not business data, but Supabase grants new tables to its API roles: readable by all, written only
-- by heygen_languages_replace (owner).
alter table heygen_languages enable row level security;
create policy heygen_languages_read on heygen_languages for select using (true);
grant select on heygen_languages to service_role;

create function heygen_languages_replace(p_names text[]) returns integer
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  n int;
  bad text;
begin
  -- An empty or failed read never empties the list: that would switch the insert check off.
  if coalesce(cardinality(p_names), 0) = 0 then
    raise exception 'heygen_languages_replace: the list is empty; the current list is kept' using errcode = 'invalid_parameter_value';
  end if;
  select x into bad from unnest(p_names) x where x is null or length(x) not between 1 and 100 or x ~ '[[:cntrl:]]' limit 1;
  if found then
    raise exception 'heygen_languages_replace: "%" is not a language name (1 to 100 characters, no control characters)', left(bad, 100)
      using errcode = 'invalid_parameter_value';
  end if;
  delete from heygen_languages where name <> all (p_names);
  insert into heygen_languages as l (name, refreshed_at)
  select distinct x, now() from unnest(p_names) x
  on conflict (name) do update set refreshed_at = excluded.refreshed_at;
  select count(*)::int into n from heygen_languages;
  return n;
end
$$;
revoke execute on function heygen_languages_replace(text[]) from public;
grant execute on function heygen_languages_replace(text[]) to service_role;

-- 3. Option specs per kind ---------------------------------------------------------------------
alter table video_job_option_specs
  add column job_kind text not null default 'avatar' check (job_kind in ('avatar', 'translation')),
  add column default_value jsonb;
alter table video_job_option_specs drop constraint video_job_option_specs_pkey,
  add constraint video_job_option_specs_pkey primary key (job_kind, key);
alter table video_job_option_specs drop constraint video_job_option_specs_position_key,
  add constraint video_job_option_specs_position_key unique (job_kind, position);
comment on table video_job_option_specs is 'The keys video_jobs.options may carry per job kind (HeyGen v3), their defaults, and the retired v1/v2 keys with their replacement. Mirrors OPTION_SPECS and TRANSLATION_OPTION_SPECS in heygen/options.ts.';

insert into video_job_option_specs (job_kind, position, key, kind, enum_values, min, max, pattern, max_length, hint, default_value) values
  ('translation', 1, 'mode',               'enum',    array['speed', 'precision'], null, null, null, null, null, null),
  -- A translated video is watched with subtitles.
  ('translation', 2, 'captions',           'boolean', null, null, null, null, null, null, 'true'),
  ('translation', 3, 'audio_only',         'boolean', null, null, null, null, null, null, null),
  ('translation', 4, 'speech_enhancement', 'boolean', null, null, null, null, null, null, null),
  ('translation', 5, 'remove_music',       'boolean', null, null, null, null, null, null, null),
  ('translation', 6, 'title',              'string',  null, null, null, '^.+$', 200, 'a string of 1 to 200 characters', null);

drop function video_jobs_check_options(jsonb);
-- Checked on insert only (the before-insert trigger calls it): rows made before v3 keep their
-- options, and the worker translates the retired keys it can.
create function video_jobs_check_options(o jsonb, p_job_kind text) returns void
language plpgsql stable set search_path = pg_catalog, public, pg_temp as $$
declare
  k text;
  v jsonb;
  s video_job_option_specs;
  allowed text;
begin
  if o is null or jsonb_typeof(o) <> 'object' then
    raise exception 'video_jobs.options must be a JSON object, got %', coalesce(jsonb_typeof(o), 'null')
      using errcode = 'check_violation', column = 'options';
  end if;
  for k, v in select * from jsonb_each(o) loop
    select * into s from video_job_option_specs where job_kind = p_job_kind and key = k;
    if not found then
      select string_agg(key, ', ' order by position) into allowed from video_job_option_specs where job_kind = p_job_kind and kind <> 'retired';
      -- Avatar jobs keep the message they always had.
      raise exception 'video_jobs.options has unknown key "%"%; allowed keys: %', k,
        case when p_job_kind <> 'avatar' then ' for a ' || p_job_kind else '' end, allowed
        using errcode = 'check_violation', column = 'options';
    end if;
    if s.kind = 'retired' then
      raise exception 'video_jobs.options.% is a HeyGen v1/v2 option that v3 does not have: %', k, s.hint
        using errcode = 'check_violation', column = 'options';
    elsif s.kind = 'boolean' and jsonb_typeof(v) <> 'boolean' then
      raise exception 'video_jobs.options.% must be true or false, got %', k, v using errcode = 'check_violation', column = 'options';
    elsif s.kind = 'enum' and not (jsonb_typeof(v) = 'string' and (v #>> '{}') = any (s.enum_values)) then
      raise exception 'video_jobs.options.% must be one of %, got %', k, array_to_string(s.enum_values, ', '), v
        using errcode = 'check_violation', column = 'options';
    elsif s.kind = 'number' and not (jsonb_typeof(v) = 'number' and (v #>> '{}')::numeric between s.min and s.max) then
      raise exception 'video_jobs.options.% must be a number from % to %, got %', k, s.min, s.max, v
        using errcode = 'check_violation', column = 'options';
    elsif s.kind = 'string' and not (jsonb_typeof(v) = 'string' and length(v #>> '{}') <= s.max_length and (v #>> '{}') ~ s.pattern) then
      raise exception 'video_jobs.options.% must be %, got %', k, s.hint, left(v::text, 80) using errcode = 'check_violation', column = 'options';
    end if;
  end loop;
end
$$;
grant execute on function video_jobs_check_options(jsonb, text) to public;

-- 4. The insert ------------------------------------------------------------------------------------
-- Still one row trigger. An avatar job takes the same path, checks and errors, in the same order,
-- as before (its active-job lookup now counts avatar jobs only). A translation looks up its source
-- (with the business and the active translation of the same language) in one query instead of the
-- content, and has its own refusals; the shared checks (status, progress columns, key, options,
-- deadline) are the same lines for both.
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
  v_translation boolean := new.kind = 'translation';
  v_source_content uuid;
  v_source_status video_job_status;
begin
  if v_translation then
    if new.source_job_id is null then
      raise exception 'video_jobs.source_job_id is required for a translation: the completed job whose video is translated'
        using errcode = 'not_null_violation', detail = 'source_required', column = 'source_job_id';
    end if;
    -- The source, its business and the active translation into the same language in one lookup;
    -- the active one is reported last, as for avatar jobs.
    select s.business_id, s.content_id, s.status, b.heygen_secret_id is not null, a.id, a.status
      into v_business, v_source_content, v_source_status, v_has_key, active_id, active_status
    from video_jobs s
    join businesses b on b.id = s.business_id
    left join lateral (
      select v.id, v.status from video_jobs v
      where v.source_job_id = s.id and v.output_language = new.output_language and video_jobs_is_active(v.status)
        and (new.idempotency_key is null or v.idempotency_key is distinct from new.idempotency_key)
      limit 1
    ) a on true
    where s.id = new.source_job_id;
    if not found then
      raise exception 'video_jobs.source_job_id %: no such video job', new.source_job_id
        using errcode = 'foreign_key_violation', detail = 'source_not_found', column = 'source_job_id';
    end if;
    if new.business_id is not null and new.business_id <> v_business then
      raise exception 'video_jobs: source job % belongs to another business, not %', new.source_job_id, new.business_id
        using errcode = 'foreign_key_violation', detail = 'source_other_business', column = 'source_job_id';
    end if;
    if new.content_id is not null and new.content_id <> v_source_content then
      raise exception 'video_jobs: a translation belongs to its source''s content %, not %', v_source_content, new.content_id
        using errcode = 'check_violation', detail = 'source_other_content', column = 'content_id', hint = 'Leave content_id out.';
    end if;
    new.business_id := v_business;
    new.content_id := v_source_content;
  elsif new.kind is distinct from 'avatar' then
    raise exception 'video_jobs.kind must be avatar or translation, got %', coalesce(new.kind, 'null')
      using errcode = 'check_violation', detail = 'kind_invalid', column = 'kind';
  else
    if new.content_id is null then
      raise exception 'video_jobs.content_id is required' using errcode = 'not_null_violation', detail = 'content_required';
    end if;
    -- content.business_id references businesses, so the join finds the business whenever the
    -- content exists. The active job is read here and reported last.
    select c.business_id, c.body, b.heygen_avatar_id, b.heygen_voice_id, b.heygen_secret_id is not null, a.id, a.status
      into v_business, v_body, v_avatar, v_voice, v_has_key, active_id, active_status
    from content c
    join businesses b on b.id = c.business_id
    left join lateral (
      -- A retried request with the same idempotency key is left to ON CONFLICT (idempotency_key).
      select v.id, v.status from video_jobs v
      where v.content_id = c.id and video_jobs_is_active(v.status) and v.kind = 'avatar'
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

  if v_translation then
    bad := case when new.script is not null then 'script' when new.avatar_id is not null then 'avatar_id'
                when new.voice_id is not null then 'voice_id' end;
    if bad is not null then
      raise exception 'video_jobs.%: a translation keeps the source video''s words, avatar and voice; leave % out', bad, bad
        using errcode = 'check_violation', detail = 'translation_' || bad || '_given', column = bad;
    end if;
    if v_source_status <> 'completed' then
      raise exception 'video_jobs.source_job_id %: the source job is %; only a completed video can be translated', new.source_job_id, v_source_status
        using errcode = 'check_violation', detail = 'source_not_completed', column = 'source_job_id';
    end if;
    if new.output_language is null then
      raise exception 'video_jobs.output_language is required for a translation (one of HeyGen''s language names, e.g. Spanish (Spain))'
        using errcode = 'not_null_violation', detail = 'language_required', column = 'output_language',
              hint = 'select name from heygen_languages order by name';
    end if;
    if length(new.output_language) not between 1 and 100 or new.output_language ~ '[[:cntrl:]]'
       or (not exists (select 1 from heygen_languages where name = new.output_language) and exists (select 1 from heygen_languages)) then
      raise exception 'video_jobs.output_language "%" is not one of HeyGen''s language names', left(new.output_language, 100)
        using errcode = 'check_violation', detail = 'language_unknown', column = 'output_language',
              hint = 'select name from heygen_languages order by name';
    end if;
  else
    if new.script is not null and btrim(new.script, E' \t\r\n') = '' then
      raise exception 'video_jobs.script is empty; leave it out to use the content''s body'
        using errcode = 'check_violation', detail = 'script_blank', column = 'script';
    end if;
    new.script := btrim(coalesce(new.script, v_body), E' \t\r\n');
    if new.script = '' then
      raise exception 'video_jobs.script is empty: content % has no body and no script was given', new.content_id
        using errcode = 'check_violation', detail = 'script_empty', column = 'script';
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
  end if;
  if not v_has_key then
    raise exception 'video_jobs: business % has no HeyGen API key', v_business
      using errcode = 'check_violation', detail = 'api_key_missing', hint = 'Save one with select set_heygen_key(business_id, key).';
  end if;

  if v_translation then
    -- The kind's defaults (captions: true), overlaid with what was given.
    new.options := coalesce((select jsonb_object_agg(key, default_value) from video_job_option_specs
                             where job_kind = 'translation' and default_value is not null), '{}'::jsonb)
                   || coalesce(new.options, '{}'::jsonb);
  end if;
  if new.options is null then
    new.options := '{}'::jsonb;
  elsif new.options <> '{}'::jsonb then
    perform video_jobs_check_options(new.options, new.kind);
  end if;

  if new.deadline is null then
    new.deadline := now() + interval '60 minutes';
  elsif new.deadline <= now() then
    raise exception 'video_jobs.deadline % is in the past', new.deadline using errcode = 'check_violation', detail = 'deadline_past';
  end if;
  new.requested_by := coalesce(new.requested_by, video_jobs_actor());
  new.created_at := now();
  new.updated_at := now();

  if active_id is not null and v_translation then
    raise exception 'video_jobs: source job % already has an active translation into % (job %, %)', new.source_job_id, new.output_language, active_id, active_status
      using errcode = 'unique_violation', detail = 'active_translation_exists', constraint = 'video_jobs_one_active_translation',
            column = 'output_language', hint = 'Wait for it to finish or cancel it with select cancel_video_job(id).';
  elsif active_id is not null then
    raise exception 'video_jobs: content % already has an active video job % (%)', new.content_id, active_id, active_status
      using errcode = 'unique_violation', detail = 'active_job_exists', constraint = 'video_jobs_one_active_per_content', hint = 'Wait for it to finish or cancel it with select cancel_video_job(id).';
  end if;

  if new.heygen_idempotency_key is not null or new.heygen_submitted_at is not null or new.heygen_completed_at is not null
     or new.thumbnail_path is not null or new.subtitles_path is not null or new.vtt_path is not null then
    raise exception 'video_jobs: progress columns (heygen_idempotency_key, heygen_submitted_at, heygen_completed_at, thumbnail_path, subtitles_path, vtt_path) are set by the worker; leave them out of the insert'
      using errcode = 'check_violation';
  end if;

  if not isfinite(new.deadline) then
    raise exception 'video_jobs.deadline must be a real point in time, got %', new.deadline
      using errcode = 'check_violation', detail = 'deadline_not_finite', hint = 'Leave it out for the default (60 minutes), or give a time within 7 days.';
  end if;
  if new.deadline > now() + interval '7 days' then
    raise exception 'video_jobs.deadline % is more than 7 days away; give a time within 7 days', new.deadline
      using errcode = 'check_violation', detail = 'deadline_too_far';
  end if;
  if v_translation then
    return new;
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
  -- Characters that render as nothing: Unicode spaces, zero-width characters, joiners, bidi marks,
  -- fillers (Hangul U+115F, U+1160, U+3164, U+FFA0; braille blank U+2800), the combining grapheme
  -- joiner, variation selectors (U+FE00-FE0F, U+E0100-E01EF) and tag characters (U+E0000-E007F,
  -- with the rest of that default-ignorable block). A script of only these is empty to a viewer.
  -- web/lib/server/text-rules.ts (INVISIBLE) holds the same set for the forms. A first character
  -- from '!' to '~' is visible, which settles it for most scripts without a search.
  if not ascii(new.script) between 33 and 126
     and new.script !~ '[^[:space:]\u00a0\u00ad\u034f\u061c\u115f\u1160\u1680\u17b4\u17b5\u180b-\u180f\u2000-\u200f\u2028-\u202f\u205f-\u2064\u2066-\u206f\u2800\u3000\u3164\ufe00-\ufe0f\ufeff\uffa0\U000e0000-\U000e0fff]' then
    raise exception 'video_jobs.script is empty: it has only spaces or invisible characters'
      using errcode = 'check_violation', detail = 'script_invisible', column = 'script';
  end if;
  return new;
end
$$;

-- 5. Updates: the kind, source and language are fixed like the script; a retry forgets the VTT too.
create or replace function video_jobs_before_update() returns trigger
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  v_kind text;
begin
  if new.id <> old.id or new.business_id <> old.business_id or new.content_id <> old.content_id
     or new.script is distinct from old.script or new.avatar_id is distinct from old.avatar_id
     or new.voice_id is distinct from old.voice_id
     or new.kind <> old.kind or new.source_job_id is distinct from old.source_job_id
     or new.output_language is distinct from old.output_language
     or new.options <> old.options or new.created_at <> old.created_at
     or new.requested_by is distinct from old.requested_by
     or new.idempotency_key is distinct from old.idempotency_key then
    raise exception 'video_jobs %: id, business, content, kind, source, language, script, avatar, voice, options, requester and idempotency key are fixed when the job is created', old.id
      using errcode = 'check_violation', hint = 'Insert a new job instead.';
  end if;

  if new.status = old.status then
    if not video_jobs_is_active(old.status) and new is distinct from old then
      raise exception 'video_jobs %: job is % and can no longer change', old.id, old.status
        using errcode = 'check_violation', hint = case when old.status = 'completed' then 'Insert a new job for a new video.' else 'Retry it with select retry_video_job(id).' end;
    end if;
    new.updated_at := now();
  else
    select t.kind into v_kind from video_job_transitions t where t.from_status = old.status and t.to_status = new.status;
    if v_kind is null then
      raise exception 'video_jobs %: illegal status change % -> %', old.id, old.status, new.status
        using errcode = 'check_violation',
              hint = 'Allowed: queued -> submitting -> rendering -> transferring -> completed; any active state -> failed or canceled; failed or canceled -> queued (retry).';
    end if;

    new.updated_at := now();
    if new.status = 'submitting' and new.started_at is null then
      new.started_at := now();
    end if;
    if not video_jobs_is_active(new.status) then
      new.completed_at := now();
    end if;
    if new.status = 'canceled' then
      new.error_code := coalesce(new.error_code, 'canceled');
      new.error_message := coalesce(new.error_message, 'Canceled by ' || video_jobs_actor());
    end if;
    if v_kind = 'retry' then
      -- A retry is a fresh attempt: forget the previous attempt's progress, every per-attempt
      -- counter starts again, and it gets a new HeyGen idempotency key.
      new.attempt := old.attempt + 1;
      new.heygen_video_id := null; new.heygen_url := null; new.thumbnail_url := null;
      new.duration_seconds := null; new.storage_path := null; new.video_url := null; new.size_bytes := null;
      new.error_code := null; new.error_message := null; new.last_error := null; new.last_heygen_status := null;
      new.started_at := null; new.completed_at := null;
      new.submit_count := 0; new.poll_count := 0; new.transfer_count := 0;
      new.heygen_idempotency_key := null; new.heygen_submitted_at := null; new.heygen_completed_at := null;
      new.thumbnail_path := null; new.subtitles_path := null; new.vtt_path := null;
      if new.deadline is not distinct from old.deadline or new.deadline <= now() then
        new.deadline := now() + interval '60 minutes';
      end if;
    end if;
  end if;

  if v_kind is distinct from 'retry' and old.heygen_idempotency_key is not null
     and new.heygen_idempotency_key is distinct from old.heygen_idempotency_key then
    raise exception 'video_jobs %: the HeyGen idempotency key of an attempt cannot change (it keeps HeyGen from making a second video)', old.id
      using errcode = 'check_violation';
  end if;

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

-- 6. Content shows its own video: translations leave content's video columns alone, and their
-- first event says what they are (the history and audit pages read it).
create or replace function video_jobs_after_insert() returns trigger
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  notified int;
  v_actor text := video_jobs_actor();
begin
  with ev as (
    insert into video_job_events (job_id, business_id, content_id, from_status, to_status, detail, actor)
    select n.id, n.business_id, n.content_id, null, n.status,
           jsonb_strip_nulls(jsonb_build_object('attempt', n.attempt, 'idempotency_key', n.idempotency_key,
             'kind', nullif(n.kind, 'avatar'), 'source_job_id', n.source_job_id, 'output_language', n.output_language)),
           v_actor
    from new_rows n
    returning id, job_id, business_id, content_id, to_status
  )
  select count(pg_notify('video_jobs', json_build_object(
           'event_id', ev.id, 'id', ev.job_id, 'content_id', ev.content_id,
           'business_id', ev.business_id, 'status', ev.to_status)::text))
  into notified from ev;

  -- What video_jobs_sync_content writes for these rows. Every new job is active, so the unique
  -- index leaves at most one avatar job per content, and none has a video yet (the before-insert
  -- trigger refuses those columns): video_long_url keeps the last stored video.
  update content c set
    heygen_video_id = n.heygen_video_id,
    heygen_status = n.status::text,
    heygen_url = n.heygen_url,
    video_long_url = coalesce(n.video_url, c.video_long_url)
  from new_rows n
  where c.id = n.content_id and n.kind = 'avatar';

  perform pgboss_enqueue_many(video_jobs_step_queue('queued'),
    array(select jsonb_build_object('jobId', n.id) from new_rows n order by n.id),
    array(select n.id::text from new_rows n order by n.id));
  return null;
end
$$;

create or replace function video_jobs_sync_content(jobs video_jobs[]) returns void
language plpgsql security definer set search_path = pg_catalog, public, pg_temp set plan_cache_mode = force_generic_plan as $$
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
  from (select distinct on (content_id) * from unnest(jobs) where kind = 'avatar' order by content_id, updated_at desc) j
  where c.id = j.content_id;
end
$$;
