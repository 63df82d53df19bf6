//! The `schalter` command line. Long-running commands show progress on a terminal and stay
//! quiet when their output goes to a log.

use std::io::{BufRead, IsTerminal};
use std::time::{Duration, Instant};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHasher, SaltString};
use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use schalter_events::catalogue::Catalogue;
use schalter_events::projection::{FeedbackTally, Projection};
use schalter_events::staff::{self, Role};
use schalter_events::store::{AppendRequest, StoreError};
use schalter_events::Metadata;

use crate::{open_store, start, Settings, StartError, DEFAULT_DATABASE_URL, DEFAULT_LISTEN};

#[derive(Parser)]
#[command(
    name = "schalter",
    version,
    about = "Appointments and queues for citizen offices (Bürgerbüro, Kfz-Zulassung)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Clone)]
pub struct Database {
    /// sqlite://FILE (embedded, default) or postgres://USER@HOST/DB
    #[arg(long, env = "SCHALTER_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
}

#[derive(Subcommand)]
pub enum Command {
    /// Run the web server (API, web app, hall displays).
    Serve {
        #[command(flatten)]
        db: Database,
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, env = "SCHALTER_LISTEN", default_value = DEFAULT_LISTEN)]
        listen: String,
        /// Seed a demo municipality (citizen office, vehicle registration) into an empty store.
        #[arg(long)]
        demo: bool,
        /// Database connections per server process (PostgreSQL).
        #[arg(long, env = "SCHALTER_MAX_CONNECTIONS", default_value_t = 16)]
        max_connections: u32,
    },
    /// Create or upgrade the database schema, then exit.
    Migrate {
        #[command(flatten)]
        db: Database,
    },
    /// Staff accounts.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// Replay the whole event log through every projection and report what they hold.
    RebuildProjections {
        #[command(flatten)]
        db: Database,
    },
}

#[derive(Subcommand)]
pub enum UserAction {
    /// Add a staff account; the password is read from standard input.
    Add {
        #[command(flatten)]
        db: Database,
        #[arg(long)]
        username: String,
        /// admin, desk or manager
        #[arg(long)]
        role: Role,
        /// Read the password from the first line of standard input (required: never on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Usage(String),
    #[error("a user named {0:?} already exists")]
    UserExists(String),
}

pub async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Serve {
            db,
            listen,
            demo,
            max_connections,
        } => {
            serve(Settings {
                database_url: db.database_url,
                listen,
                demo,
                max_connections,
            })
            .await
        }
        Command::Migrate { db } => migrate(&db).await,
        Command::User {
            action: UserAction::Add { db, username, role, .. },
        } => add_user(&db, &username, role).await,
        Command::RebuildProjections { db } => rebuild_projections(&db).await,
    }
}

fn settings_for(db: &Database) -> Settings {
    Settings {
        database_url: db.database_url.clone(),
        max_connections: 4,
        ..Settings::default()
    }
}

async fn serve(settings: Settings) -> Result<(), CliError> {
    let backend = if settings.database_url.starts_with("sqlite:") {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    let server = start(settings).await?;
    let shown = if server.addr.ip().is_unspecified() {
        format!("localhost:{}", server.addr.port())
    } else {
        server.addr.to_string()
    };
    println!("Schalter läuft / is running: http://{shown}/  (event store: {backend}; stop with Ctrl+C)");
    let stop = server.stop_handle();
    tokio::spawn(async move {
        shutdown_signal().await;
        tracing::info!("shutting down: finishing in-flight requests");
        let _ = stop.send(true);
    });
    server.wait().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

fn spinner(message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_message(message);
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}

async fn migrate(db: &Database) -> Result<(), CliError> {
    let bar = spinner("migrating the event store…");
    let store = schalter_events::store::Store::connect(&db.database_url, Default::default()).await?;
    let applied = store.migrate().await?;
    let head = store.head().await?;
    bar.finish_and_clear();
    println!("migrated: {applied} migration(s) applied, {head} event(s) in the log");
    store.close().await;
    Ok(())
}

async fn add_user(db: &Database, username: &str, role: Role) -> Result<(), CliError> {
    let mut password = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut password)
        .map_err(|e| CliError::Usage(format!("cannot read the password from standard input: {e}")))?;
    let password = password.trim_end_matches(['\n', '\r']);
    staff::check_password(password).map_err(|e| CliError::Usage(e.to_string()))?;
    let hash = argon2::Argon2::default()
        .hash_password(password.as_bytes(), &SaltString::generate(&mut OsRng))
        .map_err(|e| CliError::Usage(format!("cannot hash the password: {e}")))?
        .to_string();
    let (event, expectation) =
        staff::create_account(username, role, hash).map_err(|e| CliError::Usage(e.to_string()))?;
    let store = open_store(&settings_for(db)).await?;
    let request = AppendRequest::new(vec![event])
        .expect(staff::stream(username), expectation)
        .metadata(Metadata {
            actor: Some("system:cli".into()),
            requested_at: Some(chrono::Utc::now()),
            ..Default::default()
        });
    let result = store.append(&request).await;
    store.close().await;
    match result {
        Ok(_) => {
            println!("added {role:?} account {username:?}");
            Ok(())
        }
        Err(e) if e.is_conflict() => Err(CliError::UserExists(username.to_owned())),
        Err(e) => Err(e.into()),
    }
}

async fn rebuild_projections(db: &Database) -> Result<(), CliError> {
    let store = open_store(&settings_for(db)).await?;
    let head = store.head().await?;
    let bar = ProgressBar::new(head.max(0) as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} events ({per_sec}, {eta})").expect("valid template"),
    );
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    let started = Instant::now();
    let mut catalogue = Catalogue::default();
    let mut feedback = FeedbackTally::default();
    let (mut position, mut count) = (0, 0u64);
    loop {
        let batch = store.read_all(position, 2000).await?;
        let Some(last) = batch.last() else { break };
        position = last.position;
        for e in &batch {
            if let Err(err) = Projection::apply(&mut catalogue, e).and_then(|_| Projection::apply(&mut feedback, e)) {
                tracing::error!(error = %err, "unreadable event skipped");
            }
        }
        count += batch.len() as u64;
        bar.set_position(position as u64);
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "rebuilt from {count} events in {secs:.2} s ({:.0} events/s): {} locations, {} services, {} ratings",
        count as f64 / secs.max(1e-9),
        catalogue.locations.len(),
        catalogue.services.len(),
        feedback.total()
    );
    store.close().await;
    Ok(())
}
