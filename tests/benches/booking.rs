//! Booking throughput and latency over real HTTP with 200 concurrent clients, against the
//! server built with the release profile, beside the raw insert rate of the same database in
//! the same run; then availability latency for a 60-day window. Prints Markdown rows.
//!
//! The clients first book places at the vehicle registration office (a warm-up, not measured:
//! a town hall's server has been running for days when a rush starts) and go straight on to
//! the citizen office's places, which are measured.
//!
//!     cargo bench -p schalter-tests --bench booking

use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::Utc;
use schalter_tests::bench::{raw_insert_rate, slots, slots_at, Servers};
use schalter_tests::{percentile_ms, Kind, TestDb};
use serde_json::json;

const CLIENTS: usize = 200;
const SERVICE: &str = "meldebescheinigung"; // one 10-minute unit: slots do not share units
const WARM_UP_SERVICE: &str = "kfz-abmeldung"; // likewise, at the vehicle registration office
/// Warm-up bookings per client.
const WARM_UP: usize = 5;

/// Upper bucket bounds of the server's own latency histogram for successful bookings: what the
/// server spends, without the load generator that shares the 2 cores.
async fn server_side_percentiles(client: &reqwest::Client, url: &str) -> (f64, f64) {
    let text = client
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut buckets: Vec<(f64, f64)> = text
        .lines()
        .filter(|l| {
            l.starts_with("http_request_duration_seconds_bucket")
                && l.contains("route=\"/api/bookings\"")
                && l.contains("status=\"201\"")
        })
        .filter_map(|l| {
            let le = l.split("le=\"").nth(1)?.split('"').next()?;
            let count: f64 = l.rsplit(' ').next()?.parse().ok()?;
            Some((if le == "+Inf" { f64::INFINITY } else { le.parse().ok()? }, count))
        })
        .collect();
    buckets.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
    let total = buckets.last().map(|b| b.1).unwrap_or(0.0);
    let at = |p: f64| {
        buckets
            .iter()
            .find(|b| b.1 >= p * total)
            .map(|b| b.0 * 1000.0)
            .unwrap_or(f64::NAN)
    };
    (at(0.5), at(0.99))
}

