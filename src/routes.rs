//! The route table: every route the app serves, with the access it declares.
//!
//! Features add routes only through [`Routes`], which records each one and wraps its handler
//! in [`enforce`]: the declared [`Access`] is checked before the handler runs (signed in, the
//! role, and the ICB or region in the path within the caller's scope), so a handler cannot
//! forget it. The proofs the check makes (`CurrentUser`, `IcbAccess`, `RegionAccess`) travel
//! to the handler in the request's extensions, where its extractors find them. The
//! access-matrix test walks [`crate::http::route_table`] and checks every route against every
//! role, so a new route is covered without anyone remembering to add it.

use axum::Router;
use axum::extract::{FromRequestParts, RawPathParams, Request};
use axum::handler::Handler;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use serde_json::json;

use crate::AppState;
use crate::audit::{self, AuditEvent};
use crate::auth::scope::{IcbAccess, NationalAccess, RegionAccess};
use crate::auth::{CurrentUser, Role};
use crate::error::AppError;

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Any signed-in user.
    SignedIn,
    /// Users whose scope covers the ICB in the path (`{icb}`).
    IcbRead,
    /// ICB editors of the ICB in the path.
    IcbWrite,
    /// Reviewers of the region of the ICB in the path (they agree or return its plan).
    IcbReview,
    /// Users whose scope covers the region in the path (`{region}`): its reviewers, national roles.
    RegionRead,
    /// National roles: analysts and administrators.
    National,
    /// Administrators.
    Admin,
}

/// One route as declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteInfo {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// The path pattern, e.g. `/icbs/{icb}`.
    pub path: &'static str,
    /// Who may use it.
    pub access: Access,
}

/// A router that remembers its routes.
#[derive(Default)]
pub struct Routes {
    router: Router<AppState>,
    table: Vec<RouteInfo>,
}

impl Routes {
    /// No routes yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a GET route.
    pub fn get<H, T>(mut self, path: &'static str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.router = self.router.route(path, guarded(access, get(handler)));
        self.table.push(RouteInfo {
            method: "GET",
            path,
            access,
        });
        self
    }

    /// Adds a POST route.
    pub fn post<H, T>(mut self, path: &'static str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.router = self.router.route(path, guarded(access, post(handler)));
        self.table.push(RouteInfo {
            method: "POST",
            path,
            access,
        });
        self
    }

    /// Adds all of `other`'s routes.
    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.table.extend(other.table);
        self
    }

    /// The router and the table.
    pub fn into_parts(self) -> (Router<AppState>, Vec<RouteInfo>) {
        (self.router, self.table)
    }
}

/// `route` behind the check of `access`.
fn guarded(access: Access, route: MethodRouter<AppState>) -> MethodRouter<AppState> {
    if access == Access::Public {
        return route;
    }
    route.layer(middleware::from_fn(move |request: Request, next: Next| {
        enforce(access, request, next)
    }))
}

/// Checks `access` for the request before its handler runs: anonymous visitors are sent to
/// sign in; a role without the feature gets 403 (audited); an ICB or region outside the
/// caller's scope gets 404 (audited, its existence not disclosed). What it proved is put in
/// the request's extensions for the handler's extractors.
pub async fn enforce(access: Access, request: Request, next: Next) -> Response {
    let Some(state) = request.extensions().get::<AppState>().cloned() else {
        return AppError::Internal(anyhow::anyhow!("the app state is not in the request"))
            .into_response();
    };
    let (mut parts, body) = request.into_parts();
    let user = match CurrentUser::from_request_parts(&mut parts, &state).await {
        Ok(user) => user,
        Err(response) => return response,
    };
    let params = RawPathParams::from_request_parts(&mut parts, &state)
        .await
        .ok();
    let param = |name: &str| {
        params
            .as_ref()
            .and_then(|params| {
                params
                    .iter()
                    .find(|(key, _)| *key == name)
                    .map(|(_, v)| v.to_owned())
            })
            .unwrap_or_default()
    };
    let (icb_code, region_code) = (param("icb"), param("region"));
    let checked: Result<(), AppError> = async {
        match access {
            Access::Public | Access::SignedIn => {}
            Access::National => {
                NationalAccess::check(&state, &user, parts.uri.path()).await?;
            }
            Access::Admin => {
                if user.role != Role::Admin {
                    return Err(
                        forbidden(&state, &user, parts.uri.path(), "not an administrator").await,
                    );
                }
            }
            Access::IcbRead | Access::IcbWrite | Access::IcbReview => {
                let icb = IcbAccess::check(&state, &user, &icb_code).await?;
                let permitted = match access {
                    Access::IcbWrite => icb.can_edit(),
                    Access::IcbReview => icb.can_review(),
                    _ => true,
                };
                if !permitted {
                    return Err(forbidden(
                        &state,
                        &user,
                        parts.uri.path(),
                        "role does not include this action",
                    )
                    .await);
                }
                parts.extensions.insert(icb);
            }
            Access::RegionRead => {
                let region = RegionAccess::check(&state, &user, &region_code).await?;
                parts.extensions.insert(region);
            }
        }
        Ok(())
    }
    .await;
    if let Err(error) = checked {
        return error.into_response();
    }
    parts.extensions.insert(user);
    next.run(Request::from_parts(parts, body)).await
}

/// Audits a refusal for the role and answers 403.
async fn forbidden(state: &AppState, user: &CurrentUser, route: &str, reason: &str) -> AppError {
    let event = AuditEvent::new("access.denied")
        .object("route", route)
        .details(json!({ "reason": reason }));
    audit::record_now(state.db(), &user.actor(), event).await;
    AppError::Forbidden
}
