-- The HeyGen API key is write-only: it lives in Vault and only the server and worker roles can
-- read it back. Signatures of set/delete match the original seed so existing callers keep working;
-- the seed's defects (no membership check, granted to authenticated, a vault.delete_secret that
-- does not exist, no getter) are fixed here.

-- Where a Supabase client calls in directly, auth.uid() names the user; they must belong to the
-- business. Server-side callers (no auth.uid()) check membership before calling.
create function heygen_key_check_caller(p_business_id uuid) returns void
language plpgsql stable set search_path = pg_catalog, public as $$
declare uid text;
begin
  if to_regprocedure('auth.uid()') is null then
    return;
  end if;
  execute 'select auth.uid()::text' into uid;
  if uid is not null and not exists (
    select 1 from business_members where business_id = p_business_id and user_id = uid and role in ('owner', 'admin')
  ) then
    raise exception 'not allowed to manage the HeyGen key of business %', p_business_id using errcode = 'insufficient_privilege';
  end if;
end
$$;

create function set_heygen_key(p_business_id uuid, p_new_key text) returns void
language plpgsql security definer set search_path = pg_catalog, public as $$
declare
  v_secret uuid;
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

  if v_secret is not null and exists (select 1 from vault.secrets where id = v_secret) then
    perform vault.update_secret(v_secret, p_new_key);
  else
    delete from vault.secrets where name = 'heygen_api_key:' || p_business_id;
    v_secret := vault.create_secret(p_new_key, 'heygen_api_key:' || p_business_id, 'HeyGen API key for business ' || p_business_id);
    update businesses set heygen_secret_id = v_secret where id = p_business_id;
  end if;
end
$$;

create function delete_heygen_key(p_business_id uuid) returns void
language plpgsql security definer set search_path = pg_catalog, public as $$
declare
  v_secret uuid;
begin
  select heygen_secret_id into v_secret from businesses where id = p_business_id for update;
  if not found then
    raise exception 'delete_heygen_key: no business %', p_business_id using errcode = 'foreign_key_violation';
  end if;
  perform heygen_key_check_caller(p_business_id);
  -- Vault has no delete function; deleting the row is its documented way.
  if v_secret is not null then
    delete from vault.secrets where id = v_secret;
  end if;
  update businesses set heygen_secret_id = null where id = p_business_id;
end
$$;

create function get_heygen_key(p_business_id uuid) returns text
language sql stable security definer set search_path = pg_catalog, public as $$
  select d.decrypted_secret
  from businesses b join vault.decrypted_secrets d on d.id = b.heygen_secret_id
  where b.id = p_business_id
$$;

create function has_heygen_key(p_business_id uuid) returns boolean
language sql stable security definer set search_path = pg_catalog, public as $$
  select exists (
    select 1 from businesses b join vault.secrets s on s.id = b.heygen_secret_id where b.id = p_business_id
  )
$$;

revoke execute on function set_heygen_key(uuid, text), delete_heygen_key(uuid), get_heygen_key(uuid),
  heygen_key_check_caller(uuid) from public, anon, authenticated;
grant execute on function set_heygen_key(uuid, text), delete_heygen_key(uuid), get_heygen_key(uuid) to service_role;
revoke execute on function has_heygen_key(uuid) from public, anon, authenticated;
grant execute on function has_heygen_key(uuid) to service_role;
