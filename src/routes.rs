//! The route table: every route the app serves, with the access it declares.
//!
//! Features add routes only through [`Routes`], which records each one. The access-matrix
//! test walks [`crate::http::route_table`] and checks every route against every role, so a
//! new route is covered without anyone remembering to add it. The declared [`Access`] is what
//! the test expects; the handler's extractors (`CurrentUser`, `IcbAccess`, …) enforce it.

use axum::Router;
use axum::handler::Handler;
use axum::routing::{get, post};

use crate::AppState;

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
        self.router = self.router.route(path, get(handler));
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
        self.router = self.router.route(path, post(handler));
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
