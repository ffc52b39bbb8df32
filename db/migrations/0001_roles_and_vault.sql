-- Roles that Supabase has, so grants written here mean the same thing on plain Postgres and on
-- Supabase, and a Vault stand-in with the real Vault's API where the vault schema is absent.

do $$
declare r text;
begin
  foreach r in array array['anon', 'authenticated', 'service_role'] loop
    if not exists (select 1 from pg_roles where rolname = r) then
      begin
        execute format('create role %I nologin', r);
      exception when duplicate_object or unique_violation then
        null; -- another database in the same cluster created it first
      end;
    end if;
  end loop;
end
$$;

create extension if not exists pgcrypto;

do $outer$
declare
  crypto_schema text;
begin
  if exists (select 1 from pg_namespace where nspname = 'vault') then
    return; -- Supabase: the real Vault is used unchanged
  end if;

  select extnamespace::regnamespace::text into crypto_schema from pg_extension where extname = 'pgcrypto';

  -- The data key lives in a schema no application role can read; only the owner and the
  -- SECURITY DEFINER functions below ever touch it.
  create schema vault_internal;
  revoke all on schema vault_internal from public;
  create table vault_internal.data_key (
    id int primary key default 1 check (id = 1),
    key text not null
  );
  revoke all on vault_internal.data_key from public;
  execute format('insert into vault_internal.data_key (key) values (encode(%I.gen_random_bytes(32), %L))', crypto_schema, 'base64');

  create schema vault;
  revoke all on schema vault from public;

  create table vault.secrets (
    id uuid primary key default gen_random_uuid(),
    name text unique,
    description text not null default '',
    secret text not null, -- ciphertext, base64; never the plaintext
    key_id uuid,
    nonce bytea,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now()
  );
  revoke all on vault.secrets from public;

  execute format($f$
    create function vault_internal.encrypt(plaintext text) returns text
    language sql stable security definer set search_path = pg_catalog, %1$I as $b$
      select encode(%1$I.pgp_sym_encrypt(plaintext, (select key from vault_internal.data_key), 'cipher-algo=aes256'), 'base64')
    $b$;
    create function vault_internal.decrypt(ciphertext text) returns text
    language sql stable security definer set search_path = pg_catalog, %1$I as $b$
      select %1$I.pgp_sym_decrypt(decode(ciphertext, 'base64'), (select key from vault_internal.data_key))
    $b$;
  $f$, crypto_schema);
  revoke all on function vault_internal.encrypt(text), vault_internal.decrypt(text) from public;

  create view vault.decrypted_secrets as
    select s.id, s.name, s.description, s.secret,
           vault_internal.decrypt(s.secret) as decrypted_secret,
           s.key_id, s.nonce, s.created_at, s.updated_at
    from vault.secrets s;
  revoke all on vault.decrypted_secrets from public;

  create function vault.create_secret(
    new_secret text, new_name text = null, new_description text = '', new_key_id uuid = null
  ) returns uuid
  language plpgsql security definer set search_path = pg_catalog, vault as $b$
  declare rec_id uuid;
  begin
    if new_secret is null then
      raise exception 'vault.create_secret: new_secret must not be null' using errcode = 'not_null_violation';
    end if;
    insert into vault.secrets (secret, name, description, key_id)
    values (vault_internal.encrypt(new_secret), new_name, coalesce(new_description, ''), new_key_id)
    returning id into rec_id;
    return rec_id;
  end
  $b$;

  create function vault.update_secret(
    secret_id uuid, new_secret text = null, new_name text = null, new_description text = null, new_key_id uuid = null
  ) returns void
  language plpgsql security definer set search_path = pg_catalog, vault as $b$
  begin
    update vault.secrets s set
      secret = case when new_secret is null then s.secret else vault_internal.encrypt(new_secret) end,
      name = coalesce(new_name, s.name),
      description = coalesce(new_description, s.description),
      key_id = coalesce(new_key_id, s.key_id),
      updated_at = now()
    where s.id = secret_id;
  end
  $b$;

  revoke all on function vault.create_secret(text, text, text, uuid), vault.update_secret(uuid, text, text, text, uuid) from public;
  grant usage on schema vault to service_role;
  -- A view's function calls are checked against the caller, so readers of decrypted_secrets need
  -- decrypt(); the data key table itself stays unreadable.
  grant usage on schema vault_internal to service_role;
  grant execute on function vault_internal.decrypt(text) to service_role;
  grant select, delete on vault.secrets to service_role;
  grant select on vault.decrypted_secrets to service_role;
  grant execute on function vault.create_secret(text, text, text, uuid), vault.update_secret(uuid, text, text, text, uuid) to service_role;
end
$outer$;
