-- Savings assurance (issue 12): what ICB finance leads and regional chief pharmacists judge a
-- savings plan by, beyond its target and actuals.
--
-- Per workstream: whether the saving recurs, whether it releases cash, where it falls, what it
-- costs to deliver (investment: the net target is the gross target less it), the full-year
-- effect of a recurrent saving, the lead's monthly forecast (likely outturn and confidence),
-- a dated risk log, and the reason a lead gives when their RAG differs from the one the
-- figures suggest. Per plan: the ICB's savings requirement for medicines (the gap is the
-- requirement less the workstreams' targets). Per programme year: the weights that turn a
-- confidence into a risk-adjusted forecast and the thresholds of the suggested RAG.
--
-- `workstream_assurance` and `plan_assurance` define the derived figures once, in SQL, for the
-- dashboard, the roll-ups and the exports alike; src/domain/assurance.rs holds the same
-- arithmetic in Rust for the workstream page, and a test keeps the two in step.

create type saving_type as enum ('recurrent', 'non_recurrent');
create type benefit_type as enum ('cash_releasing', 'cost_avoidance');
create type saving_setting as enum ('primary_care', 'secondary_care', 'system');
create type forecast_confidence as enum ('high', 'medium', 'low');
create type risk_status as enum ('open', 'mitigated', 'closed');

-- Administrators set these per year on /admin/catalogue/{year}; a copied year copies them.
alter table programme_year
    add column confidence_weight_high   smallint not null default 100,
    add column confidence_weight_medium smallint not null default 75,
    add column confidence_weight_low    smallint not null default 50,
    add column rag_green_percent        smallint not null default 95,
    add column rag_amber_percent        smallint not null default 80,
    add constraint programme_year_confidence_weights check (
        confidence_weight_low between 0 and 100
        and confidence_weight_medium between confidence_weight_low and 100
        and confidence_weight_high between confidence_weight_medium and 100),
    add constraint programme_year_rag_thresholds check (
        rag_amber_percent between 0 and rag_green_percent and rag_green_percent <= 200);

comment on column programme_year.confidence_weight_medium is
    'Percentage of the not-yet-delivered likely outturn a medium-confidence forecast counts for.';
comment on column programme_year.rag_green_percent is
    'Suggested RAG is green at or above this percentage of the target to date.';

alter table plan
    add column savings_requirement_pence bigint check (savings_requirement_pence >= 0);

comment on column plan.savings_requirement_pence is
    'What the ICB''s financial plan needs from medicines optimisation in the year; null until set.';

alter table workstream
    add column saving_type            saving_type,
    add column benefit_type           benefit_type,
    add column setting                saving_setting,
    add column investment_pence       bigint not null default 0 check (investment_pence >= 0),
    -- the lead's figure; null means "derive it from the actuals" (see workstream_assurance)
    add column full_year_effect_pence bigint check (full_year_effect_pence >= 0),
    -- the recurrent full-year effect of last year's workstream, already secured this year
    add column carried_forward_pence  bigint not null default 0 check (carried_forward_pence >= 0),
    add column carried_from_workstream_id integer,
    add constraint workstream_full_year_effect_recurrent
        check (full_year_effect_pence is null or saving_type = 'recurrent'),
    add constraint workstream_carried_from_fk foreign key (carried_from_workstream_id, icb_id)
        references workstream (workstream_id, icb_id);

-- The lead's forecast as at a month: one a month, so the import can carry it and its history
-- shows how the forecast moved. The current forecast is the latest month's.
create table workstream_forecast (
    workstream_id        integer not null,
    month                date not null check (extract(day from month) = 1),
    icb_id               integer not null references icb,
    likely_outturn_pence bigint not null,
    confidence           forecast_confidence not null,
    recorded_at          timestamptz not null default now(),
    primary key (workstream_id, month),
    foreign key (workstream_id, icb_id) references workstream (workstream_id, icb_id)
);

create table workstream_risk (
    risk_id       integer generated always as identity primary key,
    workstream_id integer not null,
    icb_id        integer not null references icb,
    description   text not null check (description <> ''),
    mitigation    text not null default '',
    owner         text not null default '',
    status        risk_status not null default 'open',
    version       integer not null default 1,
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now(),
    foreign key (workstream_id, icb_id) references workstream (workstream_id, icb_id)
);

create index workstream_risk_workstream_idx on workstream_risk (workstream_id);

-- What the figures suggested when the lead set a RAG, and the lead's reason when it differed.
alter table workstream_update
    add column suggested_rag rag_status,
    add column rag_reason    text not null default '';

grant select, insert, update on workstream_forecast, workstream_risk to medopt_app;

