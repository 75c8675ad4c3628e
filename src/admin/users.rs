//! `/admin/users`: list, create, change role and organisation, deactivate, reset a password,
//! unlock, reset two-step verification. Every change is audited in the same transaction as the change.

use askama::Template;
use askama_web::WebTemplate;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::AppState;
use crate::audit::{self, AuditEvent};
use crate::auth::scope::{self, AdminUser};
use crate::auth::{OrgKind, Role, password, two_step};
use crate::error::{AppError, AppResult};
use crate::forms::FieldErrors;
use crate::page::Layout;
use crate::routes::{Access, Routes};
use crate::users::{self, NewUser, OrgRef, UserError};

pub fn routes() -> Routes {
    Routes::new()
        .get("/admin/users", Access::Admin, list_users)
        .get("/admin/users/new", Access::Admin, new_user_form)
        .post("/admin/users/new", Access::Admin, create_user)
        .get("/admin/users/{user_id}", Access::Admin, edit_user_form)
        .post("/admin/users/{user_id}", Access::Admin, update_user)
        .post(
            "/admin/users/{user_id}/deactivate",
            Access::Admin,
            deactivate_user,
        )
        .post(
            "/admin/users/{user_id}/reactivate",
            Access::Admin,
            reactivate_user,
        )
        .post(
            "/admin/users/{user_id}/reset-password",
            Access::Admin,
            reset_password,
        )
        .post("/admin/users/{user_id}/unlock", Access::Admin, unlock_user)
        .post(
            "/admin/users/{user_id}/reset-two-step",
            Access::Admin,
            reset_two_step,
        )
}

/// A user as listed.
pub struct UserRow {
    pub user_id: Uuid,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub org_code: Option<String>,
    pub active: bool,
    pub locked: bool,
    pub must_change_password: bool,
    /// Two-step verification is on.
    pub two_step: bool,
}

/// `/admin/users`
#[derive(Template, WebTemplate)]
#[template(path = "admin/users.html")]
pub struct UsersPage {
    pub layout: Layout,
    pub users: Vec<UserRow>,
}

async fn list_users(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
) -> AppResult<UsersPage> {
    let mut tx = scope::begin(&state, &admin.scope()).await?;
    let users = sqlx::query_as!(
        UserRow,
        r#"
        select u.user_id, u.name, u.email, u.role as "role: Role", u.active, u.must_change_password,
               coalesce(u.locked_until > now(), false) as "locked!",
               coalesce(i.ods_code, r.ods_code) as org_code,
               exists (select 1 from user_two_step t
                       where t.user_id = u.user_id and t.confirmed_at is not null) as "two_step!"
        from app_user u
        left join icb i on i.icb_id = u.icb_id
        left join region r on r.region_id = u.region_id
        order by u.active desc, lower(u.name), u.email
        "#
    )
    .fetch_all(&mut *tx)
    .await?;
    Ok(UsersPage {
        layout: admin.layout(),
        users,
    })
}

/// An organisation offered in the form.
pub struct OrgOption {
    pub code: String,
    pub name: String,
}

/// The create and edit form.
#[derive(Template, WebTemplate)]
#[template(path = "admin/user_form.html")]
pub struct UserFormPage {
    pub layout: Layout,
    /// `None` when creating.
    pub user: Option<UserRow>,
    pub name: String,
    pub email: String,
    pub role: String,
    pub org: String,
    pub roles: Vec<(&'static str, &'static str)>,
    pub icbs: Vec<OrgOption>,
    pub regions: Vec<OrgOption>,
    pub errors: FieldErrors,
}

impl UserFormPage {
    async fn new(
        conn: &mut PgConnection,
        admin: &AdminUser,
        user: Option<UserRow>,
        errors: FieldErrors,
    ) -> AppResult<Self> {
        let icbs = sqlx::query_as!(
            OrgOption,
            "select ods_code as code, name from icb where valid_to is null or valid_to >= current_date order by name"
        )
        .fetch_all(&mut *conn)
        .await?;
        let regions = sqlx::query_as!(
            OrgOption,
            "select ods_code as code, name from region order by name"
        )
        .fetch_all(&mut *conn)
        .await?;
        let (name, email, role, org) = match &user {
            Some(u) => (
                u.name.clone(),
                u.email.clone(),
                u.role.as_str().to_owned(),
                u.org_code.clone().unwrap_or_default(),
            ),
            None => Default::default(),
        };
        Ok(Self {
            layout: admin.0.layout(),
            user,
            name,
            email,
            role,
            org,
            roles: Role::ALL.iter().map(|r| (r.as_str(), r.label())).collect(),
            icbs,
            regions,
            errors,
        })
    }

