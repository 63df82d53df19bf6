//! Where a booking's time goes, as inputs for the capacity model in `docs/scaling.md`: CPU time
//! per booking of the server process(es), of PostgreSQL (all its processes) and of the load
//! generator, read from `/proc` before and after the run, and the throughput the model predicts
//! from them beside the measured one. Not a test: it prints Markdown rows for BENCHMARKS.md.
//!
//!     cargo build --release -p schalter-server
//!     cargo bench -p schalter-tests --bench capacity
//!
//! `BENCH_PIN=1` pins the servers to core 0, PostgreSQL and the load generator to core 1 (root
//! only: PostgreSQL runs as its own user), so the model's prediction can be checked against one
//! core each. `BENCH_SERVERS=1` (or 2) runs one row. `SCHALTER_BIN=…` measures another build of the server (an older commit's, say).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::Utc;
use schalter_tests::app::ServerProcess;
use schalter_tests::bench::{clock_ticks, cpu_seconds, postgres_processes, postgres_used, slots, slots_at};
use schalter_tests::TestDb;
use serde_json::json;

const CLIENTS: usize = 64;
const MEASURED: usize = 4_000;
const WARM_UP: usize = 600;
const SERVICE: &str = "meldebescheinigung";
const WARM_UP_SERVICE: &str = "kfz-abmeldung";

fn pin(pids: &[u32], core: usize) {
    for pid in pids {
        let ok = std::process::Command::new("taskset")
            .args(["-a", "-p", "-c", &core.to_string(), &pid.to_string()])
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(ok, "cannot pin process {pid} to core {core} (root needed)");
    }
}

/// One run: `servers` server processes on a fresh PostgreSQL database, `CLIENTS` clients booking
/// `MEASURED` places after a warm-up. Prints one Markdown row.
async fn run(servers: usize, pinned: bool, ticks: f64) {
    let Some(db) = TestDb::postgres().await else {
        panic!("the capacity bench needs PostgreSQL (SCHALTER_TEST_POSTGRES_URL)");
    };
    let mut processes = Vec::new();
    for _ in 0..servers {
        processes.push(ServerProcess::start(&db.url, &["--demo"]).await);
    }
    let pids: Vec<u32> = processes.iter().map(|p| p.child.id().unwrap()).collect();
    let urls: Vec<String> = processes.iter().map(|p| p.url.clone()).collect();
    if pinned {
        pin(&pids, 0);
        pin(&postgres_processes(ticks).keys().copied().collect::<Vec<_>>(), 1);
        pin(&[std::process::id()], 1);
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .unwrap();
    let from = (Utc::now() + chrono::Duration::days(1)).date_naive();
    let mut places: Vec<(String, &str, String)> = Vec::new();
    for s in slots(&client, &urls[0], SERVICE, from).await {
        for _ in 0..s.free {
            places.push(("buergerbuero".into(), SERVICE, s.start.as_str().to_owned()));
        }
    }
    places.truncate(MEASURED);
    places.reverse();
    let measured = places.len();
    let mut warm_up = Vec::new();
    for s in slots_at(&client, &urls[0], "kfz-zulassung", WARM_UP_SERVICE, from).await {
        for _ in 0..s.free {
            warm_up.push(("kfz-zulassung".to_owned(), WARM_UP_SERVICE, s.start.as_str().to_owned()));
        }
    }
    warm_up.truncate(WARM_UP);
    let book = |queue: Vec<(String, &'static str, String)>| {
        let queue = Arc::new(Mutex::new(queue));
        let (client, urls) = (client.clone(), urls.clone());
        async move {
            let workers: Vec<_> = (0..CLIENTS)
                .map(|w| {
                    let (client, queue) = (client.clone(), queue.clone());
                    let url = format!("{}/api/bookings", urls[w % urls.len()]);
                    tokio::spawn(async move {
                        let mut refused = 0;
                        let mut n = 0;
                        while let Some((location, service, start)) = {
                            let next = queue.lock().unwrap().pop();
                            next
                        } {
                            n += 1;
                            let body = json!({
                                "location": location, "service": service, "start": start,
                                "name": "Bench Mark", "email": format!("c{w}-{n}@example.org"), "privacy_accepted": true
                            });
                            let status = client.post(&url).json(&body).send().await.unwrap().status();
                            refused += usize::from(status != 201);
                        }
                        refused
                    })
                })
                .collect();
            let mut refused = 0;
            for w in workers {
                refused += w.await.unwrap();
            }
            refused
        }
    };
    assert_eq!(book(warm_up).await, 0, "every warm-up booking succeeds");

    let server_before: Vec<f64> = pids.iter().map(|p| cpu_seconds(*p, ticks).unwrap()).collect();
    let pg_before = postgres_processes(ticks);
    let load_before = cpu_seconds(std::process::id(), ticks).unwrap();
    let t = Instant::now();
    let refused = book(places).await;
    let elapsed = t.elapsed().as_secs_f64();
    let server: f64 = pids
        .iter()
        .zip(&server_before)
        .map(|(p, before)| cpu_seconds(*p, ticks).unwrap() - before)
        .sum();
    let postgres = postgres_used(&pg_before, &postgres_processes(ticks));
    let load = cpu_seconds(std::process::id(), ticks).unwrap() - load_before;
    assert_eq!(refused, 0, "every measured booking succeeds");

    let per = |cpu: f64| cpu / measured as f64;
    let (s, p, l) = (per(server), per(postgres), per(load));
    // Shared: everything on the machine's cores. Pinned: servers on one core, PostgreSQL and
    // the load generator on the other.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get()) as f64;
    let predicted = if pinned {
        (1.0 / s).min(1.0 / (p + l))
    } else {
        cores / (s + p + l)
    };
    let label = if pinned { "pinned" } else { "shared" };
    println!(
        "| {servers} | {label} | {measured} | {:.0} | {:.0} | {:.0} | {:.0} | {predicted:.0} | {:.0} % |",
        s * 1e6,
        p * 1e6,
        l * 1e6,
        measured as f64 / elapsed,
        100.0 * (server + postgres + load) / elapsed / if pinned { 2.0 } else { cores },
    );
    for p in processes {
        p.kill9().await;
    }
}

#[tokio::main]
async fn main() {
    let ticks = clock_ticks();
    let pinned = std::env::var_os("BENCH_PIN").is_some();
    println!(
        "| servers | cores | bookings | server CPU-µs/booking | PostgreSQL CPU-µs/booking | load generator CPU-µs/booking | measured bookings/s | model bookings/s | CPU busy |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    // BENCH_SERVERS=1 or 2 runs one row (e.g. with pg_stat_statements on).
    let only: Option<usize> = std::env::var("BENCH_SERVERS").ok().and_then(|n| n.parse().ok());
    for servers in [1, 2] {
        if only.is_none_or(|n| n == servers) {
            run(servers, pinned, ticks).await;
        }
    }
}
