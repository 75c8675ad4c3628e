-- One definition of the figures, "to date" meaning one thing.
--
-- Until now `plan_figures` ran each plan's "to date" up to its latest month with any actual,
-- so one early return moved the whole plan's target to date; removed workstreams and ICB
-- lifetimes were ignored. Now, in three layers that every page and export reads:
--
-- 1. `workstream_month_figures` (view): the workstream-months that count, one row each, with
--    the phased target and the actual (null: not reported). A month counts when it is in the
--    plan's year, the ICB existed in it (from the month of `valid_from` to `valid_to`; after a
--    merger the predecessor counts up to the day before and the successor from that day), and
--    the workstream is live, or was removed but reported an actual for the month (the savings
--    it delivered stay counted).
-- 2. `workstream_figures(to_month)`: each workstream's sums "to date", up to `to_month` (the
--    reporting month, or a chosen earlier "as at" month): the application passes it from its
--    clock, so the database's own date never decides a figure.
-- 3. `plan_figures(to_month)`: each plan's sums (the workstreams' figures added), its
--    reporting month, how many workstreams were due and reported for that month, and how
--    many due months have figures missing.
--
-- Derived figures (variance, percentages, forecasts) are computed from these sums in one
-- place in the application (src/domain/rollup.rs). `icb_successors_on(day)` maps every ICB to
-- the ICBs that carry on its work on `day`, for figures restated on today's organisations.
--
-- All run with the caller's rights (security_invoker views, security invoker functions), so
-- row-level security filters them exactly as it filters the tables.

drop view plan_figures;

-- Months from `a` to `b` (both first days of months): 0 for the same month.
create function medopt_months_between(a date, b date) returns integer
language sql immutable parallel safe as $$
    select ((extract(year from b) - extract(year from a)) * 12
            + extract(month from b) - extract(month from a))::integer
$$;

create view workstream_month_figures with (security_invoker = true) as
select w.workstream_id,
       w.icb_id,
       w.plan_id,
       p.programme_year_id,
       w.opportunity_id,
       g.month,
       coalesce(m.planned_pence, 0)::bigint as planned_pence,
       m.actual_pence
from workstream w
join plan p on p.plan_id = w.plan_id and p.icb_id = w.icb_id
join programme_year y on y.programme_year_id = p.programme_year_id
join icb i on i.icb_id = w.icb_id
cross join lateral (
    select s::date as month
    from generate_series(y.starts_on::timestamp, y.starts_on::timestamp + interval '11 months',
                         interval '1 month') as s
) g
left join workstream_month m
       on m.workstream_id = w.workstream_id and m.icb_id = w.icb_id and m.month = g.month
where g.month >= date_trunc('month', i.valid_from::timestamp)::date
  and (i.valid_to is null or g.month <= i.valid_to)
  and (w.removed_at is null or m.actual_pence is not null);

comment on view workstream_month_figures is
    'The workstream-months that count in every figure: in the plan''s year, in the ICB''s lifetime, live or reported.';

-- The months an ICB answers for in a year, to a cut-off month: its reporting month (the
-- latest month up to `to_month` in which it existed in the year; null when no month of the
-- year is due yet), how many months of the year it existed in, and how many of them run to the
-- reporting month (for the run-rate forecast).
create function medopt_icb_months(
    to_month date, year_starts date, valid_from date, valid_to date)
returns table (reporting_month date, months_in_year integer, months_to_date integer)
language sql immutable parallel safe as $$
    select case when b.last_due >= b.first_month then b.last_due end,
           greatest(medopt_months_between(b.first_month, b.last_month) + 1, 0),
           greatest(medopt_months_between(b.first_month, b.last_due) + 1, 0)
    from (select greatest(year_starts, date_trunc('month', valid_from::timestamp)::date) as first_month,
                 least((year_starts + interval '11 months')::date,
                       coalesce(date_trunc('month', valid_to::timestamp)::date, 'infinity'::date)) as last_month,
                 least(to_month, (year_starts + interval '11 months')::date,
                       coalesce(date_trunc('month', valid_to::timestamp)::date, 'infinity'::date)) as last_due) b
