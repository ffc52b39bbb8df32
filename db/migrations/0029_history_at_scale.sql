-- History at scale (issue 25).
--
-- 1. video_job_events becomes a table partitioned by month on `at` (UTC months). Its partitions
--    live in the schema video_history (video_history.video_job_events_YYYY_MM, plus
--    video_job_events_default for rows no month partition takes), created ahead by
--    video_job_history_ensure_partitions(), which the worker runs on start and daily. Column
--    names and types, the two indexes (per partition), the append-only triggers and the insert
--    path (the video_jobs triggers) are unchanged; existing rows are moved here.
-- 2. prune_video_job_history(older_than): detaches and drops whole month partitions older than the
--    cutoff (at least 30 days), for members of video_history_auditor only, logged with the chain
--    head of every job it cut.
-- 3. Tamper evidence: each event carries prev_hash/hash, a sha256 chain per job;
--    verify_video_job_history(job_id) names the first broken link of each job.
-- 4. video_job_timeline: one row per status a job was in, with how long.
--
-- heygen_webhook_events is not partitioned: it is a 48-hour dedupe window that
-- heygen_webhook_receive already trims on every delivery (0014), so it stays small by retention.

set local work_mem = '512MB';
set local maintenance_work_mem = '256MB';

do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'video_history_auditor') then
    create role video_history_auditor nologin;
  end if;
end
$$;

create schema video_history;
comment on schema video_history is 'The month partitions of public.video_job_events (read them through the parent table).';

-- The canonical bytes of an event: its columns in a fixed order, separated by commas. Every field
-- before the last has a fixed format or is quoted (the actor), and detail (jsonb's own canonical
-- text) comes last, so two different events never give the same bytes; the time is the exact epoch
-- (microseconds), so neither the session's TimeZone nor its DateStyle changes it.
create function video_job_event_content(p_id bigint, p_job_id uuid, p_business_id uuid, p_content_id uuid,
  p_from_status video_job_status, p_to_status video_job_status, p_detail jsonb, p_actor text, p_at timestamptz)
returns bytea
language sql stable parallel safe as $$
  select convert_to(concat_ws(',', p_id, p_job_id, p_business_id, p_content_id, coalesce(p_from_status::text, ''),
    p_to_status, extract(epoch from p_at), quote_literal(p_actor), p_detail::text), 'UTF8')
$$;

-- One link of a job's chain: sha256(previous hash || content); the first event has no previous hash.
create function video_job_chain_step(p_prev bytea, p_content bytea) returns bytea
language plpgsql immutable parallel safe as $$
begin
  -- plpgsql, not sql: as the migration's aggregate step it is called once per event, and a
  -- plpgsql call costs a fraction of a non-inlined sql one.
  return sha256(coalesce(p_prev, '\x'::bytea) || p_content);
end
$$;

-- The chain over a job's events in id order, as a running aggregate (the migration hashes the
-- existing rows with it in one pass).
create aggregate video_job_chain(bytea) (sfunc = video_job_chain_step, stype = bytea);

alter table video_job_events rename to video_job_events_unpartitioned;
alter sequence video_job_events_id_seq rename to video_job_events_unpartitioned_id_seq;
alter index video_job_events_pkey rename to video_job_events_unpartitioned_pkey;
alter index video_job_events_job_idx rename to video_job_events_unpartitioned_job_idx;
alter index video_job_events_business_idx rename to video_job_events_unpartitioned_business_idx;

create table video_job_events (
  id bigint generated always as identity,
  -- No foreign key: the audit trail outlives deleted jobs.
  job_id uuid not null,
  business_id uuid not null,
  content_id uuid not null,
  from_status video_job_status,
  to_status video_job_status not null,
  detail jsonb not null default '{}',
  actor text not null,
  at timestamptz not null default clock_timestamp(),
  -- The hash of the job's previous event (null for its first) and this event's:
  -- sha256(prev_hash || video_job_event_content(…)), set by video_job_events_chain.
  prev_hash bytea,
  hash bytea not null
) partition by range (at);
comment on table video_job_events is 'Append-only audit trail of video_jobs, partitioned by UTC month on at (partitions in schema video_history). Each event is hash-chained to the job''s previous one: verify_video_job_history().';

create table video_history.video_job_events_default partition of video_job_events default;

