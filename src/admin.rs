//! Administration: users and roles, the catalogue per year, organisations and their changes,
//! and the audit log.
//! Every handler takes an [`crate::auth::scope::AdminUser`], so only administrators get in.

mod audit_log;
pub mod catalogue;
mod organisations;
mod users;

use crate::routes::Routes;

pub use catalogue::{YearCopy, copy_year};

/// The administration routes.
pub fn routes() -> Routes {
    Routes::new()
        .merge(users::routes())
        .merge(catalogue::routes())
        .merge(audit_log::routes())
        .merge(organisations::routes())
}
