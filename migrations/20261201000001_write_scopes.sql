-- Writes by role, enforced by the database as well as the application.
--
-- Until now a region reviewer's transaction carried its region's ICBs in `medopt.write_icbs`,
-- so row-level security would have let it change any plan content of those ICBs. Now:
--   medopt.write_icbs  = the ICB an editor may change (plan content and figures);
--   medopt.review_icbs = the ICBs a reviewer may review (their region).
-- ICB content tables keep their policies on `medopt.write_icbs` alone, so a reviewer's
-- update of a workstream figure affects no rows. A reviewer may update a plan of their region,
-- and the trigger below keeps that update to the review fields and to a decision on a
-- submitted plan. Editors may not decide their own plan's review either.

drop policy plan_update on plan;
create policy plan_update on plan for update
    using (medopt_icb_in_setting(icb_id, 'medopt.write_icbs')
           or medopt_icb_in_setting(icb_id, 'medopt.review_icbs'))
    with check (medopt_icb_in_setting(icb_id, 'medopt.write_icbs')
                or medopt_icb_in_setting(icb_id, 'medopt.review_icbs'));

-- What each side of the review may change, checked for requests (the medopt_app role) only:
-- migrations, reference loads and the demo loader run as the owner.
create function medopt_plan_update_by_role() returns trigger
language plpgsql as $$
declare
    review_fields constant text[] :=
        array['status', 'review_comment', 'reviewed_at', 'reviewed_by', 'version', 'updated_at'];
begin
    if current_user <> 'medopt_app' then
        return new;
    end if;
    if medopt_icb_in_setting(old.icb_id, 'medopt.write_icbs') then
        -- An editor: content, submission and reopening, never a review decision.
        if new.status is distinct from old.status
           and not ((old.status in ('draft', 'returned') and new.status = 'submitted')
                    or (old.status = 'agreed' and new.status = 'draft')) then
            raise exception 'an ICB editor cannot move a plan from % to %', old.status, new.status
                using errcode = '42501';
        end if;
        if new.review_comment is distinct from old.review_comment
           or new.reviewed_by is distinct from old.reviewed_by then
            raise exception 'an ICB editor cannot change a plan''s review' using errcode = '42501';
        end if;
        return new;
    end if;
    -- A reviewer: the review fields of a submitted plan, to agree or return it.
    if (to_jsonb(new) - review_fields) is distinct from (to_jsonb(old) - review_fields) then
        raise exception 'a reviewer can change only the review of a plan' using errcode = '42501';
    end if;
    if old.status <> 'submitted' or new.status not in ('agreed', 'returned') then
        raise exception 'a reviewer can only agree or return a submitted plan' using errcode = '42501';
    end if;
    return new;
end
$$;

create trigger plan_update_by_role before update on plan
    for each row execute function medopt_plan_update_by_role();