do $$
declare
    t text;
begin
    foreach t in array array['workstream_forecast', 'workstream_risk']
    loop
        execute format('alter table %I enable row level security', t);
        execute format('alter table %I force row level security', t);
        execute format('create policy %I on %I for select using (medopt_icb_in_setting(icb_id, %L))',
                       t || '_read', t, 'medopt.read_icbs');
        execute format('create policy %I on %I for insert with check (medopt_icb_in_setting(icb_id, %L))',
                       t || '_insert', t, 'medopt.write_icbs');
        execute format('create policy %I on %I for update using (medopt_icb_in_setting(icb_id, %L)) with check (medopt_icb_in_setting(icb_id, %L))',
                       t || '_update', t, 'medopt.write_icbs', 'medopt.write_icbs');
    end loop;
end $$;

-- One row per workstream (removed ones too: callers filter) with its assurance figures.
--
-- * actual_to_date: every actual reported in the programme year.
-- * target_to_date and percent_of_target: the phasing from April to the workstream's own
--   latest month with an actual, as on its page; the suggested RAG compares the whole
--   percentage (rounded half away from zero, as shown) with the year's thresholds.
-- * full_year_effect (recurrent savings only): the lead's figure, or else 12 times the
--   average monthly saving from the first month with a non-zero actual to the latest month
--   with an actual (a month between with none counts as nothing), once that span is two
--   months or more; rounded to the penny, half away from zero.
-- * risk_adjusted_forecast: from the latest month's forecast. What has been reported counts in
--   full; the rest of the likely outturn counts at the confidence's weight. A likely outturn
--   at or below the actual to date is taken as it is.
create view workstream_assurance with (security_invoker = true) as
select w.workstream_id,
       w.icb_id,
       w.plan_id,
       p.programme_year_id,
       w.opportunity_id,
       w.removed_at,
       w.rag,
       w.saving_type,
       w.benefit_type,
       w.setting,
       w.annual_target_pence,
       w.investment_pence,
       w.annual_target_pence - w.investment_pence as net_target_pence,
       w.carried_forward_pence,
       m.actual_to_date_pence,
       m.target_to_date_pence,
       m.latest_month,
       pct.percent_of_target,
       case when pct.percent_of_target >= y.rag_green_percent then 'green'::rag_status
            when pct.percent_of_target >= y.rag_amber_percent then 'amber'::rag_status
            when pct.percent_of_target is not null then 'red'::rag_status
       end as suggested_rag,
       case when w.saving_type = 'recurrent'
            then coalesce(w.full_year_effect_pence, r.run_rate_effect_pence)
       end as full_year_effect_pence,
       case when w.saving_type is distinct from 'recurrent' then null
            when w.full_year_effect_pence is not null then 'lead'
            when r.run_rate_effect_pence is not null then 'run_rate'
       end as full_year_effect_source,
       f.month as forecast_month,
       f.likely_outturn_pence,
       f.confidence,
       k.weight as confidence_weight,
       case when f.likely_outturn_pence <= m.actual_to_date_pence then f.likely_outturn_pence
            when f.likely_outturn_pence is not null
            then m.actual_to_date_pence
                 + round((f.likely_outturn_pence - m.actual_to_date_pence)::numeric * k.weight / 100)::bigint
       end as risk_adjusted_forecast_pence,
       (select count(*) from workstream_risk x
        where x.workstream_id = w.workstream_id and x.icb_id = w.icb_id and x.status = 'open')::integer
           as open_risks
