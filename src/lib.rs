//! medopt: integrated care boards plan and report their medicines optimisation programme;
//! regional and national NHS teams review and roll it up.
//!
//! Start reading at [`http::app`] (every route and the middleware stack), [`auth`] (who may
//! see what: the security core) and [`cli`] (what the binary does). Feature modules own their
//! routes, SQL and page structs; [`domain`] holds the pure arithmetic of money and years.

pub mod accessibility;
pub mod admin;
pub mod assets;
pub mod assurance;
pub mod audit;
pub mod auth;
pub mod catalogue;
pub mod charts;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod demo;
pub mod devdb;
pub mod domain;
pub mod error;
pub mod exports;
pub mod figures;
pub mod forms;
pub mod health;
pub mod home;
pub mod http;
pub mod icbs;
pub mod notifications;
pub mod orgs;
pub mod page;
pub mod plans;
pub mod prescribing;
pub mod reference;
pub mod reports;
pub mod rollups;
pub mod routes;
pub mod state;
pub mod telemetry;
pub mod timing;
pub mod users;
pub mod wording;

pub use http::app;
pub use state::AppState;
