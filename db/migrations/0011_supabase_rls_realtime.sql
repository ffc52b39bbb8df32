-- Supabase only (skipped on plain Postgres, where nothing but the app's server role reads these
-- tables): row-level security so a browser holding a Supabase session sees only the businesses it
-- belongs to, and the realtime publication the web server's Supabase Realtime source listens on.
--
-- Why it matters there: Supabase grants its API roles (anon, authenticated) access to new tables in
-- public by default, so without RLS anyone holding the project's anon key could read every
-- business's jobs through the REST API. The app's server and the worker connect as the table owner
-- (or service_role, which has BYPASSRLS), so these policies never restrict them.

do $outer$
begin
  if to_regprocedure('auth.uid()') is null then
    return; -- plain Postgres: no Supabase auth, nothing to do
  end if;

  -- SECURITY DEFINER so policies on business_members can ask about business_members without
  -- recursing into their own policy.
  create function is_business_member(p_business_id uuid) returns boolean
  language sql stable security definer set search_path = pg_catalog, public as $f$
    select exists (
      select 1 from public.business_members m
      where m.business_id = p_business_id and m.user_id = (select auth.uid())::text
    )
  $f$;
  revoke execute on function is_business_member(uuid) from public, anon;
  grant execute on function is_business_member(uuid) to authenticated, service_role;

  alter table businesses enable row level security;
  alter table business_members enable row level security;
  alter table content enable row level security;
  alter table video_jobs enable row level security;
  alter table video_job_events enable row level security;
  alter table auth_users enable row level security;
  alter table auth_sessions enable row level security;
  alter table auth_accounts enable row level security;
  alter table auth_verifications enable row level security;

  -- Read-only for signed-in members; every write goes through the app server or SQL with the
  -- service role. The auth_* tables get no policy at all: nobody but the server reads them.
  create policy businesses_member_select on businesses for select to authenticated
    using (is_business_member(id));
  create policy business_members_member_select on business_members for select to authenticated
    using (is_business_member(business_id));
  create policy content_member_select on content for select to authenticated
    using (is_business_member(business_id));
  create policy video_jobs_member_select on video_jobs for select to authenticated
    using (is_business_member(business_id));
  create policy video_job_events_member_select on video_job_events for select to authenticated
    using (is_business_member(business_id));

  if exists (select 1 from pg_publication where pubname = 'supabase_realtime') then
    if not exists (select 1 from pg_publication_tables where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = 'video_job_events') then
      alter publication supabase_realtime add table public.video_job_events;
    end if;
    if not exists (select 1 from pg_publication_tables where pubname = 'supabase_realtime' and schemaname = 'public' and tablename = 'video_jobs') then
      alter publication supabase_realtime add table public.video_jobs;
    end if;
  end if;
end
$outer$;
