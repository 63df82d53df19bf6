//! Test helpers: fresh databases (a SQLite file or a PostgreSQL database per test), the real
//! server on port 0, and honest skipping: when `CI=true`, a missing PostgreSQL or Chromium is a
//! failure, never a silent pass.

pub mod app;
pub mod bench;
pub mod browser;
pub mod citizen;
pub mod ics;
pub mod keyboard;
pub mod sms;
pub mod smtp;
pub mod sse;

use schalter_events::store::{ConnectOptions, Store};
use sqlx::Connection;

pub use app::{spawn_app, TestApp};

/// PostgreSQL server to create test databases on; the test command exports it.
/// Asks `probe` every 100 ms until it answers `Ok`, for `within` at most, and returns that
/// answer; fails the test naming `what` and the last thing seen (`Err`) otherwise. For state
/// that a projection, a background job or another server reaches in its own time.
pub async fn eventually<T>(
    what: &str,
    within: std::time::Duration,
    mut probe: impl AsyncFnMut() -> Result<T, String>,
) -> T {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match probe().await {
            Ok(answer) => return answer,
            Err(seen) => assert!(tokio::time::Instant::now() < deadline, "never {what}: {seen}"),
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// `value` once `done` holds for it, else what it is (for [`eventually`]).
pub fn when<T: std::fmt::Display>(value: T, done: bool) -> Result<T, String> {
    if done {
        Ok(value)
    } else {
        Err(value.to_string())
    }
}

pub fn pg_admin_url() -> String {
    std::env::var("SCHALTER_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// The `p` quantile (0–1) of sorted durations, in milliseconds (benchmarks).
pub fn percentile_ms(sorted: &[std::time::Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

pub fn in_ci() -> bool {
    std::env::var("CI").map(|v| v == "true" || v == "1").unwrap_or(false)
}

/// Outside CI a missing component skips the test with a note; in CI it fails it.
pub fn missing(component: &str, why: &str) {
    if in_ci() {
        panic!("{component} is required when CI=true but is not available: {why}");
    }
    eprintln!("SKIPPED: {component} not available ({why}); set CI=true to make this a failure");
}

/// A size of the fault tests: small in the suite, larger for a recorded full-size run with
/// `SCHALTER_FAULT_<NAME>` set (and `SCHALTER_BIN` at a release build); see BENCHMARKS.md.
pub fn fault_size(name: &str, small: usize) -> usize {
    std::env::var(format!("SCHALTER_FAULT_{name}"))
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(small)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// A database that exists only for one test.
pub struct TestDb {
    pub kind: Kind,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("schalter.db").display());
        TestDb {
            kind: Kind::Sqlite,
            url,
            _dir: Some(dir),
            pg_name: None,
        }
    }

    /// `None` (after printing why) when no PostgreSQL is reachable outside CI.
    pub async fn postgres() -> Option<TestDb> {
        let admin = pg_admin_url();
        let mut conn = match sqlx::PgConnection::connect(&admin).await {
            Ok(c) => c,
            Err(e) => {
                missing("PostgreSQL", &format!("{admin}: {e}"));
                return None;
            }
        };
        let name = format!("schalter_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create test database");
        let url = match admin.rfind('/') {
            Some(i) if admin[..i].contains("://") && i > admin.find("://").unwrap() + 2 => {
                format!("{}/{name}", &admin[..i])
            }
            _ => format!("{admin}/{name}"),
        };
        Some(TestDb {
            kind: Kind::Postgres,
            url,
            _dir: None,
            pg_name: Some(name),
        })
    }

    pub async fn of(kind: Kind) -> Option<TestDb> {
        match kind {
            Kind::Sqlite => Some(TestDb::sqlite().await),
            Kind::Postgres => TestDb::postgres().await,
        }
    }

    /// A migrated store on this database.
    pub async fn store(&self) -> Store {
        let store = Store::connect(&self.url, ConnectOptions::default())
            .await
            .expect("connect");
        store.migrate().await.expect("migrate");
        store
    }

    /// The SQLite file, for tests that look at the bytes on disk.
    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        self._dir.as_ref().map(|d| d.path().join("schalter.db"))
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            let admin = pg_admin_url();
            // Drop runs inside the test's runtime; a separate thread may block.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .ok()?;
                rt.block_on(async {
                    let mut conn = sqlx::PgConnection::connect(&admin).await.ok()?;
                    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await
                        .ok()
                })
            })
            .join();
        }
    }
}

/// Generates `sqlite` and `postgres` variants of an async test taking a [`TestDb`].
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn sqlite() {
                    let db = $crate::TestDb::sqlite().await;
                    super::$name(db).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
                async fn postgres() {
                    if let Some(db) = $crate::TestDb::postgres().await {
                        super::$name(db).await;
                    }
                }
            }
        )*
    };
}
