//! Schalter's server: HTTP API, the web app, background subscribers, and the CLI's commands.

//!
//! Layers, each only using the ones below it (`scripts/module-cycles` checks there is no circle):
//! - `routes`: every route and the OpenAPI document, assembled from the features;
//! - `features`: one module per feature (bookings, queue, desk, display, admin, stats, staff);
//! - `cli`: the `schalter` commands besides `serve`, and the simulator;
//! - `jobs`: background work (outbox, expiry, retention);
//! - `http`: extractors, errors, auth, abuse limits, security headers, telemetry, web app;
//! - `engine`: state and projections, the command executor, the vault.

pub mod cli;
pub mod engine;
pub mod features;
pub mod http;
pub mod jobs;
pub mod routes;

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use schalter_events::catalogue;
use schalter_events::store::{ConnectOptions, Store, StoreError};
use schalter_events::{Decision, Expectation};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::compression::CompressionLayer;

use crate::engine::executor::{Executed, Executor, Record, WriteError};
use crate::engine::state::AppState;
use crate::engine::vault;
use crate::http::{abuse, security, telemetry, web};
use crate::jobs::{outbox, retention};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://schalter.db";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: String,
    pub listen: String,
    /// Seed the demo municipality into an empty store.
    pub demo: bool,
    pub max_connections: u32,
    /// The personal-data master key, 64 hex characters (`SCHALTER_MASTER_KEY`).
    pub master_key: Option<String>,
    /// A file holding the master key (`SCHALTER_MASTER_KEY_FILE`).
    pub master_key_file: Option<std::path::PathBuf>,
    /// During a master key rotation, the key being replaced (`SCHALTER_PREVIOUS_MASTER_KEY`;
    /// from files, the key file's `.previous` sibling is read instead).
    pub previous_master_key: Option<String>,
    /// Days after the appointment until its personal data is erased.
    pub retention_days: u32,
    /// Messages to citizens: email and SMS, each sent only when configured.
    pub messages: outbox::MessageSettings,
    /// Rate limits and cooling-off (`SCHALTER_ABUSE_PROTECTION=off` turns them off).
    pub abuse_protection: bool,
    /// Publish anonymous aggregates at `/api/open-data` (`SCHALTER_OPEN_DATA=on`).
    pub open_data: bool,
    /// Hand out walk-in tickets at any hour (`SCHALTER_WALK_INS_ANY_HOUR=on`): for a demo tried
    /// in the evening and for tests; an office hands them out only while it is open.
    pub walk_ins_any_hour: bool,
    /// `/metrics` for other machines with `Authorization: Bearer <token>`
    /// (`SCHALTER_METRICS_TOKEN`); without it, only this machine may read them.
    pub metrics_token: Option<String>,
    /// With `demo` and neither a mail server nor an SMS gateway: emails and text messages go to
    /// the admins' demo outbox (`/api/admin/demo-outbox`) instead of nowhere.
    pub demo_outbox: bool,
    /// Open connections, per address and for hall screens, and the header timeout.
    pub connections: http::connections::ConnectionLimits,
}

