//! Scope checks, in one place, carried by types.
//!
//! A handler that touches an ICB's data first obtains an [`IcbAccess`] (or a region's, a
//! [`RegionAccess`]). Only the checks here can make one, and tenant queries take one, so a
//! query for tenant data cannot be called without the check. Out-of-scope objects answer 404
//! (existence is not disclosed) and the attempt is audited.
//!
//! Underneath, [`begin`] opens the request's transaction as the `medopt_app` role with the
//! caller's scope in `medopt.read_icbs` / `medopt.write_icbs` (`set_config(…, true)`: local
//! to the transaction, so nothing leaks to the next request on a pooled connection), and
//! PostgreSQL row-level security filters every tenant table by it.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use sqlx::{Postgres, Transaction};

use super::{CurrentUser, Role};
use crate::AppState;
use crate::audit::{self, AuditEvent};
use crate::domain::{Lifetime, OdsCode};
use crate::error::{AppError, AppResult};

/// A request's transaction, scoped.
pub type Tx = Transaction<'static, Postgres>;

/// The ICBs a caller may read and change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// No tenant data at all (anonymous visitors).
    Nothing,
    /// One ICB.
    Icb { icb_id: i32, can_edit: bool },
    /// Every ICB of one region (reviewers may record their review).
    Region { region_id: i16 },
    /// Every ICB, read only.
    National,
}

impl CurrentUser {
    /// What this user's role covers.
    pub fn scope(&self) -> Scope {
        match (self.role, self.icb_id, self.region_id) {
            (Role::IcbEditor, Some(icb_id), _) => Scope::Icb {
                icb_id,
                can_edit: true,
            },
            (Role::IcbViewer, Some(icb_id), _) => Scope::Icb {
                icb_id,
                can_edit: false,
            },
            (Role::RegionReviewer, _, Some(region_id)) => Scope::Region { region_id },
            (Role::NationalAnalyst | Role::Admin, _, _) => Scope::National,
            // The database's check constraint makes this unreachable; fail closed anyway.
            _ => Scope::Nothing,
        }
    }
}

/// Begins a transaction as `medopt_app` with `scope` set for row-level security.
///
/// Three settings, local to the transaction: the ICBs the caller may read
/// (`medopt.read_icbs`), whose plan content they may write (`medopt.write_icbs`: an ICB
/// editor's own ICB) and whose plans they may review (`medopt.review_icbs`: a reviewer's
/// region). Row-level security reads them; a reviewer's scope writes no ICB content at all.
///
/// Whoever reads an ICB may also read the ICBs it succeeded (merged or split into it, at any
/// date, followed back through `icb_succession`): their plans are its history, and its figures
/// are restated on today's organisations from them. Writing stays with the ICB itself.
pub async fn begin(state: &AppState, scope: &Scope) -> sqlx::Result<Tx> {
    let mut tx = state.db().begin().await?;
    let (own, region, national, write): (Vec<i32>, Option<i16>, bool, String) = match scope {
        Scope::Nothing => (Vec::new(), None, false, String::new()),
        Scope::Icb { icb_id, can_edit } => {
            let write = if *can_edit {
                icb_id.to_string()
            } else {
                String::new()
            };
            (vec![*icb_id], None, false, write)
        }
        Scope::Region { region_id } => (Vec::new(), Some(*region_id), false, String::new()),
        Scope::National => (Vec::new(), None, true, String::new()),
    };
    // One round trip: the ICBs in scope and their predecessors, the role switch and the three
    // settings together.
    sqlx::query!(
        r#"
        with recursive own (icb_id) as (
            select unnest($1::integer[])
            union all
            select icb_id from icb where region_id = $2
        ),
        earlier (icb_id) as (
            select icb_id from own
            union
            select s.predecessor_icb_id
            from icb_succession s join earlier e on s.successor_icb_id = e.icb_id
        )
        select set_config('role', 'medopt_app', true) as "role!",
               set_config('medopt.read_icbs',
                          case when $3 then '*'
                               else (select coalesce(string_agg(icb_id::text, ',' order by icb_id), '')
                                     from earlier) end,
                          true) as "read_icbs!",
               set_config('medopt.write_icbs', $4, true) as "write_icbs!",
               set_config('medopt.review_icbs',
                          (select coalesce(string_agg(icb_id::text, ',' order by icb_id), '')
                           from icb where region_id = $2),
                          true) as "review_icbs!"
        "#,
        &own,
        region,
        national,
        write
    )
    .fetch_one(&mut *tx)
    .await?;
    Ok(tx)
}

