//! What several subcommands share: where the database and the master key come from, the one
//! error type of the command line, and a progress spinner for long work.

use std::io::IsTerminal;
use std::time::Duration;

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget};
use schalter_events::store::StoreError;

use crate::engine::vault::MasterKeys;
use crate::features::admin::AccountError;
use crate::{Settings, StartError, DEFAULT_DATABASE_URL};

#[derive(Args, Clone)]
pub struct Database {
    /// sqlite://FILE (embedded, default) or postgres://USER@HOST/DB
    #[arg(long, env = "SCHALTER_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
}

/// Where the personal-data master key comes from. The key itself only from the environment
/// (`SCHALTER_MASTER_KEY`, 64 hex characters), never as an argument that `ps` would show.
#[derive(Args, Clone)]
pub struct Keys {
    /// File holding the master key (64 hex characters).
    #[arg(long, env = "SCHALTER_MASTER_KEY_FILE")]
    pub master_key_file: Option<std::path::PathBuf>,
}

impl Keys {
    pub(super) fn master_key(&self) -> Option<String> {
        std::env::var("SCHALTER_MASTER_KEY").ok().filter(|k| !k.is_empty())
    }

    /// During a rotation, the key being replaced (`SCHALTER_PREVIOUS_MASTER_KEY`); with key
    /// files, the key file's `.previous` sibling instead.
    pub(super) fn previous_master_key(&self) -> Option<String> {
        std::env::var("SCHALTER_PREVIOUS_MASTER_KEY")
            .ok()
            .filter(|k| !k.is_empty())
    }

    /// Whether a master key is given (environment or file) rather than left to the default.
    pub(super) fn configured(&self) -> bool {
        self.master_key().is_some() || self.master_key_file.is_some()
    }

    /// The configured master keys, as the server would find them for `db`.
    pub(super) fn resolve(&self, db: &Database) -> Result<MasterKeys, CliError> {
        Settings {
            database_url: db.database_url.clone(),
            master_key: self.master_key(),
            master_key_file: self.master_key_file.clone(),
            previous_master_key: self.previous_master_key(),
            ..Settings::default()
        }
        .master_keys()
        .map_err(CliError::from)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Vault(#[from] crate::engine::vault::VaultError),
    #[error(transparent)]
    Copy(#[from] schalter_events::store::copy::CopyError),
    #[error("{0}")]
    Usage(String),
    #[error("a user named {0:?} already exists")]
    UserExists(String),
    #[error("{file}: {problems}")]
    Config { file: String, problems: String },
    #[error("the catalogue was changed while importing; run the import again")]
    ConcurrentChange,
}

impl From<AccountError> for CliError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::UserExists(name) => CliError::UserExists(name),
            AccountError::Store(s) => CliError::Store(s),
            other => CliError::Usage(other.to_string()),
        }
    }
}

pub(super) fn settings_for(db: &Database) -> Settings {
    Settings {
        database_url: db.database_url.clone(),
        max_connections: 4,
        ..Settings::default()
    }
}

pub(super) fn spinner(message: &'static str) -> ProgressBar {
    let bar = ProgressBar::new_spinner().with_message(message);
    if !std::io::stderr().is_terminal() {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}
