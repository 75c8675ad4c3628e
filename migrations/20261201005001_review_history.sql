-- The review of a plan, kept: the ICB's cover note, and a dated history of every submission
-- and decision with its comments and a snapshot of the plan's content at that moment.
--
-- `plan.review_comment` holds only the latest decision's comments (agreeing without comments
-- clears it), and the audit log is for administrators to search, not a page's data source. A
-- reviewer deciding on a resubmitted plan needs the whole story: what the ICB said when it
-- submitted, what was asked last time, and what changed since the plan was last agreed. So
-- each step writes one row here, in the same transaction as the status change.

-- The note an ICB editor writes when submitting, for the reviewer (the latest submission's).
alter table plan add column cover_note text not null default ''
    check (char_length(cover_note) <= 5000);

-- The plan's content as a reviewer agrees it: every live workstream with its target and its
-- phasing, April to March (a month without a row counts as £0). One definition, used when a
-- step is recorded and when a page compares the plan now with the last agreed one, so the
-- two are always comparable. Runs as the caller: row-level security applies.
create function medopt_plan_snapshot(p_plan_id integer) returns jsonb
language sql stable as $$
    select jsonb_build_object('workstreams', coalesce(jsonb_agg(ws order by sort_number, id), '[]'::jsonb))
    from (
        select w.workstream_id as id,
               coalesce(o.number, 1000) as sort_number,
               jsonb_build_object(
                   'id', w.workstream_id,
                   'number', o.number,
                   'title', coalesce(w.title, o.title),
                   'description', w.description,
                   'annual_target_pence', w.annual_target_pence,
                   'planned_pence', (
                       select jsonb_agg(coalesce(m.planned_pence, 0) order by g.month)
                       from generate_series(y.starts_on, y.starts_on + interval '11 months',
                                            interval '1 month') as g(month)
                       left join workstream_month m
                              on m.workstream_id = w.workstream_id and m.icb_id = w.icb_id
                             and m.month = g.month::date
                   )
               ) as ws
        from workstream w
        join plan p on p.plan_id = w.plan_id and p.icb_id = w.icb_id
        join programme_year y on y.programme_year_id = p.programme_year_id
        left join opportunity o on o.opportunity_id = w.opportunity_id
        where w.plan_id = p_plan_id and w.removed_at is null
    ) as content
$$;

create type plan_review_action as enum ('submitted', 'agreed', 'returned', 'reopened');

create table plan_review_event (
    plan_review_event_id integer generated always as identity primary key,
    plan_id              integer not null,
    icb_id               integer not null references icb,
    action               plan_review_action not null,
    -- the cover note of a submission, the reviewer's comments on a decision
    note                 text not null default '' check (char_length(note) <= 5000),
    -- the plan's content at that moment (medopt_plan_snapshot)
    plan_snapshot        jsonb,
    actor_user_id        uuid references app_user,
    -- as it was then: the history reads the same after an account is renamed or removed
    actor_name           text not null,
    occurred_at          timestamptz not null default now(),
    foreign key (plan_id, icb_id) references plan (plan_id, icb_id)
);

create index plan_review_event_plan_idx on plan_review_event (plan_id, occurred_at);

-- Append-only: read with the plan; written by the side whose step it is (an ICB editor
-- submits and reopens, a reviewer of the region agrees and returns).
grant select, insert on plan_review_event to medopt_app;
alter table plan_review_event enable row level security;
alter table plan_review_event force row level security;
create policy plan_review_event_read on plan_review_event for select
    using (medopt_icb_in_setting(icb_id, 'medopt.read_icbs'));
create policy plan_review_event_insert on plan_review_event for insert
    with check ((action in ('submitted', 'reopened')
                 and medopt_icb_in_setting(icb_id, 'medopt.write_icbs'))
                or (action in ('agreed', 'returned')
                    and medopt_icb_in_setting(icb_id, 'medopt.review_icbs')));

-- The history so far, from what was recorded before this table existed (row-level security
-- applies to the owner too, so this migration sees and writes every ICB's rows explicitly):
-- each submission and decision of the audit log, and for a plan that is agreed now (its
-- content cannot have changed since: a change reopens it) its agreement's snapshot.
select set_config('medopt.read_icbs', '*', true),
       set_config('medopt.write_icbs', '*', true),
       set_config('medopt.review_icbs', '*', true);

insert into plan_review_event (plan_id, icb_id, action, note, actor_user_id, actor_name, occurred_at)
select p.plan_id, p.icb_id,
       case e.action when 'plan.submitted' then 'submitted'
                     when 'plan.agreed' then 'agreed'
                     when 'plan.returned' then 'returned'
                     else 'reopened' end::plan_review_action,
       coalesce(e.details -> 'after' ->> 'comment', ''),
       e.actor_user_id, coalesce(u.name, 'Unknown'), e.occurred_at
from audit_event e
join icb i on e.object_id like i.ods_code || '/%'
join programme_year y on e.object_id = i.ods_code || '/' || to_char(y.starts_on, 'YYYY') || '-'
                                      || to_char(y.starts_on + interval '1 year', 'YY')
join plan p on p.icb_id = i.icb_id and p.programme_year_id = y.programme_year_id
left join app_user u on u.user_id = e.actor_user_id
where e.object_type = 'plan'
  and e.action in ('plan.submitted', 'plan.agreed', 'plan.returned', 'plan.reopened');

-- Steps the plan records but the audit log does not (plans loaded before it had them): the
-- latest submission and decision as the plan records them.
insert into plan_review_event (plan_id, icb_id, action, actor_user_id, actor_name, occurred_at)
select p.plan_id, p.icb_id, 'submitted', null, 'ICB team', p.submitted_at
from plan p
where p.submitted_at is not null
  and not exists (select 1 from plan_review_event r
                  where r.plan_id = p.plan_id and r.action = 'submitted');

insert into plan_review_event (plan_id, icb_id, action, note, actor_user_id, actor_name, occurred_at)
select p.plan_id, p.icb_id, p.status::text::plan_review_action, coalesce(p.review_comment, ''),
       p.reviewed_by, coalesce(u.name, 'Regional team'), coalesce(p.reviewed_at, p.updated_at)
from plan p
left join app_user u on u.user_id = p.reviewed_by
where p.status in ('agreed', 'returned')
  and not exists (select 1 from plan_review_event r
                  where r.plan_id = p.plan_id and r.action::text = p.status::text);

-- The latest agreement of a plan agreed now carries its content.
update plan_review_event r set plan_snapshot = medopt_plan_snapshot(r.plan_id)
from plan p
where p.plan_id = r.plan_id and p.status = 'agreed' and r.action = 'agreed'
  and r.plan_review_event_id = (select max(plan_review_event_id) from plan_review_event l
                                where l.plan_id = r.plan_id and l.action = 'agreed');
