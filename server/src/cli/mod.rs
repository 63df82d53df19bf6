//! The `schalter` command line. Long-running commands show progress on a terminal and stay
//! quiet when their output goes to a log.

mod args;
mod backup;
pub mod simulate;
mod welcome;

use crate::engine::executor::{Executed, Executor, Record, WriteError};
use args::{settings_for, spinner};
pub use args::{CliError, Database, Keys};

use std::io::{BufRead, IsTerminal};
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use schalter_events::catalogue::{Catalogue, CatalogueEvent, ConfigFile};
use schalter_events::projection::{FeedbackTally, Projection};
use schalter_events::staff::access::DeviceRole;
use schalter_events::staff::Role;
use schalter_events::{Decision, Expectation};

use crate::features::admin::AccountError;
use crate::{open_store, start, Settings, DEFAULT_LISTEN};

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

/// Email to citizens. Credentials belong in the URL from the environment, not on the command line.
#[derive(Args, Clone)]
pub struct Mail {
    /// smtp://HOST:PORT (plain, for a local relay), smtp://HOST:587?tls=required (STARTTLS),
    /// smtps://USER:PASSWORD@HOST (TLS); unset: no emails
    #[arg(long, env = "SCHALTER_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    #[arg(
        long,
        env = "SCHALTER_MAIL_FROM",
        default_value = "Bürgerservice <noreply@localhost>"
    )]
    pub mail_from: String,
    /// Address citizens reach Schalter at, for the links in messages (default: the listen address).
    #[arg(long, env = "SCHALTER_PUBLIC_URL", default_value = "")]
    pub public_url: String,
    /// Hours before the appointment the reminder goes out.
    #[arg(long, env = "SCHALTER_REMINDER_HOURS", default_value_t = 24)]
    pub reminder_hours: u32,
    /// Seconds a server may take to send a message before another one tries.
    #[arg(long, env = "SCHALTER_OUTBOX_LEASE_SECONDS", default_value_t = 120)]
    pub outbox_lease_seconds: i64,
}

/// Text messages through an HTTP SMS gateway (see the README for the contract).
#[derive(Args, Clone)]
pub struct Texts {
    /// The gateway's endpoint; unset: no SMS
    #[arg(long, env = "SCHALTER_SMS_URL")]
    pub sms_url: Option<String>,
    /// Sent as `Authorization: Bearer <token>`.
    #[arg(long, env = "SCHALTER_SMS_TOKEN", hide_env_values = true)]
    pub sms_token: Option<String>,
    /// Sender name or number, as the gateway expects it.
    #[arg(long, env = "SCHALTER_SMS_SENDER", default_value = "Buergeramt")]
    pub sms_sender: String,
    /// "Your turn is near" goes out when this many people or fewer are ahead of a ticket.
    #[arg(long, env = "SCHALTER_SMS_NEAR_AHEAD", default_value_t = 3)]
    pub sms_near_ahead: usize,
}

impl Mail {
    fn settings(self, texts: Texts) -> crate::jobs::outbox::MessageSettings {
        crate::jobs::outbox::MessageSettings {
            public_url: self.public_url,
            reminder_hours: self.reminder_hours,
            lease: chrono::Duration::seconds(self.outbox_lease_seconds.max(1)),
            mail: self
                .smtp_url
                .filter(|u| !u.is_empty())
                .map(|smtp_url| crate::jobs::outbox::MailSettings {
                    smtp_url,
                    from: self.mail_from,
                }),
            sms: texts
                .sms_url
                .filter(|u| !u.is_empty())
                .map(|url| crate::jobs::sms::SmsSettings {
                    url,
                    token: texts.sms_token,
                    sender: texts.sms_sender,
                    near_ahead: texts.sms_near_ahead,
                }),
            clock: crate::engine::clock::Clock::system(),
        }
    }
}

