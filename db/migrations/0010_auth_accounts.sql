-- Accounts for the web app (Better Auth, email + password). Table and column names are mapped in
-- web/lib/server/auth.ts; the SQL below is what Better Auth's own migration generator produces for
-- that mapping (better-auth 1.7, postgres), plus comments and two housekeeping indexes. The
-- migration runner owns this schema: Better Auth never creates or alters tables itself.
--
-- business_members.user_id holds auth_users.id (text). It has no foreign key on purpose: on
-- Supabase the same column holds auth.users ids.

create table auth_users (
  id text not null primary key,
  name text not null,
  email text not null unique,
  email_verified boolean not null,
  image text,
  created_at timestamptz not null default current_timestamp,
  updated_at timestamptz not null default current_timestamp
);

create table auth_sessions (
  id text not null primary key,
  expires_at timestamptz not null,
  -- The random session token; the browser holds it signed in an httpOnly cookie.
  token text not null unique,
  created_at timestamptz not null default current_timestamp,
  updated_at timestamptz not null,
  ip_address text,
  user_agent text,
  user_id text not null references auth_users (id) on delete cascade
);
create index auth_sessions_user_id_idx on auth_sessions (user_id);
create index auth_sessions_expires_at_idx on auth_sessions (expires_at);

create table auth_accounts (
  id text not null primary key,
  account_id text not null,
  provider_id text not null,
  user_id text not null references auth_users (id) on delete cascade,
  access_token text,
  refresh_token text,
  id_token text,
  access_token_expires_at timestamptz,
  refresh_token_expires_at timestamptz,
  scope text,
  -- scrypt hash for the 'credential' provider; never the password itself.
  password text,
  created_at timestamptz not null default current_timestamp,
  updated_at timestamptz not null
);
create index auth_accounts_user_id_idx on auth_accounts (user_id);

create table auth_verifications (
  id text not null primary key,
  identifier text not null,
  value text not null,
  expires_at timestamptz not null,
  created_at timestamptz not null default current_timestamp,
  updated_at timestamptz not null default current_timestamp
);
create index auth_verifications_identifier_idx on auth_verifications (identifier);

-- Nothing here is for Supabase's API roles: sessions and password hashes stay server-side.
revoke all on auth_users, auth_sessions, auth_accounts, auth_verifications from public;
do $$
begin
  if exists (select 1 from pg_roles where rolname = 'anon') then
    execute 'revoke all on auth_users, auth_sessions, auth_accounts, auth_verifications from anon, authenticated';
  end if;
end
$$;

