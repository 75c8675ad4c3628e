-- Accounts, server-side sessions, the audit trail, the first tenant table (plan) and the
-- row-level security that backs up the application's own scope checks.

create type user_role as enum
    ('icb_editor', 'icb_viewer', 'region_reviewer', 'national_analyst', 'admin');

create table app_user (
    user_id              uuid primary key default gen_random_uuid(),
    -- stored lower-case, so the unique key is case-insensitive
    email                text not null check (email = lower(email) and email ~ '^[^@\s]+@[^@\s]+$'),
    name                 text not null check (name <> ''),
    role                 user_role not null,
    icb_id               integer references icb,
    region_id            smallint references region,
    password_hash        text not null,
    must_change_password boolean not null default false,
    active               boolean not null default true,
    failed_logins        integer not null default 0,
    locked_until         timestamptz,
    -- sessions signed in before this are ended (a new or reset password signs out everywhere)
    password_changed_at  timestamptz not null default now(),
    created_at           timestamptz not null default now(),
    updated_at           timestamptz not null default now(),
    constraint app_user_email_key unique (email),
    -- A role that needs an organisation has exactly the right kind; others have none.
    constraint app_user_org_matches_role check (
        case role
            when 'icb_editor' then icb_id is not null and region_id is null
            when 'icb_viewer' then icb_id is not null and region_id is null
            when 'region_reviewer' then region_id is not null and icb_id is null
            else icb_id is null and region_id is null
        end)
);

-- tower-sessions records. Several app instances share them. `data` is JSON so operators
-- (and tests) can read it; it never holds more than ids, times and the form token.
create table session (
    session_id text primary key,
    data       jsonb not null,
    expires_at timestamptz not null
);

create index session_expires_idx on session (expires_at);

-- Append-only: the application role may insert and read, never update or delete.
create table audit_event (
    audit_event_id    bigint generated always as identity primary key,
    occurred_at       timestamptz not null default now(),
    actor_user_id     uuid references app_user,
    action            text not null,
    object_type       text,
    object_id         text,
    organisation_code text,
    request_id        text,
    details           jsonb not null default '{}'
);

create index audit_event_newest_idx on audit_event (audit_event_id desc);
create index audit_event_actor_idx on audit_event (actor_user_id, audit_event_id desc);

create type plan_status as enum ('draft', 'submitted', 'agreed', 'returned');

-- An ICB's medicines optimisation plan for one programme year. Tenant data: carries icb_id.
create table plan (
    plan_id           integer generated always as identity primary key,
    icb_id            integer not null references icb,
    programme_year_id smallint not null references programme_year,
    status            plan_status not null default 'draft',
    review_comment    text,
    created_by        uuid references app_user,
    created_at        timestamptz not null default now(),
    updated_at        timestamptz not null default now(),
    constraint plan_icb_year_key unique (icb_id, programme_year_id)
);

-- The role every request runs as (`set local role medopt_app` in its transaction). It owns
-- nothing and cannot bypass row-level security. Roles are cluster-wide and tests migrate
-- many databases at once, so creating and granting it tolerates a concurrent twin.
do $$
begin
    create role medopt_app nologin nobypassrls;
exception when duplicate_object or unique_violation then null;
end $$;

do $$
begin
    execute format('grant medopt_app to %I', current_user);
exception when duplicate_object or unique_violation or internal_error then null;
end $$;

grant usage on schema public to medopt_app;
grant select on region, icb, programme_year, opportunity to medopt_app;
grant insert, update on programme_year, opportunity to medopt_app;
grant select, insert, update on app_user to medopt_app;
grant select, insert on audit_event to medopt_app;
grant select, insert, update on plan to medopt_app;
grant usage on all sequences in schema public to medopt_app;

-- Scope of the current transaction, set with set_config(..., true) by the application:
--   medopt.read_icbs  = '*' (national) or a comma-separated list of icb ids, or empty;
--   medopt.write_icbs = a comma-separated list of icb ids, or empty.
-- Unset or empty means no tenant rows at all.
create function medopt_icb_in_setting(icb integer, setting text) returns boolean
language sql stable parallel safe as $$
    select case coalesce(current_setting(setting, true), '')
        when '' then false
        when '*' then true
        else icb = any (string_to_array(current_setting(setting, true), ',')::integer[])
    end
$$;

alter table plan enable row level security;
alter table plan force row level security;

create policy plan_read on plan for select
    using (medopt_icb_in_setting(icb_id, 'medopt.read_icbs'));
create policy plan_insert on plan for insert
    with check (medopt_icb_in_setting(icb_id, 'medopt.write_icbs'));
create policy plan_update on plan for update
    using (medopt_icb_in_setting(icb_id, 'medopt.write_icbs'))
    with check (medopt_icb_in_setting(icb_id, 'medopt.write_icbs'));
