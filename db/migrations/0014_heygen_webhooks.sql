-- HeyGen webhooks per account (issue 10). Each business's HeyGen account gets its own endpoint,
-- pointing at /api/heygen/webhook/<business id>; the endpoint's signing secret lives in Vault like
-- the API key (businesses.heygen_webhook_secret_id only points at it). The endpoint id, the URL it
-- was registered for and the last delivery time are plain columns: none of them is a credential.
--
-- Every SECURITY DEFINER function here pins search_path with pg_temp last, so a caller's temporary
-- objects cannot shadow the tables these functions read.

alter table businesses
  add column heygen_webhook_secret_id uuid,
  add column heygen_webhook_endpoint_id text,
  add column heygen_webhook_url text,
  add column heygen_webhook_registered_at timestamptz,
  add column heygen_webhook_last_delivery_at timestamptz,
  -- Why the last registration attempt failed, in words (never a secret); null after a success.
  add column heygen_webhook_error text,
  add constraint businesses_heygen_webhook_error_length check (length(heygen_webhook_error) <= 500),
  add constraint businesses_heygen_webhook_complete check (
    (heygen_webhook_endpoint_id is null) = (heygen_webhook_registered_at is null)
    and (heygen_webhook_endpoint_id is null) = (heygen_webhook_url is null)
  );

-- Event ids of verified deliveries. HeyGen retries a delivery for up to 24 hours with the same
-- Heygen-Event-Id, so ids are kept for 48 hours; older rows are removed as new deliveries arrive.
create table heygen_webhook_events (
  business_id uuid not null references businesses (id) on delete cascade,
  event_id text not null check (length(event_id) between 1 and 200),
  event_type text not null check (length(event_type) between 1 and 100),
  job_id uuid references video_jobs (id) on delete set null,
  received_at timestamptz not null default now(),
  primary key (business_id, event_id)
);
create index heygen_webhook_events_received_at on heygen_webhook_events (received_at);
revoke all on heygen_webhook_events from public;

do $$
begin
  if exists (select 1 from pg_roles where rolname = 'anon') then
    execute 'revoke all on heygen_webhook_events from anon, authenticated';
  end if;
  if to_regprocedure('auth.uid()') is not null then
    execute 'alter table heygen_webhook_events enable row level security';
  end if;
end
$$;

-- 0005's key functions get pg_temp pinned last too (set/delete are redefined below).
alter function get_heygen_key(uuid) set search_path = pg_catalog, public, pg_temp;
alter function has_heygen_key(uuid) set search_path = pg_catalog, public, pg_temp;
alter function heygen_key_check_caller(uuid) set search_path = pg_catalog, public, pg_temp;

-- Forgets the account's webhook: the secret leaves Vault, the columns are cleared. Internal.
create function heygen_webhook_forget(p_business_id uuid) returns void
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  v_secret uuid;
begin
  select heygen_webhook_secret_id into v_secret from businesses where id = p_business_id;
  if v_secret is not null then
    delete from vault.secrets where id = v_secret;
  end if;
  delete from vault.secrets where name = 'heygen_webhook_secret:' || p_business_id;
  update businesses set heygen_webhook_secret_id = null, heygen_webhook_endpoint_id = null,
    heygen_webhook_url = null, heygen_webhook_registered_at = null, heygen_webhook_error = null
  where id = p_business_id;
end
$$;

-- Same contract as 0005's, plus: a NOTIFY on heygen_key_changed (the business id, never the key)
-- so listening workers drop their cached key at once; and a different key is a different HeyGen
-- account, so the old account's webhook registration is forgotten (the app deletes the endpoint at HeyGen with the old
-- key before calling this; the worker registers the new account before its next submit).
create or replace function set_heygen_key(p_business_id uuid, p_new_key text) returns void
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  v_secret uuid;
  v_old text;
