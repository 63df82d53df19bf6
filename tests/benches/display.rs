//! Call → hall screen latency with 1,000 open SSE display connections, against the release
//! binary in its own process (so its memory is measured alone), on each backend. Prints
//! Markdown rows.
//!
//!     cargo build --release -p schalter-server && cargo bench -p schalter-tests --bench display
//!
//! Needs about 2,100 open files (`ulimit -n`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use schalter_tests::app::{add_device, add_user, ServerProcess};
use schalter_tests::sse::SseStream;
use schalter_tests::{percentile_ms, Kind, TestDb};
use serde_json::json;

const SCREENS: usize = 1_000;
const CALLS: usize = 50;

/// VmRSS and VmHWM (peak) of a process, in MB.
fn memory_mb(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(f64::NAN)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

async fn run(kind: Kind) {
    let Some(db) = TestDb::of(kind).await else { return };
    let name = if kind == Kind::Sqlite { "SQLite" } else { "PostgreSQL" };
    let server = ServerProcess::start(&db.url, &["--demo"]).await;
    let pid = server.child.id().expect("server pid");
    let display = add_device(&db.url, "buergerbuero", "display");
    let kiosk = add_device(&db.url, "buergerbuero", "kiosk");
    add_user(&db.url, "anna", "desk", "counter-one-2026");
    let client = reqwest::Client::new();
    let cookie = schalter_tests::app::sign_in(&client, &server.url, "anna", "counter-one-2026").await;
    client
        .post(format!("{}/api/counters/buergerbuero-1/open", server.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let (idle_rss, _) = memory_mb(pid);

    // Every screen records when it received each call, by number.
    let received: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let ready = Arc::new(tokio::sync::Semaphore::new(0));
    let url = format!(
        "{}/api/locations/buergerbuero/display/stream?token={display}",
        server.url
    );
    let opened = Instant::now();
    let screens: Vec<_> = (0..SCREENS)
        .map(|_| {
            let (received, ready, url) = (received.clone(), ready.clone(), url.clone());
            tokio::spawn(async move {
                // One client per screen: a hall screen is its own browser with its own connection.
                let mut feed = SseStream::open(reqwest::Client::new().get(&url)).await;
                feed.next(Duration::from_secs(60)).await.expect("snapshot");
                ready.add_permits(1);
                let mut seen = 0;
                while seen < CALLS {
                    let Some(event) = feed.next_named("call", Duration::from_secs(60)).await else {
                        break;
                    };
                    let at = Instant::now();
                    feed.raw.clear();
                    received
                        .lock()
                        .unwrap()
                        .push((event.json()["number"].as_str().unwrap().to_owned(), at));
                    seen += 1;
                }
            })
        })
        .collect();
    let _all = ready.acquire_many(SCREENS as u32).await.unwrap();
    let connect_time = opened.elapsed();
    let (open_rss, _) = memory_mb(pid);

    let mut acknowledged = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        client
            .post(format!("{}/api/locations/buergerbuero/tickets", server.url))
            .header("authorization", format!("Bearer {kiosk}"))
            .json(&json!({"service": "meldebescheinigung"}))
            .send()
            .await
            .unwrap();
        let sent = Instant::now();
        let called: serde_json::Value = client
            .post(format!("{}/api/counters/buergerbuero-1/call-next", server.url))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        acknowledged.push((called["number"].as_str().unwrap().to_owned(), sent, Instant::now()));
        // A busy office calls every few seconds; 200 ms keeps the run short without overlap.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let id = called["id"].as_str().unwrap();
        client
            .post(format!("{}/api/tickets/{id}/finish", server.url))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
    }
    for s in screens {
        s.await.unwrap();
    }
    let (_, peak_rss) = memory_mb(pid);
    let received = received.lock().unwrap().clone();
    // From the acknowledgement (the call-next response read by the clerk's client; a screen that
    // got the call even earlier counts 0) and, as an upper bound, from sending the request.
    let since = |from_send: bool| {
        let mut l: Vec<Duration> = received
            .iter()
            .filter_map(|(number, at)| {
                let (_, sent, ack) = acknowledged.iter().find(|(n, _, _)| n == number)?;
                Some(at.saturating_duration_since(if from_send { *sent } else { *ack }))
            })
            .collect();
        l.sort();
        l
    };
    let latencies = since(false);
    let from_send = since(true);
    let expected = SCREENS * CALLS;
    println!(
        "| {name} | {SCREENS} screens × {CALLS} calls | {}/{expected} received | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} / {:.1} ms | {idle_rss:.0} MB → {open_rss:.0} MB (peak {peak_rss:.0} MB) | {:.1} s |",
        latencies.len(),
        percentile_ms(&latencies, 0.5),
        percentile_ms(&latencies, 0.99),
        latencies.last().map(|d| d.as_secs_f64() * 1000.0).unwrap_or(f64::NAN),
        percentile_ms(&from_send, 0.5),
        percentile_ms(&from_send, 0.99),
        connect_time.as_secs_f64()
    );
    server.kill9().await;
}

#[tokio::main]
async fn main() {
    println!("| backend | load | delivery | p50 | p99 | max | p50 / p99 from request sent | server RSS idle → 1,000 open | time to open all |");
    println!("|---|---|---|---:|---:|---:|---:|---:|---:|");
    run(Kind::Sqlite).await;
    run(Kind::Postgres).await;
}
