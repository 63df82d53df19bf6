//! Keeping the data for years: `backup`, `restore` and `rotate-master-key`. A backup is itself
//! a Schalter SQLite database (the log as stored and the vault's wrapped data keys) with a
//! manifest beside it; the master key that opens its personal data stays out of it unless
//! asked for, because a backup that carries its key protects nothing when it is lost.

use std::path::{Path, PathBuf};

use schalter_events::store::copy::{copy_store, Copied};
use schalter_events::store::{ConnectOptions, Store};
use serde::{Deserialize, Serialize};

use super::args::{settings_for, spinner, CliError, Database, Keys};
use crate::engine::vault::{default_key_file, fingerprint, MasterKeys, Vault, VaultError};
use crate::open_store;

/// What `backup` writes beside the database file, and `restore` checks first.
#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub schalter_version: String,
    pub source_backend: String,
    pub events: u64,
    pub head: i64,
    pub data_keys: u64,
    pub erased_keys: u64,
    /// The master key that opens the personal data (and the previous one, mid-rotation).
    pub master_key_fingerprint: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_master_key_fingerprint: Option<String>,
    /// Whether the master key was written beside the backup (`--with-master-key`).
    pub master_key_included: bool,
}

pub(super) async fn rotate_master_key(db: &Database, keys: &Keys) -> Result<(), CliError> {
    let master = keys.resolve(db)?;
    if master.previous.is_none() {
        let beside = keys
            .master_key_file
            .clone()
            .or_else(|| default_key_file(&db.database_url))
            .map(|f| crate::engine::vault::previous_key_file(&f).display().to_string())
            .unwrap_or_else(|| "a key file's .previous sibling".into());
        return Err(VaultError::NoPreviousKey(beside).into());
    }
    let store = open_store(&settings_for(db)).await?;
    let result = async {
        let vault = Vault::unlock(&master, store.clone()).await?;
        let bar = spinner("re-wrapping the data keys under the new master key");
        let done = vault.census(true).await?;
        let after = vault.census(false).await?;
        bar.finish_and_clear();
        Ok::<_, CliError>((done, after))
    }
    .await;
    store.close().await;
    let (done, after) = result?;
    println!(
        "re-wrapped {} data key(s) under the master key {}; {} were under it already, {} erased",
        done.rewrapped,
        fingerprint(&master.current),
        done.current,
        done.erased
    );
    if after.previous > 0 || after.unreadable > 0 || done.unreadable > 0 {
        return Err(CliError::Usage(format!(
            "{} key(s) are still under the previous master key (a server still wrapping with it? reload \
             every server, then run this again) and {} open with neither key",
            after.previous,
            after.unreadable.max(done.unreadable)
        )));
    }
    println!(
        "no data key needs the previous master key {} any more: remove it from every server and reload \
         (SIGHUP) or restart them; backups made before today still need it",
        master.previous.as_ref().map(fingerprint).unwrap_or_default()
    );
    Ok(())
}

pub(super) async fn backup(db: &Database, keys: &Keys, dir: &Path, with_master_key: bool) -> Result<(), CliError> {
    let master = keys.resolve(db)?;
    let store = open_store(&settings_for(db)).await?;
    let result = backup_store(&store, &master, dir, with_master_key).await;
    store.close().await;
    let (file, manifest) = result?;
    println!(
        "backed up {} event(s) (up to position {}) and {} personal-data key(s) ({} erased) to {}",
        manifest.events,
        manifest.head,
        manifest.data_keys,
        manifest.erased_keys,
        file.display()
    );
    if with_master_key {
        println!("the master key is beside it: keep this backup as safe as the key itself");
    } else {
        println!(
            "its personal data opens only with the master key {} (not in the backup: keep a copy apart)",
            manifest.master_key_fingerprint
        );
    }
    Ok(())
}

async fn backup_store(
    store: &Store,
    master: &MasterKeys,
    dir: &Path,
    with_master_key: bool,
) -> Result<(PathBuf, Manifest), CliError> {
    // The key must open what it backs up: a backup nobody can read is found out today, not
    // on the day it is needed.
    let vault = Vault::unlock(master, store.clone()).await?;
    let census = vault.census(false).await?;
    if census.unreadable > 0 {
        tracing::warn!(
            keys = census.unreadable,
            "data keys that no configured master key opens"
        );
    }
    std::fs::create_dir_all(dir).map_err(|e| CliError::Usage(format!("{}: {e}", dir.display())))?;
    let created_at = chrono::Utc::now();
    let name = format!("schalter-{}", created_at.format("%Y%m%d-%H%M%S"));
    let file = dir.join(format!("{name}.sqlite"));
    if file.exists() {
        return Err(CliError::Usage(format!("{} exists already", file.display())));
    }
    let target = Store::connect(
        &format!("sqlite://{}?mode=rwc", file.display()),
        ConnectOptions::default(),
    )
    .await?;
    target.migrate().await?;
    let bar = spinner("copying the event log");
    let copied = copy_store(store, &target, |n| bar.set_message(format!("copied {n} events"))).await;
    bar.finish_and_clear();
    target.close().await;
    // The wrapped keys are in it: readable by the service user only, whatever the umask.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| CliError::Usage(format!("{}: {e}", file.display())))?;
    }
    let Copied {
        events,
        head,
        data_keys,
        erased_keys,
    } = copied?;
    let manifest = Manifest {
        format: 1,
        created_at,
        schalter_version: env!("CARGO_PKG_VERSION").into(),
        source_backend: store.backend().as_str().into(),
        events,
        head,
        data_keys,
        erased_keys,
        master_key_fingerprint: fingerprint(&master.current),
        previous_master_key_fingerprint: master.previous.as_ref().map(fingerprint),
        master_key_included: with_master_key,
    };
    let json = serde_json::to_string_pretty(&manifest).expect("manifest serialises");
    write_new(&dir.join(format!("{name}.json")), &json)?;
    if with_master_key {
        write_new(&key_beside(&file), &hex::encode(master.current))?;
    }
    Ok((file, manifest))
}

