//! Shared by the benchmarks: the servers under load, the slots they offer, and the raw figure
//! of the database that every result stands beside.

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
