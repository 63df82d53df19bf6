//! Statistics for managers and open data: a simulated month at a 20-counter office gives the
//! same figures live and rebuilt from the log, the CSV parses with the right types, only
//! managers (and admins) see figures, open data holds no personal data or staff and withholds
//! small cells, and the simulator is deterministic.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use chrono::{Duration as Days, NaiveDate, Utc};
use schalter_tests::app::{add_user, cli, import_demo_config};
use schalter_tests::{eventually, on_both_backends, spawn_app, when, TestApp, TestDb};
use serde_json::Value;

on_both_backends!(a_simulated_month_rebuilds_to_the_live_figures);

fn today() -> NaiveDate {
    Utc::now().with_timezone(&chrono_tz::Europe::Berlin).date_naive()
}

/// The demo catalogue with the Bürgerbüro grown to 20 counters.
fn twenty_counters(db: &TestDb) {
    import_demo_config(&db.url, |mut config| {
        let existing = config.matches("id = \"buergerbuero-").count();
        for n in existing + 1..=20 {
            config.push_str(&format!(
                "\n[[counter]]\nid = \"buergerbuero-{n}\"\nlocation = \"buergerbuero\"\nname = \"{n}\"\n\
                 services = [\"personalausweis\", \"reisepass\", \"ausweis-abholung\", \"wohnsitz-anmeldung\", \
                 \"meldebescheinigung\", \"fuehrungszeugnis\"]\n"
            ));
        }
        config
    });
}