from workstream w
join plan p on p.plan_id = w.plan_id and p.icb_id = w.icb_id
join programme_year y on y.programme_year_id = p.programme_year_id
cross join lateral (
    select max(wm.month) filter (where wm.actual_pence is not null) as latest_month,
           min(wm.month) filter (where wm.actual_pence <> 0) as first_saving_month,
           coalesce(sum(wm.actual_pence), 0)::bigint as actual_to_date_pence
    from workstream_month wm
    where wm.workstream_id = w.workstream_id and wm.icb_id = w.icb_id
      and wm.month >= y.starts_on and wm.month < (y.starts_on + interval '1 year')::date
) l
cross join lateral (
    select l.latest_month,
           l.actual_to_date_pence,
           coalesce(sum(wm.planned_pence) filter (where wm.month <= l.latest_month), 0)::bigint
               as target_to_date_pence,
           coalesce(sum(wm.actual_pence) filter (where wm.month >= l.first_saving_month), 0)::bigint
               as since_first_saving_pence
    from workstream_month wm
    where wm.workstream_id = w.workstream_id and wm.icb_id = w.icb_id
      and wm.month >= y.starts_on and wm.month < (y.starts_on + interval '1 year')::date
) m
cross join lateral (
    select case when m.target_to_date_pence <> 0
                then round(m.actual_to_date_pence::numeric * 100 / m.target_to_date_pence)::bigint
           end as percent_of_target
) pct
cross join lateral (
    select (extract(year from age(l.latest_month, l.first_saving_month)) * 12
            + extract(month from age(l.latest_month, l.first_saving_month)) + 1)::integer as months
) span
cross join lateral (
    select case when span.months >= 2
                then round(m.since_first_saving_pence::numeric * 12 / span.months)::bigint
           end as run_rate_effect_pence
) r
left join lateral (
    select wf.month, wf.likely_outturn_pence, wf.confidence
    from workstream_forecast wf
    where wf.workstream_id = w.workstream_id and wf.icb_id = w.icb_id
      and wf.month >= y.starts_on and wf.month < (y.starts_on + interval '1 year')::date
    order by wf.month desc
    limit 1
) f on true
left join lateral (
    select case f.confidence when 'high' then y.confidence_weight_high
                             when 'medium' then y.confidence_weight_medium
                             when 'low' then y.confidence_weight_low
           end as weight
) k on true;

grant select on workstream_assurance to medopt_app;

comment on view workstream_assurance is
    'Assurance figures per workstream: classification, net target, full-year effect, forecast, risk-adjusted forecast, suggested RAG.';

-- One row per plan: its requirement, the unidentified gap and the splits, over the plan's
-- live workstreams (the same workstreams as plan_figures). A split's "unclassified" share is
-- the annual target less its named parts.
create view plan_assurance with (security_invoker = true) as
select p.plan_id,
       p.icb_id,
       p.programme_year_id,
       p.savings_requirement_pence,
       p.savings_requirement_pence - s.annual_target_pence as unidentified_gap_pence,
       s.*
from plan p
cross join lateral (
    select count(*)::integer as workstreams,
           coalesce(sum(a.annual_target_pence), 0)::bigint as annual_target_pence,
           coalesce(sum(a.annual_target_pence) filter (where a.saving_type = 'recurrent'), 0)::bigint
               as recurrent_target_pence,
           coalesce(sum(a.annual_target_pence) filter (where a.saving_type = 'non_recurrent'), 0)::bigint
               as non_recurrent_target_pence,
           coalesce(sum(a.annual_target_pence) filter (where a.benefit_type = 'cash_releasing'), 0)::bigint
               as cash_releasing_target_pence,
           coalesce(sum(a.annual_target_pence) filter (where a.benefit_type = 'cost_avoidance'), 0)::bigint
               as cost_avoidance_target_pence,
           coalesce(sum(a.annual_target_pence) filter (where a.setting = 'primary_care'), 0)::bigint
               as primary_care_target_pence,
           coalesce(sum(a.annual_target_pence) filter (where a.setting = 'secondary_care'), 0)::bigint
               as secondary_care_target_pence,
           coalesce(sum(a.annual_target_pence) filter (where a.setting = 'system'), 0)::bigint
               as system_target_pence,
           coalesce(sum(a.investment_pence), 0)::bigint as investment_pence,
           coalesce(sum(a.net_target_pence), 0)::bigint as net_target_pence,
           coalesce(sum(a.actual_to_date_pence), 0)::bigint as actual_to_date_pence,
           coalesce(sum(a.full_year_effect_pence), 0)::bigint as full_year_effect_pence,
           count(*) filter (where a.saving_type = 'recurrent' and a.full_year_effect_pence is null)::integer
               as recurrent_without_full_year_effect,
           coalesce(sum(a.likely_outturn_pence), 0)::bigint as likely_outturn_pence,
           coalesce(sum(a.risk_adjusted_forecast_pence), 0)::bigint as risk_adjusted_forecast_pence,
           count(*) filter (where a.likely_outturn_pence is null)::integer as workstreams_without_forecast,
           coalesce(sum(a.carried_forward_pence), 0)::bigint as carried_forward_pence,
           count(*) filter (where a.investment_pence > a.annual_target_pence)::integer
               as investment_above_target,
           count(*) filter (where a.rag is not null and a.suggested_rag is not null
                                  and a.rag <> a.suggested_rag)::integer as rag_differs,
           coalesce(sum(a.open_risks), 0)::integer as open_risks
    from workstream_assurance a
    where a.plan_id = p.plan_id and a.icb_id = p.icb_id and a.removed_at is null
) s;

grant select on plan_assurance to medopt_app;

comment on view plan_assurance is
    'Assurance figures per plan: savings requirement, unidentified gap and the splits of its live workstreams.';
