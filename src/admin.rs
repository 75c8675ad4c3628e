//! Administration: users and roles, the catalogue per year, organisations and their changes,
//! the audit log and the e-mail outbox.
//! Every handler takes an [`crate::auth::scope::AdminUser`], so only administrators get in.

mod audit_log;
pub mod catalogue;
mod organisations;
mod outbox;
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
        .merge(outbox::routes())
}