begin
  -- Messages here never include the key itself.
  if p_new_key is null or p_new_key = '' then
    raise exception 'set_heygen_key: the key is empty' using errcode = 'check_violation';
  end if;
  if length(p_new_key) > 500 then
    raise exception 'set_heygen_key: the key is too long (% characters; at most 500)', length(p_new_key) using errcode = 'check_violation';
  end if;
  if p_new_key ~ '[[:space:][:cntrl:]]' then
    raise exception 'set_heygen_key: the key contains spaces or control characters; paste it without surrounding whitespace' using errcode = 'check_violation';
  end if;
  select heygen_secret_id into v_secret from businesses where id = p_business_id for update;
  if not found then
    raise exception 'set_heygen_key: no business %', p_business_id using errcode = 'foreign_key_violation';
  end if;
  perform heygen_key_check_caller(p_business_id);

  select decrypted_secret into v_old from vault.decrypted_secrets where id = v_secret;
  if v_old is distinct from p_new_key then
    perform heygen_webhook_forget(p_business_id);
  end if;
  if v_secret is not null and exists (select 1 from vault.secrets where id = v_secret) then
    perform vault.update_secret(v_secret, p_new_key);
  else
    delete from vault.secrets where name = 'heygen_api_key:' || p_business_id;
    v_secret := vault.create_secret(p_new_key, 'heygen_api_key:' || p_business_id, 'HeyGen API key for business ' || p_business_id);
    update businesses set heygen_secret_id = v_secret where id = p_business_id;
  end if;
  perform pg_notify('heygen_key_changed', p_business_id::text);
end
$$;

-- Removes both secrets: the API key and the webhook signing secret.
create or replace function delete_heygen_key(p_business_id uuid) returns void
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  v_secret uuid;
begin
  select heygen_secret_id into v_secret from businesses where id = p_business_id for update;
  if not found then
    raise exception 'delete_heygen_key: no business %', p_business_id using errcode = 'foreign_key_violation';
  end if;
  perform heygen_key_check_caller(p_business_id);
  perform heygen_webhook_forget(p_business_id);
  -- Vault has no delete function; deleting the row is its documented way.
  if v_secret is not null then
    delete from vault.secrets where id = v_secret;
  end if;
  update businesses set heygen_secret_id = null where id = p_business_id;
  perform pg_notify('heygen_key_changed', p_business_id::text);
end
$$;

-- Records an endpoint just created at HeyGen with p_api_key. Saved only if that key is still the
-- business's key (it may have been replaced or removed while HeyGen answered); otherwise saved is
-- false and the caller deletes the endpoint it created. previous_endpoint_id is an endpoint this
-- one replaces, for the caller to delete at HeyGen.
create function save_heygen_webhook(p_business_id uuid, p_api_key text, p_endpoint_id text, p_url text, p_secret text)
returns table (saved boolean, previous_endpoint_id text)
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  b record;
  v_key text;
begin
  if p_endpoint_id is null or p_endpoint_id !~ '^[A-Za-z0-9_.:-]{1,200}$' then
    raise exception 'save_heygen_webhook: the endpoint id is missing or malformed' using errcode = 'check_violation';
  end if;
  if p_secret is null or length(p_secret) not between 8 and 500 then
    raise exception 'save_heygen_webhook: the secret is missing or has an implausible length' using errcode = 'check_violation';
  end if;
  if p_url is null or p_url !~ '^https?://' or length(p_url) > 2000 then
    raise exception 'save_heygen_webhook: the URL must be an http(s) URL' using errcode = 'check_violation';
  end if;
  select * into b from businesses where id = p_business_id for update;
  if not found then
    raise exception 'save_heygen_webhook: no business %', p_business_id using errcode = 'foreign_key_violation';
  end if;
  select decrypted_secret into v_key from vault.decrypted_secrets where id = b.heygen_secret_id;
  if v_key is null or v_key is distinct from p_api_key then
    return query select false, null::text;
    return;
  end if;
  if b.heygen_webhook_secret_id is not null and exists (select 1 from vault.secrets where id = b.heygen_webhook_secret_id) then
    perform vault.update_secret(b.heygen_webhook_secret_id, p_secret);
  else
    delete from vault.secrets where name = 'heygen_webhook_secret:' || p_business_id;
    update businesses set heygen_webhook_secret_id = vault.create_secret(p_secret, 'heygen_webhook_secret:' || p_business_id,
      'HeyGen webhook signing secret for business ' || p_business_id)
    where id = p_business_id;
  end if;
  update businesses set heygen_webhook_endpoint_id = p_endpoint_id, heygen_webhook_url = p_url,
    heygen_webhook_registered_at = now(), heygen_webhook_error = null
  where id = p_business_id;
  return query select true, nullif(b.heygen_webhook_endpoint_id, p_endpoint_id);
