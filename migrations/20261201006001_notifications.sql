-- E-mail notifications.
--
-- `outbox`: one row per e-mail to one person, written in the same transaction as the change
-- that causes it (a plan submitted, returned or agreed) or by the background worker's
-- scheduler (reminders, digests), and sent by the worker with retries. A web request never
-- waits for the mail server, and a mail server that is down loses nothing.
--
-- `notification_setting`: the kinds of e-mail each person has turned off.

create table outbox (
    outbox_id          bigint generated always as identity primary key,
    kind               text not null check (kind in ('plan_submitted', 'plan_returned',
                           'plan_agreed', 'figures_due', 'figures_overdue', 'review_digest')),
    recipient_user_id  uuid not null references app_user,
    -- the ICB the message is about (null for a region's digest) and the region
    icb_id             integer references icb,
    region_id          smallint references region,
    subject            text not null check (subject <> ''),
    -- what the message says, as data; its text and HTML are rendered when it is sent, with
    -- the links' base address of the sending server
    payload            jsonb not null,
    -- reminders and digests carry a key per ICB/month/kind or per region/week, unique per
    -- recipient, so a scheduler that runs again (after a restart, or on several instances at
    -- once) enqueues nothing twice
    dedupe_key         text,
    created_at         timestamptz not null default now(),
    attempts           integer not null default 0,
    next_attempt_at    timestamptz not null default now(),
    sent_at            timestamptz,
    -- given up on: a permanent refusal, or too many attempts
    failed_at          timestamptz,
    last_error         text,
    constraint outbox_dedupe_key unique (dedupe_key, recipient_user_id),
    constraint outbox_sent_or_failed check (sent_at is null or failed_at is null)
);

-- The worker's claim: the oldest due messages not yet sent or given up on.
create index outbox_due_idx on outbox (next_attempt_at, outbox_id)
    where sent_at is null and failed_at is null;
create index outbox_newest_idx on outbox (outbox_id desc);

create table notification_setting (
    user_id     uuid primary key references app_user,
    turned_off  text[] not null default '{}' check (turned_off <@ array['plan_submitted',
                    'plan_returned', 'plan_agreed', 'figures_due', 'figures_overdue',
                    'review_digest']),
    version     integer not null default 1,
    updated_at  timestamptz not null default now()
);

-- Like every table holding an ICB's data, the outbox has forced row-level security: a
-- transaction reads and writes only messages about what it can read (an ICB in its scope, or
-- for a digest a region all of whose ICBs are); national scope covers them all (the outbox page is for
-- administrators). Reading matters for writing too: `insert … on conflict` checks the new row
-- against the read policy. Requests (medopt_app) may not update rows at all; the worker,
-- connected as the owner, claims and updates them in a transaction with national read scope.
grant select, insert on outbox to medopt_app;
grant select, insert, update on notification_setting to medopt_app;
grant usage on all sequences in schema public to medopt_app;

create function medopt_outbox_in_scope(icb integer, region smallint) returns boolean
language sql stable parallel safe as $$
    select coalesce(current_setting('medopt.read_icbs', true), '') = '*'
        or (icb is not null and medopt_icb_in_setting(icb, 'medopt.read_icbs'))
        or (icb is null and region is not null and not exists (
                select 1 from icb i
                where i.region_id = region
                  and not medopt_icb_in_setting(i.icb_id, 'medopt.read_icbs')))
$$;

alter table outbox enable row level security;
alter table outbox force row level security;
create policy outbox_insert on outbox for insert
    with check (medopt_outbox_in_scope(icb_id, region_id));
create policy outbox_read on outbox for select
    using (medopt_outbox_in_scope(icb_id, region_id));
create policy outbox_update on outbox for update
    using (medopt_outbox_in_scope(icb_id, region_id))
    with check (medopt_outbox_in_scope(icb_id, region_id));
