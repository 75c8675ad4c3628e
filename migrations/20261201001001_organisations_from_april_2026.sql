-- Organisations as they are from 1 April 2026, and a title for every opportunity.
--
-- 1. ODS codes: the ICBs formed on 1 April 2026 have codes in NHS England's new
--    five-character format (for example S1Y5D); the ICBs of 2022 keep their three-character
--    codes. Both are accepted.
-- 2. What happened to an ICB is told by its dates and by icb_succession (src/orgs.rs says it
--    in words). The free-text change_note held research notes rather than facts: dropped.
-- 3. Every opportunity has a title. Until NHS England's own is known it is a working title
--    ("… — title to be confirmed") with title_confirmed false, so no page or export shows a
--    blank. Rows from before this change get one here; the shipped reference data then
--    replaces it wherever no administrator has edited the row.

alter table icb
    drop constraint icb_ods_code_check,
    add constraint icb_ods_code_check check (ods_code ~ '^[A-Z0-9]{3}([A-Z0-9]{2})?$');

comment on column icb.ods_code is
    'ODS code: three characters (ICBs of July 2022) or five (ICBs formed from April 2026).';

alter table icb drop column change_note;

update opportunity
set title = case number
        when 12 then 'Optimising lipid management for cardiovascular disease prevention'
        when 13 then 'Sodium valproate safety — title to be confirmed'
        else 'Opportunity ' || number || ' — title to be confirmed'
    end
where title is null;

alter table opportunity alter column title set not null;
-- Implied by `not null` now.
alter table opportunity drop constraint opportunity_confirmed_has_title;

comment on column opportunity.title is
    'NHS England''s title when title_confirmed, otherwise a working title an administrator replaces.';
