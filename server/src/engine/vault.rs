//! The personal-data vault. Each booking's name, email, phone and code are sealed with a data
//! key of their own (XChaCha20-Poly1305); the log keeps only the ciphertext and the key's id.
//! Data keys are stored wrapped by the master key in an erasable table beside the log, so
//! erasing a key erases the booking's personal data without touching the immutable log.
//!
//! The master key comes from `SCHALTER_MASTER_KEY` (64 hex characters) or a key file; for the
//! embedded SQLite default it is generated on first start next to the database, with a warning.
//! During a rotation a previous master key opens the data keys not yet re-wrapped; new ones are
//! always wrapped under the current key. The pepper for keyed hashes is fixed on first start
//! and kept wrapped beside the data keys, so a rotation changes no hash that links in sent
//! messages or per-email counts depend on, and a wrong master key is refused at start.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use schalter_events::booking::{Contact, Personal, Sealed};
use schalter_events::store::{DataKey, Store, StoreError};
use serde::{Deserialize, Serialize};

const NONCE_BYTES: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("the master key must be 64 hexadecimal characters (32 bytes)")]
    BadMasterKey,
    #[error("cannot read or write the master key file {path}: {source}")]
    KeyFile { path: PathBuf, source: std::io::Error },
    #[error(
        "PostgreSQL needs a configured master key: set SCHALTER_MASTER_KEY (64 hex characters, e.g. from \
         `openssl rand -hex 32`), the same on every server"
    )]
    MasterKeyRequired,
    #[error("sealed personal data could not be opened (wrong master key?)")]
    Corrupt,
    #[error(
        "the master key (fingerprint {fingerprint}) does not open this database's personal data: \
         it was sealed under another key"
    )]
    WrongMasterKey { fingerprint: String },
    #[error("no previous master key is configured: set SCHALTER_PREVIOUS_MASTER_KEY or put it in {0}")]
    NoPreviousKey(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a booking keeps about its holder, sealed as one unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalData {
    pub name: String,
    pub email: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The booking code (for the manage link in messages); missing in plain old bookings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// The row of the key table that keeps the pepper, wrapped like a data key.
const PEPPER_KEY_ID: &str = "vault:pepper";

struct Keyring {
    current: XChaCha20Poly1305,
    previous: Option<XChaCha20Poly1305>,
}

impl Keyring {
    fn new(keys: &MasterKeys) -> Keyring {
        Keyring {
            current: XChaCha20Poly1305::new(&keys.current.into()),
            previous: keys.previous.map(|k| XChaCha20Poly1305::new(&k.into())),
        }
    }

    fn wrap(&self, key: &[u8]) -> Vec<u8> {
        let (wrapped, nonce) = seal_bytes(&self.current, key);
        let mut stored = nonce.to_vec();
        stored.extend_from_slice(&wrapped);
        stored
    }

    /// The key inside `stored`, and whether the current master key wrapped it.
    fn unwrap(&self, stored: &[u8]) -> Option<(Vec<u8>, Wrapping)> {
        if stored.len() <= NONCE_BYTES {
            return None;
        }
        let (nonce, wrapped) = stored.split_at(NONCE_BYTES);
        let open = |cipher: &XChaCha20Poly1305| cipher.decrypt(XNonce::from_slice(nonce), wrapped).ok();
        if let Some(key) = open(&self.current) {
            return Some((key, Wrapping::Current));
        }
        self.previous
            .as_ref()
            .and_then(open)
            .map(|key| (key, Wrapping::Previous))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wrapping {
    Current,
    Previous,
}

/// What a pass over the key table found and did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyCensus {
    /// Keys under the current master key (before a rotation, or already re-wrapped).
    pub current: u64,
    /// Keys moved from the previous master key to the current one.
    pub rewrapped: u64,
    /// Keys still under the previous master key (a census that does not re-wrap).
    pub previous: u64,
    /// Keys erased for good (their personal data is gone, as intended).
    pub erased: u64,
    /// Keys that neither master key opens: their personal data cannot be read.
    pub unreadable: u64,
}

#[derive(Clone)]
pub struct Vault {
    keyring: Arc<RwLock<Arc<Keyring>>>,
    /// A secret derived from the master key, for keyed hashes (e.g. of email addresses).
    pepper: Arc<String>,
    store: Store,
    /// Unwrapped data keys already read (never erased ones: erasing removes them here too).
    keys: Arc<RwLock<HashMap<String, [u8; 32]>>>,
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

fn seal_bytes(cipher: &XChaCha20Poly1305, plain: &[u8]) -> (Vec<u8>, [u8; NONCE_BYTES]) {
    let nonce = random::<NONCE_BYTES>();
    let sealed = cipher
        .encrypt(XNonce::from_slice(&nonce), plain)
        .expect("XChaCha20-Poly1305 encrypts any length the vault uses");
    (sealed, nonce)
}

/// The master keys in use: `current` wraps every new data key; `previous`, during a rotation,
/// opens the ones not yet re-wrapped.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterKeys {
    pub current: [u8; 32],
    pub previous: Option<[u8; 32]>,
}

impl std::fmt::Debug for MasterKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MasterKeys")
            .field("current", &fingerprint(&self.current))
            .field("previous", &self.previous.as_ref().map(fingerprint))
            .finish()
    }
}

impl MasterKeys {
    pub fn single(current: [u8; 32]) -> MasterKeys {
        MasterKeys {
            current,
            previous: None,
        }
    }
}

/// A short public name for a master key (it reveals nothing of the key): printed on backups
/// and recovery sheets, so the key that opens a backup can be told from the others.
pub fn fingerprint(key: &[u8; 32]) -> String {
    crate::engine::secrets::hash("master-key-fingerprint", &hex::encode(key))[..16].to_owned()
}

fn parse_key(text: &str) -> Result<[u8; 32], VaultError> {
    let bytes = hex::decode(text.trim()).map_err(|_| VaultError::BadMasterKey)?;
    bytes.try_into().map_err(|_| VaultError::BadMasterKey)
}

/// The file the master key is read from when none is given: next to a SQLite database.
pub fn default_key_file(database_url: &str) -> Option<PathBuf> {
    let path = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next().unwrap_or(path);
    Some(PathBuf::from(format!("{path}.key")))
}

/// Where the previous master key is looked for beside a key file.
pub fn previous_key_file(key_file: &Path) -> PathBuf {
    let mut name = key_file.as_os_str().to_owned();
    name.push(".previous");
    PathBuf::from(name)
}

/// Where the master key comes from, in order: the given hex key, the key file, then (SQLite
/// only) a file next to the database, generated on first start.
pub fn master_key(hex_key: Option<&str>, key_file: Option<&Path>, database_url: &str) -> Result<[u8; 32], VaultError> {
    if let Some(key) = hex_key {
        return parse_key(key);
    }
    let file = match key_file {
        Some(f) => f.to_owned(),
        None => default_key_file(database_url).ok_or(VaultError::MasterKeyRequired)?,
    };
    match std::fs::read_to_string(&file) {
        Ok(text) => parse_key(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && key_file.is_none() => {
            let key = random::<32>();
            write_private(&file, &hex::encode(key)).map_err(|source| VaultError::KeyFile {
                path: file.clone(),
                source,
            })?;
            tracing::warn!(
                file = %file.display(),
                "generated a master key for personal data next to the database; keep a copy apart \
                 from the backups (see docs/operations.md), or set SCHALTER_MASTER_KEY in production"
            );
            Ok(key)
        }
        Err(source) => Err(VaultError::KeyFile { path: file, source }),
    }
}

/// The current key as `master_key` finds it, and the previous one from `previous_hex` or, when
/// the current key comes from a file, from that file's `.previous` sibling if it exists.
pub fn master_keys(
    hex_key: Option<&str>,
    key_file: Option<&Path>,
    previous_hex: Option<&str>,
    database_url: &str,
) -> Result<MasterKeys, VaultError> {
    let current = master_key(hex_key, key_file, database_url)?;
    let previous = if let Some(hex) = previous_hex {
        Some(parse_key(hex)?)
    } else if hex_key.is_some() {
        None
    } else {
        match key_file.map(Path::to_owned).or_else(|| default_key_file(database_url)) {
            Some(file) => read_optional_key(&previous_key_file(&file))?,
            None => None,
        }
    };
    Ok(MasterKeys { current, previous })
}

fn read_optional_key(file: &Path) -> Result<Option<[u8; 32]>, VaultError> {
    match std::fs::read_to_string(file) {
        Ok(text) => parse_key(&text).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(VaultError::KeyFile {
            path: file.to_owned(),
            source,
        }),
    }
}

/// The pepper as it was derived before it was stored (and still is, the first time).
fn derived_pepper(master: &[u8; 32]) -> String {
    crate::engine::secrets::hash("pepper", &hex::encode(master))
}

/// Writes a new file only its owner can read (a key, or what holds wrapped keys).
pub fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(content.as_bytes())
}

impl Vault {
    /// Opens the vault of `store`. On the first start the pepper is derived from the master key
    /// of that time and stored; afterwards it is read back, which also proves that the keys
    /// given are the ones this database's personal data is sealed under.
    pub async fn unlock(keys: &MasterKeys, store: Store) -> Result<Vault, VaultError> {
        let keyring = Keyring::new(keys);
        let pepper = match store.data_key(PEPPER_KEY_ID).await? {
            Some(stored) => Self::stored_pepper(&keyring, &stored, keys)?,
            None => {
                // As before the pepper was stored: derived from the key it was first used with.
                let pepper = derived_pepper(&keys.previous.unwrap_or(keys.current));
                if let Err(e) = store
                    .put_data_key(PEPPER_KEY_ID, &keyring.wrap(pepper.as_bytes()))
                    .await
                {
                    // Another server stored it first: use theirs.
                    let stored = store.data_key(PEPPER_KEY_ID).await?.ok_or(e)?;
                    Self::stored_pepper(&keyring, &stored, keys)?
                } else {
                    pepper
                }
            }
        };
        Ok(Vault {
            keyring: Arc::new(RwLock::new(Arc::new(keyring))),
            pepper: Arc::new(pepper),
            store,
            keys: Arc::default(),
        })
    }

    /// After the master key is lost for good: erases every data key (nothing can open them)
    /// and puts a new pepper under `keys`, so that a vault unlocks with them. Returns how many
    /// data keys were erased.
    pub async fn start_over(keys: &MasterKeys, store: &Store) -> Result<u64, VaultError> {
        let keyring = Keyring::new(keys);
        let pepper = derived_pepper(&keys.current);
        let mut erased = 0;
        let mut pages = store.data_key_pages(1_000);
        while let Some(rows) = pages.next().await? {
            for row in rows {
                match row.wrapped {
                    Some(old) if row.id == PEPPER_KEY_ID => {
                        store
                            .rewrap_data_key(PEPPER_KEY_ID, &old, &keyring.wrap(pepper.as_bytes()))
                            .await?;
                    }
                    Some(_) => {
                        store.erase_data_key(&row.id).await?;
                        erased += 1;
                    }
                    None => {}
                }
            }
        }
        Ok(erased)
    }

    fn stored_pepper(keyring: &Keyring, stored: &[u8], keys: &MasterKeys) -> Result<String, VaultError> {
        let (pepper, _) = keyring.unwrap(stored).ok_or_else(|| VaultError::WrongMasterKey {
            fingerprint: fingerprint(&keys.current),
        })?;
        String::from_utf8(pepper).map_err(|_| VaultError::Corrupt)
    }

    fn keyring(&self) -> Arc<Keyring> {
        self.keyring.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Takes new master keys (a rotation's first and last step, on SIGHUP), but only keys that
    /// still open this database's personal data: a mistyped key file changes nothing.
    pub async fn reload(&self, keys: &MasterKeys) -> Result<(), VaultError> {
        let keyring = Keyring::new(keys);
        if let Some(stored) = self.store.data_key(PEPPER_KEY_ID).await? {
            Self::stored_pepper(&keyring, &stored, keys)?;
        }
        *self.keyring.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(keyring);
        Ok(())
    }

    /// Counts the key table by the master key each key is wrapped under; with `rewrap`, moves
    /// every key under the previous master key to the current one (a key erased meanwhile
    /// stays erased).
    pub async fn census(&self, rewrap: bool) -> Result<KeyCensus, VaultError> {
        let keyring = self.keyring();
        let mut census = KeyCensus::default();
        let mut pages = self.store.data_key_pages(1_000);
        while let Some(rows) = pages.next().await? {
            for row in rows {
                let Some(stored) = row.wrapped else {
                    census.erased += 1;
                    continue;
                };
                match keyring.unwrap(&stored) {
                    Some((_, Wrapping::Current)) => census.current += 1,
                    Some((key, Wrapping::Previous)) if rewrap => {
                        if self
                            .store
                            .rewrap_data_key(&row.id, &stored, &keyring.wrap(&key))
                            .await?
                        {
                            census.rewrapped += 1;
                        } else if self.store.data_key(&row.id).await?.is_some() {
                            census.current += 1; // another rotation got there first
                        } else {
                            census.erased += 1;
                        }
                    }
                    Some((_, Wrapping::Previous)) => census.previous += 1,
                    None => census.unreadable += 1,
                }
            }
        }
        Ok(census)
    }

    /// Keyed hash for values that must be matched but not read back (an email's booking count).
    /// The token in a booking's confirmation link (see `booking::confirm_token`).
    pub fn confirm_token(&self, code: &str) -> String {
        schalter_events::booking::confirm_token(code, |c| self.keyed_hash("confirm", c))
    }

    pub fn keyed_hash(&self, purpose: &str, value: &str) -> String {
        crate::engine::secrets::hash(&format!("{purpose}:{}", self.pepper), value)
    }

    /// Seals `data` under a new data key, which is stored (wrapped) before anything refers to
    /// it: a crash in between leaves an unused key, never unreadable data.
    pub async fn seal(&self, data: &PersonalData) -> Result<Personal, VaultError> {
        let (personal, key) = self.seal_with_key(data);
        self.store.put_data_key(&key.id, &key.wrapped).await?;
        Ok(personal)
    }

    /// Seals `data` under a new data key and hands the wrapped key back unstored, to be
    /// appended with the events that refer to it (one transaction, and no key is left behind
    /// when the append does not happen).
    pub fn seal_with_key(&self, data: &PersonalData) -> (Personal, DataKey) {
        let key = random::<32>();
        let id = uuid::Uuid::new_v4().simple().to_string();
        let stored = self.keyring().wrap(&key);
        let plain = serde_json::to_vec(data).expect("personal data serialises");
        let (sealed, nonce) = seal_bytes(&XChaCha20Poly1305::new(&key.into()), &plain);
        // As before the key moved into the append: the confirmation mail opens this data at
        // once, and a key whose booking lost its slot is only a few bytes until restart.
        self.keys
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.clone(), key);
        let personal = Personal::Sealed(Sealed {
            key: id.clone(),
            nonce: B64.encode(nonce),
            data: B64.encode(sealed),
        });
        (personal, DataKey { id, wrapped: stored })
    }

    /// The personal data, or `None` once its key is erased.
    pub async fn open(&self, personal: &Personal) -> Result<Option<PersonalData>, VaultError> {
        let sealed = match personal {
            Personal::Plain(Contact { name, email, phone }) => {
                return Ok(Some(PersonalData {
                    name: name.clone(),
                    email: email.clone(),
                    phone: phone.clone(),
                    code: None,
                }))
            }
            Personal::Sealed(s) => s,
        };
        let Some(key) = self.data_key(&sealed.key).await? else {
            return Ok(None);
        };
        let nonce = B64.decode(&sealed.nonce).map_err(|_| VaultError::Corrupt)?;
        let data = B64.decode(&sealed.data).map_err(|_| VaultError::Corrupt)?;
        if nonce.len() != NONCE_BYTES {
            return Err(VaultError::Corrupt);
        }
        let plain = XChaCha20Poly1305::new(&key.into())
            .decrypt(XNonce::from_slice(&nonce), data.as_slice())
            .map_err(|_| VaultError::Corrupt)?;
        serde_json::from_slice(&plain)
            .map(Some)
            .map_err(|_| VaultError::Corrupt)
    }

    async fn data_key(&self, id: &str) -> Result<Option<[u8; 32]>, VaultError> {
        if let Some(key) = self.keys.read().unwrap_or_else(|e| e.into_inner()).get(id) {
            return Ok(Some(*key));
        }
        let Some(stored) = self.store.data_key(id).await? else {
            return Ok(None);
        };
        let (key, _) = self.keyring().unwrap(&stored).ok_or(VaultError::Corrupt)?;
        let key: [u8; 32] = key.try_into().map_err(|_| VaultError::Corrupt)?;
        self.keys
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_owned(), key);
        Ok(Some(key))
    }

    /// Destroys the data key of `personal` (nothing to destroy for plain old bookings).
    pub async fn erase(&self, personal: &Personal) -> Result<(), VaultError> {
        if let Personal::Sealed(sealed) = personal {
            self.store.erase_data_key(&sealed.key).await?;
            self.keys.write().unwrap_or_else(|e| e.into_inner()).remove(&sealed.key);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn master_key_sources() {
        let hex_key = "11".repeat(32);
        assert_eq!(master_key(Some(&hex_key), None, "postgres://x").unwrap(), [0x11; 32]);
        assert!(matches!(
            master_key(Some("abc"), None, "sqlite://x.db"),
            Err(VaultError::BadMasterKey)
        ));
        assert!(matches!(
            master_key(None, None, "postgres://x/y"),
            Err(VaultError::MasterKeyRequired)
        ));
        let dir = tempfile_dir();
        let db = format!("sqlite://{}/s.db?mode=rwc", dir.display());
        let first = master_key(None, None, &db).unwrap();
        assert_eq!(master_key(None, None, &db).unwrap(), first, "generated once, then read");
        assert!(dir.join("s.db.key").exists());
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// A database from before the pepper was stored keeps its keyed hashes: the pepper is
    /// derived from the master key as it always was, then stored and read back.
    #[tokio::test]
    async fn the_pepper_of_an_older_database_stays_what_it_was() {
        let dir = tempfile_dir();
        let url = format!("sqlite://{}/s.db?mode=rwc", dir.display());
        let store = Store::connect(&url, Default::default()).await.unwrap();
        store.migrate().await.unwrap();
        let master = [7u8; 32];
        let as_before = crate::engine::secrets::hash("pepper", &hex::encode(master));
        let expected = crate::engine::secrets::hash(&format!("holder:{as_before}"), "erika@example.org");
        let first = Vault::unlock(&MasterKeys::single(master), store.clone()).await.unwrap();
        assert_eq!(first.keyed_hash("holder", "erika@example.org"), expected);
        assert!(
            store.data_key(PEPPER_KEY_ID).await.unwrap().is_some(),
            "stored on first unlock"
        );
        let again = Vault::unlock(&MasterKeys::single(master), store.clone()).await.unwrap();
        assert_eq!(again.keyed_hash("holder", "erika@example.org"), expected);
        let other = Vault::unlock(&MasterKeys::single([8u8; 32]), store.clone()).await;
        assert!(matches!(other, Err(VaultError::WrongMasterKey { .. })));
        store.close().await;
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("schalter-vault-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
