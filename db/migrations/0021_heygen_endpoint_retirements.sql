-- Replacing or removing a HeyGen key from SQL no longer leaves the old account's webhook endpoint
-- registered at HeyGen. Only the old key can reach the old account, so set_heygen_key and
-- delete_heygen_key no longer destroy it at once when the business has an endpoint: the old key's
-- Vault secret (renamed, still encrypted) and the endpoint id go into heygen_endpoint_retirements.
-- A worker (woken by the heygen_key_changed NOTIFY these functions already send) deletes the
-- endpoint at HeyGen with the old key, records the outcome here, and the old secret leaves Vault
-- in the same statement. Best effort: a refusal by HeyGen is recorded, never retried forever.
-- The settings page deletes the endpoint itself before it calls these functions, so for it there
-- is nothing left to retire and the old secret goes at once, as before.

create table heygen_endpoint_retirements (
  id bigint generated always as identity primary key,
  -- No foreign key: the record outlives a deleted business, for the DBA reading it.
  business_id uuid not null,
  endpoint_id text not null check (endpoint_id ~ '^[A-Za-z0-9_.:-]{1,200}$'),
  reason text not null check (reason in ('key_replaced', 'key_deleted')),
  -- The old key's Vault secret while the retirement is pending; null once it is finished (the secret is gone).
  key_secret_id uuid,
  created_at timestamptz not null default now(),
  attempts int not null default 0 check (attempts >= 0),
  -- Not before: a claimed retirement is a worker's until then (a worker that died releases it this way).
  next_try_at timestamptz not null default now(),
  -- deleted: gone at HeyGen (or was already); failed: HeyGen refused or could not be reached;
  -- no_key: the old key was no longer in Vault, so nothing could be asked.
  outcome text check (outcome in ('deleted', 'failed', 'no_key')),
  -- Why it failed (HeyGen's words, never a key or secret); the last transient error while pending.
  error text check (length(error) <= 500),
  finished_at timestamptz,
  constraint heygen_endpoint_retirements_finished check ((finished_at is null) = (outcome is null)),
  constraint heygen_endpoint_retirements_secret_gone check (finished_at is null or key_secret_id is null)
);
comment on table heygen_endpoint_retirements is
  'Webhook endpoints of replaced or removed HeyGen keys, deleted at HeyGen by the worker with the old key; one row each, with the outcome.';
create index heygen_endpoint_retirements_pending on heygen_endpoint_retirements (next_try_at) where finished_at is null;
revoke all on heygen_endpoint_retirements from public;
grant select on heygen_endpoint_retirements to service_role;
do $$
begin
  if exists (select 1 from pg_roles where rolname = 'anon') then
    execute 'revoke all on heygen_endpoint_retirements from anon, authenticated';
  end if;
  if to_regprocedure('auth.uid()') is not null then
    execute 'alter table heygen_endpoint_retirements enable row level security';
  end if;
end
$$;

-- Internal: keeps the old key's secret for the retirement. It is renamed, so the business's name
-- (heygen_api_key:<id>) is free for the next key. Without a secret there is no key to ask HeyGen
-- with: recorded as finished with outcome no_key.
create function heygen_endpoint_retire(p_business_id uuid, p_endpoint_id text, p_secret uuid, p_reason text) returns void
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  v_id bigint;
  v_has_secret boolean := p_secret is not null and exists (select 1 from vault.secrets where id = p_secret);
begin
  insert into heygen_endpoint_retirements (business_id, endpoint_id, reason, key_secret_id, outcome, error, finished_at)
  values (p_business_id, p_endpoint_id, p_reason, case when v_has_secret then p_secret end,
    case when not v_has_secret then 'no_key' end,
    case when not v_has_secret then 'The old key was not in Vault; the endpoint could not be deleted at HeyGen.' end,
    case when not v_has_secret then now() end)
  returning id into v_id;
  if v_has_secret then
    perform vault.update_secret(p_secret, new_name => 'heygen_api_key_retired:' || v_id,
      new_description => 'Replaced HeyGen API key of business ' || p_business_id || ', kept until its webhook endpoint is deleted');
  end if;
end
$$;

-- 0014's contract, plus: a different key with a registered endpoint hands the old key and the
-- endpoint to heygen_endpoint_retirements instead of overwriting the key.
create or replace function set_heygen_key(p_business_id uuid, p_new_key text) returns void
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  v_secret uuid;
  v_endpoint text;
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
  select heygen_secret_id, heygen_webhook_endpoint_id into v_secret, v_endpoint from businesses where id = p_business_id for update;
  if not found then
    raise exception 'set_heygen_key: no business %', p_business_id using errcode = 'foreign_key_violation';
  end if;
  perform heygen_key_check_caller(p_business_id);

  select decrypted_secret into v_old from vault.decrypted_secrets where id = v_secret;
  if v_old is distinct from p_new_key then
    perform heygen_webhook_forget(p_business_id);
    if v_endpoint is not null then
      perform heygen_endpoint_retire(p_business_id, v_endpoint, v_secret, 'key_replaced');
      v_secret := null;
    end if;
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

-- 0014's contract (both secrets leave), except that the old key stays, renamed, until the worker
-- has deleted a registered endpoint with it.
create or replace function delete_heygen_key(p_business_id uuid) returns void
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  v_secret uuid;
  v_endpoint text;
begin
  select heygen_secret_id, heygen_webhook_endpoint_id into v_secret, v_endpoint from businesses where id = p_business_id for update;
  if not found then
    raise exception 'delete_heygen_key: no business %', p_business_id using errcode = 'foreign_key_violation';
  end if;
  perform heygen_key_check_caller(p_business_id);
  perform heygen_webhook_forget(p_business_id);
  if v_endpoint is not null then
    perform heygen_endpoint_retire(p_business_id, v_endpoint, v_secret, 'key_deleted');
  elsif v_secret is not null then
    -- Vault has no delete function; deleting the row is its documented way.
    delete from vault.secrets where id = v_secret;
  end if;
  update businesses set heygen_secret_id = null where id = p_business_id;
  perform pg_notify('heygen_key_changed', p_business_id::text);
end
$$;

-- The worker takes due retirements with the old key to delete each endpoint with. A claim holds
-- a row for p_lease; a worker that dies meanwhile leaves it to the next one after that.
create function heygen_endpoint_retirements_claim(p_limit int = 10, p_lease interval = interval '2 minutes')
returns table (id bigint, business_id uuid, endpoint_id text, attempts int, api_key text)
language sql security definer set search_path = pg_catalog, public, pg_temp as $$
  with due as (
    select r.id from heygen_endpoint_retirements r
    where r.finished_at is null and r.next_try_at <= now()
    order by r.next_try_at
    for update skip locked
    limit p_limit
  )
  update heygen_endpoint_retirements r set attempts = r.attempts + 1, next_try_at = now() + p_lease
  from due where r.id = due.id
  returning r.id, r.business_id, r.endpoint_id, r.attempts,
    (select d.decrypted_secret from vault.decrypted_secrets d where d.id = r.key_secret_id)
$$;

-- Records how a retirement ended and removes the old key from Vault. With p_retry_after the
-- retirement stays pending (a transient error) and is tried again after that long. Either way
-- NOTIFY heygen_endpoint_retired {"business_id", "outcome"} (outcome "pending" for a retry later)
-- for whoever watches; never a key.
create function heygen_endpoint_retirement_finish(p_id bigint, p_outcome text, p_error text = null, p_retry_after interval = null)
returns void
language plpgsql security definer set search_path = pg_catalog, public, pg_temp as $$
declare
  r heygen_endpoint_retirements;
begin
  select * into r from heygen_endpoint_retirements where id = p_id and finished_at is null for update;
  if not found then
    return;
  end if;
  if p_retry_after is not null then
    update heygen_endpoint_retirements set next_try_at = now() + p_retry_after, error = left(p_error, 500) where id = p_id;
    perform pg_notify('heygen_endpoint_retired', json_build_object('business_id', r.business_id, 'outcome', 'pending')::text);
    return;
  end if;
  update heygen_endpoint_retirements set outcome = p_outcome, error = left(p_error, 500), finished_at = now(), key_secret_id = null
  where id = p_id;
  if r.key_secret_id is not null then
    delete from vault.secrets where id = r.key_secret_id;
  end if;
  perform pg_notify('heygen_endpoint_retired', json_build_object('business_id', r.business_id, 'outcome', p_outcome)::text);
end
$$;

revoke execute on function heygen_endpoint_retire(uuid, text, uuid, text), heygen_endpoint_retirements_claim(int, interval),
  heygen_endpoint_retirement_finish(bigint, text, text, interval) from public;
do $$
begin
  if exists (select 1 from pg_roles where rolname = 'anon') then
    execute 'revoke execute on function heygen_endpoint_retire(uuid, text, uuid, text), heygen_endpoint_retirements_claim(int, interval),
      heygen_endpoint_retirement_finish(bigint, text, text, interval) from anon, authenticated';
  end if;
end
$$;
grant execute on function heygen_endpoint_retirements_claim(int, interval), heygen_endpoint_retirement_finish(bigint, text, text, interval)
  to service_role;
