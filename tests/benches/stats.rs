//! Statistics: projection rebuild rate next to the raw read-all rate of the same log in the same
//! run, and the dashboard's query time on a simulated year at three offices. Not a test: it
//! prints a Markdown table for BENCHMARKS.md.
//!
//!     cargo bench -p schalter-tests --bench stats            # SQLite, 365 days
//!     STATS_BENCH_DAYS=90 cargo bench -p schalter-tests --bench stats -- postgres

use std::time::{Duration, Instant};

use schalter_events::catalogue::{self, Catalogue, Text};
use schalter_events::store::AppendRequest;
use schalter_events::{Expectation, Metadata};
use schalter_tests::app::spawn_app;
use schalter_tests::{percentile_ms, TestDb};

/// The demo municipality with a second citizen office: three offices.
fn three_offices() -> Catalogue {
    let mut c = catalogue::demo();
    let (from, to) = ("buergerbuero", "buergerbuero-sued");
    let mut office = c.locations[from].clone();
    office.id = to.into();
    office.name = Text::new("Bürgerbüro Süd", "Citizens' Office South");
    c.locations.insert(to.into(), office);
    let schedule = c.schedules[from].clone();
    c.schedules.insert(to.into(), schedule);
    for service in c.services.values_mut() {
        if service.locations.iter().any(|l| l == from) {
            service.locations.push(to.into());
        }
    }
    let counters: Vec<_> = c.counters.values().filter(|k| k.location == from).cloned().collect();
    for mut counter in counters {
        counter.id = counter.id.replace(from, to);
        counter.location = to.into();
        c.counters.insert(counter.id.clone(), counter);
    }
    c
}

fn rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let postgres = std::env::args().any(|a| a == "postgres");
    let days: u32 = std::env::var("STATS_BENCH_DAYS")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(365);
    let db = if postgres {
        TestDb::postgres().await.expect("PostgreSQL for the benchmark")
    } else {
        TestDb::sqlite().await
    };
    let backend = if postgres { "PostgreSQL" } else { "SQLite" };
    let store = db.store().await;
    let catalogue = three_offices();
    let events = catalogue.to_events().iter().map(|e| e.to_new_event()).collect();
    let request = AppendRequest::new(events)
        .expect(catalogue::STREAM, Expectation::NoStream)
        .metadata(Metadata::by("system:bench", chrono::Utc::now()));
    store.append(&request).await.unwrap();

    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Berlin)
        .date_naive();
    let t = Instant::now();
    let report = schalter_server::cli::simulate::run(&store, &catalogue, today, days, 2026)
        .await
        .unwrap();
    let simulated = t.elapsed();
    eprintln!("{report:?} in {simulated:?}");

    // Raw read-all, then the server's whole projection load (catalogue, places, queues,
    // directory, statistics) over the same log.
    let t = Instant::now();
    let (mut position, mut raw) = (0, 0usize);
    loop {
        let batch = store.read_all(position, 2000).await.unwrap();
        let Some(last) = batch.last() else { break };
        position = last.position;
        raw += batch.len();
    }
    let raw_rate = raw as f64 / t.elapsed().as_secs_f64();
    let rss_before = rss_mb();
    let t = Instant::now();
    let mut stats = schalter_events::stats::Stats::default();
    // As the server and `schalter rebuild-projections` read: the next batch while this one folds.
    let mut applied = 0usize;
    let mut batches = store.read_ahead(0, 2000);
    while let Some(batch) = batches.recv().await {
        let batch = batch.unwrap();
        for e in &batch {
            stats.apply(e).unwrap();
        }
        applied += batch.len();
    }
    let stats_rate = applied as f64 / t.elapsed().as_secs_f64();
    drop(stats);
    store.close().await;

    let app = spawn_app(db).without_demo().start().await;
    let rss_loaded = rss_mb();
    schalter_server::features::admin::create_user(
        &schalter_server::engine::executor::Executor::new(app.store().clone()),
        "maria",
        schalter_events::staff::Role::Manager,
        "evaluation-2026",
        "system:bench",
    )
    .await
    .unwrap();
    let cookie = app.sign_in("maria", "evaluation-2026").await;
    let from = today - chrono::Duration::days(i64::from(days));
    let to = today - chrono::Duration::days(1);
    let mut timings = Vec::new();
    for (label, query) in [
        (
            "summary, all offices",
            format!("/api/stats/summary?from={from}&to={to}"),
        ),
        (
            "summary, one office",
            format!("/api/stats/summary?from={from}&to={to}&location=buergerbuero"),
        ),
        (
            "summary, one office and service",
            format!("/api/stats/summary?from={from}&to={to}&location=buergerbuero&service=personalausweis"),
        ),
        ("CSV export, all", format!("/api/stats/export.csv?from={from}&to={to}")),
    ] {
        let mut samples = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            let r = app
                .client
                .get(format!("{}{query}", app.url))
                .header("cookie", &cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
            let _ = r.bytes().await.unwrap();
            samples.push(t.elapsed());
        }
        samples.sort();
        timings.push((label, percentile_ms(&samples, 0.5), percentile_ms(&samples, 0.99)));
    }
    let _: Duration = simulated;
    println!("\n## Statistics ({backend}, {days} simulated days, 3 offices)\n");
    println!(
        "Log: {raw} events ({} bookings, {} walk-ins, {} served); simulated in {:.0} s.\n",
        report.bookings,
        report.walk_ins,
        report.served,
        simulated.as_secs_f64()
    );
    println!("| measure | figure |\n|---|---|");
    println!("| raw read-all of the log | {raw_rate:.0} events/s |");
    println!(
        "| statistics projection rebuild (read + fold) | {stats_rate:.0} events/s ({:.0} % of raw) |",
        stats_rate / raw_rate * 100.0
    );
    println!(
        "| process RSS before / after the server loaded every projection | {rss_before:.0} / {rss_loaded:.0} MB |"
    );
    for (label, p50, p99) in timings {
        println!("| {label}: p50 / p99 | {p50:.1} / {p99:.1} ms |");
    }
    app.stop().await;
}
