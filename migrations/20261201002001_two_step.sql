-- Two-step verification: a time-based one-time password (TOTP, RFC 6238) from an
-- authenticator app, and single-use recovery codes for when the phone is lost.
--
-- The secrets are read only by the sign-in code, which runs as the table owner. The
-- application role (`medopt_app`, every page's transaction) may see whether a user has
-- two-step verification and remove it (an administrator's reset), but never read a secret
-- or a code's hash.

create table user_two_step (
    user_id        uuid primary key references app_user on delete cascade,
    -- the shared secret, base32 (RFC 4648) as authenticator apps take it
    secret         text not null check (secret ~ '^[A-Z2-7]{32,}$'),
    -- null while enrolment waits for the user's first code
    confirmed_at   timestamptz,
    -- the latest time step (Unix time / 30 s) whose code was accepted: a code is used once,
    -- and none older than it is accepted afterwards
    last_used_step bigint,
    created_at     timestamptz not null default now()
);

create table recovery_code (
    recovery_code_id bigint generated always as identity primary key,
    user_id          uuid not null references app_user on delete cascade,
    -- argon2id PHC string of the normalised code: codes have about 50 bits of entropy,
    -- less than the 112 that would allow a plain hash (ASVS 5.0 6.5.2)
    code_hash        text not null,
    used_at          timestamptz,
    created_at       timestamptz not null default now()
);

create index recovery_code_unused_idx on recovery_code (user_id) where used_at is null;

comment on table user_two_step is 'TOTP secrets; readable only by the table owner (sign-in), not medopt_app.';
comment on table recovery_code is 'Hashed single-use recovery codes for two-step verification.';

grant select (user_id, confirmed_at) on user_two_step to medopt_app;
grant select (user_id, used_at) on recovery_code to medopt_app;
grant delete on user_two_step, recovery_code to medopt_app;
