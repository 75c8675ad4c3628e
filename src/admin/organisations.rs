//! `/admin/organisations`: the effective-dated organisation structure. Administrators add
//! ICBs (the shipped reference data knows those of April 2026; later ones are added here, with
//! three- or five-character ODS codes) and record that ICBs were
//! abolished and succeeded by another from a date: a merger is several predecessors with one
//! successor, a split one predecessor recorded against each successor.
//!
//! Nothing moves: plans stay with the ICB that recorded them, so a year before a change shows
//! the old ICBs and a year after it the new ones; a year the change falls in counts the
//! predecessors up to the day before it and the successors from that day. A change that would
//! leave recorded figures outside a predecessor's lifetime is refused ([`figures_kept`]).
//! Rows changed here get `edited_at`, so reloading the reference data leaves them be.

mod figures_kept;

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::Form as MultiForm;
use chrono::{Days, NaiveDate};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;

use crate::AppState;
use crate::audit::{self, AuditEvent};
use crate::auth::scope::{self, AdminUser, Tx, looks_like_ods_code};
use crate::error::AppResult;
use crate::forms::FieldErrors;
use crate::page::Layout;
use crate::routes::{Access, Routes};

pub fn routes() -> Routes {
    Routes::new()
        .get("/admin/organisations", Access::Admin, show_organisations)
        .post("/admin/organisations/icbs", Access::Admin, add_icb)
        .post(
            "/admin/organisations/successions",
            Access::Admin,
            record_succession,
        )
}

/// An ICB as listed.
pub struct IcbListing {
    pub ods_code: String,
    pub name: String,
    pub region_name: String,
    pub valid_from: NaiveDate,
    pub valid_to: Option<NaiveDate>,
    /// What happened to it ([`crate::orgs::histories`]).
    pub history: Vec<String>,
}

/// An ICB that can be chosen in the change form (one that has not closed).
pub struct OpenIcb {
    pub ods_code: String,
    pub label: String,
    /// The checkbox's id: the first is `predecessors`, so the error summary can link to it.
    pub checkbox_id: String,
    pub ticked: bool,
}

/// A recorded succession.
pub struct SuccessionRow {
    pub predecessor: String,
    pub successor: String,
    pub effective_from: NaiveDate,
}

/// The "add an ICB" form as typed.
#[derive(Debug, Default, Deserialize)]
pub struct NewIcbForm {
    #[serde(default)]
    pub ods_code: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub valid_from: String,
}

/// The "record a change" form as typed.
#[derive(Debug, Default, Deserialize)]
pub struct SuccessionForm {
    #[serde(default)]
    pub predecessors: Vec<String>,
    #[serde(default)]
    pub successor: String,
    #[serde(default)]
    pub effective_from: String,
}

/// `/admin/organisations`
#[derive(Template, WebTemplate)]
#[template(path = "admin/organisations.html")]
pub struct OrganisationsAdminPage {
    pub layout: Layout,
    pub icbs: Vec<IcbListing>,
    pub open_icbs: Vec<OpenIcb>,
    pub regions: Vec<(String, String)>,
    pub successions: Vec<SuccessionRow>,
    pub new_icb: NewIcbForm,
    pub succession: SuccessionForm,
    pub errors: FieldErrors,
    pub notice: Option<String>,
}

