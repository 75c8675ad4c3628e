//! The command line: `medopt serve` (the default), `medopt migrate`, `medopt demo`, `medopt
//! check`, `medopt user …` (add, set-password, reset-two-step), `medopt dev-db …` and
//! `medopt prescribing …`.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use tokio::net::TcpListener;

use crate::audit::Actor;
use crate::auth::session_store::PgSessionStore;
use crate::auth::{Role, password, two_step};
use crate::config::Config;
use crate::db::{self, Database};
use crate::demo::{self, DemoReport, DemoSpec};
use crate::prescribing::PrescribingCommand;
use crate::users::{self, NewUser, OrgRef};
use crate::{AppState, notifications, reference, telemetry};
use tower_sessions::session_store::ExpiredDeletion;

/// Medicines optimisation planning for NHS integrated care boards.
#[derive(Debug, Parser)]
#[command(name = "medopt", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What to do.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (the default).
    Serve,
    /// Apply database migrations and load the reference data, then exit.
    Migrate,
    /// Load the synthetic demo dataset (every ICB's plans from 2023/24 to the current year)
    /// and make one demo account per role, printing their passwords. Running it again changes no data
    /// and resets the demo accounts' passwords. Never overwrites real plans.
    Demo,
    /// List stored figures that break a rule (phasing that does not add up to its target,
    /// negative phasing that is not a cost pressure, months outside the plan's year, actual
    /// savings for months the ICB did not exist in). Changes nothing; exits 1 if there are any.
    Check,
    /// Manage user accounts (for operators and scripts).
    #[command(subcommand)]
    User(UserCommand),
    /// Manage the private PostgreSQL cluster used when `DATABASE_URL` is unset.
    #[command(subcommand)]
    DevDb(DevDbCommand),
    /// Measures from the national prescribing data (NHSBSA's English Prescribing Dataset):
    /// import, fetch, list sizes, synthetic files.
    #[command(subcommand)]
    Prescribing(PrescribingCommand),
}

