//! What a plan request starts from, typed: the path (`IcbYearPath`, `WorkstreamPath`,
//! `MeasurePath`) parsed and validated once, and one extractor per kind of request that opens
//! the scoped transaction and loads the ICB, year and plan in one step:
//!
//! - [`PlanView`] / [`WorkstreamView`] for pages;
//! - [`PlanEdit`] / [`WorkstreamEdit`] for an ICB editor's changes: they carry the
//!   [`IcbEditor`] write proof every write query takes, and lock the plan's row first, so the
//!   checks a handler makes are on the state it changes and two saves of one plan take turns;
//! - [`PlanReview`] for a reviewer's decision, with the [`IcbReviewer`] proof, plan locked.
//!
//! The ICB's scope itself was proven by the route's access check ([`crate::routes::enforce`]);
//! these extractors pick up its proof, so a plan route declared without ICB access fails
//! loudly instead of serving data.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use super::breadcrumbs;
use super::context::IcbYear;
use super::workstreams::{self, Workstream};
use crate::AppState;
use crate::auth::CurrentUser;
use crate::auth::scope::{self, IcbAccess, IcbEditor, IcbReviewer, Tx};
use crate::domain::{FinancialYear, Month, OdsCode};
use crate::error::{AppError, AppResult};

/// `/icbs/{icb}/{year}`: an ICB and a programme year.
#[derive(Debug, Clone)]
pub struct IcbYearPath {
    pub icb: OdsCode,
    pub year: FinancialYear,
}

/// `/icbs/{icb}/{year}/workstreams/{workstream}`.
#[derive(Debug, Clone)]
pub struct WorkstreamPath {
    pub icb_year: IcbYearPath,
    pub workstream_id: i32,
}

/// `/icbs/{icb}/{year}/workstreams/{workstream}/measures/{measure}`.
#[derive(Debug, Clone)]
pub struct MeasurePath {
    pub workstream: WorkstreamPath,
    pub measure_id: i32,
}

/// `/icbs/{icb}/{year}/months/{month}`: a month of the year (`2024-06`); 404 for a month
/// outside it.
#[derive(Debug, Clone)]
pub struct MonthPath {
    pub icb_year: IcbYearPath,
    pub month: Month,
}

/// The path's parameters as matched by the router.
struct Params(Vec<(String, String)>);

impl Params {
    async fn of(parts: &mut Parts) -> AppResult<Self> {
        let raw = RawPathParams::from_request_parts(parts, &())
            .await
            .map_err(|_| AppError::NotFound)?;
        Ok(Self(
            raw.iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        ))
    }

    /// A parameter, or 404 when it is absent or does not parse.
    fn get<T>(&self, name: &str, parse: impl FnOnce(&str) -> Option<T>) -> AppResult<T> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .and_then(|(_, v)| parse(v))
            .ok_or(AppError::NotFound)
    }
}

/// An id in a path: a positive number.
fn id(text: &str) -> Option<i32> {
    text.parse().ok().filter(|id| *id > 0)
}

impl IcbYearPath {
    fn from_params(params: &Params) -> AppResult<Self> {
        Ok(Self {
            icb: params.get("icb", OdsCode::parse)?,
            year: params.get("year", |y| FinancialYear::parse(y).ok())?,
        })
    }
}

