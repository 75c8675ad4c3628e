-- The synthetic demo dataset (`medopt demo`): which plans it created.
--
-- One row per plan the demo loader wrote. While any row exists, every page carries a "demo
-- data" banner, so synthetic figures are never mistaken for real ones. The rows also let a
-- second run tell the demo's own plans (left as they are) from real ones (never overwritten:
-- the loader refuses). Plans are never deleted, so the rows stay valid.
--
-- No `icb_id` here on purpose: the table names plans, it holds no ICB's data of its own.

create table demo_dataset (
    plan_id   integer primary key references plan,
    -- the generator's seed, so the same dataset can be produced again elsewhere
    seed      bigint not null,
    loaded_at timestamptz not null default now()
);

comment on table demo_dataset is 'Plans created by `medopt demo`; any row means the data is synthetic.';

-- Pages check for the banner; only the operator's `medopt demo` writes here.
grant select on demo_dataset to medopt_app;