// Parsed once per process: the size of the `serve` variant does not matter.
/// How many connections the server holds open, and for how long it waits for a request.
#[derive(Args)]
pub struct Connections {
    /// Open connections besides hall-screen streams; more are refused with 503.
    #[arg(long, env = "SCHALTER_HTTP_CONNECTIONS", default_value_t = 4096)]
    http_connections: usize,
    /// Open connections from one public address (not counted for a proxy on this machine or a
    /// private network); more are refused with 429.
    #[arg(long, env = "SCHALTER_HTTP_CONNECTIONS_PER_ADDRESS", default_value_t = 64)]
    http_connections_per_address: usize,
    /// Hall-screen event streams, counted apart from other connections.
    #[arg(long, env = "SCHALTER_HALL_SCREEN_STREAMS", default_value_t = 2048)]
    hall_screen_streams: usize,
    /// Seconds a connection may take to send a request's headers, and may stay idle between
    /// requests, before it is closed.
    #[arg(long, env = "SCHALTER_HEADER_TIMEOUT_SECONDS", default_value_t = 10)]
    header_timeout_seconds: u64,
    /// Seconds a hall-screen stream stays open before the screen reconnects (it resumes where
    /// it was; this lets screens move to restarted or added servers).
    #[arg(long, env = "SCHALTER_STREAM_SECONDS", default_value_t = 1800)]
    stream_seconds: u64,
}

impl Connections {
    fn limits(&self) -> crate::http::connections::ConnectionLimits {
        crate::http::connections::ConnectionLimits {
            max: self.http_connections,
            per_address: self.http_connections_per_address,
            streams: self.hall_screen_streams,
            header_timeout: std::time::Duration::from_secs(self.header_timeout_seconds.max(1)),
            stream_lifetime: std::time::Duration::from_secs(self.stream_seconds.max(1)),
        }
    }
}