-- One partition per UTC month; false when it exists already or when the default partition holds
-- rows of that month (then the month stays in the default partition, which is read like any other).
create function video_job_history_create_partition(p_month timestamp) returns boolean
language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
declare
  v_from timestamptz := date_trunc('month', p_month) at time zone 'UTC';
  v_to timestamptz := (date_trunc('month', p_month) + interval '1 month') at time zone 'UTC';
  v_name text := 'video_job_events_' || to_char(p_month, 'YYYY_MM');
begin
  if to_regclass(format('video_history.%I', v_name)) is not null then
    return false;
  end if;
  if exists (select 1 from video_history.video_job_events_default d where d.at >= v_from and d.at < v_to) then
    raise warning 'video_job_history: events of % are in video_history.video_job_events_default; no partition made for that month', to_char(p_month, 'YYYY-MM');
    return false;
  end if;
  execute format('create table video_history.%I partition of public.video_job_events for values from (%L) to (%L)',
    v_name, v_from, v_to);
  return true;
end
$$;
revoke all on function video_job_history_create_partition(timestamp) from public;

create function video_job_history_ensure_partitions(months_ahead int default 3) returns int
language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
declare
  v_month timestamp := date_trunc('month', now() at time zone 'UTC');
  v_made int := 0;
begin
  if months_ahead is null or months_ahead < 0 or months_ahead > 120 then
    raise exception 'video_job_history_ensure_partitions: months_ahead must be 0–120, not %', months_ahead
      using errcode = 'invalid_parameter_value';
  end if;
  -- Several workers start at once: one makes the partitions, the others find them made.
  perform pg_advisory_xact_lock(hashtext('video_job_history_ensure_partitions'));
  for i in 0..months_ahead loop
    if video_job_history_create_partition(v_month + make_interval(months => i)) then
      v_made := v_made + 1;
    end if;
  end loop;
  return v_made;
end
$$;
comment on function video_job_history_ensure_partitions(int) is 'Creates the month partitions of video_job_events from this UTC month to months_ahead months ahead; returns how many it made. The worker calls it on start and daily.';
revoke all on function video_job_history_ensure_partitions(int) from public;
grant execute on function video_job_history_ensure_partitions(int) to service_role;

do $$
declare
  v_first timestamp := (select date_trunc('month', min(at) at time zone 'UTC') from video_job_events_unpartitioned);
begin
  while v_first < date_trunc('month', now() at time zone 'UTC') loop
    perform video_job_history_create_partition(v_first);
    v_first := v_first + interval '1 month';
  end loop;
  perform video_job_history_ensure_partitions(3);
end
$$;

-- Move the rows, hashing each job's chain in id order.
insert into video_job_events (id, job_id, business_id, content_id, from_status, to_status, detail, actor, at, prev_hash, hash)
overriding system value
select id, job_id, business_id, content_id, from_status, to_status, detail, actor, at,
       lag(hash) over (partition by job_id order by id), hash
from (
  -- video_job_event_content, written out: a million calls of it would cost more than the hashing.
  select e.*, video_job_chain(convert_to(concat_ws(',', e.id, e.job_id, e.business_id, e.content_id, coalesce(e.from_status::text, ''),
           e.to_status, extract(epoch from e.at), quote_literal(e.actor), e.detail::text), 'UTF8')) over (partition by e.job_id order by e.id) as hash
  from video_job_events_unpartitioned e
) x;

select setval('video_job_events_id_seq', s.last_value, s.is_called) from video_job_events_unpartitioned_id_seq s;

alter table video_job_events add constraint video_job_events_pkey primary key (id, at);
create index video_job_events_job_idx on video_job_events (job_id, id);
create index video_job_events_business_idx on video_job_events (business_id, id);

-- What others were given on the old table (a service's `grant select`, Supabase's RLS policy and
-- realtime publication) carries over.
do $$
declare
  g record;
  v_old oid := 'video_job_events_unpartitioned'::regclass;
begin
  for g in
    select case when e.grantee = 0 then 'public' else quote_ident(r.rolname) end as grantee, e.privilege_type
    from pg_class c, aclexplode(c.relacl) e left join pg_roles r on r.oid = e.grantee
    where c.oid = v_old and e.grantee <> c.relowner
  loop
    execute format('grant %s on video_job_events to %s', g.privilege_type, g.grantee);
  end loop;
  if (select relrowsecurity from pg_class where oid = v_old) then
    alter table video_job_events enable row level security;
  end if;
  if exists (select 1 from pg_policy where polrelid = v_old and polname = 'video_job_events_member_select') then
    create policy video_job_events_member_select on video_job_events for select to authenticated
      using (is_business_member(business_id));
  end if;
  if exists (select 1 from pg_publication_tables where pubname = 'supabase_realtime' and schemaname = 'public'
             and tablename = 'video_job_events_unpartitioned') then
    alter publication supabase_realtime add table public.video_job_events;
    -- Realtime subscribers name video_job_events, not its month partitions.
    alter publication supabase_realtime set (publish_via_partition_root = true);
  end if;
