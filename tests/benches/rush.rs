//! The opening rush: many more citizens than places, all at once, over real HTTP against the
//! server built with the release profile. Each citizen picks a random time among those not yet
//! known to be full and books; on `slot_taken` they pick another, until they have one or
//! everything is gone. Checks: sold out exactly (as many bookings as places, no time with more
//! bookings than it had places, availability 0 free), no 5xx. Prints Markdown rows beside the raw
//! insert rate of the same database in the same run.
//!
//!     cargo bench -p schalter-tests --bench rush

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::Utc;
use schalter_tests::bench::{raw_insert_rate, slots, Servers};
use schalter_tests::{percentile_ms, Kind, TestDb};
use serde_json::{json, Value};

fn citizens() -> usize {
    std::env::var("RUSH_CITIZENS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000)
}
fn places_wanted() -> u64 {
    std::env::var("RUSH_PLACES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4_000)
}
/// Citizens in flight at once (the rest wait for a connection, as behind a busy network).
const IN_FLIGHT: usize = 400;
const SERVICE: &str = "meldebescheinigung"; // one 10-minute unit

/// A tiny deterministic generator: the same citizens pick the same times in every run.
fn next(seed: &mut u64) -> u64 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    *seed
}

struct Shared {
    /// Times with places left as far as the citizens know.
    open: Vec<String>,
    citizens_left: usize,
}

/// `servers`: 1, or 2 on the same database with the citizens split between them.
async fn run(kind: Kind, servers: usize) {
    let Some(db) = TestDb::of(kind).await else { return };
    let url = db.url.clone();
    let (citizens, wanted) = (citizens(), places_wanted());
    let servers = Servers::start(db, 16, servers).await;
    let (name, urls) = (servers.name.clone(), servers.urls.clone());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(IN_FLIGHT)
        .build()
        .unwrap();
    let from = (Utc::now() + chrono::Duration::days(1)).date_naive();
    // Whole times from the start of the window until there are `wanted` places (a little more
    // when the last time has several), with their places.
    let mut capacity = BTreeMap::<String, u64>::new();
    let mut places = 0;
    for s in slots(&client, &urls[0], SERVICE, from).await {
        if places >= wanted {
            break;
        }
        let free = u64::from(s.free);
        if free > 0 {
            capacity.insert(s.start.as_str().to_owned(), free);
            places += free;
        }
    }
    assert!(places >= wanted, "the demo office has fewer places than the rush needs");
    let all: Arc<Vec<String>> = Arc::new(capacity.keys().cloned().collect());
    let shared = Arc::new(Mutex::new(Shared {
        open: all.to_vec(),
        citizens_left: citizens,
    }));
    let booked = Arc::new(Mutex::new(BTreeMap::<String, u64>::new()));
    let statuses = Arc::new(Mutex::new(BTreeMap::<u16, usize>::new()));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(citizens * 2)));
    let started = Instant::now();
    let progress = {
        let (shared, statuses) = (shared.clone(), statuses.clone());
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(10)).await;
                let (left, open) = {
                    let s = shared.lock().unwrap();
                    (s.citizens_left, s.open.len())
                };
                eprintln!(
                    "rush: {left} citizens left, {open} times open, {:?}",
                    statuses.lock().unwrap()
                );
            }
        })
    };
    let workers: Vec<_> = (0..IN_FLIGHT)
        .map(|w| {
            let (client, shared, booked, statuses, latencies, all) = (
                client.clone(),
                shared.clone(),
                booked.clone(),
                statuses.clone(),
                latencies.clone(),
                all.clone(),
            );
            let url = format!("{}/api/bookings", urls[w % urls.len()]);
            tokio::spawn(async move {
                let mut seed = 0x9E37_79B9_7F4A_7C15 ^ (w as u64 + 1);
                loop {
                    let citizen = {
                        let mut s = shared.lock().unwrap();
                        if s.citizens_left == 0 {
                            break;
                        }
                        s.citizens_left -= 1;
                        s.citizens_left
                    };
                    // One citizen: tries times until booked or nothing is left; a citizen who
                    // comes when all is gone still tries one time (and hears it is taken).
                    let mut tried = false;
                    loop {
                        let start = {
                            let s = shared.lock().unwrap();
                            match (s.open.is_empty(), tried) {
                                (false, _) => s.open[next(&mut seed) as usize % s.open.len()].clone(),
                                (true, false) => all[next(&mut seed) as usize % all.len()].clone(),
                                (true, true) => break,
                            }
                        };
                        tried = true;
                        let body = json!({
                            "location": "buergerbuero", "service": SERVICE, "start": start,
                            "name": "Rush Citizen", "email": format!("rush-{citizen}@example.org"),
                            "privacy_accepted": true
                        });
                        let t = Instant::now();
                        let response = client.post(&url).json(&body).send().await.unwrap();
                        let status = response.status().as_u16();
                        let code = if status == 409 {
                            let v: Value = response.json().await.unwrap_or_default();
                            v["error"].as_str().unwrap_or_default().to_owned()
                        } else {
                            response.bytes().await.ok();
                            String::new()
                        };
                        latencies.lock().unwrap().push(t.elapsed());
                        *statuses.lock().unwrap().entry(status).or_default() += 1;
                        match status {
                            201 => {
                                *booked.lock().unwrap().entry(start).or_default() += 1;
                                break;
                            }
                            409 if code == "slot_taken" => {
                                shared.lock().unwrap().open.retain(|s| *s != start);
                            }
                            // Anything else is a failure the checks below report (a citizen
                            // retrying it would only hide it, or never stop).
                            _ => break,
                        }
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    let elapsed = started.elapsed();
    progress.abort();
    let statuses = statuses.lock().unwrap().clone();
    let booked = booked.lock().unwrap().clone();
    let ok: u64 = booked.values().sum();
    let over: Vec<_> = booked
        .iter()
        .filter(|(start, n)| **n > capacity[start.as_str()])
        .collect();
    let server_errors: usize = statuses.iter().filter(|(s, _)| **s >= 500).map(|(_, n)| n).sum();
    // Availability afterwards, on every server: none of the rush's times has a place left (a
    // server learns of the other's bookings through the log, so it may take a moment).
    let mut still_free = 0;
    for server in &urls {
        for _ in 0..50 {
            still_free = slots(&client, server, SERVICE, from)
                .await
                .iter()
                .filter(|s| capacity.contains_key(s.start.as_str()))
                .map(|s| u64::from(s.free))
                .sum::<u64>();
            if still_free == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(still_free, 0, "availability at {server} shows the rush's places taken");
    }
    let places: u64 = capacity.values().sum();
    assert_eq!(ok, places, "sold out exactly");
    assert!(over.is_empty(), "more bookings than places: {over:?}");
    assert_eq!(server_errors, 0, "no 5xx: {statuses:?}");
    let mut lat = latencies.lock().unwrap().clone();
    lat.sort();
    let requests = lat.len();
    let raw = raw_insert_rate(kind, &url).await;
    println!(
        "| {name} | {citizens} citizens, {places} places, {IN_FLIGHT} in flight | {ok} booked, 0 over, 0 left free, no 5xx, statuses {statuses:?} | {:.1} s | {:.0} bookings/s, {:.0} answers/s | {:.1} / {:.1} ms | {raw:.0} 1-row INSERT txns/s | {:.0} % |",
        elapsed.as_secs_f64(),
        ok as f64 / elapsed.as_secs_f64(),
        requests as f64 / elapsed.as_secs_f64(),
        percentile_ms(&lat, 0.5),
        percentile_ms(&lat, 0.99),
        100.0 * ok as f64 / elapsed.as_secs_f64() / raw
    );
    servers.stop().await;
}

#[tokio::main]
async fn main() {
    println!("| backend | rush | outcome | sold out in | throughput | p50 / p99 per request | raw database | bookings / raw |");
    println!("|---|---|---|---:|---:|---:|---:|---:|");
    run(Kind::Sqlite, 1).await;
    run(Kind::Postgres, 1).await;
    run(Kind::Postgres, 2).await;
}