$$;

create function workstream_figures(to_month date)
returns table (
    workstream_id integer,
    icb_id integer,
    plan_id integer,
    programme_year_id smallint,
    opportunity_id integer,
    removed boolean,
    cost_pressure boolean,
    months_counted integer,
    annual_target_pence bigint,
    planned_total_pence bigint,
    target_to_date_pence bigint,
    reported_target_to_date_pence bigint,
    actual_to_date_pence bigint,
    planned_after_pence bigint,
    months_not_reported integer,
    -- the due months not reported, as bits (April is 1, May 2, … March 2048)
    unreported_months integer,
    latest_month date,
    reporting_month date,
    months_in_year integer,
    months_to_date integer,
    due_in_reporting_month boolean,
    reported_in_reporting_month boolean)
language sql stable security invoker parallel safe as $$
    select w.workstream_id, w.icb_id, w.plan_id, p.programme_year_id, w.opportunity_id,
           w.removed_at is not null, w.cost_pressure,
           coalesce(f.months_counted, 0)::integer,
           -- The target as set when the whole year counts; otherwise the phasing of the months
           -- that do (a merger mid-year, a removed workstream).
           case when f.months_counted = 12 and w.removed_at is null then w.annual_target_pence
                else coalesce(f.planned_total, 0) end::bigint,
           coalesce(f.planned_total, 0)::bigint,
           coalesce(f.target_to_date, 0)::bigint,
           coalesce(f.reported_target, 0)::bigint,
           coalesce(f.actual_to_date, 0)::bigint,
           coalesce(f.planned_after, 0)::bigint,
           coalesce(f.months_not_reported, 0)::integer,
           coalesce(f.unreported_months, 0)::integer,
           f.latest_month,
           r.reporting_month,
           r.months_in_year,
           r.months_to_date,
           coalesce(f.due, false),
           coalesce(f.reported, false)
    from workstream w
    join plan p on p.plan_id = w.plan_id and p.icb_id = w.icb_id
    join programme_year y on y.programme_year_id = p.programme_year_id
    join icb i on i.icb_id = w.icb_id
    cross join lateral medopt_icb_months(to_month, y.starts_on, i.valid_from, i.valid_to) r
    left join lateral (
        select count(*) as months_counted,
               sum(c.planned_pence) as planned_total,
               sum(c.planned_pence) filter (where c.month <= to_month) as target_to_date,
               sum(c.planned_pence) filter (where c.month <= to_month and c.actual_pence is not null)
                   as reported_target,
               sum(c.actual_pence) filter (where c.month <= to_month) as actual_to_date,
               sum(c.planned_pence) filter (where c.month > to_month) as planned_after,
               count(*) filter (where c.month <= to_month and c.actual_pence is null)
                   as months_not_reported,
               bit_or(1 << medopt_months_between(y.starts_on, c.month))
                   filter (where c.month <= to_month and c.actual_pence is null)
                   as unreported_months,
               max(c.month) filter (where c.month <= to_month and c.actual_pence is not null)
                   as latest_month,
               bool_or(c.month = r.reporting_month) as due,
               bool_or(c.month = r.reporting_month and c.actual_pence is not null) as reported
        from workstream_month_figures c
        where c.workstream_id = w.workstream_id and c.icb_id = w.icb_id
    ) f on true
$$;