    fn with_form(mut self, form: &UserForm) -> Self {
        self.name = form.name.clone();
        self.email = form.email.clone();
        self.role = form.role.clone();
        self.org = form.organisation.clone();
        self
    }
}

#[derive(Debug, Deserialize)]
pub struct UserForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    organisation: String,
}

/// The form, checked: `(name, email, role, organisation)` or the messages.
fn parse_user_form(
    form: &UserForm,
    errors: &mut FieldErrors,
) -> Option<(String, String, Role, Option<OrgRef>)> {
    let name = form.name.trim().to_owned();
    if name.is_empty() {
        errors.add("name", "Enter the person's full name");
    } else {
        errors.check_plain_text("name", "Full name", &name);
    }
    let email = form.email.trim().to_lowercase();
    if !users::looks_like_email(&email) {
        errors.add(
            "email",
            "Enter an email address in the correct format, like name@nhs.net",
        );
    } else {
        errors.check_plain_text("email", "Email address", &email);
    }
    let role = Role::parse(&form.role);
    if role.is_none() {
        errors.add("role", "Select a role");
    }
    let code = form.organisation.trim().to_uppercase();
    let code_ok = errors.check_plain_text("organisation", "Organisation", &code);
    let org = match role.and_then(Role::org_kind) {
        Some(_) if !code_ok => None,
        Some(OrgKind::Icb) if code.is_empty() => {
            errors.add("organisation", "Select the ICB this person works for");
            None
        }
        Some(OrgKind::Region) if code.is_empty() => {
            errors.add("organisation", "Select the region this person works for");
            None
        }
        Some(kind) => Some(OrgRef { kind, code }),
        None => None,
    };
    let role = role?;
    errors.is_empty().then_some((name, email, role, org))
}

async fn new_user_form(State(state): State<AppState>, admin: AdminUser) -> AppResult<UserFormPage> {
    let mut tx = scope::begin(&state, &admin.0.scope()).await?;
    UserFormPage::new(&mut tx, &admin, None, FieldErrors::default()).await
}

/// Shown once after creating a user or resetting a password.
#[derive(Template, WebTemplate)]
#[template(path = "admin/one_time_password.html")]
pub struct OneTimePasswordPage {
    pub layout: Layout,
    pub user_id: Uuid,
    pub name: String,
    pub email: String,
    pub password: String,
    pub created: bool,
}

