-- ICB programme plans: the workstreams an ICB runs (chosen national opportunities and its
-- local priorities), their monthly targets and actual savings, RAG updates and outcome
-- measures. Every table carries icb_id and row-level security, like `plan`.
--
-- Records that people edit carry a `version`: a save names the version it was based on and
-- is refused when someone else saved in between, so nobody's change is overwritten silently.

alter table plan
    add column version      integer not null default 1,
    add column submitted_at timestamptz,
    add column reviewed_at  timestamptz,
    add column reviewed_by  uuid references app_user,
    -- lets child rows prove they belong to the plan's ICB (composite foreign keys below)
    add constraint plan_id_icb_key unique (plan_id, icb_id);

create type rag_status as enum ('red', 'amber', 'green');

create table workstream (
    workstream_id        integer generated always as identity primary key,
    icb_id               integer not null references icb,
    plan_id              integer not null,
    -- a chosen national opportunity, or null for a local priority
    opportunity_id       integer references opportunity,
    -- a local priority's own title and description (national ones use the catalogue's)
    title                text check (title <> ''),
    description          text not null default '',
    lead_name            text not null default '',
    summary              text not null default '',
    -- the ICS aims it serves, of: outcomes, inequalities, value, social_economic
    objectives           text[] not null default '{}'
        check (objectives <@ array['outcomes', 'inequalities', 'value', 'social_economic']),
    annual_target_pence  bigint not null default 0 check (annual_target_pence >= 0),
    rag                  rag_status,
    -- soft delete: a removed workstream keeps its figures and history
    removed_at           timestamptz,
    version              integer not null default 1,
    created_at           timestamptz not null default now(),
    updated_at           timestamptz not null default now(),
    constraint workstream_kind check ((opportunity_id is null) = (title is not null)),
    -- choosing an opportunity again brings back its workstream (and its history)
    constraint workstream_plan_opportunity_key unique (plan_id, opportunity_id),
    constraint workstream_plan_fk foreign key (plan_id, icb_id) references plan (plan_id, icb_id),
    constraint workstream_id_icb_key unique (workstream_id, icb_id)
);

create index workstream_plan_idx on workstream (plan_id);
create index workstream_icb_idx on workstream (icb_id);

-- One row per workstream-month: the phased target and the actual saving (null until reported).
create table workstream_month (
    workstream_id  integer not null,
    month          date not null check (extract(day from month) = 1),
    icb_id         integer not null references icb,
    planned_pence  bigint not null default 0,
    actual_pence   bigint,
    primary key (workstream_id, month),
    foreign key (workstream_id, icb_id) references workstream (workstream_id, icb_id)
);

create index workstream_month_icb_idx on workstream_month (icb_id, month);

-- The dated narrative log behind a workstream's RAG status, newest first on the page.
create table workstream_update (
    workstream_update_id integer generated always as identity primary key,
    workstream_id        integer not null,
    icb_id               integer not null references icb,
    rag                  rag_status not null,
    narrative            text not null check (narrative <> ''),
    author_user_id       uuid references app_user,
    author_name          text not null,
    created_at           timestamptz not null default now(),
    foreign key (workstream_id, icb_id) references workstream (workstream_id, icb_id)
);

create index workstream_update_workstream_idx on workstream_update (workstream_id, created_at desc);

create type measure_direction as enum ('higher_is_better', 'lower_is_better');

create table measure (
    measure_id      integer generated always as identity primary key,
    workstream_id   integer not null,
    icb_id          integer not null references icb,
    name            text not null check (name <> ''),
    unit            text not null check (unit <> ''),
    direction       measure_direction not null,
    baseline_value  double precision,
    baseline_month  date check (extract(day from baseline_month) = 1),
    target_value    double precision,
    target_month    date check (extract(day from target_month) = 1),
    removed_at      timestamptz,
    version         integer not null default 1,
    created_at      timestamptz not null default now(),
    updated_at      timestamptz not null default now(),
    foreign key (workstream_id, icb_id) references workstream (workstream_id, icb_id),
    constraint measure_id_icb_key unique (measure_id, icb_id)
);

create index measure_workstream_idx on measure (workstream_id);

create table measure_value (
    measure_id  integer not null,
    month       date not null check (extract(day from month) = 1),
    icb_id      integer not null references icb,
    value       double precision not null check (value = value and abs(value) < 'infinity'),
    primary key (measure_id, month),
    foreign key (measure_id, icb_id) references measure (measure_id, icb_id)
);

grant select, insert, update on workstream, workstream_month, workstream_update, measure,
    measure_value to medopt_app;
grant delete on measure_value to medopt_app;
grant usage on all sequences in schema public to medopt_app;

do $$
declare
    t text;
begin
    foreach t in array array['workstream', 'workstream_month', 'workstream_update', 'measure',
                             'measure_value']
    loop
        execute format('alter table %I enable row level security', t);
        execute format('alter table %I force row level security', t);
        execute format('create policy %I on %I for select using (medopt_icb_in_setting(icb_id, %L))',
                       t || '_read', t, 'medopt.read_icbs');
        execute format('create policy %I on %I for insert with check (medopt_icb_in_setting(icb_id, %L))',
                       t || '_insert', t, 'medopt.write_icbs');
        execute format('create policy %I on %I for update using (medopt_icb_in_setting(icb_id, %L)) with check (medopt_icb_in_setting(icb_id, %L))',
                       t || '_update', t, 'medopt.write_icbs', 'medopt.write_icbs');
        execute format('create policy %I on %I for delete using (medopt_icb_in_setting(icb_id, %L))',
                       t || '_delete', t, 'medopt.write_icbs');
    end loop;
end $$;