#[allow(clippy::large_enum_variant)]
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
        /// With --demo, on the first start: open an account per staff role and a kiosk and a
        /// hall screen per office, and print their addresses once.
        #[arg(long, requires = "demo")]
        welcome: bool,
        /// Database connections per server process (PostgreSQL).
        #[arg(long, env = "SCHALTER_MAX_CONNECTIONS", default_value_t = 16)]
        max_connections: u32,
        #[command(flatten)]
        keys: Keys,
        /// Days after an appointment until its personal data is erased (checked daily).
        #[arg(long, env = "SCHALTER_RETENTION_DAYS", default_value_t = crate::jobs::retention::DEFAULT_RETENTION_DAYS)]
        retention_days: u32,
        #[command(flatten)]
        mail: Mail,
        #[command(flatten)]
        texts: Texts,
        /// `on` publishes anonymous monthly aggregates at /api/open-data (cells under 5 withheld).
        #[arg(long, env = "SCHALTER_OPEN_DATA", default_value = "off")]
        open_data: String,
        /// `on` hands out walk-in tickets at any hour, not only while the office is open (a
        /// demo tried in the evening).
        #[arg(long, env = "SCHALTER_WALK_INS_ANY_HOUR", default_value = "off")]
        walk_ins_any_hour: String,
        /// `off` switches rate limits and cooling-off off (load tests, trusted networks).
        #[arg(long, env = "SCHALTER_ABUSE_PROTECTION", default_value = "on")]
        abuse_protection: String,
        /// Lets other machines read /metrics with `Authorization: Bearer <token>`; unset: only
        /// this machine may.
        #[arg(long, env = "SCHALTER_METRICS_TOKEN", hide_env_values = true)]
        metrics_token: Option<String>,
        #[command(flatten)]
        connections: Connections,
    },
    /// Erase the personal data of bookings whose appointment is older than the retention
    /// period (the server also does this daily). The event log stays complete.
    Purge {
        #[command(flatten)]
        db: Database,
        #[command(flatten)]
        keys: Keys,
        #[arg(long, env = "SCHALTER_RETENTION_DAYS", default_value_t = crate::jobs::retention::DEFAULT_RETENTION_DAYS)]
        retention_days: u32,
    },
    /// Fill the days before today with realistic simulated office days (bookings, cancellations,
    /// check-ins, walk-ins, calls, service, no-shows) through the real decisions, so the
    /// statistics have data. Deterministic for a seed. Seeds the demo catalogue into an empty
    /// store first.
    Simulate {
        #[command(flatten)]
        db: Database,
        #[arg(long, default_value_t = 30)]
        days: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
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
    /// Kiosks and hall screens.
    Device {
        #[command(subcommand)]
        action: DeviceAction,
    },
    /// Replay the whole event log through every projection and report what they hold.
    RebuildProjections {
        #[command(flatten)]
        db: Database,
        /// Also write the statistics summary of this period (`FROM..TO`, local days, e.g.
        /// `2026-01-01..2026-12-31`) as JSON to `--stats-out`, to compare with the live figures.
        #[arg(long, requires = "stats_out")]
        stats_period: Option<String>,
        #[arg(long)]
        stats_out: Option<std::path::PathBuf>,
    },
    /// Import locations, opening hours and services from a TOML file (see `export-config`).
    /// Only differences are recorded; importing the same file twice changes nothing.
    ImportConfig {
        #[command(flatten)]
        db: Database,
        /// The TOML file.
        file: std::path::PathBuf,
        /// Withdraw services and remove counters that the file no longer lists.
        #[arg(long)]
        withdraw_missing: bool,
        /// Show what would change without recording it.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print the current catalogue as a TOML file for `import-config`.
    ExportConfig {
        #[command(flatten)]
        db: Database,
    },
    /// Copy the event log and the wrapped personal-data keys, consistently and while the server
    /// runs, into a new SQLite file in DIR (with a manifest beside it). The master key is not
    /// copied unless asked for.
    Backup {
        #[command(flatten)]
        db: Database,
        #[command(flatten)]
        keys: Keys,
        /// Directory for the backup (created if missing).
        #[arg(long)]
        to: std::path::PathBuf,
        /// Also write the master key beside the backup (only for a backup kept as safely as the
        /// key itself).
        #[arg(long)]
        with_master_key: bool,
    },
    /// Restore a backup into a new, empty database (SQLite or PostgreSQL); the server rebuilds
    /// its read models from it on start.
    Restore {
        #[command(flatten)]
        db: Database,
        #[command(flatten)]
        keys: Keys,
        /// The backup's .sqlite file.
        #[arg(long)]
        from: std::path::PathBuf,
    },
    /// When the master key is lost for good: erase every wrapped personal-data key (none can be
    /// opened any more) and bind the database to the new master key. Appointments stay.
    LostMasterKey {
        #[command(flatten)]
        db: Database,
        /// The new master key (as for `serve`).
        #[command(flatten)]
        keys: Keys,
        /// Confirms that every booking's personal data is to be erased.
        #[arg(long)]
        erase_personal_data: bool,
    },
    /// Ask a running server whether it is healthy (exit 0) or not (exit 1): for container
    /// health checks and monitoring, where no HTTP client is installed.
    Health {
        /// The server's address.
        #[arg(long, env = "SCHALTER_HEALTH_URL", default_value = "http://127.0.0.1:8080")]
        url: String,
    },
    /// Re-wrap every personal-data key under the current master key that is still under the
    /// previous one (see docs/operations.md for the whole rotation, without downtime).
    RotateMasterKey {
        #[command(flatten)]
        db: Database,
        #[command(flatten)]
        keys: Keys,
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

#[derive(Subcommand)]
pub enum DeviceAction {
    /// Register a kiosk, hall screen or specialist procedure; prints its token (shown only now)
    /// alone on the last line.
    Add {
        #[command(flatten)]
        db: Database,
        /// Location id, e.g. buergerbuero
        #[arg(long)]
        location: String,
        /// kiosk, display or procedure (a Fachverfahren reporting case steps)
        #[arg(long)]
        role: DeviceRole,
    },
    /// Revoke a device's token at once, e.g. when a kiosk is stolen or replaced.
    Revoke {
        #[command(flatten)]
        db: Database,
        /// The device id printed by `device add`.
        #[arg(long)]
        id: String,
    },
}

pub async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Serve {
            db,
            listen,
            demo,
            welcome,
            max_connections,
            keys,
            retention_days,
            mail,
            texts,
            open_data,
            walk_ins_any_hour,
            abuse_protection,
            metrics_token,
            connections,
        } => {
            serve(
                Settings {
                    database_url: db.database_url,
                    listen,
                    demo,
                    max_connections,
                    master_key: keys.master_key(),
                    master_key_file: keys.master_key_file.clone(),
                    previous_master_key: keys.previous_master_key(),
                    retention_days,
                    messages: mail.settings(texts),
                    abuse_protection: abuse_protection != "off",
                    open_data: open_data == "on",
                    walk_ins_any_hour: walk_ins_any_hour == "on",
                    metrics_token,
                    demo_outbox: demo,
                    connections: connections.limits(),
                },
                welcome,
            )
            .await
        }
        Command::Purge {
            db,
            keys,
            retention_days,
        } => purge(&db, &keys, retention_days).await,
        Command::Migrate { db } => migrate(&db).await,
        Command::Simulate { db, days, seed } => simulate(&db, days, seed).await,
        Command::User {
            action: UserAction::Add { db, username, role, .. },
        } => add_user(&db, &username, role).await,
        Command::Device {
            action: DeviceAction::Add { db, location, role },
        } => add_device(&db, &location, role).await,
        Command::Device {
            action: DeviceAction::Revoke { db, id },
        } => revoke_device(&db, &id).await,
        Command::RebuildProjections {
            db,
            stats_period,
            stats_out,
        } => rebuild_projections(&db, stats_period.as_deref(), stats_out.as_deref()).await,
        Command::ImportConfig {
            db,
            file,
            withdraw_missing,
            dry_run,
        } => import_config(&db, &file, withdraw_missing, dry_run).await,
        Command::ExportConfig { db } => export_config(&db).await,
        Command::Backup {
            db,
            keys,
            to,
            with_master_key,
        } => backup::backup(&db, &keys, &to, with_master_key).await,
        Command::Restore { db, keys, from } => backup::restore(&db, &keys, &from).await,
        Command::RotateMasterKey { db, keys } => backup::rotate_master_key(&db, &keys).await,
        Command::Health { url } => health(&url).await,
        Command::LostMasterKey {
            db,
            keys,
            erase_personal_data,
        } => backup::lost_master_key(&db, &keys, erase_personal_data).await,
    }
}

async fn health(url: &str) -> Result<(), CliError> {
    let address = format!("{}/api/health", url.trim_end_matches('/'));
    let answer = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| CliError::Usage(e.to_string()))?
        .get(&address)
        .send()
        .await
        .map_err(|e| CliError::Usage(format!("{address}: {e}")))?;
    let status = answer.status();
    let body = answer.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(CliError::Usage(format!("{address}: {status} {body}")));
    }
    println!("{body}");
    Ok(())
}

