-- Hardening after an outside attack: owner-rights functions no longer search the caller's temp
-- schema first, deadlines and scripts that crash or waste a render are refused for every writer,
-- the worker hears about key changes at once, and membership needs the invitee's consent.
--
-- search_path convention for every SECURITY DEFINER function (later migrations follow it):
--   set search_path = pg_catalog, <schemas it uses>, pg_temp
-- pg_temp must be named and last: when it is left out, Postgres searches the caller's temp schema
-- FIRST for tables and types, so a caller's `create temp table content (…)` would be read (or
-- written) by the function with the owner's rights.

-- 1. Every owner-rights function we own: keep its schemas, put pg_temp last. Written generically
-- so functions added before this file (0012) are fixed too; functions owned by someone else (the
-- real Supabase Vault) are left alone.
do $$
declare
  f record;
  path text;
begin
  for f in
    select p.oid::regprocedure as sig, n.nspname,
           (select substr(c, length('search_path=') + 1) from unnest(p.proconfig) c where c like 'search_path=%') as current_path
    from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where p.prosecdef
      and n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')
      and n.nspname not like 'pg_temp%' and n.nspname not like 'pg_toast_temp%'
      and pg_has_role(current_user, p.proowner, 'USAGE')
  loop
    if f.current_path is null or btrim(f.current_path) in ('', '""') then
      path := 'pg_catalog, ' || quote_ident(f.nspname);
    else
      -- Drop any pg_temp already in the list (in any position), then append it.
      select string_agg(s, ', ' order by i) into path
      from unnest(string_to_array(f.current_path, ',')) with ordinality as t(raw, i),
           lateral (select btrim(raw) as s) x
      where s <> 'pg_temp' and s <> '';
      path := coalesce(path, 'pg_catalog');
    end if;
    execute format('alter function %s set search_path = %s, pg_temp', f.sig, path);
  end loop;
end
$$;

-- 2 and 3. Deadlines and scripts, checked after video_jobs_before_insert has filled in the
-- defaults (triggers of one kind run in name order: "before_…" < "check_…").
create function video_jobs_check_input() returns trigger
language plpgsql set search_path = pg_catalog, public, pg_temp as $$
declare
  bad text;
  -- Unicode spaces and characters that render as nothing (zero-width, joiners, bidi marks,
  -- variation selectors, fillers): a script of only these is empty to a viewer.
  invisible constant text := '[[:space:]\u00a0\u00ad\u034f\u061c\u115f\u1160\u1680\u17b4\u17b5\u180b-\u180e\u2000-\u200f\u2028-\u202f\u205f-\u2064\u2066-\u206f\u3000\u3164\ufe00-\ufe0f\ufeff\uffa0]';
  -- C0 except tab and newline, DEL and C1.
  control constant text := '[\u0001-\u0008\u000b-\u001f\u007f-\u009f]';
begin
  if new.deadline is not null and (tg_op = 'INSERT' or new.deadline is distinct from old.deadline) then
    if not isfinite(new.deadline) then
      raise exception 'video_jobs.deadline must be a real point in time, got %', new.deadline
        using errcode = 'check_violation', hint = 'Leave it out for the default (60 minutes), or give a time within 7 days.';
    end if;
    if new.deadline > now() + interval '7 days' then
      raise exception 'video_jobs.deadline % is more than 7 days away; give a time within 7 days', new.deadline
        using errcode = 'check_violation';
    end if;
  end if;

  if tg_op = 'INSERT' then
    -- Windows line ends are fine; a lone carriage return is a control character like any other.
    new.script := replace(new.script, E'\r\n', E'\n');
    bad := substring(new.script from control);
    if bad is not null then
      raise exception 'video_jobs.script contains the control character U+% at position %; only newlines and tabs are allowed',
        lpad(upper(to_hex(ascii(bad))), 4, '0'), position(bad in new.script)
        using errcode = 'check_violation';
    end if;
    if regexp_replace(new.script, invisible, '', 'g') = '' then
      raise exception 'video_jobs.script is empty: it has only spaces or invisible characters'
        using errcode = 'check_violation';
    end if;
  end if;
  return new;
end
$$;
create trigger video_jobs_check_input before insert or update on video_jobs
  for each row execute function video_jobs_check_input();

-- 13. The NOTIFY on key changes (channel heygen_key_changed) is sent by set_heygen_key and
-- delete_heygen_key as 0014 redefines them.

-- 7. Invitations: an owner or admin names an email; the person with that email accepts after
-- signing in or up. A row is a pending invitation; accepting, declining or revoking deletes it.
create table business_invitations (
  id uuid primary key default gen_random_uuid(),
  business_id uuid not null references businesses (id) on delete cascade,
  email text not null,
  role text not null default 'member',
  invited_by text not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null default now() + interval '14 days',
  constraint business_invitations_business_email_key unique (business_id, email),
  constraint business_invitations_email_check check (email = lower(btrim(email)) and length(email) <= 320 and email ~ '^[^@[:space:][:cntrl:]]+@[^@[:space:][:cntrl:]]+$'),
  constraint business_invitations_role_check check (role in ('admin', 'member'))
);
create index business_invitations_email_idx on business_invitations (email);

-- Invitee emails are nobody's business but the app server's (on Supabase the API roles would
-- otherwise get default grants on a new table).
revoke all on business_invitations from public, anon, authenticated;
alter table business_invitations enable row level security;

-- Accepts a pending, unexpired invitation addressed to p_email; returns the business id, or null
-- when there is no such invitation (expired, revoked, or meant for someone else).
create function accept_business_invitation(p_invitation_id uuid, p_user_id text, p_email text) returns uuid
language plpgsql set search_path = pg_catalog, public, pg_temp as $$
declare inv business_invitations;
begin
  delete from business_invitations
  where id = p_invitation_id and email = lower(btrim(p_email)) and expires_at > now()
  returning * into inv;
  if not found then
    return null;
  end if;
  insert into business_members (business_id, user_id, role)
  values (inv.business_id, p_user_id, inv.role)
  on conflict (business_id, user_id) do nothing;
  return inv.business_id;
end
$$;
revoke execute on function accept_business_invitation(uuid, text, text) from public, anon, authenticated;
