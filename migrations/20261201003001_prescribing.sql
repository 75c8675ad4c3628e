-- Measures from the national prescribing data (NHSBSA's English Prescribing Dataset, EPD).
--
-- The EPD is national open data, not tenant data: no `icb_id` row-level security here, every
-- signed-in role may read England's spread. Pages that show one ICB's figures are scoped by
-- their own access checks.
--
-- Sizing: a month of the EPD is about 17 million rows. The raw rows are never kept. The
-- importer aggregates them as it reads, to one row per practice and measure (about 9,000
-- practices × the measures in the library), which is what every figure is computed from. That
-- table is partitioned by month: a month is replaced by emptying and refilling its own
-- partition inside one transaction, and years of data stay cheap to read a month at a time.

-- The measure library: reference data from `reference/measures.csv`, loaded on every start.
create table prescribing_measure (
    prescribing_measure_id smallint generated always as identity primary key,
    slug                   text not null unique check (slug ~ '^[a-z0-9_]+$'),
    -- the national opportunity the measure shows progress on (its number in the catalogue)
    opportunity_number     smallint not null check (opportunity_number between 1 and 99),
    title                  text not null check (title <> ''),
    -- space-separated BNF code prefixes; a prefix starting with `-` excludes
    numerator_bnf_codes    text not null,
    denominator_bnf_codes  text not null,
    numerator_field        text not null
        check (numerator_field in ('items', 'quantity', 'actual_cost', 'nic', 'adqusage')),
    denominator_field      text not null
        check (denominator_field in ('items', 'quantity', 'actual_cost', 'nic', 'adqusage', 'list_size')),
    lower_is_better        boolean not null,
    source_url             text not null,
    -- the row's position in the file, so pages list measures in the library's order
    position               smallint not null default 0
);

create index prescribing_measure_opportunity_idx on prescribing_measure (opportunity_number);

-- One row per EPD month loaded: which release, from where, and what it held.
create table prescribing_month (
    month           date primary key check (extract(day from month) = 1),
    -- when NHSBSA published the release loaded (a later release of a month replaces an
    -- earlier one; an earlier one never replaces a later one)
    released_at     timestamptz not null,
    source          text not null,
    -- the file was made by `medopt prescribing synth`: pages say the figures are synthetic
    synthetic       boolean not null,
    rows_read       bigint not null,
    rows_skipped    bigint not null,
    practices       integer not null,
    icbs            integer not null,
    -- the list-size month whose figures the per-1,000-patient measures used (the latest
    -- loaded on or before this month, else the earliest loaded); null when none is loaded
    list_size_month date,
    imported_at     timestamptz not null default now()
);

-- GP practice list sizes (NHS England, "Patients Registered at a GP Practice"), per month.
create table prescribing_list_size_month (
    month       date primary key check (extract(day from month) = 1),
    source      text not null,
    practices   integer not null,
    patients    bigint not null,
    loaded_at   timestamptz not null default now()
);

create table prescribing_list_size (
    month         date not null references prescribing_list_size_month on delete cascade,
    practice_code text not null,
    patients      integer not null check (patients >= 0),
    primary key (month, practice_code)
);

-- Per practice (prescribing cost centre), month and measure: the sums of the numerator and
-- denominator fields over the rows that match the measure's codes. For a per-1,000-patient
-- measure `denominator` is 0 here: the list size comes from `prescribing_list_size`.
-- Every practice in the month has a row for every measure (zeros included), so an ICB's
-- population is the sum of its practices' list sizes.
create table prescribing_practice_measure (
    month                  date not null,
    practice_code          text not null,
    icb_id                 integer not null references icb,
    -- the sub-ICB location (the EPD's PCO_CODE) the practice prescribed under
    sub_icb_code           text not null,
    prescribing_measure_id smallint not null references prescribing_measure on delete cascade,
    numerator              double precision not null,
    denominator            double precision not null,
    primary key (month, prescribing_measure_id, practice_code)
) partition by range (month);

-- One row per ICB, month and measure: the ICB's sums, its value and its percentile among
-- England's ICBs that month. Rebuilt from the practice rows when a month (or the list sizes it
-- uses) is loaded: small, and what every page reads.
create table prescribing_icb_value (
    month                  date not null,
    icb_id                 integer not null references icb,
    prescribing_measure_id smallint not null references prescribing_measure on delete cascade,
    numerator              double precision not null,
    denominator            double precision,
    -- numerator ÷ denominator (× 1,000 for per-1,000-patient measures); null with no denominator
    value                  double precision,
    -- 0 (lowest value in England that month) to 100 (highest); null without a value
    percentile             double precision,
    primary key (month, prescribing_measure_id, icb_id)
);

create index prescribing_icb_value_icb_idx on prescribing_icb_value (icb_id, prescribing_measure_id, month);

grant select on prescribing_measure, prescribing_month, prescribing_list_size_month,
    prescribing_list_size, prescribing_practice_measure, prescribing_icb_value to medopt_app;

comment on table prescribing_practice_measure is
    'EPD aggregated per practice, month and measure; partitioned by month (one partition a month).';
comment on table prescribing_icb_value is
    'Each ICB''s measure values and percentiles among England''s ICBs, per month.';