end
$$;

-- After the endpoint was deleted at HeyGen: forgets it, if it is still the registered one.
create function clear_heygen_webhook(p_business_id uuid, p_endpoint_id text) returns boolean
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
begin
  perform 1 from businesses where id = p_business_id and heygen_webhook_endpoint_id = p_endpoint_id for update;
  if not found then
    return false;
  end if;
  perform heygen_webhook_forget(p_business_id);
  return true;
end
$$;

-- The signing secret, for the webhook route to verify a delivery. Server role only.
create function get_heygen_webhook_secret(p_business_id uuid) returns text
language sql stable security definer set search_path = pg_catalog, public, pg_temp as $$
  select d.decrypted_secret
  from businesses b join vault.decrypted_secrets d on d.id = b.heygen_webhook_secret_id
  where b.id = p_business_id
$$;

-- A delivery whose signature and timestamp were verified. Finds the job (by HeyGen's video id,
-- within this business only), remembers the event id and wakes the job's poll, which re-reads the
-- status from HeyGen. Outcomes: accepted | duplicate | unknown_video. An unknown video changes
-- nothing; a repeated event id changes nothing.
create function heygen_webhook_receive(p_business_id uuid, p_event_id text, p_event_type text, p_video_id text)
returns text
language plpgsql as $$
declare
  v_job uuid;
  n int;
begin
  select id into v_job from video_jobs
  where business_id = p_business_id and heygen_video_id = p_video_id
  order by created_at desc limit 1;
  if v_job is null then
    return 'unknown_video';
  end if;
  delete from heygen_webhook_events where received_at < now() - interval '48 hours';
  insert into heygen_webhook_events (business_id, event_id, event_type, job_id)
  values (p_business_id, p_event_id, p_event_type, v_job)
  on conflict do nothing;
  get diagnostics n = row_count;
  if n = 0 then
    return 'duplicate';
  end if;
  update businesses set heygen_webhook_last_delivery_at = now() where id = p_business_id;
  perform video_jobs_wake_poll(v_job);
  return 'accepted';
end
$$;

revoke execute on function heygen_webhook_forget(uuid), save_heygen_webhook(uuid, text, text, text, text),
  clear_heygen_webhook(uuid, text), get_heygen_webhook_secret(uuid), heygen_webhook_receive(uuid, text, text, text)
  from public;
do $$
begin
  if exists (select 1 from pg_roles where rolname = 'anon') then
    execute 'revoke execute on function heygen_webhook_forget(uuid), save_heygen_webhook(uuid, text, text, text, text),
      clear_heygen_webhook(uuid, text), get_heygen_webhook_secret(uuid), heygen_webhook_receive(uuid, text, text, text)
      from anon, authenticated';
  end if;
end
$$;
grant execute on function save_heygen_webhook(uuid, text, text, text, text), clear_heygen_webhook(uuid, text),
  get_heygen_webhook_secret(uuid), heygen_webhook_receive(uuid, text, text, text) to service_role;
grant select, insert, delete on heygen_webhook_events to service_role;