async fn create_user(
    State(state): State<AppState>,
    admin: AdminUser,
    Form(form): Form<UserForm>,
) -> AppResult<Response> {
    let mut tx = scope::begin(&state, &admin.0.scope()).await?;
    let mut errors = FieldErrors::default();
    if let Some((name, email, role, org)) = parse_user_form(&form, &mut errors) {
        let one_time = password::one_time_password();
        let new = NewUser {
            email: &email,
            name: &name,
            role,
            org: org.as_ref(),
            password: one_time.clone(),
            must_change_password: true,
        };
        match users::create(&mut tx, &admin.0.actor(), new).await {
            Ok(user_id) => {
                tx.commit().await?;
                return Ok(OneTimePasswordPage {
                    layout: admin.0.layout(),
                    user_id,
                    name,
                    email,
                    password: one_time,
                    created: true,
                }
                .into_response());
            }
            Err(UserError::Field(field, message)) => errors.add(field, message),
            Err(UserError::Other(error)) => return Err(error),
        }
    }
    let page = UserFormPage::new(&mut tx, &admin, None, errors)
        .await?
        .with_form(&form);
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// Loads a user by the id in the path; malformed or unknown ids are 404.
async fn find_user(conn: &mut PgConnection, user_id: &str) -> AppResult<UserRow> {
    let user_id: Uuid = user_id.parse().map_err(|_| AppError::NotFound)?;
    sqlx::query_as!(
        UserRow,
        r#"
        select u.user_id, u.name, u.email, u.role as "role: Role", u.active, u.must_change_password,
               coalesce(u.locked_until > now(), false) as "locked!",
               coalesce(i.ods_code, r.ods_code) as org_code,
               exists (select 1 from user_two_step t
                       where t.user_id = u.user_id and t.confirmed_at is not null) as "two_step!"
        from app_user u
        left join icb i on i.icb_id = u.icb_id
        left join region r on r.region_id = u.region_id
        where u.user_id = $1
        "#,
        user_id
    )
    .fetch_optional(conn)
    .await?
    .ok_or(AppError::NotFound)
}

async fn edit_user_form(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(user_id): Path<String>,
) -> AppResult<UserFormPage> {
    let mut tx = scope::begin(&state, &admin.0.scope()).await?;
    let user = find_user(&mut tx, &user_id).await?;
    UserFormPage::new(&mut tx, &admin, Some(user), FieldErrors::default()).await
}

async fn update_user(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(user_id): Path<String>,
    Form(form): Form<UserForm>,
) -> AppResult<Response> {
    let mut tx = scope::begin(&state, &admin.0.scope()).await?;
    let user = find_user(&mut tx, &user_id).await?;
    let mut errors = FieldErrors::default();
    if let Some((name, email, role, org)) = parse_user_form(&form, &mut errors) {
        if user.user_id == admin.0.user_id && role != Role::Admin {
            errors.add("role", "You cannot remove your own administrator role");
        } else {
            match users::update(
                &mut tx,
                &admin.0.actor(),
                user.user_id,
                &name,
                &email,
                role,
                org.as_ref(),
            )
            .await
            {
                Ok(()) => {
                    tx.commit().await?;
                    return Ok(Redirect::to("/admin/users").into_response());
                }
                Err(UserError::Field(field, message)) => errors.add(field, message),
                Err(UserError::Other(error)) => return Err(error),
            }
        }
    }
    let page = UserFormPage::new(&mut tx, &admin, Some(user), errors)
        .await?
        .with_form(&form);
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

async fn deactivate_user(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(user_id): Path<String>,
) -> AppResult<Response> {
    set_active(state, admin, user_id, false).await
}

async fn reactivate_user(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(user_id): Path<String>,
) -> AppResult<Response> {
    set_active(state, admin, user_id, true).await
}

async fn set_active(
    state: AppState,
    admin: AdminUser,
    user_id: String,
    active: bool,
) -> AppResult<Response> {
    let mut tx = scope::begin(&state, &admin.0.scope()).await?;
    let user = find_user(&mut tx, &user_id).await?;
    if user.user_id == admin.0.user_id {
        let mut errors = FieldErrors::default();
        errors.add("deactivate", "You cannot deactivate your own account");
        let page = UserFormPage::new(&mut tx, &admin, Some(user), errors).await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    sqlx::query!(
        "update app_user set active = $2, updated_at = now() where user_id = $1",
        user.user_id,
        active
    )
    .execute(&mut *tx)
    .await?;
    let action = if active {
        "user.reactivated"
    } else {
        "user.deactivated"
    };
    let event = AuditEvent::new(action)
        .object("user", user.user_id)
        .organisation(user.org_code.as_ref());
    audit::record(&mut tx, &admin.0.actor(), event).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/admin/users/{}", user.user_id)).into_response())
}

async fn reset_password(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(user_id): Path<String>,
) -> AppResult<Response> {
    // Hashed first: no connection waits on the slow hash.
    let one_time = password::one_time_password();
    let hash = password::hash(one_time.clone()).await?;
    let mut tx = scope::begin(&state, &admin.0.scope()).await?;
    let user = find_user(&mut tx, &user_id).await?;
    sqlx::query!(
        r#"update app_user set password_hash = $2, must_change_password = true, failed_logins = 0,
                  locked_until = null, password_changed_at = now(), updated_at = now() where user_id = $1"#,
        user.user_id,
        hash
    )
    .execute(&mut *tx)
    .await?;
    let event = AuditEvent::new("user.password_reset")
        .object("user", user.user_id)
        .organisation(user.org_code.as_ref());
    audit::record(&mut tx, &admin.0.actor(), event).await?;
    tx.commit().await?;
    Ok(OneTimePasswordPage {
        layout: admin.0.layout(),
        user_id: user.user_id,
        name: user.name,
        email: user.email,
        password: one_time,
        created: false,
    }
    .into_response())
}

async fn unlock_user(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(user_id): Path<String>,
) -> AppResult<Response> {
    let mut tx = scope::begin(&state, &admin.0.scope()).await?;
    let user = find_user(&mut tx, &user_id).await?;
    sqlx::query!(
        "update app_user set failed_logins = 0, locked_until = null, updated_at = now() where user_id = $1",
        user.user_id
    )
    .execute(&mut *tx)
    .await?;
    let event = AuditEvent::new("user.unlocked")
        .object("user", user.user_id)
        .organisation(user.org_code.as_ref())
        .details(json!({ "was_locked": user.locked }));
    audit::record(&mut tx, &admin.0.actor(), event).await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/admin/users/{}", user.user_id)).into_response())
}

async fn reset_two_step(
    State(state): State<AppState>,
    admin: AdminUser,
    Path(user_id): Path<String>,
) -> AppResult<Response> {
    let mut tx = scope::begin(&state, &admin.0.scope()).await?;
    let user = find_user(&mut tx, &user_id).await?;
    two_step::reset(
        &mut tx,
        &admin.0.actor(),
        user.user_id,
        user.org_code.as_ref(),
    )
    .await?;
    tx.commit().await?;
    Ok(Redirect::to(&format!("/admin/users/{}", user.user_id)).into_response())
}