impl WorkstreamPath {
    fn from_params(params: &Params) -> AppResult<Self> {
        Ok(Self {
            icb_year: IcbYearPath::from_params(params)?,
            workstream_id: params.get("workstream", id)?,
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IcbYearPath {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let params = Params::of(parts)
            .await
            .map_err(IntoResponse::into_response)?;
        Self::from_params(&params).map_err(IntoResponse::into_response)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for MeasurePath {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let parsed = async {
            let params = Params::of(parts).await?;
            Ok::<_, AppError>(Self {
                workstream: WorkstreamPath::from_params(&params)?,
                measure_id: params.get("measure", id)?,
            })
        };
        parsed.await.map_err(IntoResponse::into_response)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for MonthPath {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let parsed = async {
            let params = Params::of(parts).await?;
            let icb_year = IcbYearPath::from_params(&params)?;
            let year = icb_year.year;
            let month = params.get("month", |m| {
                Month::parse_key(m).filter(|m| year.has_month(*m))
            })?;
            Ok::<_, AppError>(Self { icb_year, month })
        };
        parsed.await.map_err(IntoResponse::into_response)
    }
}

/// The transaction, context and user every plan request has.
struct Opened {
    tx: Tx,
    ctx: IcbYear,
    user: CurrentUser,
}

/// Opens the caller's scoped transaction and loads the ICB-year named in the path (the plan
/// locked when `for_write`).
async fn open(parts: &mut Parts, state: &AppState, for_write: bool) -> Result<Opened, Response> {
    let user = CurrentUser::from_request_parts(parts, state).await?;
    let icb = IcbAccess::from_request_parts(parts, state).await?;
    let opened = async {
        let path = IcbYearPath::from_params(&Params::of(parts).await?)?;
        if path.icb.as_str() != icb.ods_code() {
            return Err(AppError::NotFound);
        }
        let mut tx = scope::begin(state, &user.scope()).await?;
        let mut ctx = IcbYear::load(&mut tx, icb, path.year, state.clock(), for_write).await?;
        ctx.crumbs = breadcrumbs::to_icb(&mut tx, &user, &ctx.icb, Some(path.year)).await?;
        Ok(Opened { tx, ctx, user })
    }
    .await;
    opened.map_err(IntoResponse::into_response)
}

/// The plan's workstream named in the path (removed ones too: their pages keep the history);
/// 404 when there is no plan or the workstream is not its.
async fn workstream(parts: &mut Parts, opened: &mut Opened) -> Result<Workstream, Response> {
    let found = async {
        let id = WorkstreamPath::from_params(&Params::of(parts).await?)?.workstream_id;
        let plan_id = opened.ctx.require_plan()?.plan_id;
        workstreams::find(&mut opened.tx, &opened.ctx.icb, plan_id, id).await
    }
    .await;
    found.map_err(IntoResponse::into_response)
}

/// A plan page.
pub struct PlanView {
    pub tx: Tx,
    pub ctx: IcbYear,
    pub user: CurrentUser,
}

impl FromRequestParts<AppState> for PlanView {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Opened { tx, ctx, user } = open(parts, state, false).await?;
        Ok(Self { tx, ctx, user })
    }
}

/// An ICB editor's change to the plan: the plan's row is locked.
pub struct PlanEdit {
    pub tx: Tx,
    pub ctx: IcbYear,
    pub user: CurrentUser,
    pub editor: IcbEditor,
}

impl FromRequestParts<AppState> for PlanEdit {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Opened { tx, ctx, user } = open(parts, state, true).await?;
        let editor = ctx.icb.editor().map_err(IntoResponse::into_response)?;
        Ok(Self {
            tx,
            ctx,
            user,
            editor,
        })
    }
}

/// A reviewer's decision on the plan: the plan's row is locked.
pub struct PlanReview {
    pub tx: Tx,
    pub ctx: IcbYear,
    pub user: CurrentUser,
    pub reviewer: IcbReviewer,
}

impl FromRequestParts<AppState> for PlanReview {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Opened { tx, ctx, user } = open(parts, state, true).await?;
        let reviewer = ctx.icb.reviewer().map_err(IntoResponse::into_response)?;
        Ok(Self {
            tx,
            ctx,
            user,
            reviewer,
        })
    }
}

/// A workstream page.
pub struct WorkstreamView {
    pub tx: Tx,
    pub ctx: IcbYear,
    pub user: CurrentUser,
    pub ws: Workstream,
}

impl FromRequestParts<AppState> for WorkstreamView {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let mut opened = open(parts, state, false).await?;
        let ws = workstream(parts, &mut opened).await?;
        let Opened { tx, ctx, user } = opened;
        Ok(Self { tx, ctx, user, ws })
    }
}

/// An ICB editor's change to a workstream: the plan's row is locked before the workstream is
/// read, so its version and figures are those the change will replace.
pub struct WorkstreamEdit {
    pub tx: Tx,
    pub ctx: IcbYear,
    pub user: CurrentUser,
    pub editor: IcbEditor,
    pub ws: Workstream,
}

impl FromRequestParts<AppState> for WorkstreamEdit {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let mut opened = open(parts, state, true).await?;
        let editor = opened
            .ctx
            .icb
            .editor()
            .map_err(IntoResponse::into_response)?;
        let ws = workstream(parts, &mut opened).await?;
        let Opened { tx, ctx, user } = opened;
        Ok(Self {
            tx,
            ctx,
            user,
            editor,
            ws,
        })
    }
}

impl WorkstreamEdit {
    /// Why this workstream's part of the plan (target, phasing, a local priority's details)
    /// cannot be changed now, if it cannot.
    pub fn plan_locked(&self) -> Option<String> {
        removed(&self.ws).or_else(|| self.ctx.plan_locked())
    }

    /// Why progress on this workstream cannot be recorded now, if it cannot.
    pub fn progress_locked(&self) -> Option<String> {
        removed(&self.ws).or_else(|| self.ctx.progress_locked())
    }
}

fn removed(ws: &Workstream) -> Option<String> {
    ws.removed_at.map(|_| {
        "This workstream has been removed from the plan, so it cannot be changed.".to_owned()
    })
}
