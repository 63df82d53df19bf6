//! Shared by the benchmarks: the servers under load, the slots they offer, and the raw figure
//! of the database that every result stands beside.

use std::collections::HashMap;
use std::time::Instant;

use chrono::NaiveDate;
use schalter_events::api::SlotView;
use sqlx::{Connection, Executor};

use crate::app::{spawn_app, Peer, TestApp};
use crate::{Kind, TestDb};

/// The release server in-process with the demo municipality (pool of `pool` connections), and
/// with `servers == 2` a second one on the same database.
pub struct Servers {
    pub name: String,
    pub app: TestApp,
    pub peer: Option<Peer>,
    /// Where clients send requests: client `i` uses `urls[i % urls.len()]`.
    pub urls: Vec<String>,
}

impl Servers {
    pub async fn start(db: TestDb, pool: u32, servers: usize) -> Servers {
        let name = match (db.kind, servers) {
            (Kind::Sqlite, _) => "SQLite".to_owned(),
            (Kind::Postgres, 1) => "PostgreSQL".to_owned(),
            (Kind::Postgres, n) => format!("PostgreSQL, {n} servers"),
        };
        let app = spawn_app(db).pool(pool).start().await;
        let peer = if servers > 1 { Some(app.peer(pool).await) } else { None };
        let urls = std::iter::once(app.url.clone())
            .chain(peer.as_ref().map(|p| p.url.clone()))
            .collect();
        Servers { name, app, peer, urls }
    }

    pub async fn stop(self) {
        if let Some(peer) = self.peer {
            peer.stop().await;
        }
        self.app.stop().await;
    }
}

/// The citizen office's slots for `service` over 60 days from `from`, as `url` shows them.
pub async fn slots(client: &reqwest::Client, url: &str, service: &'static str, from: NaiveDate) -> Vec<SlotView> {
    slots_at(client, url, "buergerbuero", service, from).await
}

/// A location's slots for `service` over 60 days from `from`, as `url` shows them.
pub async fn slots_at(
    client: &reqwest::Client,
    url: &str,
    location: &'static str,
    service: &'static str,
    from: NaiveDate,
) -> Vec<SlotView> {
    crate::citizen::availability(client, url, crate::citizen::Offer { location, service }, from, 60)
        .await
        .slots
}

/// Raw: single-row INSERT transactions from 16 connections (SQLite: its one writer).
pub async fn raw_insert_rate(kind: Kind, url: &str) -> f64 {
    let n_per = 300;
    let conns = if kind == Kind::Postgres { 16 } else { 1 };
    let setup = "CREATE TABLE IF NOT EXISTS raw_bench (id BIGINT, data TEXT)";
    match kind {
        Kind::Postgres => sqlx::PgConnection::connect(url)
            .await
            .unwrap()
            .execute(setup)
            .await
            .map(|_| ()),
        Kind::Sqlite => sqlx::SqliteConnection::connect(url)
            .await
            .unwrap()
            .execute(setup)
            .await
            .map(|_| ()),
    }
    .unwrap();
    let t = Instant::now();
    let tasks: Vec<_> = (0..conns)
        .map(|c| {
            let url = url.to_owned();
            tokio::spawn(async move {
                match kind {
                    Kind::Postgres => {
                        let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
                        for i in 0..n_per {
                            sqlx::query("INSERT INTO raw_bench VALUES ($1, $2)")
                                .bind((c * n_per + i) as i64)
                                .bind("x".repeat(200))
                                .execute(&mut conn)
                                .await
                                .unwrap();
                        }
                    }
                    Kind::Sqlite => {
                        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
                        conn.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL")
                            .await
                            .unwrap();
                        for i in 0..n_per {
                            sqlx::query("INSERT INTO raw_bench VALUES (?, ?)")
                                .bind((c * n_per + i) as i64)
                                .bind("x".repeat(200))
                                .execute(&mut conn)
                                .await
                                .unwrap();
                        }
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    (conns * n_per) as f64 / t.elapsed().as_secs_f64()
}

/// Clock ticks per second of `/proc/<pid>/stat`'s CPU times.
pub fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// Seconds of CPU (user + system) a process has used, its reaped children included.
pub fn cpu_seconds(pid: u32, ticks: f64) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name in parentheses: utime, stime, cutime, cstime are 14 … 17.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let sum: f64 = fields.get(11..15)?.iter().filter_map(|f| f.parse::<f64>().ok()).sum();
    Some(sum / ticks)
}

/// Every PostgreSQL process on this machine and its CPU seconds so far.
pub fn postgres_processes(ticks: f64) -> HashMap<u32, f64> {
    let mut found = HashMap::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim() == "postgres" {
            if let Some(cpu) = cpu_seconds(pid, ticks) {
                found.insert(pid, cpu);
            }
        }
    }
    found
}

/// CPU seconds PostgreSQL used between two readings (a process new since the first counts whole).
pub fn postgres_used(before: &HashMap<u32, f64>, after: &HashMap<u32, f64>) -> f64 {
    after
        .iter()
        .map(|(pid, cpu)| cpu - before.get(pid).copied().unwrap_or(0.0))
        .filter(|d| *d > 0.0)
        .sum()
}

/// CPU used by this process and by PostgreSQL from `start` on, per unit of work.
pub struct CpuMeter {
    ticks: f64,
    own: f64,
    postgres: HashMap<u32, f64>,
}

impl CpuMeter {
    pub fn start() -> CpuMeter {
        let ticks = clock_ticks();
        CpuMeter {
            ticks,
            own: cpu_seconds(std::process::id(), ticks).unwrap_or(0.0),
            postgres: postgres_processes(ticks),
        }
    }

    /// CPU-µs per unit for `units` units done since `start`: (this process, PostgreSQL).
    pub fn per(&self, units: usize) -> (f64, f64) {
        let own = cpu_seconds(std::process::id(), self.ticks).unwrap_or(0.0) - self.own;
        let postgres = postgres_used(&self.postgres, &postgres_processes(self.ticks));
        let per = |seconds: f64| seconds * 1e6 / units as f64;
        (per(own), per(postgres))
    }
}
