-- The Vault stand-in's key leaves the database (plain Postgres only; Supabase's real Vault is left
-- alone). Until now vault_internal.data_key held the key next to the ciphertext, so a pg_dump, a
-- restored backup or a copied database decrypted every HeyGen key and webhook secret. Like
-- Supabase Vault, whose root key is kept outside the database, the stand-in now encrypts with a
-- root key that only the sessions needing it carry: the app, the worker and migrations connect
-- with `-c vault_internal.root_key=…` (db/client.ts; VAULT_ROOT_KEY or <DATA_DIR>/vault-root.key).
-- It is a session setting, read here with current_setting() and never stored; the database keeps
-- only an HMAC of it (root_key_check) so that a wrong key is refused by name instead of writing
-- secrets under a second key. Sessions that only write jobs need no key.
--
-- Existing secrets are re-encrypted under the root key of the session running this migration,
-- and the in-database data key is dropped. Rotation: vault_internal.rotate_root_key() (npm run
-- vault:rotate-key).

do $outer$
declare
  crypto_schema text;
  root text := nullif(current_setting('vault_internal.root_key', true), '');
  old_key text;
  n int;
begin
  if to_regclass('vault_internal.data_key') is null then
    return; -- Supabase: the real Vault is used unchanged
  end if;
  select extnamespace::regnamespace::text into crypto_schema from pg_extension where extname = 'pgcrypto';

  create table vault_internal.root_key_check (
    id int primary key default 1 check (id = 1),
    fingerprint text not null, -- hex HMAC-SHA256 of a fixed label under the root key; not the key
    set_at timestamptz not null default now()
  );
  revoke all on vault_internal.root_key_check from public;

  execute format($f$
    -- The session's root key, checked against the database's fingerprint. Errors name what is
    -- missing or wrong, never the key.
    create function vault_internal.root_key() returns text
    language plpgsql stable security definer set search_path = pg_catalog, %1$I, pg_temp as $b$
    declare
      k text := nullif(current_setting('vault_internal.root_key', true), '');
      stored text;
    begin
      if k is null then
        raise exception 'vault: the root key is missing: this session has no vault_internal.root_key setting'
          using errcode = 'object_not_in_prerequisite_state',
                hint = 'Connect through the app''s database client (db/client.ts), which passes VAULT_ROOT_KEY or '
                       '<DATA_DIR>/vault-root.key as a connection option; see db/README.md, "Vault root key".';
      end if;
      select fingerprint into stored from vault_internal.root_key_check;
      if stored is not null and stored <> vault_internal.fingerprint(k) then
        raise exception 'vault: the root key of this session is not the one this database''s secrets are encrypted with'
          using errcode = 'invalid_authorization_specification',
                hint = 'Every app, worker and migration must use the same VAULT_ROOT_KEY (or copy of <DATA_DIR>/vault-root.key).';
      end if;
      return k;
    end
    $b$;

    create function vault_internal.fingerprint(k text) returns text
    language sql immutable set search_path = pg_catalog, %1$I, pg_temp as $b$
      select encode(hmac('heygen-video-jobs vault root key check', k, 'sha256'), 'hex')
    $b$;

    -- Before the first secret is written under a key, that key becomes the database's key.
    create function vault_internal.claim_root_key() returns text
    language plpgsql security definer set search_path = pg_catalog, %1$I, pg_temp as $b$
    declare
      k text := vault_internal.root_key();
    begin
      insert into vault_internal.root_key_check (fingerprint) values (vault_internal.fingerprint(k)) on conflict (id) do nothing;
      return vault_internal.root_key(); -- re-checked: another session may have claimed another key first
    end
    $b$;

    create or replace function vault_internal.encrypt(plaintext text) returns text
    language sql volatile security definer set search_path = pg_catalog, %1$I, pg_temp as $b$
      select encode(pgp_sym_encrypt(plaintext, vault_internal.claim_root_key(), 'cipher-algo=aes256'), 'base64')
    $b$;

    create or replace function vault_internal.decrypt(ciphertext text) returns text
    language sql stable security definer set search_path = pg_catalog, %1$I, pg_temp as $b$
      select pgp_sym_decrypt(decode(ciphertext, 'base64'), vault_internal.root_key())
    $b$;

    -- Re-encrypts every secret from the session's root key to vault_internal.new_root_key (also a
    -- session setting) and records the new key's fingerprint. Writers of secrets wait meanwhile.
    create function vault_internal.rotate_root_key() returns int
    language plpgsql security definer set search_path = pg_catalog, %1$I, pg_temp as $b$
    declare
      old_key text := vault_internal.root_key();
      new_key text := nullif(current_setting('vault_internal.new_root_key', true), '');
      n int;
    begin
      if new_key is null or length(new_key) < 32 then
        raise exception 'vault: rotate_root_key needs the new key (at least 32 characters) in the vault_internal.new_root_key setting'
          using errcode = 'object_not_in_prerequisite_state';
      end if;
      lock table vault.secrets in share row exclusive mode;
      update vault.secrets
      set secret = encode(pgp_sym_encrypt(pgp_sym_decrypt(decode(secret, 'base64'), old_key), new_key, 'cipher-algo=aes256'), 'base64');
      get diagnostics n = row_count;
      insert into vault_internal.root_key_check (fingerprint) values (vault_internal.fingerprint(new_key))
      on conflict (id) do update set fingerprint = excluded.fingerprint, set_at = now();
      return n;
    end
    $b$;
  $f$, crypto_schema);
  revoke all on function vault_internal.root_key(), vault_internal.fingerprint(text), vault_internal.claim_root_key(),
    vault_internal.rotate_root_key() from public;
  -- encrypt and decrypt keep their grants (decrypt: service_role, for vault.decrypted_secrets).

  select count(*) into n from vault.secrets;
  if n > 0 then
    if root is null then
      raise exception 'Migration 0022 moves the Vault key out of the database and must re-encrypt % stored secret(s), '
        'but this session has no vault_internal.root_key setting', n
        using hint = 'Run migrations through the app (npm start, npm run worker, npm run db:migrate), which passes VAULT_ROOT_KEY '
                     'or <DATA_DIR>/vault-root.key.';
    end if;
    select key into old_key from vault_internal.data_key;
    execute format('update vault.secrets set secret = encode(%1$I.pgp_sym_encrypt(%1$I.pgp_sym_decrypt(decode(secret, ''base64''), $1), '
      '$2, ''cipher-algo=aes256''), ''base64'')', crypto_schema) using old_key, root;
  end if;
  if root is not null then
    perform vault_internal.claim_root_key();
  end if;
  drop table vault_internal.data_key;
end
$outer$;
