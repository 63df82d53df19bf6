//! The personal-data vault. Each booking's name, email, phone and code are sealed with a data
//! key of their own (XChaCha20-Poly1305); the log keeps only the ciphertext and the key's id.
//! Data keys are stored wrapped by the master key in an erasable table beside the log, so
//! erasing a key erases the booking's personal data without touching the immutable log.
//!
//! The master key comes from `SCHALTER_MASTER_KEY` (64 hex characters) or a key file; for the
//! embedded SQLite default it is generated on first start next to the database, with a warning.

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

#[derive(Clone)]
pub struct Vault {
    master: Arc<XChaCha20Poly1305>,
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

/// Where the master key comes from, in order: the given hex key, the key file, then (SQLite
/// only) a file next to the database, generated on first start.
pub fn master_key(hex_key: Option<&str>, key_file: Option<&Path>, database_url: &str) -> Result<[u8; 32], VaultError> {
    let parse = |text: &str| -> Result<[u8; 32], VaultError> {
        let bytes = hex::decode(text.trim()).map_err(|_| VaultError::BadMasterKey)?;
        bytes.try_into().map_err(|_| VaultError::BadMasterKey)
    };
    if let Some(key) = hex_key {
        return parse(key);
    }
    let file = match key_file {
        Some(f) => f.to_owned(),
        None => {
            let path = database_url
                .strip_prefix("sqlite://")
                .or_else(|| database_url.strip_prefix("sqlite:"))
                .ok_or(VaultError::MasterKeyRequired)?;
            let path = path.split('?').next().unwrap_or(path);
            PathBuf::from(format!("{path}.key"))
        }
    };
    match std::fs::read_to_string(&file) {
        Ok(text) => parse(&text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && key_file.is_none() => {
            let key = random::<32>();
            write_private(&file, &hex::encode(key)).map_err(|source| VaultError::KeyFile {
                path: file.clone(),
                source,
            })?;
            tracing::warn!(
                file = %file.display(),
                "generated a master key for personal data next to the database; back it up with the \
                 database, or set SCHALTER_MASTER_KEY in production"
            );
            Ok(key)
        }
        Err(source) => Err(VaultError::KeyFile { path: file, source }),
    }
}

fn write_private(path: &Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(content.as_bytes())
}

impl Vault {
    pub fn new(master: [u8; 32], store: Store) -> Vault {
        let pepper = crate::engine::secrets::hash("pepper", &hex::encode(master));
        Vault {
            master: Arc::new(XChaCha20Poly1305::new(&master.into())),
            pepper: Arc::new(pepper),
            store,
            keys: Arc::default(),
        }
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
        let (wrapped, nonce) = seal_bytes(&self.master, &key);
        let mut stored = nonce.to_vec();
        stored.extend_from_slice(&wrapped);
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
        if stored.len() <= NONCE_BYTES {
            return Err(VaultError::Corrupt);
        }
        let (nonce, wrapped) = stored.split_at(NONCE_BYTES);
        let key: [u8; 32] = self
            .master
            .decrypt(XNonce::from_slice(nonce), wrapped)
            .map_err(|_| VaultError::Corrupt)?
            .try_into()
            .map_err(|_| VaultError::Corrupt)?;
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

    fn tempfile_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("schalter-vault-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
