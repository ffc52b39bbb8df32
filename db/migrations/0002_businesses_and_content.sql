-- Businesses, their members and their content. Column names follow the original Supabase seed so
-- an existing app can adopt this schema.

create function touch_updated_at() returns trigger
language plpgsql as $$
begin
  new.updated_at := now();
  return new;
end
$$;

create table businesses (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  heygen_avatar_id text,
  heygen_voice_id text,
  -- Points at a Vault secret; the key itself is never stored here.
  heygen_secret_id uuid,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint businesses_name_check check (length(btrim(name)) between 1 and 200),
  constraint businesses_heygen_avatar_id_check check (heygen_avatar_id is null or heygen_avatar_id ~ '^[A-Za-z0-9_.:-]{1,200}$'),
  constraint businesses_heygen_voice_id_check check (heygen_voice_id is null or heygen_voice_id ~ '^[A-Za-z0-9_.:-]{1,200}$')
);
create trigger businesses_touch before update on businesses for each row execute function touch_updated_at();

create table business_members (
  business_id uuid not null references businesses (id) on delete cascade,
  -- Text so that both Supabase auth (uuid) and the app's own accounts fit.
  user_id text not null,
  role text not null default 'member',
  created_at timestamptz not null default now(),
  primary key (business_id, user_id),
  constraint business_members_role_check check (role in ('owner', 'admin', 'member'))
);
create index business_members_user_idx on business_members (user_id);

create table content (
  id uuid primary key default gen_random_uuid(),
  business_id uuid not null references businesses (id) on delete cascade,
  title text not null,
  -- The text that becomes the video script.
  body text not null default '',
  -- Latest video, denormalised from video_jobs by trigger; never written by hand.
  heygen_video_id text,
  heygen_status text,
  heygen_url text,
  video_long_url text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint content_title_check check (length(btrim(title)) between 1 and 300),
  constraint content_body_check check (length(body) <= 100000),
  -- Lets video_jobs reference (business_id, content_id) so a job can never point at another
  -- business's content.
  constraint content_business_id_id_key unique (business_id, id)
);
create index content_business_idx on content (business_id, created_at desc);

create function content_guard_video_columns() returns trigger
language plpgsql as $$
begin
  -- Only video_jobs' own triggers (nested, so depth > 1) may write these columns.
  if pg_trigger_depth() <= 1 and (
       new.heygen_video_id is distinct from old.heygen_video_id
    or new.heygen_status is distinct from old.heygen_status
    or new.heygen_url is distinct from old.heygen_url
    or new.video_long_url is distinct from old.video_long_url) then
    raise exception 'content.heygen_video_id, heygen_status, heygen_url and video_long_url are kept in step with video_jobs by trigger and cannot be written directly'
      using errcode = 'insufficient_privilege', hint = 'Insert into video_jobs to make a new video.';
  end if;
  new.updated_at := now();
  return new;
end
$$;
create trigger content_guard before update on content for each row execute function content_guard_video_columns();

create function content_guard_video_columns_on_insert() returns trigger
language plpgsql as $$
begin
  if new.heygen_video_id is not null or new.heygen_status is not null or new.heygen_url is not null or new.video_long_url is not null then
    raise exception 'content.heygen_video_id, heygen_status, heygen_url and video_long_url are set by video_jobs; leave them out of the insert'
      using errcode = 'insufficient_privilege';
  end if;
  return new;
end
$$;
create trigger content_guard_insert before insert on content for each row execute function content_guard_video_columns_on_insert();