/// Where `--with-master-key` puts the key, and where `restore` looks for it.
fn key_beside(backup: &Path) -> PathBuf {
    backup.with_extension("key")
}

fn write_new(path: &Path, content: &str) -> Result<(), CliError> {
    crate::engine::vault::write_private(path, content).map_err(|e| CliError::Usage(format!("{}: {e}", path.display())))
}

pub(super) async fn restore(db: &Database, keys: &Keys, from: &Path) -> Result<(), CliError> {
    if !from.is_file() {
        return Err(CliError::Usage(format!("{}: no such backup file", from.display())));
    }
    let manifest: Option<Manifest> = std::fs::read_to_string(from.with_extension("json"))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok());
    let master = restore_keys(db, keys, from)?;
    if let Some(m) = &manifest {
        let given = fingerprint(&master.current);
        let opens = given == m.master_key_fingerprint || Some(&given) == m.previous_master_key_fingerprint.as_ref();
        if !opens {
            return Err(CliError::Usage(format!(
                "the backup's personal data is sealed under the master key {}, but the key given is {given}; \
                 give the right one with SCHALTER_MASTER_KEY or --master-key-file",
                m.master_key_fingerprint
            )));
        }
    }
    let source = Store::connect(&format!("sqlite://{}", from.display()), ConnectOptions::default()).await?;
    let target = open_store(&settings_for(db)).await?;
    let result = async {
        let bar = spinner("restoring the event log");
        let copied = copy_store(&source, &target, |n| bar.set_message(format!("restored {n} events"))).await;
        bar.finish_and_clear();
        let copied = copied?;
        let census = Vault::unlock(&master, target.clone()).await?.census(false).await?;
        Ok::<_, CliError>((copied, census))
    }
    .await;
    source.close().await;
    target.close().await;
    let (copied, census) = result?;
    println!(
        "restored {} event(s) (up to position {}) and {} personal-data key(s), {} erased; {} open with the \
         master key {}, {} with neither",
        copied.events,
        copied.head,
        copied.data_keys,
        copied.erased_keys,
        census.current + census.previous,
        fingerprint(&master.current),
        census.unreadable
    );
    store_key_beside_sqlite(db, keys, &master)?;
    println!("start the server on this database: it rebuilds every read model from the restored log");
    Ok(())
}

/// The key to restore with: the one configured, else the one beside the backup, else the one
/// already beside a SQLite target. Never a new one: it would open nothing.
fn restore_keys(db: &Database, keys: &Keys, from: &Path) -> Result<MasterKeys, CliError> {
    if keys.configured() {
        return keys.resolve(db);
    }
    let beside_backup = key_beside(from);
    let beside_target = default_key_file(&db.database_url);
    for file in std::iter::once(beside_backup).chain(beside_target) {
        if file.is_file() {
            let key = crate::engine::vault::master_key(None, Some(&file), &db.database_url)?;
            return Ok(MasterKeys::single(key));
        }
    }
    Err(CliError::Usage(
        "no master key: give the one the backup was made under with SCHALTER_MASTER_KEY or --master-key-file".into(),
    ))
}

/// A restored SQLite database gets its key beside it, as a new one would, unless the key is
/// configured explicitly (then the server is started with it too).
fn store_key_beside_sqlite(db: &Database, keys: &Keys, master: &MasterKeys) -> Result<(), CliError> {
    if keys.configured() {
        return Ok(());
    }
    let Some(file) = default_key_file(&db.database_url) else {
        return Ok(());
    };
    if !file.exists() {
        write_new(&file, &hex::encode(master.current))?;
        println!("wrote the master key beside the database: {}", file.display());
    }
    Ok(())
}

/// After a master key is lost for good: erases every wrapped key, which nothing can open any
/// more, and binds the database to the master key now configured. The log is untouched.
pub(super) async fn lost_master_key(db: &Database, keys: &Keys, confirmed: bool) -> Result<(), CliError> {
    if !confirmed {
        return Err(CliError::Usage(
            "this erases every booking's personal data for good; add --erase-personal-data to confirm".into(),
        ));
    }
    let master = keys.resolve(db)?;
    let store = open_store(&settings_for(db)).await?;
    let erased = Vault::start_over(&master, &store).await;
    store.close().await;
    println!(
        "erased {} wrapped key(s); the server now starts with the master key {}",
        erased?,
        fingerprint(&master.current)
    );
    Ok(())
}