async fn serve(settings: Settings, welcome: bool) -> Result<(), CliError> {
    let backend = if settings.database_url.starts_with("sqlite:") {
        "SQLite"
    } else {
        "PostgreSQL"
    };
    let server = start(settings.clone()).await?;
    reload_keys_on_hangup(settings, server.state.vault.clone());
    let shown = if server.addr.ip().is_unspecified() {
        format!("localhost:{}", server.addr.port())
    } else {
        server.addr.to_string()
    };
    if welcome {
        // Before the line below: whoever waits for it has read the doors too.
        if let Some(doors) = welcome::open_doors(&server.state, &format!("http://{shown}")).await? {
            println!("{doors}");
        }
    }
    println!("Schalter läuft / is running: http://{shown}/  (event store: {backend}; stop with Ctrl+C)");
    server.run_until(shutdown_signal()).await;
    Ok(())
}

/// `kill -HUP` (systemd: `systemctl reload`) reads the master key files again: the steps of a
/// key rotation without a restart. Keys that do not open this database are refused.
fn reload_keys_on_hangup(settings: Settings, vault: crate::engine::vault::Vault) {
    #[cfg(unix)]
    tokio::spawn(async move {
        let Ok(mut hangups) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
            return;
        };
        while hangups.recv().await.is_some() {
            let reloaded = match settings.master_keys() {
                Ok(keys) => vault.reload(&keys).await.map(|()| keys),
                Err(e) => Err(e),
            };
            let outcome = match reloaded {
                Ok(keys) => {
                    tracing::info!(keys = ?keys, "reloaded the master keys");
                    "reloaded"
                }
                Err(e) => {
                    tracing::error!(error = %e, "kept the master keys: the new ones are not usable");
                    "refused"
                }
            };
            metrics::counter!("schalter_master_key_reloads_total", "outcome" => outcome).increment(1);
        }
    });
    #[cfg(not(unix))]
    let _ = (settings, vault);
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
    let store = open_store(&settings_for(db)).await?;
    let result =
        crate::features::admin::create_user(&Executor::new(store.clone()), username, role, password, "system:cli")
            .await;
    store.close().await;
    result?;
    println!("added {role:?} account {username:?}");
    Ok(())
}

