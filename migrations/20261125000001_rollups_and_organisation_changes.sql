-- Roll-ups across ICBs and the administration of organisation changes.
--
-- 1. `icb_succession` records that an ICB was abolished and its work passed to another from a
--    date (a merger is several predecessors with one successor; a split, one predecessor with
--    several). History stays with the ICB that recorded it: plans are never moved.
-- 2. `plan_figures` is the one definition of a plan's headline figures in SQL, so the
--    regional and national roll-ups and the exports agree with each other and with the ICB
--    dashboard (src/domain/progress.rs): "to date" runs from April to the latest month with
--    any actual recorded in the plan, removed workstreams do not count.

create table icb_succession (
    predecessor_icb_id integer not null references icb,
    successor_icb_id   integer not null references icb,
    -- the successor's first day in charge: the predecessor's last day is the day before
    effective_from     date not null,
    recorded_at        timestamptz not null default now(),
    primary key (predecessor_icb_id, successor_icb_id),
    constraint icb_succession_not_self check (predecessor_icb_id <> successor_icb_id)
);

create index icb_succession_successor_idx on icb_succession (successor_icb_id);

comment on table icb_succession is
    'An ICB abolished and succeeded by another from a date (mergers and splits).';

-- Administrators add ICBs and record changes through the application role.
grant insert, update on icb to medopt_app;
grant select, insert, update on icb_succession to medopt_app;

-- Roll-ups read every plan of a year.
create index plan_year_idx on plan (programme_year_id, icb_id);

-- security_invoker: the view runs with the caller's rights, so row-level security on plan,
-- workstream and workstream_month filters it exactly as it filters the tables.
create view plan_figures with (security_invoker = true) as
select p.plan_id,
       p.icb_id,
       p.programme_year_id,
       p.status,
       p.submitted_at,
       p.reviewed_at,
       w.national_chosen,
       w.local_priorities,
       w.annual_target_pence,
       w.rag_red,
       w.rag_amber,
       w.rag_green,
       w.rag_not_set,
       l.latest_month,
       t.planned_total_pence,
       t.target_to_date_pence,
       t.actual_to_date_pence
from plan p
join programme_year y on y.programme_year_id = p.programme_year_id
cross join lateral (
    select count(*) filter (where ws.opportunity_id is not null)::integer as national_chosen,
           count(*) filter (where ws.opportunity_id is null)::integer as local_priorities,
           coalesce(sum(ws.annual_target_pence), 0)::bigint as annual_target_pence,
           count(*) filter (where ws.rag = 'red')::integer as rag_red,
           count(*) filter (where ws.rag = 'amber')::integer as rag_amber,
           count(*) filter (where ws.rag = 'green')::integer as rag_green,
           count(*) filter (where ws.rag is null)::integer as rag_not_set
    from workstream ws
    where ws.plan_id = p.plan_id and ws.icb_id = p.icb_id and ws.removed_at is null
) w
-- The latest month with an actual, then the sums up to it: two index scans of the plan's
-- months, clearer than one query that needs a window.
cross join lateral (
    select max(m.month) as latest_month
    from workstream ws
    join workstream_month m on m.workstream_id = ws.workstream_id and m.icb_id = ws.icb_id
    where ws.plan_id = p.plan_id and ws.icb_id = p.icb_id and ws.removed_at is null
      and m.actual_pence is not null
      and m.month >= y.starts_on and m.month < (y.starts_on + interval '1 year')::date
) l
cross join lateral (
    select coalesce(sum(m.planned_pence), 0)::bigint as planned_total_pence,
           coalesce(sum(m.planned_pence) filter (where m.month <= l.latest_month), 0)::bigint
               as target_to_date_pence,
           coalesce(sum(m.actual_pence), 0)::bigint as actual_to_date_pence
    from workstream ws
    join workstream_month m on m.workstream_id = ws.workstream_id and m.icb_id = ws.icb_id
    where ws.plan_id = p.plan_id and ws.icb_id = p.icb_id and ws.removed_at is null
      and m.month >= y.starts_on and m.month < (y.starts_on + interval '1 year')::date
) t;

grant select on plan_figures to medopt_app;

comment on view plan_figures is
    'Headline figures per plan: choices, targets, to-date sums and RAG counts (live workstreams).';