/// Proof that the caller may see one ICB. Fields are private: only [`IcbAccess::check`] makes it.
#[derive(Debug, Clone)]
pub struct IcbAccess {
    icb_id: i32,
    ods_code: String,
    name: String,
    region_id: i16,
    lifetime: Lifetime,
    can_edit: bool,
    can_review: bool,
}

impl IcbAccess {
    /// Finds the ICB with `ods_code` if the user's role covers it; otherwise 404, audited.
    pub async fn check(state: &AppState, user: &CurrentUser, ods_code: &str) -> AppResult<Self> {
        let Some(code) = OdsCode::parse(ods_code) else {
            return Err(deny(state, user, "icb", ods_code).await);
        };
        let icb = state.directory().icb(state.db(), code.as_str()).await?;
        let access = icb.and_then(|icb| {
            let (visible, can_edit, can_review) = match user.role {
                Role::IcbEditor => (user.icb_id == Some(icb.icb_id), true, false),
                Role::IcbViewer => (user.icb_id == Some(icb.icb_id), false, false),
                Role::RegionReviewer => (user.region_id == Some(icb.region_id), false, true),
                Role::NationalAnalyst | Role::Admin => (true, false, false),
            };
            visible.then_some(IcbAccess {
                icb_id: icb.icb_id,
                ods_code: icb.ods_code,
                name: icb.name,
                region_id: icb.region_id,
                lifetime: Lifetime {
                    valid_from: icb.valid_from,
                    valid_to: icb.valid_to,
                },
                can_edit,
                can_review,
            })
        });
        match access {
            Some(access) => Ok(access),
            None => Err(deny(state, user, "icb", ods_code).await),
        }
    }

    /// The ICB's id, for queries.
    pub fn icb_id(&self) -> i32 {
        self.icb_id
    }

    /// Its ODS code.
    pub fn ods_code(&self) -> &str {
        &self.ods_code
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its region.
    pub fn region_id(&self) -> i16 {
        self.region_id
    }

    /// When it existed: the months it answers for.
    pub fn lifetime(&self) -> Lifetime {
        self.lifetime
    }

    /// Whether the caller may change this ICB's plan.
    pub fn can_edit(&self) -> bool {
        self.can_edit
    }

    /// Whether the caller may agree or return this ICB's plan.
    pub fn can_review(&self) -> bool {
        self.can_review
    }

    /// The proof that the caller may change this ICB's plan, or 403.
    pub fn editor(&self) -> AppResult<IcbEditor> {
        allowed(self.can_edit)?;
        Ok(IcbEditor {
            icb_id: self.icb_id,
            ods_code: self.ods_code.clone(),
        })
    }

    /// The proof that the caller may agree or return this ICB's plan, or 403.
    pub fn reviewer(&self) -> AppResult<IcbReviewer> {
        allowed(self.can_review)?;
        Ok(IcbReviewer {
            icb_id: self.icb_id,
            ods_code: self.ods_code.clone(),
        })
    }
}

/// Proof that the caller is an editor of one ICB: every query that writes an ICB's plan
/// content or figures takes one, and only [`IcbAccess::editor`] makes one, so a write whose
/// handler forgot the check does not compile.
#[derive(Debug, Clone)]
pub struct IcbEditor {
    icb_id: i32,
    ods_code: String,
}

impl IcbEditor {
    /// The ICB's id, for queries.
    pub fn icb_id(&self) -> i32 {
        self.icb_id
    }

    /// Its ODS code, for audit events.
    pub fn ods_code(&self) -> &str {
        &self.ods_code
    }
}

/// Proof that the caller reviews one ICB's plans (a reviewer of its region): the review
/// queries take one, and only [`IcbAccess::reviewer`] makes one.
#[derive(Debug, Clone)]
pub struct IcbReviewer {
    icb_id: i32,
    ods_code: String,
}

impl IcbReviewer {
    /// The ICB's id, for queries.
    pub fn icb_id(&self) -> i32 {
        self.icb_id
    }

    /// Its ODS code, for audit events.
    pub fn ods_code(&self) -> &str {
        &self.ods_code
    }
}

/// The ICB the route's access check proved (see [`crate::routes::enforce`]).
impl FromRequestParts<AppState> for IcbAccess {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        proven(parts).map_err(IntoResponse::into_response)
    }
}