create function plan_figures(to_month date)
returns table (
    plan_id integer,
    icb_id integer,
    programme_year_id smallint,
    status plan_status,
    submitted_at timestamptz,
    reviewed_at timestamptz,
    national_chosen integer,
    local_priorities integer,
    rag_red integer,
    rag_amber integer,
    rag_green integer,
    rag_not_set integer,
    annual_target_pence bigint,
    planned_total_pence bigint,
    target_to_date_pence bigint,
    reported_target_to_date_pence bigint,
    actual_to_date_pence bigint,
    planned_after_pence bigint,
    latest_month date,
    reporting_month date,
    months_in_year integer,
    months_to_date integer,
    months_overdue integer,
    workstreams_due integer,
    workstreams_reported integer)
language sql stable security invoker parallel safe as $$
    select p.plan_id, p.icb_id, p.programme_year_id, p.status, p.submitted_at, p.reviewed_at,
           w.national_chosen, w.local_priorities, w.rag_red, w.rag_amber, w.rag_green, w.rag_not_set,
           s.annual_target, s.planned_total, s.target_to_date, s.reported_target, s.actual_to_date,
           s.planned_after, s.latest_month, r.reporting_month, r.months_in_year, r.months_to_date,
           s.months_overdue, s.due, s.reported
    from plan p
    join programme_year y on y.programme_year_id = p.programme_year_id
    join icb i on i.icb_id = p.icb_id
    cross join lateral medopt_icb_months(to_month, y.starts_on, i.valid_from, i.valid_to) r
    -- Choices and RAG: the plan as it stands (live workstreams).
    cross join lateral (
        select count(*) filter (where ws.opportunity_id is not null)::integer as national_chosen,
               count(*) filter (where ws.opportunity_id is null)::integer as local_priorities,
               count(*) filter (where ws.rag = 'red')::integer as rag_red,
               count(*) filter (where ws.rag = 'amber')::integer as rag_amber,
               count(*) filter (where ws.rag = 'green')::integer as rag_green,
               count(*) filter (where ws.rag is null)::integer as rag_not_set
        from workstream ws
        where ws.plan_id = p.plan_id and ws.icb_id = p.icb_id and ws.removed_at is null
    ) w
    -- Money: the sum of the plan's workstreams' figures.
    cross join lateral (
        select coalesce(sum(f.annual_target_pence), 0)::bigint as annual_target,
               coalesce(sum(f.planned_total_pence), 0)::bigint as planned_total,
               coalesce(sum(f.target_to_date_pence), 0)::bigint as target_to_date,
               coalesce(sum(f.reported_target_to_date_pence), 0)::bigint as reported_target,
               coalesce(sum(f.actual_to_date_pence), 0)::bigint as actual_to_date,
               coalesce(sum(f.planned_after_pence), 0)::bigint as planned_after,
               max(f.latest_month) as latest_month,
               count(*) filter (where f.due_in_reporting_month)::integer as due,
               count(*) filter (where f.reported_in_reporting_month)::integer as reported,
               -- due months in which at least one workstream has not reported
               bit_count(coalesce(bit_or(f.unreported_months), 0)::bit(12))::integer
                   as months_overdue
        from workstream_figures(to_month) f
        where f.plan_id = p.plan_id and f.icb_id = p.icb_id
    ) s
$$;

-- Every ICB with the ICBs that carry on its work on `on_day`: itself while it has not been
-- succeeded by then; otherwise its successors' successors, to the end of the chain (a merger
-- maps several ICBs to one, a split one ICB to several).
create function icb_successors_on(on_day date)
returns table (icb_id integer, current_icb_id integer)
language sql stable security invoker parallel safe as $$
    with recursive chain (icb_id, current_icb_id) as (
        select i.icb_id, i.icb_id from icb i
        union
        select c.icb_id, s.successor_icb_id
        from chain c
        join icb_succession s on s.predecessor_icb_id = c.current_icb_id and s.effective_from <= on_day
    )
    select c.icb_id, c.current_icb_id
    from chain c
    where not exists (
        select 1 from icb_succession s
        where s.predecessor_icb_id = c.current_icb_id and s.effective_from <= on_day)
$$;

grant select on workstream_month_figures to medopt_app;