/// `servers`: 1, or 2 on the same database with the clients split between them.
async fn run(kind: Kind, servers: usize) {
    let Some(db) = TestDb::of(kind).await else { return };
    let url = db.url.clone();
    let pool: u32 = std::env::var("BENCH_POOL")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(16);
    let servers = Servers::start(db, pool, servers).await;
    let (name, urls) = (servers.name.clone(), Arc::new(servers.urls.clone()));
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .unwrap();
    let from = (Utc::now() + chrono::Duration::days(1)).date_naive();
    // Every free place once: a slot with 3 places appears 3 times.
    let mut places: Vec<String> = Vec::new();
    for s in slots(&client, &urls[0], SERVICE, from).await {
        for _ in 0..s.free {
            places.push(s.start.as_str().to_owned());
        }
    }
    let total = places.len();
    let mut warm_up: Vec<(String, String)> = Vec::new();
    for s in slots_at(&client, &urls[0], "kfz-zulassung", WARM_UP_SERVICE, from).await {
        for _ in 0..s.free {
            warm_up.push(("kfz-zulassung".into(), s.start.as_str().to_owned()));
        }
    }
    warm_up.truncate(WARM_UP * CLIENTS);
    warm_up.reverse(); // popped from the end: earliest first, as the measured places
    let warm_up_total = warm_up.len();
    let warm_up = Arc::new(Mutex::new(warm_up));
    // Each citizen has looked at a week's times before booking (as the app does): the clients'
    // connections are open when the bookings start, as they are in a real rush.
    let week = format!(
        "{}/api/availability?location=buergerbuero&service={SERVICE}&from={from}&days=7",
        urls[0]
    );
    futures::future::join_all((0..CLIENTS).map(|w| {
        let (client, url) = (client.clone(), week.replace(&urls[0], &urls[w % urls.len()]));
        async move { assert_eq!(client.get(url).send().await.unwrap().status(), 200) }
    }))
    .await;
    let queue = Arc::new(Mutex::new(places));
    let latencies = Arc::new(Mutex::new(Vec::with_capacity(total)));
    let statuses = Arc::new(Mutex::new(std::collections::BTreeMap::<u16, usize>::new()));
    let warm_up_refused = Arc::new(Mutex::new(0usize));
    let workers: Vec<_> = (0..CLIENTS)
        .map(|w| {
            let (client, queue, warm_up, latencies, statuses, warm_up_refused) = (
                client.clone(),
                queue.clone(),
                warm_up.clone(),
                latencies.clone(),
                statuses.clone(),
                warm_up_refused.clone(),
            );
            let url = format!("{}/api/bookings", urls[w % urls.len()]);
            tokio::spawn(async move {
                let mut n = 0;
                loop {
                    let warming = warm_up.lock().unwrap().pop();
                    let (location, service, start, measured) = match warming {
                        Some((location, start)) => (location, WARM_UP_SERVICE, start, false),
                        None => match queue.lock().unwrap().pop() {
                            Some(start) => ("buergerbuero".to_owned(), SERVICE, start, true),
                            None => break,
                        },
                    };
                    n += 1;
                    let body = json!({
                        "location": location, "service": service, "start": start,
                        "name": "Bench Mark", "email": format!("c{w}-{n}@example.org"), "privacy_accepted": true
                    });
                    let t = Instant::now();
                    let status = client.post(&url).json(&body).send().await.unwrap().status().as_u16();
                    let done = Instant::now();
                    if measured {
                        latencies.lock().unwrap().push((t, done));
                        *statuses.lock().unwrap().entry(status).or_default() += 1;
                    } else if status != 201 {
                        *warm_up_refused.lock().unwrap() += 1;
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    assert_eq!(*warm_up_refused.lock().unwrap(), 0, "every warm-up booking succeeds");
    let mut timed: Vec<(Instant, Instant)> = latencies.lock().unwrap().clone();
    timed.sort_by_key(|(sent, _)| *sent);
    // From the first measured booking sent to the last answered.
    let started = timed[0].0;
    let finished = timed.iter().map(|(_, done)| *done).max().unwrap();
    let timed: Vec<(Instant, std::time::Duration)> = timed.iter().map(|(sent, done)| (*sent, *done - *sent)).collect();
    let elapsed = finished - started;
    eprintln!("{name}: {warm_up_total} warm-up bookings at the vehicle registration office before the measured ones");
    let statuses = statuses.lock().unwrap().clone();
    let ok = statuses.get(&201).copied().unwrap_or(0);
    // Where the slow answers fall: by tenths of the run, in the order requests were sent.
    let tenths: Vec<String> = timed
        .chunks(timed.len().div_ceil(10).max(1))
        .map(|chunk| {
            let mut l: Vec<_> = chunk.iter().map(|(_, l)| *l).collect();
            l.sort();
            format!("{:.0}", percentile_ms(&l, 0.99))
        })
        .collect();
    eprintln!("{name}: p99 per tenth of the run, ms: {}", tenths.join(" "));
    let mut lat: Vec<_> = timed.iter().map(|(_, l)| *l).collect();
    lat.sort();
    let (server_p50, server_p99) = server_side_percentiles(&client, &urls[0]).await;
    eprintln!(
        "{name}: server-side booking latency (histogram bucket bounds): p50 ≤ {server_p50} ms, p99 ≤ {server_p99} ms"
    );
    let raw = raw_insert_rate(kind, &url).await;
    println!(
        "| {name} | {CLIENTS} clients, {total} free places | {ok} booked, statuses {statuses:?}; server-side p50 ≤ {server_p50} ms, p99 ≤ {server_p99} ms | {:.0} bookings/s | {:.1} ms | {:.1} ms | {raw:.0} 1-row INSERT txns/s | {:.0} % |",
        ok as f64 / elapsed.as_secs_f64(),
        percentile_ms(&lat, 0.5),
        percentile_ms(&lat, 0.99),
        100.0 * ok as f64 / elapsed.as_secs_f64() / raw
    );

    // Availability for 60 days, now that thousands of units are taken. BENCH_BOOKING_ONLY=1
    // leaves it out, so that a profile of the run shows the bookings alone.
    if std::env::var_os("BENCH_BOOKING_ONLY").is_some() {
        servers.stop().await;
        return;
    }
    let mut lat = Vec::new();
    let q = format!(
        "{}/api/availability?location=buergerbuero&service=personalausweis&from={from}&days=60",
        urls[0]
    );
    for _ in 0..500 {
        let t = Instant::now();
        let r = client.get(&q).send().await.unwrap();
        assert_eq!(r.status(), 200);
        r.bytes().await.unwrap();
        lat.push(t.elapsed());
    }
    lat.sort();
    eprintln!(
        "{name}: availability 60 days, 500 sequential requests: p50 {:.2} ms, p99 {:.2} ms",
        percentile_ms(&lat, 0.5),
        percentile_ms(&lat, 0.99)
    );
    println!(
        "| {name} | availability, 60 days (500 requests) | | | {:.2} ms | {:.2} ms | | |",
        percentile_ms(&lat, 0.5),
        percentile_ms(&lat, 0.99)
    );
    servers.stop().await;
}

#[tokio::main]
async fn main() {
    println!("| backend | load | outcome | throughput | p50 | p99 | raw database | bookings / raw |");
    println!("|---|---|---|---:|---:|---:|---:|---:|");
    // BENCH_ONLY=sqlite|postgres|postgres-2 runs one row (e.g. under a profiler).
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    for (kind, servers, key) in [
        (Kind::Sqlite, 1, "sqlite"),
        (Kind::Postgres, 1, "postgres"),
        (Kind::Postgres, 2, "postgres-2"),
    ] {
        if only.is_empty() || only == key {
            run(kind, servers).await;
        }
    }
}
