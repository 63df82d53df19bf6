//! An upgrade reads what the previous version wrote: the fixture in `tests/fixtures/upgrade/` is a
//! SQLite database as an older binary left it (see `make.py` there, and `expected.json` for the
//! commit). This version migrates it on start, reads every event, opens the sealed personal data
//! with the same key, and serves on; the same log restored into PostgreSQL does too.

use schalter_tests::app::{answer_json, cli, ServerProcess};
use schalter_tests::{on_both_backends, Kind, TestDb};
use serde_json::Value;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/upgrade");

on_both_backends!(a_database_from_the_previous_version_is_read_whole);

fn expected() -> Value {
    serde_json::from_str(&std::fs::read_to_string(format!("{FIXTURE}/expected.json")).unwrap()).unwrap()
}

/// The fixture as a database of `db`'s kind: a copy of the file for SQLite, a restore for
/// PostgreSQL (the same way an office moves from the embedded database).
fn load_fixture(db: &TestDb) {
    match db.kind {
        Kind::Sqlite => {
            let path = db.url.strip_prefix("sqlite://").unwrap();
            std::fs::copy(format!("{FIXTURE}/schalter.db"), path).unwrap();
        }
        Kind::Postgres => {
            let dir = tempfile::tempdir().unwrap();
            let copy = dir.path().join("previous.sqlite");
            std::fs::copy(format!("{FIXTURE}/schalter.db"), &copy).unwrap();
            let printed = cli(&[
                "restore",
                "--database-url",
                &db.url,
                "--from",
                &copy.display().to_string(),
            ]);
            assert!(printed.contains(", 0 with neither"), "{printed}");
        }
    }
}

async fn a_database_from_the_previous_version_is_read_whole(db: TestDb) {
    let expected = expected();
    load_fixture(&db);
    let server = ServerProcess::start(&db.url, &[]).await;
    let client = reqwest::Client::new();
    let health = answer_json(client.get(format!("{}/api/health", server.url))).await;
    assert_eq!(health["head"], expected["head"], "every event is there, none added");

    for booking in expected["bookings"].as_array().unwrap() {
        let view = answer_json(client.get(format!(
            "{}/api/bookings/{}",
            server.url,
            booking["code"].as_str().unwrap()
        )))
        .await;
        assert_eq!(
            view["name"], booking["name"],
            "sealed by the previous version, opened by this one"
        );
        assert_eq!(view["status"], booking["status"]);
        assert_eq!(view["start"], booking["start"]);
    }
    let metrics = client
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !metrics.contains("schalter_projection_unreadable_events_total"),
        "a projection skipped an event of the previous version"
    );
    // The simulated days are in the statistics (each event type the fixture holds was folded).
    let folded = cli(&["rebuild-projections", "--database-url", &db.url]);
    assert!(
        folded.starts_with(&format!("rebuilt from {} events", expected["head"])),
        "{folded}"
    );
    let bookings_in_stats: u64 = folded
        .split(" bookings and ")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap();
    assert!(bookings_in_stats >= 2, "{folded}");
    server.kill9().await;
}