async fn add_device(db: &Database, location: &str, role: DeviceRole) -> Result<(), CliError> {
    let store = open_store(&settings_for(db)).await?;
    let (catalogue, _) = current_catalogue(&store).await?;
    let result = if catalogue.locations.contains_key(location) {
        crate::features::admin::create_device(&Executor::new(store.clone()), location, role, "system:cli").await
    } else {
        Err(AccountError::UnknownLocation(location.to_owned()))
    };
    store.close().await;
    let (id, token) = result?;
    println!("added {id} at {location}; its token, shown only now:");
    println!("{token}");
    Ok(())
}

async fn revoke_device(db: &Database, id: &str) -> Result<(), CliError> {
    let store = open_store(&settings_for(db)).await?;
    let result = crate::features::admin::revoke(&Executor::new(store.clone()), id, "system:cli").await;
    store.close().await;
    match result? {
        true => println!("revoked {id}"),
        false => println!("{id} was already revoked"),
    }
    Ok(())
}

async fn purge(db: &Database, keys: &Keys, retention_days: u32) -> Result<(), CliError> {
    let master = keys.resolve(db)?;
    let store = open_store(&settings_for(db)).await?;
    let vault = match crate::engine::vault::Vault::unlock(&master, store.clone()).await {
        Ok(vault) => vault,
        Err(e) => {
            store.close().await;
            return Err(e.into());
        }
    };
    let cutoff = chrono::Utc::now() - chrono::Duration::days(i64::from(retention_days));
    let result = crate::jobs::retention::purge(&store, &vault, cutoff).await;
    let before = (chrono::Utc::now() - chrono::Duration::days(1)).date_naive();
    let tickets = crate::jobs::retention::purge_ticket_contacts(&store, &vault, before).await;
    let cases = crate::jobs::retention::purge_case_contacts(&store, &vault, cutoff).await;
    let renewals = crate::jobs::retention::purge_lapsed_renewals(&store, &vault, chrono::Utc::now()).await;
    store.close().await;
    let erased = result.map_err(|e| CliError::Usage(e.to_string()))?;
    let tickets = tickets.map_err(|e| CliError::Usage(e.to_string()))?;
    let cases = cases.map_err(|e| CliError::Usage(e.to_string()))?;
    let renewals = renewals.map_err(|e| CliError::Usage(e.to_string()))?;
    println!("erased the personal data of {erased} booking(s) that ended more than {retention_days} days ago");
    println!("erased the phone numbers of {tickets} walk-in ticket(s) of past days");
    println!("erased the contacts of {cases} application(s) closed more than {retention_days} days ago");
    println!("erased the addresses of {renewals} renewal reminder(s) that could no longer be sent");
    Ok(())
}