end
$$;

drop table video_job_events_unpartitioned;

-- The chain head of each job whose older events were pruned: the job's next event continues from
-- it, and verify starts there.
create table video_job_history_prunes (
  id bigint generated always as identity primary key,
  pruned_at timestamptz not null default now(),
  pruned_by text not null,
  pruned_as text not null,
  older_than text not null,
  cutoff timestamptz not null,
  partition_name text not null,
  range_from timestamptz not null,
  range_to timestamptz not null,
  events bigint not null,
  jobs bigint not null
);
comment on table video_job_history_prunes is 'One row per month partition of video_job_events that prune_video_job_history dropped: who (login and role), the cutoff, the range, how many events and jobs.';
comment on column video_job_history_prunes.pruned_by is 'The login (session_user) that pruned.';
comment on column video_job_history_prunes.cutoff is 'now() - older_than when it ran: partitions ending at or before it were dropped.';
comment on column video_job_history_prunes.pruned_as is 'The role it pruned as (current_user, e.g. video_history_auditor after set role).';

create table video_job_history_pruned_heads (
  job_id uuid primary key,
  event_id bigint not null,
  event_at timestamptz not null,
  to_status video_job_status not null,
  hash bytea not null,
  prune_id bigint not null references video_job_history_prunes (id)
);
comment on table video_job_history_pruned_heads is 'For each job with pruned events, its last pruned event (id, time, status, hash): the job''s next remaining event must carry this hash as prev_hash.';
create index video_job_history_pruned_heads_prune_idx on video_job_history_pruned_heads (prune_id);

create function video_job_events_chain() returns trigger
language plpgsql security definer
set search_path = pg_catalog, public, pg_temp
set plan_cache_mode = force_generic_plan as $$
declare
  v_created timestamptz;
begin
  if new.from_status is not null then
    -- Appending to a chain reads its head, so a job's events are appended one at a time under the
    -- job's row lock. The status change that writes one holds it already (its UPDATE of
    -- video_jobs); taking it again costs nothing and makes any other writer wait its turn.
    select j.created_at into v_created from video_jobs j where j.id = new.job_id for no key update;
    -- A job's events are no older than the job: only the partitions since then are read.
    select e.hash into new.prev_hash from video_job_events e
    where e.job_id = new.job_id and e.at >= coalesce(v_created, '-infinity') order by e.id desc limit 1;
    if not found then
      select e.hash into new.prev_hash from video_job_events e where e.job_id = new.job_id order by e.id desc limit 1;
      if not found then
        select h.hash into new.prev_hash from video_job_history_pruned_heads h where h.job_id = new.job_id;
      end if;
    end if;
  else
    -- The event that creates the job starts its chain.
    new.prev_hash := null;
  end if;
  new.hash := video_job_chain_step(new.prev_hash, video_job_event_content(new.id, new.job_id, new.business_id,
    new.content_id, new.from_status, new.to_status, new.detail, new.actor, new.at));
  return new;
end
$$;
revoke all on function video_job_events_chain() from public;

-- 0025's detail of a job's first event; before the chain (triggers fire by name) so the hash covers it.
create trigger video_job_events_add_detail before insert on video_job_events
  for each row when (new.from_status is null and current_setting('video_jobs.event_detail', true) > '')
  execute function video_job_events_add_detail();
create trigger video_job_events_chain before insert on video_job_events
  for each row execute function video_job_events_chain();
create trigger video_job_events_no_update before update or delete on video_job_events
  for each row execute function video_job_events_append_only();
create trigger video_job_events_no_truncate before truncate on video_job_events
  for each statement execute function video_job_events_append_only();
create trigger video_job_events_count after insert on video_job_events
  for each row when (new.to_status in ('transferring', 'completed', 'failed') and new.from_status is distinct from new.to_status)
  execute function video_job_events_count();