impl Settings {
    /// The master keys as configured now (files are read again on every call: a reload).
    pub fn master_keys(&self) -> Result<vault::MasterKeys, vault::VaultError> {
        vault::master_keys(
            self.master_key.as_deref(),
            self.master_key_file.as_deref(),
            self.previous_master_key.as_deref(),
            &self.database_url,
        )
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            database_url: DEFAULT_DATABASE_URL.into(),
            listen: DEFAULT_LISTEN.into(),
            demo: false,
            max_connections: 16,
            master_key: None,
            master_key_file: None,
            previous_master_key: None,
            retention_days: retention::DEFAULT_RETENTION_DAYS,
            messages: outbox::MessageSettings::default(),
            abuse_protection: true,
            open_data: false,
            walk_ins_any_hour: false,
            metrics_token: None,
            demo_outbox: false,
            connections: http::connections::ConnectionLimits::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Vault(#[from] vault::VaultError),
    #[error("the SMTP settings are not usable: {0}")]
    Mail(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        #[source]
        source: std::io::Error,
    },
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(routes::router(&state))
        .fallback(web::app)
        .layer(axum::middleware::from_fn(security::headers))
        .layer(axum::middleware::from_fn(telemetry::record_request))
        .layer(DefaultBodyLimit::max(http::BODY_LIMIT))
        .layer(CompressionLayer::new())
        .with_state(state)
}

/// A running server. Dropping it does not stop it; call [`Server::shutdown`].
pub struct Server {
    pub addr: SocketAddr,
    pub store: Store,
    /// The state the server answers from (for first-run setup and tests).
    pub state: AppState,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// How long a stopping server waits for requests in flight. Hall screens are told to reconnect
/// and leave at once; a request still running after this is cut off (systemd's own limit is
/// far above it).
pub const DRAIN: Duration = Duration::from_secs(10);

impl Server {
    /// Stops accepting, lets in-flight requests finish (at most [`DRAIN`]), tells hall screens
    /// to reconnect and ends their streams.
    pub async fn shutdown(self) {
        self.run_until(std::future::ready(())).await;
    }

    /// Serves until `signal` resolves, then shuts down as [`Server::shutdown`] does; also
    /// returns if the server stops by itself.
    pub async fn run_until(mut self, signal: impl std::future::Future<Output = ()>) {
        let ended = tokio::select! {
            ended = &mut self.task => Some(ended),
            () = signal => None,
        };
        let ended = match ended {
            Some(ended) => Ok(ended),
            None => {
                tracing::info!(
                    drain_seconds = DRAIN.as_secs(),
                    "shutting down: finishing in-flight requests"
                );
                let _ = self.stop.send(true);
                tokio::time::timeout(DRAIN, &mut self.task).await
            }
        };
        match ended {
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "server ended with an error"),
            Err(_) => {
                tracing::warn!(
                    drain_seconds = DRAIN.as_secs(),
                    "requests still running after the drain; cut off"
                );
                self.task.abort();
            }
            _ => {}
        }
        self.store.close().await;
    }

    pub fn stop_handle(&self) -> watch::Sender<bool> {
        self.stop.clone()
    }
}

pub async fn open_store(settings: &Settings) -> Result<Store, StoreError> {
    let store = Store::connect(
        &settings.database_url,
        ConnectOptions {
            max_connections: settings.max_connections,
        },
    )
    .await?;
    store.migrate().await?;
    Ok(store)
}

/// Seeds the demo catalogue once: the append expects the catalogue stream not to exist, so
/// two instances starting together cannot both seed it.
pub async fn seed_demo(store: &Store) -> Result<bool, StoreError> {
    if !store.read_stream(catalogue::STREAM, 0).await?.is_empty() {
        return Ok(false);
    }
    let events = catalogue::demo().to_events().iter().map(|e| e.to_new_event()).collect();
    let decision = Decision {
        events,
        expectations: vec![(catalogue::STREAM.into(), Expectation::NoStream)],
    };
    let seed = Record::<WriteError>::new(decision);
    match Executor::new(store.clone()).execute("system:demo", None, seed).await {
        Ok(Executed::Done(seeded, _)) => Ok(seeded),
        Ok(Executed::Repeated(_)) => Ok(false),
        Err(WriteError::Store(e)) => Err(e),
        Err(WriteError::Busy(_)) => Ok(false),
    }
}

/// Opens the store, migrates, seeds (with `demo`), loads projections and starts serving.
pub async fn start(settings: Settings) -> Result<Server, StartError> {
    // Before the first request, or its metrics go to the no-op recorder.
    telemetry::prometheus();
    let store = open_store(&settings).await?;
    if settings.demo && seed_demo(&store).await? {
        tracing::info!("seeded the demo municipality");
    }
    let listener = TcpListener::bind(&settings.listen)
        .await
        .map_err(|source| StartError::Listen {
            addr: settings.listen.clone(),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen {
        addr: settings.listen.clone(),
        source,
    })?;
    let (stop, stopped) = watch::channel(false);
    let vault = vault::Vault::unlock(&settings.master_keys()?, store.clone()).await?;
    retention::schedule(store.clone(), vault.clone(), settings.retention_days, stopped.clone());
    let (mut state, position) = AppState::load(store.clone(), vault, stopped.clone()).await?;
    state.abuse = std::sync::Arc::new(abuse::Abuse::new(settings.abuse_protection));
    if !settings.abuse_protection {
        tracing::warn!("abuse protection is off (SCHALTER_ABUSE_PROTECTION=off): no rate limits");
    }
    state.follow(position);
    let mut messages = settings.messages.clone();
    if messages.public_url.is_empty() {
        messages.public_url = format!("http://{addr}");
    }
    state.public_url = messages.public_url.as_str().into();
    if settings.demo && settings.demo_outbox && messages.mail.is_none() && messages.sms.is_none() {
        state.demo_outbox = Some(engine::state::DemoOutbox::default());
        messages.mail = Some(outbox::MailSettings {
            smtp_url: String::new(),
            from: "Bürgerservice <noreply@localhost>".into(),
        });
        messages.sms = Some(jobs::sms::SmsSettings {
            url: String::new(),
            token: None,
            sender: "Buergeramt".into(),
            near_ahead: 3,
        });
        tracing::info!(
            "demo: no mail server or SMS gateway configured, so emails and text messages go to the demo outbox \
             (/admin, signed in as an admin)"
        );
    } else if messages.mail.is_none() {
        tracing::info!("no SMTP server configured (SCHALTER_SMTP_URL): citizens get no emails");
    }
    state.sms = messages.sms.is_some();
    state.open_data = settings.open_data;
    state.walk_ins_any_hour = settings.walk_ins_any_hour;
    state.metrics_token = settings.metrics_token.clone().filter(|t| !t.is_empty()).map(Into::into);
    jobs::expiry::spawn(state.clone(), messages.clock.clone());
    outbox::spawn(state.clone(), messages).map_err(|e| StartError::Mail(e.to_string()))?;
    let connections = http::connections::Connections::new(settings.connections.clone().fitted_to_file_limit());
    let task = tokio::spawn(http::connections::serve(
        listener,
        router(state.clone()),
        connections,
        stopped.clone(),
    ));
    Ok(Server {
        addr,
        store,
        state,
        stop,
        task,
    })
}

/// glibc's allocator spent a tenth of the machine's time in a booking rush (profiled with perf):
/// every request allocates and frees many small buffers across threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
