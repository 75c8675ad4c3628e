//! The start page: what the service is, with links onwards (to the user's own organisation
//! when signed in).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::State;

use crate::AppState;
use crate::auth::{MaybeUser, Role};
use crate::error::AppResult;
use crate::page::Layout;
use crate::plans::context::all_years;
use crate::routes::{Access, Routes};

/// The home route.
pub fn routes() -> Routes {
    Routes::new().get("/", Access::Public, show_home)
}

/// A link to somewhere the signed-in user works.
pub struct WorkLink {
    pub href: String,
    pub label: String,
}

/// `/`
#[derive(Template, WebTemplate)]
#[template(path = "home.html")]
pub struct HomePage {
    pub layout: Layout,
    pub work: Vec<WorkLink>,
    /// Every programme year's catalogue, newest first: `(slug, label)`.
    pub catalogues: Vec<(String, String)>,
}

async fn show_home(State(state): State<AppState>, user: MaybeUser) -> AppResult<HomePage> {
    let mut conn = state.db().acquire().await?;
    let catalogues = all_years(&mut conn)
        .await?
        .into_iter()
        .map(|y| (y.slug(), y.to_string()))
        .collect();
    let link = |href: String, label: &str| WorkLink {
        href,
        label: label.into(),
    };
    let work = match &user.0 {
        None => Vec::new(),
        Some(u) => match (u.role, u.org_code.clone()) {
            (Role::IcbEditor, Some(code)) => vec![
                link(format!("/icbs/{code}"), "Your ICB's plans"),
                link("/exports".into(), "Download your ICB's data as CSV"),
                link(
                    "/account/notifications".into(),
                    "Choose which e-mails you get",
                ),
            ],
            (Role::IcbViewer, Some(code)) => vec![
                link(format!("/icbs/{code}"), "Your ICB's plans"),
                link("/exports".into(), "Download your ICB's data as CSV"),
            ],
            (Role::RegionReviewer, Some(code)) => vec![
                link(format!("/regions/{code}"), "Your region's ICBs"),
                link("/exports".into(), "Download data as CSV"),
                link(
                    "/account/notifications".into(),
                    "Choose which e-mails you get",
                ),
            ],
            (Role::NationalAnalyst, _) => vec![
                link("/national".into(), "National roll-up"),
                link("/exports".into(), "Download data as CSV"),
                link("/organisations".into(), "Regions and ICBs"),
            ],
            (Role::Admin, _) => vec![
                link("/national".into(), "National roll-up"),
                link("/admin/organisations".into(), "Manage organisations"),
                link("/admin/users".into(), "Manage users"),
                link(
                    "/admin/catalogue".into(),
                    "Manage the opportunity catalogue",
                ),
                link("/admin/audit".into(), "Audit log"),
                link("/admin/outbox".into(), "E-mail outbox"),
                link("/exports".into(), "Download data as CSV"),
            ],
            _ => vec![link("/organisations".into(), "Regions and ICBs")],
        },
    };
    Ok(HomePage {
        layout: user.layout(),
        work,
        catalogues,
    })
}