-- The first broken link of each job (nothing when every chain is intact):
--  * edited: the event's hash is not sha256(prev_hash || its content);
--  * broken_link: its prev_hash is not the hash of the job's event before it (that one was deleted
--    or rewritten), or, for the job's first remaining event, not the pruned chain head;
--  * missing_tail: the job's last event (or pruned head) does not say the job's current status
--    (its last events were deleted); no_history: the job has no event at all.
create function verify_video_job_history(p_job_id uuid default null)
returns table (job_id uuid, event_id bigint, event_at timestamptz, problem text, detail text)
language sql stable security definer
set search_path = pg_catalog, public, pg_temp as $$
  with ev as (
    select e.id, e.job_id, e.at, e.to_status, e.prev_hash,
           lag(e.hash) over w as hash_before,
           row_number() over w as n,
           lead(e.id) over w is null as is_last,
           e.hash = video_job_chain_step(e.prev_hash, video_job_event_content(e.id, e.job_id, e.business_id,
             e.content_id, e.from_status, e.to_status, e.detail, e.actor, e.at)) as hash_ok
    from video_job_events e
    where p_job_id is null or e.job_id = p_job_id
    window w as (partition by e.job_id order by e.id)
  ), findings as (
    select ev.job_id, ev.id as event_id, ev.at as event_at,
      case
        when ev.hash_ok is not true then 'edited'
        when ev.prev_hash is distinct from case when ev.n = 1 then h.hash else ev.hash_before end then 'broken_link'
      end as problem,
      case
        when ev.hash_ok is not true then 'the event''s hash does not match its content: it was changed'
        when ev.n = 1 and h.hash is null then 'the job''s first event is missing'
        when ev.n = 1 then 'the event does not continue the pruned chain head (event ' || h.event_id || ')'
        else 'the event before it was deleted or changed'
      end as detail
    from ev left join video_job_history_pruned_heads h on h.job_id = ev.job_id
    union all
    select j.id, null, null,
      case when ev.id is null and h.job_id is null then 'no_history' else 'missing_tail' end,
      format('the job is %s but its last event says %s: its last events were deleted', j.status,
        coalesce(ev.to_status::text, h.to_status::text, 'nothing'))
    from video_jobs j
    left join ev on ev.job_id = j.id and ev.is_last
    left join video_job_history_pruned_heads h on h.job_id = j.id
    where (p_job_id is null or j.id = p_job_id)
      and coalesce(ev.to_status, h.to_status) is distinct from j.status
  )
  select distinct on (f.job_id) f.job_id, f.event_id, f.event_at, f.problem, f.detail
  from findings f where f.problem is not null
  order by f.job_id, f.event_id nulls last
$$;
comment on function verify_video_job_history(uuid) is 'The first broken link of each job''s event hash chain (of one job when given): edited, broken_link, missing_tail or no_history. No row: the history is intact.';
revoke all on function verify_video_job_history(uuid) from public;
grant execute on function verify_video_job_history(uuid) to video_history_auditor, service_role;

-- The work of prune_video_job_history, with the owner's rights (only the owner may detach and
-- drop partitions); only the auditor role may call it.
create function video_job_history_prune_partitions(p_older_than interval, p_pruned_as text)
returns table (partition_name text, range_from timestamptz, range_to timestamptz, events bigint, jobs bigint)
language plpgsql security definer
set search_path = pg_catalog, public, pg_temp as $$
#variable_conflict use_column
declare
  v_cutoff timestamptz;
  p record;
  v_prune bigint;
  v_events bigint;
  v_jobs bigint;