async fn simulate(db: &Database, days: u32, seed: u64) -> Result<(), CliError> {
    let store = open_store(&settings_for(db)).await?;
    let (mut catalogue, _) = current_catalogue(&store).await?;
    if catalogue.locations.is_empty() {
        crate::seed_demo(&store).await?;
        catalogue = current_catalogue(&store).await?.0;
    }
    let started = Instant::now();
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Berlin)
        .date_naive();
    let result = crate::cli::simulate::run(&store, &catalogue, today, days, seed).await;
    store.close().await;
    let report = result.map_err(|e| CliError::Usage(e.to_string()))?;
    println!(
        "simulated {} days before {today} (seed {seed}) in {:.1} s: {} bookings ({} cancelled), {} check-ins, \
         {} walk-ins, {} served, {} no-shows at the counter; {} events",
        report.days,
        started.elapsed().as_secs_f64(),
        report.bookings,
        report.cancellations,
        report.check_ins,
        report.walk_ins,
        report.served,
        report.no_shows,
        report.events
    );
    Ok(())
}

async fn current_catalogue(store: &schalter_events::store::Store) -> Result<(Catalogue, i64), CliError> {
    crate::engine::streams::catalogue(store).await.map_err(|e| match e {
        schalter_events::store::StoreError::Corrupt { reason, .. } => {
            CliError::Usage(format!("the stored catalogue is unreadable: {reason}"))
        }
        other => other.into(),
    })
}

async fn import_config(
    db: &Database,
    file: &std::path::Path,
    withdraw_missing: bool,
    dry_run: bool,
) -> Result<(), CliError> {
    let shown = file.display().to_string();
    let config_error = |problems: String| CliError::Config {
        file: shown.clone(),
        problems,
    };
    let text = std::fs::read_to_string(file).map_err(|e| config_error(e.to_string()))?;
    let parsed: ConfigFile = toml::from_str(&text).map_err(|e| config_error(e.to_string().replace('\n', " ")))?;
    let target = parsed.to_catalogue().map_err(|p| config_error(p.join("; ")))?;
    let store = open_store(&settings_for(db)).await?;
    let (current, version) = current_catalogue(&store).await?;
    let changes = current.changes_to(&target, withdraw_missing);
    for change in &changes {
        let (kind, id) = match change {
            CatalogueEvent::LocationDefined(l) => ("location", l.id.as_str()),
            CatalogueEvent::ServiceDefined(s) => ("service", s.id.as_str()),
            CatalogueEvent::ServiceWithdrawn { id } => ("withdraw service", id.as_str()),
            CatalogueEvent::ScheduleSet { location, .. } => ("schedule", location.as_str()),
            CatalogueEvent::CounterDefined(c) => ("counter", c.id.as_str()),
            CatalogueEvent::CounterRemoved { id } => ("remove counter", id.as_str()),
            CatalogueEvent::MunicipalityDefined(m) => ("municipality", m.name.as_str()),
            CatalogueEvent::CaseKindDefined(k) => ("kind of application", k.id.as_str()),
            CatalogueEvent::ClosureAdded { location, .. } => ("closure", location.as_str()),
        };
        println!("{}{kind} {id}", if dry_run { "would change: " } else { "changed: " });
    }
    if changes.is_empty() || dry_run {
        println!(
            "{} change(s){}",
            changes.len(),
            if dry_run { ", nothing recorded (dry run)" } else { "" }
        );
        store.close().await;
        return Ok(());
    }
    let expectation = if version == 0 {
        Expectation::NoStream
    } else {
        Expectation::AtVersion(version)
    };
    let decision = Decision {
        events: changes.iter().map(CatalogueEvent::to_new_event).collect(),
        expectations: vec![(schalter_events::catalogue::STREAM.into(), expectation)],
    };
    // Decided on the catalogue as read: if it changed meanwhile, the operator looks again.
    let import = Record::<WriteError>::new(decision);
    let result = Executor::new(store.clone())
        .execute("system:import-config", None, import)
        .await;
    store.close().await;
    match result {
        Ok(Executed::Done(true, _)) => {
            println!("{} change(s) recorded", changes.len());
            Ok(())
        }
        Ok(_) | Err(WriteError::Busy(_)) => Err(CliError::ConcurrentChange),
        Err(WriteError::Store(e)) => Err(e.into()),
    }
}