/// The region the route's access check proved.
impl FromRequestParts<AppState> for RegionAccess {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        proven(parts).map_err(IntoResponse::into_response)
    }
}

/// A proof the route's access check left in the request. Its absence is a route declared
/// with the wrong access: a programming error, refused rather than guessed at.
fn proven<T: Clone + Send + Sync + 'static>(parts: &Parts) -> AppResult<T> {
    parts.extensions.get::<T>().cloned().ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!(
            "{} needs a route declared with that access",
            std::any::type_name::<T>()
        ))
    })
}

/// 403 unless `permitted`: the object is in scope (that was checked), the action is not.
fn allowed(permitted: bool) -> AppResult<()> {
    if permitted {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Proof that the caller may see one region's ICBs.
#[derive(Debug, Clone)]
pub struct RegionAccess {
    region_id: i16,
    ods_code: String,
    name: String,
}

impl RegionAccess {
    /// Finds the region with `ods_code` if the user's role covers it; otherwise 404, audited.
    pub async fn check(state: &AppState, user: &CurrentUser, ods_code: &str) -> AppResult<Self> {
        let Some(code) = OdsCode::parse(ods_code) else {
            return Err(deny(state, user, "region", ods_code).await);
        };
        let region = state.directory().region(state.db(), code.as_str()).await?;
        let visible = |region_id: i16| match user.role {
            Role::RegionReviewer => user.region_id == Some(region_id),
            Role::NationalAnalyst | Role::Admin => true,
            Role::IcbEditor | Role::IcbViewer => false,
        };
        match region.filter(|r| visible(r.region_id)) {
            Some(r) => Ok(RegionAccess {
                region_id: r.region_id,
                ods_code: r.ods_code,
                name: r.name,
            }),
            None => Err(deny(state, user, "region", ods_code).await),
        }
    }

    /// The region's id, for queries.
    pub fn region_id(&self) -> i16 {
        self.region_id
    }

    /// Its ODS code.
    pub fn ods_code(&self) -> &str {
        &self.ods_code
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Proof that the caller may see every ICB (national analysts and administrators): the
/// national roll-up. Only [`NationalAccess::check`] makes one.
#[derive(Debug, Clone)]
pub struct NationalAccess {
    _private: (),
}

impl NationalAccess {
    /// The proof, if the user's role is national (for pages that add national figures to
    /// what everyone else sees).
    pub fn of(user: &CurrentUser) -> Option<Self> {
        (user.scope() == Scope::National).then_some(NationalAccess { _private: () })
    }

    /// Refuses (403, audited) anyone whose role is not national.
    pub async fn check(state: &AppState, user: &CurrentUser, what: &str) -> AppResult<Self> {
        if let Some(access) = Self::of(user) {
            return Ok(access);
        }
        let event = AuditEvent::new("access.denied")
            .object("route", what)
            .details(json!({ "reason": "not a national role" }));
        audit::record_now(state.db(), &user.actor(), event).await;
        Err(AppError::Forbidden)
    }
}

/// A signed-in administrator. Extracting it refuses everyone else (403, audited), so an
/// administration handler cannot forget the check.
pub struct AdminUser(pub CurrentUser);

impl FromRequestParts<AppState> for AdminUser {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        if user.role == Role::Admin {
            return Ok(AdminUser(user));
        }
        let event = AuditEvent::new("access.denied")
            .object("route", parts.uri.path())
            .details(json!({ "reason": "not an administrator" }));
        audit::record_now(state.db(), &user.actor(), event).await;
        Err(AppError::Forbidden.into_response())
    }
}

/// Whether `code` could be an organisation's ODS code (`QE1`, `Y62`, `S1Y5D`): letters and
/// digits only. Anything else from a URL (a NUL, which PostgreSQL cannot even compare) is
/// simply not found, without asking the database.
pub fn looks_like_ods_code(code: &str) -> bool {
    OdsCode::parse(code).is_some()
}

/// Audits an out-of-scope attempt and answers 404.
async fn deny(
    state: &AppState,
    user: &CurrentUser,
    object_type: &'static str,
    code: &str,
) -> AppError {
    // The code comes from the URL: keep it short and plain in the audit row (control
    // characters escaped: PostgreSQL cannot store a NUL).
    let code: String = code
        .chars()
        .take(16)
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect();
    let event = AuditEvent::new("access.denied")
        .object(object_type, &code)
        .organisation(Some(&code));
    audit::record_now(state.db(), &user.actor(), event).await;
    AppError::NotFound
}
