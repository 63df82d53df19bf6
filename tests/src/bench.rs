//! Shared by the benchmarks: the raw figure of the database that every result stands beside.

use std::time::Instant;

use sqlx::{Connection, Executor};

use crate::Kind;

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
