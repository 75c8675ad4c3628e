-- Money that adds up: rules on targets, phasing and monthly rows that the database enforces,
-- so no page, import or script can store figures that the pages would then disagree about.
--
-- 1. A workstream may be a *cost pressure*: a planned increase in spending (for example more
--    anticoagulation after atrial fibrillation detection). Only a cost pressure may have a
--    negative annual target or negative monthly phasing.
-- 2. A workstream's monthly phasing sums exactly to its annual target. This spans rows (the
--    workstream and its twelve months), so it is a deferred constraint trigger: checked at
--    commit, after the one write path (src/plans/workstreams.rs, save_target) has written the
--    target and the months in one transaction. The application checks first and shows the
--    message by the field; the trigger is the backstop nothing can bypass.
--    It fires only when a target, a phasing or the cost-pressure mark changes, so recording an
--    actual against a workstream stored before this rule is never refused because of it.
-- 3. A monthly row lies in its plan's programme year (checked when the row is written).
--
-- Rows stored before these rules that break them are not changed: the view `figures_problem`
-- lists them (`medopt check` prints it) and this migration reports how many there are.

alter table workstream
    add column cost_pressure boolean not null default false;

comment on column workstream.cost_pressure is
    'A planned spending increase: the only kind of workstream with a negative target or phasing.';

alter table workstream drop constraint workstream_annual_target_pence_check;
alter table workstream add constraint workstream_target_sign
    check (cost_pressure or annual_target_pence >= 0);

-- Phasing sums to the target, and is never negative unless the workstream is a cost pressure.
create function medopt_check_phasing() returns trigger
language plpgsql as $$
declare
    id integer := new.workstream_id;
    ws record;
    phased bigint;
    negative boolean;
begin
    select w.annual_target_pence, w.cost_pressure into ws
    from workstream w where w.workstream_id = id;
    if not found then
        return null;
    end if;
    select coalesce(sum(m.planned_pence), 0), coalesce(bool_or(m.planned_pence < 0), false)
      into phased, negative
    from workstream_month m where m.workstream_id = id;
    if phased <> ws.annual_target_pence then
        raise exception 'the phasing of workstream % adds up to % pence, not its annual target of % pence',
            id, phased, ws.annual_target_pence
            using errcode = '23514', constraint = 'workstream_phasing_sums_to_target';
    end if;
    if negative and not ws.cost_pressure then
        raise exception 'workstream % has negative phasing but is not a cost pressure', id
            using errcode = '23514', constraint = 'workstream_phasing_sign';
    end if;
    return null;
end
$$;

create constraint trigger workstream_phasing_on_target
    after insert on workstream
    deferrable initially deferred
    for each row when (new.annual_target_pence <> 0)
    execute function medopt_check_phasing();

create constraint trigger workstream_phasing_on_target_change
    after update of annual_target_pence, cost_pressure on workstream
    deferrable initially deferred
    for each row when (old.annual_target_pence is distinct from new.annual_target_pence
                       or old.cost_pressure is distinct from new.cost_pressure)
    execute function medopt_check_phasing();

create constraint trigger workstream_month_phasing_on_insert
    after insert on workstream_month
    deferrable initially deferred
    for each row when (new.planned_pence <> 0)
    execute function medopt_check_phasing();

create constraint trigger workstream_month_phasing_on_change
    after update of planned_pence on workstream_month
    deferrable initially deferred
    for each row when (old.planned_pence is distinct from new.planned_pence)
    execute function medopt_check_phasing();

-- A monthly row belongs to a month of its plan's programme year.
create function medopt_check_month_in_year() returns trigger
language plpgsql as $$
declare
    starts date;
begin
    select y.starts_on into starts
    from workstream w
    join plan p on p.plan_id = w.plan_id and p.icb_id = w.icb_id
    join programme_year y on y.programme_year_id = p.programme_year_id
    where w.workstream_id = new.workstream_id;
    if starts is null or new.month < starts or new.month >= (starts + interval '1 year')::date then
        raise exception 'month % is outside the programme year of workstream %',
            new.month, new.workstream_id
            using errcode = '23514', constraint = 'workstream_month_in_plan_year';
    end if;
    return new;
end
$$;

create trigger workstream_month_in_plan_year
    before insert or update of month, workstream_id on workstream_month
    for each row execute function medopt_check_month_in_year();

-- Stored figures that break a rule of this migration (or of the lifetimes of ICBs): for
-- operators (`medopt check`), never changed automatically. Not granted to the application.
create view figures_problem as
select 'phasing does not add up to the annual target'::text as problem,
       i.ods_code, y.starts_on as year_starts_on, w.workstream_id,
       format('phased %s pence, annual target %s pence', coalesce(m.phased, 0), w.annual_target_pence) as detail
from workstream w
join plan p on p.plan_id = w.plan_id
join programme_year y on y.programme_year_id = p.programme_year_id
join icb i on i.icb_id = w.icb_id
left join lateral (
    select sum(planned_pence) as phased from workstream_month where workstream_id = w.workstream_id
) m on true
where coalesce(m.phased, 0) <> w.annual_target_pence
union all
select 'negative phasing on a workstream that is not a cost pressure', i.ods_code, y.starts_on,
       w.workstream_id, format('%s month(s) below zero', count(*))
from workstream w
join workstream_month m on m.workstream_id = w.workstream_id
join plan p on p.plan_id = w.plan_id
join programme_year y on y.programme_year_id = p.programme_year_id
join icb i on i.icb_id = w.icb_id
where m.planned_pence < 0 and not w.cost_pressure
group by i.ods_code, y.starts_on, w.workstream_id
union all
select 'monthly row outside the plan''s programme year', i.ods_code, y.starts_on, w.workstream_id,
       format('month %s', m.month)
from workstream_month m
join workstream w on w.workstream_id = m.workstream_id
join plan p on p.plan_id = w.plan_id
join programme_year y on y.programme_year_id = p.programme_year_id
join icb i on i.icb_id = w.icb_id
where m.month < y.starts_on or m.month >= (y.starts_on + interval '1 year')::date
union all
select 'actual saving for a month the ICB did not exist in', i.ods_code, y.starts_on, w.workstream_id,
       format('month %s (the ICB existed %s to %s)', m.month, i.valid_from, coalesce(i.valid_to::text, 'now'))
from workstream_month m
join workstream w on w.workstream_id = m.workstream_id
join plan p on p.plan_id = w.plan_id
join programme_year y on y.programme_year_id = p.programme_year_id
join icb i on i.icb_id = w.icb_id
where m.actual_pence is not null
  and (m.month < date_trunc('month', i.valid_from::timestamp)::date or m.month > i.valid_to)
union all
select 'plan for a year its ICB did not exist in', i.ods_code, y.starts_on, w.workstream_id,
       format('the ICB existed %s to %s', i.valid_from, coalesce(i.valid_to::text, 'now'))
from plan p
join programme_year y on y.programme_year_id = p.programme_year_id
join icb i on i.icb_id = p.icb_id
join workstream w on w.plan_id = p.plan_id
where i.valid_from > (y.starts_on + interval '1 year' - interval '1 day')::date
   or i.valid_to < y.starts_on;

comment on view figures_problem is
    'Stored figures that break a rule (phasing, signs, months, ICB lifetimes); see medopt check.';

do $$
declare
    r record;
begin
    for r in select problem, count(*) as n from figures_problem group by problem loop
        raise notice 'medopt: % row(s) with %: run `medopt check` to list them', r.n, r.problem;
    end loop;
end $$;
