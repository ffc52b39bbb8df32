-- Accounts and membership rules (issue 24): leaving a business, and invitations that make sense.
--
-- 1. A business always keeps an owner: deleting the last owner's membership (leaving, being
--    removed, a DELETE by any service) or changing the last owner's role is refused with
--    detail 'last_owner'. Deleting the business itself (its members go by cascade) is allowed.
--    Concurrent changes are serialised by locking the business row, so two owners leaving at once
--    cannot both succeed.
-- 2. An invitation for someone who is already a member is refused (detail 'already_member', or
--    'invite_self' when it is the inviter's own email): accepting it could never change anything.

-- 1. The last owner ------------------------------------------------------------------------------
create function business_members_keep_an_owner() returns trigger
language plpgsql
set search_path = pg_catalog, public, pg_temp
as $$
begin
  if old.role <> 'owner' or (tg_op = 'UPDATE' and new.role = 'owner' and new.business_id = old.business_id) then
    return case when tg_op = 'DELETE' then old else new end;
  end if;
  -- Locks the business (serialising its owners' changes); gone when the business itself is being deleted.
  perform 1 from businesses where id = old.business_id for update;
  if not found then
    return case when tg_op = 'DELETE' then old else new end;
  end if;
  if not exists (
    select 1 from business_members
    where business_id = old.business_id and role = 'owner' and user_id <> old.user_id
  ) then
    raise exception 'The last owner of a business cannot leave it or stop being an owner. Make another member an owner first, or delete the business.'
      using errcode = 'check_violation', detail = 'last_owner';
  end if;
  return case when tg_op = 'DELETE' then old else new end;
end
$$;

create trigger business_members_keep_an_owner
  before delete or update of role, business_id on business_members
  for each row execute function business_members_keep_an_owner();

comment on function business_members_keep_an_owner() is
  'Refuses (detail last_owner) to delete or demote the last owner of a business that still exists.';

-- 2. Invitations for members ---------------------------------------------------------------------
create function business_invitations_not_a_member() returns trigger
language plpgsql
set search_path = pg_catalog, public, pg_temp
as $$
declare member_id text;
begin
  select m.user_id into member_id
  from business_members m join auth_users u on u.id = m.user_id
  where m.business_id = new.business_id and lower(u.email) = new.email;
  if member_id is null then
    return new;
  end if;
  if member_id = new.invited_by then
    raise exception 'You cannot invite yourself: % is your own email, and you are already a member.', new.email
      using errcode = 'check_violation', detail = 'invite_self';
  end if;
  raise exception '% is already a member of this business.', new.email
    using errcode = 'check_violation', detail = 'already_member';
end
$$;

create trigger business_invitations_not_a_member
  before insert or update of email, business_id on business_invitations
  for each row execute function business_invitations_not_a_member();

comment on function business_invitations_not_a_member() is
  'Refuses an invitation for an email that already belongs to a member of the business (detail already_member, or invite_self).';