async fn get(app: &TestApp, cookie: &str, path: &str) -> reqwest::Response {
    app.client
        .get(format!("{}{path}", app.url))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

async fn a_simulated_month_rebuilds_to_the_live_figures(db: TestDb) {
    twenty_counters(&db);
    let out = cli(&["simulate", "--database-url", &db.url, "--days", "30", "--seed", "11"]);
    assert!(out.contains("simulated 30 days"), "{out}");
    let app = spawn_app(db).start().await;
    add_user(&app.db.url, "maria", "manager", "evaluation-2026");
    let maria = app.sign_in("maria", "evaluation-2026").await;
    let (from, to) = (today() - Days::days(30), today() - Days::days(1));
    let query = format!("from={from}&to={to}");

    let started = Instant::now();
    let r = get(&app, &maria, &format!("/api/stats/summary?{query}")).await;
    let elapsed = started.elapsed();
    assert_eq!(r.status(), 200);
    let live: Value = r.json().await.unwrap();
    eprintln!("summary of 30 simulated days answered in {elapsed:?}");
    let figures = &live["figures"];
    assert!(figures["bookings"].as_u64().unwrap() > 500, "{figures}");
    assert!(figures["walk_ins"].as_u64().unwrap() > 100, "{figures}");
    assert!(figures["waiting_minutes"]["median"].as_f64().is_some(), "{figures}");
    assert!(live["by_week"].as_array().unwrap().len() >= 5);
    assert!(!live["heatmap"].as_array().unwrap().is_empty());
    // Nothing is grouped by person or counter.
    let text = live.to_string();
    for forbidden in ["staff:", "device:", "buergerbuero-1", "counter", "Simulation"] {
        assert!(!text.contains(forbidden), "{forbidden} in {text}");
    }

    // Rebuilt from the log by the CLI: the same figures.
    let file = tempfile::NamedTempFile::new().unwrap();
    let rebuilt_out = cli(&[
        "rebuild-projections",
        "--database-url",
        &app.db.url,
        "--stats-period",
        &format!("{from}..{to}"),
        "--stats-out",
        file.path().to_str().unwrap(),
    ]);
    eprintln!("{rebuilt_out}");
    let rebuilt: Value = serde_json::from_slice(&std::fs::read(file.path()).unwrap()).unwrap();
    assert_eq!(rebuilt, live, "rebuilt figures differ from the live ones");

    // The CSV export: the header, typed cells, and sums that match the summary.
    let r = get(&app, &maria, &format!("/api/stats/export.csv?{query}")).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let csv = r.text().await.unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(header[..4], ["day", "location", "service", "bookings"]);
    let mut sums: BTreeMap<&str, u64> = BTreeMap::new();
    let mut rows = 0;
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells.len(), header.len(), "{line}");
        let day = NaiveDate::parse_from_str(cells[0], "%Y-%m-%d").expect("an ISO date");
        assert!(day >= from && day <= to);
        for (name, cell) in header.iter().zip(&cells).skip(3) {
            if name.ends_with("_min")
                || name.ends_with("rate")
                || name.ends_with("share")
                || *name == "punctuality"
                || *name == "slot_utilisation"
            {
                assert!(cell.is_empty() || cell.parse::<f64>().is_ok(), "{name}={cell}");
            } else {
                *sums.entry(name).or_default() += cell.parse::<u64>().unwrap_or_else(|_| panic!("{name}={cell}"));
            }
        }
        rows += 1;
    }
    assert!(rows > 50, "{rows} rows");
    for name in [
        "bookings",
        "cancellations",
        "no_shows",
        "walk_ins",
        "served",
        "abandoned",
        "sent_away_documents_missing",
    ] {
        assert_eq!(Some(sums[name]), figures[name].as_u64(), "{name}");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_managers_and_admins_see_figures() {
    let app = spawn_app(TestDb::sqlite().await).start().await;
    add_user(&app.db.url, "anna", "desk", "counter-one-2026");
    add_user(&app.db.url, "maria", "manager", "evaluation-2026");
    add_user(&app.db.url, "root", "admin", "administrator-2026");
    let anna = app.sign_in("anna", "counter-one-2026").await;
    let maria = app.sign_in("maria", "evaluation-2026").await;
    let root = app.sign_in("root", "administrator-2026").await;
    for path in ["/api/stats/summary", "/api/stats/export.csv", "/api/stats/export.json"] {
        let r = app.get(path).await;
        assert_eq!(r.status(), 401, "{path} without a session");
        let r = get(&app, &anna, path).await;
        assert_eq!(r.status(), 403, "{path} for the desk");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["error"], "forbidden");
        assert_eq!(get(&app, &maria, path).await.status(), 200, "{path} for a manager");
        assert_eq!(get(&app, &root, path).await.status(), 200, "{path} for an admin");
    }
    // Bad periods and filters: 4xx with a code, never a 5xx.
    for (query, code) in [
        ("from=2026-12-01&to=2026-11-01", "invalid_period"),
        ("from=2020-01-01&to=2026-11-01", "period_too_long"),
        ("location=atlantis", "unknown_location"),
        ("service=time-travel", "unknown_service"),
    ] {
        let r = get(&app, &maria, &format!("/api/stats/summary?{query}")).await;
        assert_eq!(r.status(), 422, "{query}");
        assert_eq!(r.json::<Value>().await.unwrap()["error"], code, "{query}");
    }
    let r = get(&app, &maria, "/api/stats/summary?from=yesterday").await;
    assert_eq!(r.status(), 422);
    assert!(r.json::<Value>().await.unwrap()["error"].is_string());
    // Open data is not published unless the municipality switches it on.
    assert_eq!(app.get("/api/open-data/monthly.json").await.status(), 404);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn open_data_is_anonymous_and_withholds_small_cells() {
    let db = TestDb::sqlite().await;
    cli(&["simulate", "--database-url", &db.url, "--days", "75", "--seed", "3"]);
    let app = spawn_app(db).publishing().start().await;
    // A real citizen alone in a month long before the simulated ones (a cell of one, to be
    // withheld), and a member of staff with a distinctive name.
    app.booking_near_now(
        "WWWW-XXXX-YYYY-ZZZZ",
        -130 * 24 * 60,
        "Wilhelmine Einzigartig",
        "wilhelmine@example.org",
    )
    .await;
    add_user(&app.db.url, "zacharias-unverwechselbar", "manager", "evaluation-2026");
    let maria = app.sign_in("zacharias-unverwechselbar", "evaluation-2026").await;

    let index: Value = app.get("/api/open-data").await.json().await.unwrap();
    assert!(index["licence"].as_str().unwrap().contains("dl-de/by-2-0"), "{index}");
    assert_eq!(index["suppression_min_cases"], 5);
    let dataset: Value = app.get("/api/open-data/monthly.json").await.json().await.unwrap();
    let csv = app.get("/api/open-data/monthly.csv").await.text().await.unwrap();
    for text in [dataset.to_string(), csv.clone()] {
        for forbidden in [
            "Wilhelmine",
            "wilhelmine@example.org",
            "WWWW-XXXX-YYYY-ZZZZ",
            "zacharias",
            "staff:",
            "device:",
            "buergerbuero-1",
            "simulation@example.invalid",
        ] {
            assert!(!text.contains(forbidden), "{forbidden} in open data");
        }
    }
    let rows = dataset["rows"].as_array().unwrap();
    assert!(!rows.is_empty());
    assert_eq!(csv.lines().count(), rows.len() + 1);

    // Every published cell equals the manager's figure, or is withheld when 1–4.
    let first = rows.iter().map(|r| r["month"].as_str().unwrap()).min().unwrap();
    let from = NaiveDate::parse_from_str(&format!("{first}-01"), "%Y-%m-%d").unwrap();
    let r = get(
        &app,
        &maria,
        &format!("/api/stats/export.json?from={from}&to={}", today()),
    )
    .await;
    let days: Vec<Value> = r.json().await.unwrap();
    let mut truth: BTreeMap<(String, String, String, &str), u64> = BTreeMap::new();
    for d in &days {
        let month = d["day"].as_str().unwrap()[..7].to_owned();
        for name in ["bookings", "cancellations", "no_shows", "walk_ins", "served"] {
            *truth
                .entry((
                    month.clone(),
                    d["location"].as_str().unwrap().into(),
                    d["service"].as_str().unwrap().into(),
                    name,
                ))
                .or_default() += d["figures"][name].as_u64().unwrap();
        }
    }
    let (mut withheld, mut shown) = (0, 0);
    for row in rows {
        for name in ["bookings", "cancellations", "no_shows", "walk_ins", "served"] {
            let key = (
                row["month"].as_str().unwrap().to_owned(),
                row["location"].as_str().unwrap().to_owned(),
                row["service"].as_str().unwrap().to_owned(),
                name,
            );
            let actual = truth.get(&key).copied().unwrap_or(0);
            match row[name].as_u64() {
                Some(n) => {
                    assert_eq!(n, actual, "{key:?}");
                    assert!(n == 0 || n >= 5, "{key:?}: {n} published");
                    shown += 1;
                }
                None => {
                    assert!((1..5).contains(&actual), "{key:?}: {actual} withheld");
                    withheld += 1;
                }
            }
        }
    }
    assert!(withheld > 0 && shown > 0, "withheld {withheld}, shown {shown}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_is_deterministic() {
    let mut summaries = Vec::new();
    for _ in 0..2 {
        let db = TestDb::sqlite().await;
        let out = cli(&["simulate", "--database-url", &db.url, "--days", "8", "--seed", "42"]);
        let file = tempfile::NamedTempFile::new().unwrap();
        let period = format!("{}..{}", today() - Days::days(8), today() - Days::days(1));
        cli(&[
            "rebuild-projections",
            "--database-url",
            &db.url,
            "--stats-period",
            &period,
            "--stats-out",
            file.path().to_str().unwrap(),
        ]);
        let summary: Value = serde_json::from_slice(&std::fs::read(file.path()).unwrap()).unwrap();
        // The report's counts (the run time aside) and the figures.
        let counts = out.split(" s: ").nth(1).unwrap().to_owned();
        summaries.push((counts, summary));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(summaries[0], summaries[1]);
    assert!(summaries[0].1["figures"]["bookings"].as_u64().unwrap() > 0);
}

/// A manager in Chromium: signs in, sees figures and four charts, picks a quarter, opens the
/// report with one page per office; no serious accessibility violation anywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_manager_reads_the_dashboard_in_a_browser() {
    use fantoccini::Locator;
    use schalter_tests::browser::Browser;

    let db = TestDb::sqlite().await;
    cli(&["simulate", "--database-url", &db.url, "--days", "40", "--seed", "5"]);
    let Some(app) = spawn_app(db).start_with_ui().await else {
        return;
    };
    add_user(&app.db.url, "maria", "manager", "evaluation-2026");
    let Some(browser) = Browser::launch(1280, 1000).await else {
        return;
    };
    let a11y = |page: &'static str| {
        let browser = &browser;
        async move {
            if let Some(violations) = browser.accessibility_violations().await {
                assert!(violations.is_empty(), "{page}: {violations:#?}");
            }
        }
    };
    browser.client.goto(&format!("{}/stats", app.url)).await.unwrap();
    browser.wait("form.login").await;
    a11y("stats sign-in").await;
    browser.wait("#username").await.send_keys("maria").await.unwrap();
    browser
        .wait("#password")
        .await
        .send_keys("evaluation-2026")
        .await
        .unwrap();
    browser.click("form.login button[type=submit]").await;
    let bookings = browser.wait("[data-figure=fig_bookings]").await.text().await.unwrap();
    assert!(bookings.parse::<u32>().unwrap() > 0, "{bookings}");
    browser.wait("svg.chart-svg").await;
    let charts = browser.client.find_all(Locator::Css("svg.chart-svg")).await.unwrap();
    assert_eq!(charts.len(), 4);
    let bars = browser
        .client
        .find_all(Locator::Css("svg.chart-svg rect.bar"))
        .await
        .unwrap();
    assert!(bars.len() > 10, "{} bars", bars.len());
    a11y("stats dashboard").await;
    browser.screenshot("stats-1-dashboard").await;
    // The hour axis has every hour from the first to the last, and the heat map a legend.
    let hours = browser
        .client
        .execute(
            "return Array.from(document.querySelectorAll('svg.chart-svg')[0]
                .querySelectorAll('text.axis[text-anchor=middle]')).map(t => Number(t.textContent));",
            vec![],
        )
        .await
        .unwrap();
    let hours: Vec<u32> = serde_json::from_value(hours).unwrap();
    assert!(hours.len() > 3, "{hours:?}");
    assert!(hours.windows(2).all(|w| w[1] == w[0] + 1), "no hour skipped: {hours:?}");
    let legend = browser
        .client
        .execute(
            "return document.querySelectorAll('svg.chart-svg')[3].textContent;",
            vec![],
        )
        .await
        .unwrap();
    let legend = legend.as_str().unwrap_or_default().to_owned();
    assert!(
        legend.contains("wenig") && legend.contains("viel"),
        "a legend: {legend}"
    );
    for (name, y) in [("stats-1b-charts", 780)] {
        browser
            .client
            .execute(&format!("window.scrollTo(0, {y})"), vec![])
            .await
            .unwrap();
        browser.screenshot(name).await;
    }

    // A quarter: the period shown grows to 91 days.
    let before = browser.wait(".stats-period").await.text().await.unwrap();
    browser.click(".stats-presets button:nth-child(2)").await;
    eventually("the period changed", Duration::from_secs(10), async || {
        // The line is replaced when the new figures arrive: a read can hit the old element.
        let now = browser.wait(".stats-period").await.text().await.unwrap_or_default();
        let changed = !now.is_empty() && now != before;
        when(now, changed)
    })
    .await;
    let quarter = browser.wait("[data-figure=fig_bookings]").await.text().await.unwrap();
    assert!(quarter.parse::<u32>().unwrap() >= bookings.parse::<u32>().unwrap());
    browser.screenshot("stats-2-quarter").await;

    // The report: one page per office.
    browser.click(".stats-actions button").await;
    browser.wait(".stats-report-page .stats-cards").await;
    let pages = browser
        .client
        .find_all(Locator::Css(".stats-report-page"))
        .await
        .unwrap();
    assert_eq!(pages.len(), 2);
    a11y("stats report").await;
    browser.screenshot("stats-3-report").await;
    // Printed: every page has text, one office on each (it once printed three blank pages).
    let (pages, all) = browser.printed_text("stats-3-report", 10).await;
    assert!(pages >= 2, "{pages} pages");
    for office in ["Bürgerbüro", "Kfz-Zulassungsstelle"] {
        assert!(all.contains(office), "{office} is in the printed report: {all}");
    }
    browser.close().await;
    app.stop().await;
}
