-- Foundation: NHS England regions, integrated care boards (ICBs) and the national medicines
-- optimisation opportunity catalogue for each programme year.
--
-- Conventions for every later migration:
--   * money is integer pence (bigint), never numeric or float;
--   * months are the first day of the month (date, with a check);
--   * financial years run April to March and are identified by the date they start;
--   * every table that holds a tenant's data carries `icb_id` and row-level security.
--   * `edited_at` on reference tables records that an administrator changed the row, so a
--     reload of the shipped reference data leaves that row alone.

create table region (
    region_id   smallint generated always as identity primary key,
    ods_code    text not null unique check (ods_code ~ '^Y[0-9]{2}$'),
    name        text not null check (name <> ''),
    ons_code    text,
    edited_at   timestamptz
);

comment on table region is 'NHS England regions (7 since 2020).';

-- The organisation structure is effective-dated: an ICB exists from `valid_from` to
-- `valid_to` inclusive. Plans stay attributed to the ICB that recorded them after a merger.
create table icb (
    icb_id      integer generated always as identity primary key,
    ods_code    text not null unique check (ods_code ~ '^[A-Z0-9]{3}$'),
    name        text not null check (name <> ''),
    ons_code    text,
    region_id   smallint not null references region,
    valid_from  date not null,
    valid_to    date,
    change_note text,
    edited_at   timestamptz,
    constraint icb_valid_range check (valid_to is null or valid_to >= valid_from)
);

create index icb_region_idx on icb (region_id);

comment on column icb.valid_to is 'Last day the ICB existed; null while it exists.';
comment on column icb.change_note is 'What happened to it, e.g. the successor ICB after a merger.';

-- A programme year is a financial year (April to March) with its own catalogue.
create table programme_year (
    programme_year_id smallint generated always as identity primary key,
    starts_on         date not null unique
        check (extract(month from starts_on) = 4 and extract(day from starts_on) = 1),
    open_for_editing  boolean not null default true,
    created_at        timestamptz not null default now()
);

-- The catalogue is data per year, never code: later years may add, drop or rename entries.
create table opportunity (
    opportunity_id    integer generated always as identity primary key,
    programme_year_id smallint not null references programme_year,
    number            smallint not null check (number between 1 and 99),
    group_name        text not null check (group_name <> ''),
    -- null while NHS England's title has not been confirmed (shown as "title to be confirmed")
    title             text check (title <> ''),
    title_confirmed   boolean not null,
    slug              text not null check (slug ~ '^[a-z0-9_]+$'),
    efficiency_focus  boolean not null default false,
    edited_at         timestamptz,
    constraint opportunity_number_key unique (programme_year_id, number),
    constraint opportunity_slug_key unique (programme_year_id, slug),
    constraint opportunity_confirmed_has_title check (not title_confirmed or title is not null)
);