begin
  if p_older_than is null or p_older_than < interval '30 days' then
    raise exception 'prune_video_job_history: the cutoff % is under 30 days; job history younger than 30 days is never pruned', p_older_than
      using errcode = 'invalid_parameter_value';
  end if;
  v_cutoff := now() - p_older_than;
  -- Detaching needs the parent exclusively for a moment; take it first so no insert slips between
  -- reading a partition's heads and dropping it.
  lock table video_job_events in access exclusive mode;
  for p in
    select c.oid, c.relname, b[1]::timestamptz as r_from, b[2]::timestamptz as r_to
    from pg_inherits i join pg_class c on c.oid = i.inhrelid,
         regexp_match(pg_get_expr(c.relpartbound, c.oid), $r$FROM \('([^']+)'\) TO \('([^']+)'\)$r$) b
    where i.inhparent = 'public.video_job_events'::regclass
      and b[2]::timestamptz <= v_cutoff
    order by 3
  loop
    execute format('select count(*), count(distinct job_id) from video_history.%I', p.relname) into v_events, v_jobs;
    insert into video_job_history_prunes (pruned_by, pruned_as, older_than, cutoff, partition_name, range_from, range_to, events, jobs)
    values (session_user, p_pruned_as, p_older_than::text, v_cutoff, 'video_history.' || p.relname, p.r_from, p.r_to, v_events, v_jobs)
    returning id into v_prune;
    execute format($q$
      insert into video_job_history_pruned_heads as h (job_id, event_id, event_at, to_status, hash, prune_id)
      select distinct on (e.job_id) e.job_id, e.id, e.at, e.to_status, e.hash, %s
      from video_history.%I e order by e.job_id, e.id desc
      on conflict (job_id) do update set event_id = excluded.event_id, event_at = excluded.event_at,
        to_status = excluded.to_status, hash = excluded.hash, prune_id = excluded.prune_id
      where excluded.event_id > h.event_id$q$, v_prune, p.relname);
    execute format('alter table public.video_job_events detach partition video_history.%I', p.relname);
    execute format('drop table video_history.%I', p.relname);
    partition_name := 'video_history.' || p.relname;
    range_from := p.r_from;
    range_to := p.r_to;
    events := v_events;
    jobs := v_jobs;
    return next;
  end loop;
end
$$;
revoke all on function video_job_history_prune_partitions(interval, text) from public;
grant execute on function video_job_history_prune_partitions(interval, text) to video_history_auditor;

create function prune_video_job_history(older_than interval)
returns table (partition_name text, range_from timestamptz, range_to timestamptz, events bigint, jobs bigint)
language plpgsql
set search_path = pg_catalog, public, pg_temp as $$
begin
  if not pg_has_role(current_user, 'video_history_auditor', 'usage') then
    raise exception 'prune_video_job_history: only members of video_history_auditor may prune job history, and % is not one', current_user
      using errcode = 'insufficient_privilege',
            hint = 'A DBA login with "grant video_history_auditor to <login>" may; the app and service roles may not.';
  end if;
  return query select * from video_job_history_prune_partitions(older_than, current_user::text);
end
$$;
comment on function prune_video_job_history(interval) is 'Detaches and drops the month partitions of video_job_events that end before now() - older_than (at least 30 days). Members of video_history_auditor only; each partition is logged in video_job_history_prunes with its jobs'' chain heads in video_job_history_pruned_heads. Job rows stay.';

-- Whether a job in status s can still move (a row of video_job_transitions leaves it): the
-- timeline looks for a later change only then. Owner's rights: the callers of the view need not
-- read the transitions table.
create function video_job_status_is_final(s video_job_status) returns boolean
language sql stable security definer
set search_path = pg_catalog, public, pg_temp as $$
  select not exists (select 1 from video_job_transitions t where t.from_status = s)
$$;

-- One row per status a job was in: when it entered (the event that moved it there, and who made
-- it), when it left (the job's next status change) and how long it stayed. Events that keep the
-- status (from_status = to_status) are not status changes. A filter on business_id (or job_id)
-- and entered_at reads only the partitions of that range, and the next change is looked up by the
-- job's index in the same month's partition first; only when it is not there, and the status is
-- not final, in the later months.
create view video_job_timeline with (security_invoker = true) as
select e.job_id, e.business_id, e.to_status as status, e.at as entered_at, l.left_at,
       extract(epoch from l.left_at - e.at) as seconds_in_status, e.actor
from video_job_events e
cross join lateral (
  select coalesce(
    (select x.at from video_job_events x
     where x.job_id = e.job_id and x.id > e.id and x.from_status is distinct from x.to_status
       and x.at >= e.at and x.at < date_trunc('month', e.at, 'UTC') + interval '1 month'
     order by x.id limit 1),
    case when not video_job_status_is_final(e.to_status) then
      (select x.at from video_job_events x
       where x.job_id = e.job_id and x.id > e.id and x.from_status is distinct from x.to_status
         and x.at >= date_trunc('month', e.at, 'UTC') + interval '1 month'
       order by x.id limit 1)
    end) as left_at
  offset 0 -- keeps the lookups in this subquery: pulled up, they would run once per use of left_at
) l
where e.from_status is distinct from e.to_status;
comment on view video_job_timeline is 'One row per status each job was in: entered_at, left_at (null while it is still there), seconds_in_status and the actor that moved it there. Filter on business_id / job_id and entered_at.';

grant select on video_job_events, video_jobs, video_job_timeline, video_job_history_prunes,
  video_job_history_pruned_heads to video_history_auditor;
