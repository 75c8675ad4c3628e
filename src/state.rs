//! The state every handler can reach: cheap to clone, one `Arc` inside.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sqlx::PgPool;
use tokio::sync::Semaphore;

use crate::clock::Clock;
use crate::config::Config;
use crate::orgs::directory::Directory;

/// Keys a sign-in limiter holds before it forgets those not seen lately.
const LIMITER_KEYS_BEFORE_PRUNING: usize = 10_000;

/// Shared application state.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    db: PgPool,
    config: Config,
    login_limiter: DefaultKeyedRateLimiter<IpAddr>,
    account_limiter: DefaultKeyedRateLimiter<String>,
    export_slots: Arc<Semaphore>,
    clock: Clock,
    directory: Directory,
}

impl AppState {
    /// Builds the state from a connected (possibly lazy) pool and the configuration.
    pub fn new(db: PgPool, config: Config) -> Self {
        Self::with_clock(db, config, Clock::system())
    }

    /// The state with today's date coming from `clock` (tests fix the date).
    pub fn with_clock(db: PgPool, config: Config, clock: Clock) -> Self {
        let per_minute =
            NonZeroU32::new(config.login_attempts_per_minute).unwrap_or(NonZeroU32::MIN);
        let login_limiter = RateLimiter::keyed(Quota::per_minute(per_minute));
        let account_limiter = RateLimiter::keyed(Quota::per_minute(per_minute));
        // A download holds a database connection while it streams: at most half the pool, so
        // pages stay quick however many files are being downloaded.
        let export_slots = Arc::new(Semaphore::new((config.db_pool_size as usize / 2).max(1)));
        Self {
            inner: Arc::new(Inner {
                db,
                config,
                login_limiter,
                account_limiter,
                export_slots,
                clock,
                directory: Directory::default(),
            }),
        }
    }

    /// The organisations, in memory, for access checks.
    pub fn directory(&self) -> &Directory {
        &self.inner.directory
    }

    /// Where today's date comes from.
    pub fn clock(&self) -> Clock {
        self.inner.clock
    }

    /// The connection pool. Handlers read tenant data through [`crate::auth::scope::begin`]
    /// instead, so row-level security applies.
    pub fn db(&self) -> &PgPool {
        &self.inner.db
    }

    /// The configuration the server was started with.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Permits for downloads streaming at once (see [`crate::exports`]).
    pub fn export_slots(&self) -> Arc<Semaphore> {
        self.inner.export_slots.clone()
    }

    /// Takes one sign-in attempt from the client's allowance and the account's (each
    /// `MEDOPT_LOGIN_ATTEMPTS_PER_MINUTE` a minute); false when either is used up. Per client,
    /// so one attacker cannot use up everyone's attempts; per account, so attempts from many
    /// addresses cannot hammer one account faster than that.
    pub fn take_sign_in_attempt(&self, client: IpAddr, account: &str) -> bool {
        let inner = &self.inner;
        // Someone trying many addresses or names grows these maps: now and then forget the
        // keys whose allowance has refilled.
        for limiter_len in [inner.login_limiter.len(), inner.account_limiter.len()] {
            if limiter_len > LIMITER_KEYS_BEFORE_PRUNING {
                inner.login_limiter.retain_recent();
                inner.account_limiter.retain_recent();
                break;
            }
        }
        let account: String = account.chars().take(254).collect();
        inner.login_limiter.check_key(&client).is_ok()
            && inner.account_limiter.check_key(&account).is_ok()
    }
}
