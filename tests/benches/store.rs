//! Event-store throughput next to the raw figure of the same database in the same run.
//! Not a test: it prints a Markdown table for BENCHMARKS.md.
//!
//!     cargo bench -p schalter-tests --bench store [-- postgres | -- sqlite]
//!
//! Both databases run with fsync on (SQLite `synchronous=FULL` in WAL; PostgreSQL as
//! configured, `fsync=on`, `synchronous_commit=on` by default).

use std::str::FromStr;
use std::time::{Duration, Instant};

use schalter_events::store::{AppendRequest, Store};
use schalter_events::NewEvent;
use schalter_tests::bench::CpuMeter;
use schalter_tests::{Kind, TestDb};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, Executor};

const SEQUENTIAL: usize = 2_000;
const WRITERS: usize = 8;
const PER_WRITER: usize = 500;
const READ_EVENTS: usize = 100_000;

fn event(i: usize) -> NewEvent {
    NewEvent {
        stream: format!("booking-{}", i % 5000),
        event_type: "BookingConfirmed".into(),
        schema: 1,
        data: serde_json::json!({"slot": "2026-12-01T09:15:00+01:00", "service": "personalausweis", "ciphertext": "x".repeat(120)}),
    }
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

/// Raw: one single-row INSERT transaction at a time, on one connection.
async fn raw_inserts_sequential(kind: Kind, url: &str, n: usize) -> f64 {
    let payload = event(0).data.to_string();
    match kind {
        Kind::Sqlite => {
            let mut c = SqliteConnectOptions::from_str(url)
                .unwrap()
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .connect()
                .await
                .unwrap();
            c.execute("CREATE TABLE raw (id INTEGER PRIMARY KEY, stream TEXT, data TEXT)")
                .await
                .unwrap();
            let t = Instant::now();
            for i in 0..n {
                sqlx::query("INSERT INTO raw (stream, data) VALUES (?, ?)")
                    .bind(format!("s-{i}"))
                    .bind(&payload)
                    .execute(&mut c)
                    .await
                    .unwrap();
            }
            rate(n, t.elapsed())
        }
        Kind::Postgres => {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            c.execute("CREATE TABLE raw (id BIGSERIAL PRIMARY KEY, stream TEXT, data JSONB)")
                .await
                .unwrap();
            let t = Instant::now();
            for i in 0..n {
                sqlx::query("INSERT INTO raw (stream, data) VALUES ($1, $2::jsonb)")
                    .bind(format!("s-{i}"))
                    .bind(&payload)
                    .execute(&mut c)
                    .await
                    .unwrap();
            }
            rate(n, t.elapsed())
        }
    }
}

/// Raw: `WRITERS` connections each doing single-row INSERT transactions (PostgreSQL only: SQLite
/// has one writer by design).
async fn raw_inserts_concurrent(url: &str) -> f64 {
    let payload = event(0).data.to_string();
    let t = Instant::now();
    let tasks: Vec<_> = (0..WRITERS)
        .map(|w| {
            let url = url.to_owned();
            let payload = payload.clone();
            tokio::spawn(async move {
                let mut c = sqlx::PgConnection::connect(&url).await.unwrap();
                for i in 0..PER_WRITER {
                    sqlx::query("INSERT INTO raw (stream, data) VALUES ($1, $2::jsonb)")
                        .bind(format!("w{w}-{i}"))
                        .bind(&payload)
                        .execute(&mut c)
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    rate(WRITERS * PER_WRITER, t.elapsed())
}

async fn appends_sequential(store: &Store, n: usize) -> f64 {
    let t = Instant::now();
    for i in 0..n {
        store.append(&AppendRequest::new(vec![event(i)])).await.unwrap();
    }
    rate(n, t.elapsed())
}

async fn appends_concurrent(store: &Store) -> f64 {
    let t = Instant::now();
    let tasks: Vec<_> = (0..WRITERS)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..PER_WRITER {
                    store
                        .append(&AppendRequest::new(vec![event(w * PER_WRITER + i)]))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    rate(WRITERS * PER_WRITER, t.elapsed())
}

/// Fills the log quickly (many events per append) for the read figures.
async fn fill(store: &Store, n: usize) {
    let mut i = 0;
    while i < n {
        let batch: Vec<_> = (i..(i + 1000).min(n)).map(event).collect();
        i += batch.len();
        store.append(&AppendRequest::new(batch)).await.unwrap();
    }
}

/// Raw: one plain `SELECT` over the same table, rows decoded into the same column types.
async fn raw_scan(kind: Kind, url: &str) -> (usize, f64) {
    let sql = "SELECT position, stream, version, event_type, schema, data, metadata FROM events ORDER BY position";
    let t = Instant::now();
    let n = match kind {
        Kind::Sqlite => {
            let mut c = SqliteConnectOptions::from_str(url).unwrap().connect().await.unwrap();
            let rows: Vec<(i64, String, i64, String, i32, String, String)> =
                sqlx::query_as(sql).fetch_all(&mut c).await.unwrap();
            rows.len()
        }
        Kind::Postgres => {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            let rows: Vec<(i64, String, i64, String, i32, serde_json::Value, serde_json::Value)> =
                sqlx::query_as(sql).fetch_all(&mut c).await.unwrap();
            rows.len()
        }
    };
    (n, rate(n, t.elapsed()))
}

async fn read_all(store: &Store) -> (usize, f64) {
    let t = Instant::now();
    let (mut position, mut n) = (0, 0);
    loop {
        let batch = store.read_all(position, 2000).await.unwrap();
        let Some(last) = batch.last() else { break };
        position = last.position;
        n += batch.len();
    }
    (n, rate(n, t.elapsed()))
}

#[tokio::main]
async fn main() {
    println!("| backend | measure | store | raw database | store / raw |");
    println!("|---|---|---:|---:|---:|");
    let mut cpu = Vec::new();
    // `-- postgres` or `-- sqlite` measures one backend only.
    let only: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    for (kind, key, name) in [
        (Kind::Sqlite, "sqlite", "SQLite"),
        (Kind::Postgres, "postgres", "PostgreSQL"),
    ] {
        if !only.is_empty() && !only.iter().any(|a| a == key) {
            continue;
        }
        let Some(db) = TestDb::of(kind).await else { continue };
        let store = db.store().await;
        let raw = raw_inserts_sequential(kind, &db.url, SEQUENTIAL).await;
        let ours = appends_sequential(&store, SEQUENTIAL).await;
        println!(
            "| {name} | single-event appends/s, 1 writer ({SEQUENTIAL}) | {ours:.0} | {raw:.0} (1-row INSERT txns) | {:.0} % |",
            100.0 * ours / raw
        );
        let meter = CpuMeter::start();
        let ours = appends_concurrent(&store).await;
        let (ours_own, ours_pg) = meter.per(WRITERS * PER_WRITER);
        let raw = if kind == Kind::Postgres {
            let meter = CpuMeter::start();
            let raw = raw_inserts_concurrent(&db.url).await;
            let (raw_own, raw_pg) = meter.per(WRITERS * PER_WRITER);
            // Where each append's time goes: this process (writers, store, driver) and
            // PostgreSQL (all its processes), beside the same for a raw insert.
            cpu.push(format!(
                "| {name} | CPU-µs per append, {WRITERS} writers: this process / PostgreSQL | {ours_own:.0} / {ours_pg:.0} | {raw_own:.0} / {raw_pg:.0} | {:.0} % |",
                100.0 * (raw_own + raw_pg) / (ours_own + ours_pg)
            ));
            raw
        } else {
            raw
        };
        let raw_label = if kind == Kind::Postgres {
            "1-row INSERT txns, 8 connections"
        } else {
            "1-row INSERT txns (single writer)"
        };
        println!(
            "| {name} | single-event appends/s, {WRITERS} writers ({}) | {ours:.0} | {raw:.0} ({raw_label}) | {:.0} % |",
            WRITERS * PER_WRITER,
            100.0 * ours / raw
        );
        fill(&store, READ_EVENTS).await;
        let (n, ours) = read_all(&store).await;
        let (raw_n, raw) = raw_scan(kind, &db.url).await;
        assert_eq!(n, raw_n);
        println!(
            "| {name} | read all, events/s ({n} events) | {ours:.0} | {raw:.0} (plain SELECT scan) | {:.0} % |",
            100.0 * ours / raw
        );
        store.close().await;
    }
    for line in cpu {
        println!("{line}");
    }
}
