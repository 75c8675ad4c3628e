//! Who is asking, and what their role lets them see.
//!
//! The security core, shaped so that a forgotten check cannot leak one ICB's data to another:
//! - [`CurrentUser`] is the only way a handler learns who is signed in;
//! - tenant data is read through [`scope::IcbAccess`] / [`scope::RegionAccess`], which only
//!   the scope checks can create, inside a transaction begun by [`scope::begin`] that runs as
//!   the `medopt_app` database role with the request's scope set, so PostgreSQL row-level
//!   security filters every tenant table even if a query forgets to;
//! - every state-changing request must carry the session's form token ([`csrf`]);
//! - signing in counts attempts in the database ([`lockout`]) and, for the roles that need
//!   it, asks for a second step ([`two_step`]).

pub mod client_ip;
pub mod csrf;
pub(crate) mod current_user;
pub mod lockout;
pub mod login;
pub mod password;
mod role;
pub mod scope;
pub mod session_store;
pub mod two_step;

pub use current_user::{CurrentUser, MaybeUser, SESSION_ABSOLUTE_LIMIT, SESSION_IDLE_LIMIT};
pub use role::{OrgKind, Role};

/// Keys of the values kept in a session.
pub(crate) mod keys {
    /// The signed-in user's id.
    pub const USER_ID: &str = "user_id";
    /// When the user signed in (Unix seconds, with fraction), for the absolute time limit and
    /// to end sessions older than the user's latest password.
    pub const AUTH_AT: &str = "auth_at";
    /// The form token.
    pub const CSRF: &str = "csrf";
    /// When the session's expiry was last moved on (Unix seconds).
    pub const TOUCHED: &str = "touched";
    /// A sign-in waiting for its two-step code: the user's id, since when (Unix seconds) and
    /// where to go after.
    pub const PENDING_USER_ID: &str = "pending_user_id";
    pub const PENDING_AT: &str = "pending_at";
    pub const PENDING_NEXT: &str = "pending_next";
}