/// `medopt user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user. The password is read from standard input (first line).
    Add {
        /// E-mail address, used to sign in.
        #[arg(long)]
        email: String,
        /// Full name.
        #[arg(long)]
        name: String,
        /// icb_editor, icb_viewer, region_reviewer, national_analyst or admin.
        #[arg(long)]
        role: String,
        /// ODS code of the ICB (ICB roles) or region (region_reviewer).
        #[arg(long)]
        org: Option<String>,
        /// Read the password from standard input (required: passwords never go on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Set a user's password, read from standard input (first line), and unlock the account.
    SetPassword {
        /// E-mail address of the user.
        #[arg(long)]
        email: String,
        /// Read the password from standard input (required).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Remove a user's two-step verification (a lost phone): they set it up again when they
    /// next sign in. Check who is asking first, as for a new account.
    ResetTwoStep {
        /// E-mail address of the user.
        #[arg(long)]
        email: String,
    },
}

/// `medopt dev-db …`: for developers and CI (e.g. `cargo sqlx prepare` needs a database).
#[derive(Debug, Subcommand)]
pub enum DevDbCommand {
    /// Start the cluster if needed, create and migrate the database, print its URL and leave
    /// the cluster running.
    Start,
    /// Stop the cluster.
    Stop,
}

/// Runs the command and turns failure into a message and exit code 1.
pub async fn run(cli: Cli) -> ExitCode {
    telemetry::init(cli.config.log_format, &cli.config.log);
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config).await,
        Command::Migrate => migrate(cli.config).await,
        Command::Demo => demo(cli.config).await,
        Command::Check => check(cli.config).await,
        Command::DevDb(command) => dev_db(command, cli.config).await,
        Command::User(command) => user(command, cli.config).await,
        Command::Prescribing(command) => prescribing(command, cli.config).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("medopt: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Prepares the schema and reference data, so the server or a script can rely on them.
async fn prepare(db: &Database) -> anyhow::Result<()> {
    db::migrate(&db.pool).await?;
    let report = reference::load(&db.pool).await?;
    tracing::info!(rows_changed = report.rows_changed, "reference data loaded");
    Ok(())
}

/// Reads the first line of standard input, without its line ending.
fn read_password_from_stdin() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("could not read the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

async fn user(command: UserCommand, config: Config) -> anyhow::Result<()> {
    let password = match command {
        UserCommand::Add { .. } | UserCommand::SetPassword { .. } => {
            let password = read_password_from_stdin()?;
            password::check_rules(&password).map_err(|e| anyhow::anyhow!("{e}"))?;
            password
        }
        UserCommand::ResetTwoStep { .. } => String::new(),
    };
    let db = Database::open(&config).await?;
    let result = async {
        prepare(&db).await?;
        let mut tx = db.pool.begin().await?;
        let actor = Actor::default();
        match command {
            UserCommand::Add { email, name, role, org, .. } => {
                let role = Role::parse(&role).with_context(|| {
                    format!("unknown role {role:?}: use icb_editor, icb_viewer, region_reviewer, national_analyst or admin")
                })?;
                let org = match (role.org_kind(), org) {
                    (Some(kind), Some(code)) => Some(OrgRef { kind, code: code.trim().to_uppercase() }),
                    (Some(_), None) => anyhow::bail!("role {role} needs --org with an ODS code"),
                    (None, Some(_)) => anyhow::bail!("role {role} takes no --org"),
                    (None, None) => None,
                };
                let email = email.trim().to_lowercase();
                anyhow::ensure!(users::looks_like_email(&email), "{email:?} is not an e-mail address");
                let new = NewUser { email: &email, name: name.trim(), role, org: org.as_ref(), password, must_change_password: false };
                let user_id = users::create(&mut tx, &actor, new).await.map_err(|e| anyhow::anyhow!("{e}"))?;
                println!("created user {user_id}");
            }
            UserCommand::SetPassword { email, .. } => {
                users::set_password(&mut tx, &actor, &email.trim().to_lowercase(), password)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                println!("password set");
            }
            UserCommand::ResetTwoStep { email } => {
                let email = email.trim().to_lowercase();
                let user_id = sqlx::query_scalar!("select user_id from app_user where email = $1", email)
                    .fetch_optional(&mut *tx)
                    .await?
                    .with_context(|| format!("no user has the email address {email:?}"))?;
                let was_on = two_step::reset(&mut tx, &actor, user_id, None).await?;
                if was_on {
                    println!("two-step verification reset: they set it up again at their next sign-in");
                } else {
                    println!("two-step verification was not set up for this user: nothing to reset");
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }
    .await;
    db.shutdown().await;
    result
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    let db = Database::open(&config).await?;
    let result = prepare(&db).await;
    db.shutdown().await;
    result
}

async fn check(config: Config) -> anyhow::Result<()> {
    let db = Database::open(&config).await?;
    let result = async {
        prepare(&db).await?;
        let problems = crate::figures::check::problems(&db.pool).await?;
        for p in &problems {
            println!(
                "{}\t{}\t{}\tworkstream {}\t{}",
                p.problem, p.ods_code, p.year, p.workstream_id, p.detail
            );
        }
        anyhow::ensure!(
            problems.is_empty(),
            "{} stored row(s) break a rule on figures (listed above)",
            problems.len()
        );
        println!("No stored figures break a rule.");
        Ok(())
    }
    .await;
    db.shutdown().await;
    result
}

async fn demo(config: Config) -> anyhow::Result<()> {
    let db = Database::open(&config).await?;
    let result = async {
        prepare(&db).await?;
        let today = crate::clock::Clock::system().today();
        let report = demo::load(&db.pool, &DemoSpec::demo(today), today).await?;
        let prescribing = crate::prescribing::demo::load(&db.pool).await?;
        print_demo_report(&report, &config);
        print_demo_prescribing(&prescribing);
        Ok(())
    }
    .await;
    db.shutdown().await;
    result
}

/// The demo's summary and accounts, to standard output only: passwords are never logged.
fn print_demo_report(report: &DemoReport, config: &Config) {
    if report.already_loaded && report.plans == 0 {
        println!(
            "\nThe demo dataset was already loaded ({} plans): its data is left as it is.",
            report.plans_kept
        );
    } else {
        println!(
            "\nLoaded the demo dataset: {} ICBs, {} plans, {} workstreams, {} workstream-months \
             ({} with actuals), {} updates, {} measures with {} monthly values.",
            report.icbs,
            report.plans,
            report.workstreams,
            report.months,
            report.actuals,
            report.updates,
            report.measures,
            report.measure_values
        );
    }
    for year in &report.years_created {
        println!("Created programme year {year} with a copy of the latest catalogue.");
    }
    let created = report.accounts.iter().filter(|a| a.created).count();
    let verb = if created == report.accounts.len() {
        "Created"
    } else {
        "Reset the passwords of"
    };
    println!(
        "{verb} {} demo accounts. Sign in at {}/login with:\n",
        report.accounts.len(),
        config.local_url()
    );
    for account in &report.accounts {
        println!(
            "    {:<18} {:<40} {:<4} {}",
            account.role.as_str(),
            account.email,
            account.organisation.as_deref().unwrap_or(""),
            account.password
        );
        if let Some(two_step) = &account.two_step {
            println!(
                "    {:<18} two-step secret {}\n    {:<18} {}",
                "", two_step.secret, "", two_step.otpauth_url
            );
        }
    }
    if report.accounts.iter().any(|a| a.two_step.is_some()) {
        println!(
            "\nThe accounts with a two-step secret also need a code from an authenticator app: add \
             the secret to the app (\"enter a setup key\", time-based), or open the otpauth:// link \
             on a phone that has one. A new secret is made each time `medopt demo` runs."
        );
    }
    println!("\nEvery page says the data is synthetic while the demo dataset is loaded.\n");
}

/// What `medopt demo` did with the prescribing data.
fn print_demo_prescribing(report: &crate::prescribing::demo::DemoPrescribing) {
    if report.real_data {
        println!("Real prescribing data is loaded: the demo added no synthetic prescribing.\n");
    } else if report.months.is_empty() {
        println!(
            "The demo's synthetic prescribing data was already loaded ({} months): left as it is.\n",
            report.kept
        );
    } else {
        println!(
            "Loaded {} months of synthetic prescribing data ({} rows), so every chosen \
             opportunity shows its measures; pages say the prescribing figures are synthetic.\n",
            report.months.len(),
            crate::prescribing::source::thousands(report.rows)
        );
    }
}

/// `medopt prescribing …` on a migrated database.
async fn prescribing(command: PrescribingCommand, config: Config) -> anyhow::Result<()> {
    let db = Database::open(&config).await?;
    let result = async {
        prepare(&db).await?;
        crate::prescribing::command::run(command, &db.pool).await
    }
    .await;
    db.shutdown().await;
    result
}

async fn dev_db(command: DevDbCommand, config: Config) -> anyhow::Result<()> {
    match command {
        DevDbCommand::Start => {
            let config = Config {
                database_url: None,
                ..config
            };
            let db = Database::open(&config).await?;
            let prepared = prepare(&db).await;
            let url = db.local_url();
            db.pool.close().await;
            prepared?;
            println!("{}", url.context("no private cluster was started")?);
            Ok(())
        }
        DevDbCommand::Stop => db::stop_local_cluster().await,
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let db = Database::open(&config).await?;
    let result = async {
        prepare(&db).await?;
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("could not listen on {}", config.bind))?;
        let address = listener.local_addr()?;
        let url = crate::config::local_url(address);
        if let Some(one_time) = users::ensure_first_admin(&db.pool, &config.admin_email).await? {
            // Printed once, to the console only: never to the logs.
            println!(
                "\nFirst start: created administrator {} with one-time password\n\n    {one_time}\n\n\
                 Sign in at {url}/login; you will be asked to choose a new password.\n",
                config.admin_email
            );
        }
        let sessions = PgSessionStore::new(db.pool.clone());
        tokio::spawn(sweep_expired_sessions(sessions));
        tracing::info!(%address, "medopt is listening on {url}");
        let state = AppState::new(db.pool.clone(), config);
        // E-mail goes out from the background, never from a request (see crate::notifications).
        tokio::spawn(notifications::Worker::new(state.clone())?.run());
        let app = crate::app(state);
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("the web server failed")
    }
    .await;
    db.shutdown().await;
    result
}

/// Deletes ended sessions every five minutes, for as long as the server runs.
async fn sweep_expired_sessions(sessions: PgSessionStore) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(300));
    loop {
        every.tick().await;
        if let Err(error) = sessions.delete_expired().await {
            tracing::warn!(%error, "could not delete expired sessions");
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM; in-flight requests then finish before the server stops.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