async fn export_config(db: &Database) -> Result<(), CliError> {
    let store = open_store(&settings_for(db)).await?;
    let (catalogue, _) = current_catalogue(&store).await?;
    store.close().await;
    let text = toml::to_string_pretty(&ConfigFile::from_catalogue(&catalogue))
        .map_err(|e| CliError::Usage(format!("cannot write the catalogue as TOML: {e}")))?;
    print!("{text}");
    Ok(())
}

async fn rebuild_projections(
    db: &Database,
    stats_period: Option<&str>,
    stats_out: Option<&std::path::Path>,
) -> Result<(), CliError> {
    let period = stats_period
        .map(|p| {
            let (from, to) = p
                .split_once("..")
                .ok_or_else(|| CliError::Usage("--stats-period is FROM..TO".into()))?;
            let day = |s: &str| {
                chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .map_err(|e| CliError::Usage(format!("--stats-period: {s}: {e}")))
            };
            Ok::<_, CliError>((day(from)?, day(to)?))
        })
        .transpose()?;
    let store = open_store(&settings_for(db)).await?;
    let head = store.head().await?;
    // The raw rate first: reading every event without doing anything with it.
    let raw_started = Instant::now();
    let (mut position, mut raw_count) = (0, 0u64);
    loop {
        let batch = store.read_all(position, 2000).await?;
        let Some(last) = batch.last() else { break };
        position = last.position;
        raw_count += batch.len() as u64;
    }
    let raw_secs = raw_started.elapsed().as_secs_f64();
    let bar = ProgressBar::new(head.max(0) as u64).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} events ({per_sec}, {eta})").expect("valid template"),
    );
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    let started = Instant::now();
    let mut catalogue = Catalogue::default();
    let mut feedback = FeedbackTally::default();
    let mut stats = schalter_events::stats::Stats::default();
    let (mut position, mut count) = (0, 0u64);
    let mut batches = store.read_ahead(0, 2000);
    while let Some(batch) = batches.recv().await {
        let batch = batch?;
        position = batch.last().map_or(position, |e| e.position);
        for e in &batch {
            if let Err(err) = Projection::apply(&mut catalogue, e)
                .and_then(|_| Projection::apply(&mut feedback, e))
                .and_then(|_| stats.apply(e))
            {
                tracing::error!(error = %err, "unreadable event skipped");
            }
        }
        count += batch.len() as u64;
        bar.set_position(position as u64);
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "rebuilt from {count} events in {secs:.2} s ({:.0} events/s): {} locations, {} services, {} ratings, \
         {} bookings and {} tickets in the statistics",
        count as f64 / secs.max(1e-9),
        catalogue.locations.len(),
        catalogue.services.len(),
        feedback.total(),
        stats.bookings.len(),
        stats.tickets.len(),
    );
    println!(
        "raw read-all of the same log: {raw_count} events in {raw_secs:.2} s ({:.0} events/s)",
        raw_count as f64 / raw_secs.max(1e-9)
    );
    store.close().await;
    if let (Some((from, to)), Some(out)) = (period, stats_out) {
        let filter = schalter_events::stats::Filter {
            from,
            to,
            location: None,
            service: None,
        };
        let summary = crate::features::stats::summary_of(&stats, &catalogue, &filter);
        let json = serde_json::to_vec_pretty(&summary).expect("a summary serialises");
        std::fs::write(out, json).map_err(|e| CliError::Usage(format!("{}: {e}", out.display())))?;
    }
    Ok(())
}