async fn page(
    conn: &mut PgConnection,
    admin: &AdminUser,
    new_icb: NewIcbForm,
    succession: SuccessionForm,
    errors: FieldErrors,
) -> sqlx::Result<OrganisationsAdminPage> {
    let mut histories = crate::orgs::histories(&mut *conn).await?;
    let icbs = sqlx::query!(
        r#"
        select i.icb_id, i.ods_code, i.name, r.name as region_name, i.valid_from, i.valid_to
        from icb i join region r using (region_id)
        order by r.name, i.name
        "#
    )
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(|i| IcbListing {
        history: histories.remove(&i.icb_id).unwrap_or_default(),
        ods_code: i.ods_code,
        name: i.name,
        region_name: i.region_name,
        valid_from: i.valid_from,
        valid_to: i.valid_to,
    })
    .collect::<Vec<_>>();
    let regions = sqlx::query!("select ods_code, name from region order by name")
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|r| (r.ods_code, r.name))
        .collect();
    let successions = sqlx::query_as!(
        SuccessionRow,
        r#"
        select p.name || ' (' || p.ods_code || ')' as "predecessor!",
               n.name || ' (' || n.ods_code || ')' as "successor!", s.effective_from
        from icb_succession s
        join icb p on p.icb_id = s.predecessor_icb_id
        join icb n on n.icb_id = s.successor_icb_id
        order by s.effective_from desc, n.name, p.name
        "#
    )
    .fetch_all(&mut *conn)
    .await?;
    let open_icbs = icbs
        .iter()
        .filter(|i| i.valid_to.is_none())
        .enumerate()
        .map(|(n, i)| OpenIcb {
            ods_code: i.ods_code.clone(),
            label: format!("{} ({})", i.name, i.ods_code),
            checkbox_id: if n == 0 {
                "predecessors".to_owned()
            } else {
                format!("predecessor-{}", i.ods_code)
            },
            ticked: succession.predecessors.contains(&i.ods_code),
        })
        .collect();
    Ok(OrganisationsAdminPage {
        layout: admin.0.layout(),
        icbs,
        open_icbs,
        regions,
        successions,
        new_icb,
        succession,
        errors,
        notice: None,
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct NoticeQuery {
    notice: Option<String>,
}

async fn show_organisations(
    State(state): State<AppState>,
    admin: AdminUser,
    axum::extract::Query(query): axum::extract::Query<NoticeQuery>,
) -> AppResult<OrganisationsAdminPage> {
    let mut tx = scope::begin(&state, &admin.0.scope()).await?;
    let mut page = page(
        &mut tx,
        &admin,
        NewIcbForm::default(),
        SuccessionForm::default(),
        FieldErrors::default(),
    )
    .await?;
    page.notice = match query.notice.as_deref() {
        Some("icb_added") => Some("The ICB has been added.".into()),
        Some("succession_recorded") => Some("The change has been recorded.".into()),
        _ => None,
    };
    Ok(page)
}

/// `2026-04-01`, or a message for the field.
fn parse_date(text: &str) -> Result<NaiveDate, &'static str> {
    let text = text.trim();
    if text.is_empty() {
        return Err("Enter the date, for example 2026-04-01");
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| "Enter a real date in the format year-month-day, for example 2026-04-01")
}

async fn add_icb(
    State(state): State<AppState>,
    admin: AdminUser,
    Form(form): Form<NewIcbForm>,
) -> AppResult<Response> {
    let mut tx = scope::begin(&state, &admin.0.scope()).await?;
    let mut errors = FieldErrors::default();
    let code = form.ods_code.trim().to_uppercase();
    if !crate::orgs::is_icb_code(&code) {
        errors.add(
            "ods_code",
            "Enter the ICB's ODS code: 3 or 5 letters or digits, for example QE1 or S1Y5D",
        );
    }
    let name = form.name.trim();
    if name.is_empty() {
        errors.add("name", "Enter the ICB's name");
    } else if name.chars().count() > 200 {
        errors.add("name", "Enter a name of no more than 200 characters");
    } else {
        errors.check_plain_text("name", "Name", name);
    }
    let region = form.region.trim();
    let region_id = if looks_like_ods_code(region) {
        sqlx::query_scalar!("select region_id from region where ods_code = $1", region)
            .fetch_optional(&mut *tx)
            .await?
    } else {
        None
    };
    if region_id.is_none() {
        errors.add("region", "Select the ICB's region");
    }
    let valid_from = parse_date(&form.valid_from)
        .map_err(|m| errors.add("valid_from", m))
        .ok();
    if let (true, Some(region_id), Some(valid_from)) = (errors.is_empty(), region_id, valid_from) {
        let inserted = sqlx::query_scalar!(
            r#"
            insert into icb (ods_code, name, region_id, valid_from, edited_at)
            values ($1, $2, $3, $4, now())
            on conflict (ods_code) do nothing
            returning icb_id
            "#,
            code,
            name,
            region_id,
            valid_from
        )
        .fetch_optional(&mut *tx)
        .await?;
        if inserted.is_some() {
            let event = AuditEvent::new("organisation.icb_added")
                .object("icb", &code)
                .organisation(Some(&code))
                .details(
                    json!({ "name": name, "region": form.region.trim(), "valid_from": valid_from }),
                );
            audit::record(&mut tx, &admin.0.actor(), event).await?;
            tx.commit().await?;
            state.directory().invalidate();
            return Ok(Redirect::to("/admin/organisations?notice=icb_added").into_response());
        }
        errors.add(
            "ods_code",
            format!("An ICB with the code {code} already exists"),
        );
    }
    refuse(tx, &admin, form, SuccessionForm::default(), errors).await
}

async fn record_succession(
    State(state): State<AppState>,
    admin: AdminUser,
    MultiForm(form): MultiForm<SuccessionForm>,
) -> AppResult<Response> {
    let mut tx = scope::begin(&state, &admin.0.scope()).await?;
    let mut errors = FieldErrors::default();
    // Checked in the form's order, so the error summary lists them that way. Codes that
    // cannot be ODS codes (a NUL, which PostgreSQL cannot even compare) match nothing.
    let codes: Vec<String> = form
        .predecessors
        .iter()
        .filter(|code| looks_like_ods_code(code))
        .cloned()
        .collect();
    let predecessors = sqlx::query!(
        "select icb_id, ods_code, name, valid_from, valid_to from icb where ods_code = any($1) order by name",
        &codes
    )
    .fetch_all(&mut *tx)
    .await?;
    if predecessors.is_empty() || predecessors.len() != form.predecessors.len() {
        errors.add("predecessors", "Select the ICBs that were abolished");
    }
    let successor_code = form.successor.trim();
    let successor = if looks_like_ods_code(successor_code) {
        sqlx::query!(
            "select icb_id, ods_code, name, valid_from, valid_to from icb where ods_code = $1",
            successor_code
        )
        .fetch_optional(&mut *tx)
        .await?
    } else {
        None
    };
    if successor.is_none() {
        errors.add("successor", "Select the ICB that took over");
    }
    let effective = parse_date(&form.effective_from)
        .map_err(|m| errors.add("effective_from", m))
        .ok();
    if let (Some(successor), Some(effective)) = (&successor, effective) {
        if successor.valid_from > effective {
            errors.add(
                "effective_from",
                format!(
                    "{} starts on {}: enter that date or later",
                    successor.name,
                    successor.valid_from.format("%-d %B %Y")
                ),
            );
        }
        for p in &predecessors {
            if p.icb_id == successor.icb_id {
                errors.add(
                    "predecessors",
                    "An ICB cannot succeed itself: untick the successor",
                );
            } else if p.valid_from >= effective {
                errors.add(
                    "predecessors",
                    format!(
                        "{} did not exist before {}",
                        p.name,
                        effective.format("%-d %B %Y")
                    ),
                );
            } else if p.valid_to.is_some_and(|to| to < effective - Days::new(1)) {
                errors.add(
                    "predecessors",
                    format!("{} had already closed before that date", p.name),
                );
            }
        }
    }
    if let (Some(effective), true) = (effective, errors.is_empty()) {
        let ids: Vec<i32> = predecessors.iter().map(|p| p.icb_id).collect();
        let problems = figures_kept::problems(&mut tx, &ids, effective).await?;
        if !problems.is_empty() {
            errors.add("effective_from", problems.join(". "));
        }
    }
    let (Some(successor), Some(effective), true) = (successor, effective, errors.is_empty()) else {
        return refuse(tx, &admin, NewIcbForm::default(), form, errors).await;
    };
    let last_day = effective - Days::new(1);
    let ids: Vec<i32> = predecessors.iter().map(|p| p.icb_id).collect();
    sqlx::query!(
        "update icb set valid_to = $2, edited_at = now() where icb_id = any($1)",
        &ids,
        last_day,
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query!(
        r#"
        insert into icb_succession (predecessor_icb_id, successor_icb_id, effective_from)
        select p, $2, $3 from unnest($1::integer[]) as p
        on conflict (predecessor_icb_id, successor_icb_id)
            do update set effective_from = excluded.effective_from, recorded_at = now()
        "#,
        &ids,
        successor.icb_id,
        effective
    )
    .execute(&mut *tx)
    .await?;
    let codes: Vec<&str> = predecessors.iter().map(|p| p.ods_code.as_str()).collect();
    let event = AuditEvent::new("organisation.succession_recorded")
        .object("icb", &successor.ods_code)
        .organisation(Some(&successor.ods_code))
        .details(json!({ "predecessors": codes, "effective_from": effective }));
    audit::record(&mut tx, &admin.0.actor(), event).await?;
    tx.commit().await?;
    state.directory().invalidate();
    Ok(Redirect::to("/admin/organisations?notice=succession_recorded").into_response())
}

/// Re-renders the page with the messages. Nothing has been written in `tx` (checks come
/// before writes), and it is rolled back when dropped.
async fn refuse(
    mut tx: Tx,
    admin: &AdminUser,
    new_icb: NewIcbForm,
    succession: SuccessionForm,
    errors: FieldErrors,
) -> AppResult<Response> {
    let page = page(&mut tx, admin, new_icb, succession, errors).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}
