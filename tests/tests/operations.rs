//! Operating Schalter for years: a restore drill and a master key rotation, through the real
//! binary on both backends, as an administrator would run them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use schalter_server::engine::vault::{MasterKeys, Vault, VaultError};
use schalter_tests::app::{add_device, answer_json, cli, cli_output, ServerProcess, TEST_MASTER_KEY};
use schalter_tests::citizen::{booked, booking, free_starts, ID_CARD};
use schalter_tests::{on_both_backends, TestDb};

on_both_backends!(
    the_restore_drill,
    the_master_key_rotates_without_a_restart,
    a_lost_master_key_costs_the_personal_data_not_the_appointments,
);

async fn free_places(client: &reqwest::Client, url: &str) -> Vec<String> {
    let from = chrono::Utc::now().date_naive() + chrono::Duration::days(2);
    free_starts(client, url, ID_CARD, from, 21).await
}

/// The holder's name as the server shows it, or the status it answers with.
async fn holder(client: &reqwest::Client, url: &str, code: &str) -> Result<String, u16> {
    let response = client.get(format!("{url}/api/bookings/{code}")).send().await.unwrap();
    match response.status().as_u16() {
        200 => Ok(response.json::<serde_json::Value>().await.unwrap()["name"]
            .as_str()
            .unwrap()
            .to_owned()),
        status => Err(status),
    }
}

fn only_file_ending(dir: &Path, ending: &str) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(ending))
        .collect();
    assert_eq!(files.len(), 1, "one {ending} in {}: {files:?}", dir.display());
    files[0].clone()
}

/// Book, back up, book more, restore into a new database: the first booking is there with its
/// personal data readable, the later one is not, and the server rebuilt its read models.
async fn the_restore_drill(db: TestDb) {
    let client = reqwest::Client::new();
    let server = ServerProcess::start(&db.url, &["--demo"]).await;
    let starts = free_places(&client, &server.url).await;
    let kept = booked(&client, &server.url, &booking(&starts[0], "erika@example.org")).await;
    let kept_code = kept.code.clone().unwrap();

    let backups = tempfile::tempdir().unwrap();
    let printed = cli(&[
        "backup",
        "--database-url",
        &db.url,
        "--to",
        &backups.path().display().to_string(),
    ]);
    assert!(printed.contains("not in the backup"), "{printed}");
    let file = only_file_ending(backups.path(), ".sqlite");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file.with_extension("json")).unwrap()).unwrap();
    assert_eq!(manifest["master_key_included"], false);
    assert!(
        !file.with_extension("key").exists(),
        "the key stays out unless asked for"
    );
    let text = String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned();
    assert!(!text.contains(TEST_MASTER_KEY), "the master key is not in the backup");
    assert!(
        !text.contains("erika@example.org"),
        "personal data stays sealed in the backup"
    );

    let later = booked(&client, &server.url, &booking(&starts[1], "max@example.org")).await;
    server.kill9().await;

    let target = TestDb::of(db.kind).await.expect("a second database of the same kind");
    let from = file.display().to_string();
    let wrong_key = "11".repeat(32);
    let refused = cli_output(&["restore", "--database-url", &target.url, "--from", &from], &wrong_key);
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("sealed under the master key"), "{said}");
    let untouched = target.store().await;
    assert_eq!(untouched.head().await.unwrap(), 0, "a refused restore writes nothing");
    untouched.close().await;

    let printed = cli(&["restore", "--database-url", &target.url, "--from", &from]);
    assert!(
        printed.contains(&format!("up to position {}", manifest["head"])),
        "{printed}"
    );
    assert!(printed.contains(", 0 with neither"), "{printed}");
    let again = cli_output(
        &["restore", "--database-url", &target.url, "--from", &from],
        TEST_MASTER_KEY,
    );
    assert!(!again.status.success(), "a restore never mixes into a database in use");
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));

    let restored = ServerProcess::start(&target.url, &[]).await;
    assert_eq!(
        holder(&client, &restored.url, &kept_code).await,
        Ok("Erika Mustermann".into())
    );
    assert_eq!(
        holder(&client, &restored.url, later.code.as_deref().unwrap()).await,
        Err(404)
    );
    // The place booked after the backup is free again in the restored read models; the one
    // booked before is not offered twice.
    let free = free_places(&client, &restored.url).await;
    assert!(
        free.contains(&starts[1]),
        "the later booking's place is free after the restore"
    );
    let (status, body) =
        schalter_tests::citizen::book(&client, &restored.url, &booking(&starts[1], "max@example.org")).await;
    assert_eq!(status, 201, "{body}");
    restored.kill9().await;
}

fn random_key() -> [u8; 32] {
    let mut key = [0u8; 32];
    for (i, b) in key.iter_mut().enumerate() {
        *b = (uuid::Uuid::new_v4().as_bytes()[i % 16]) ^ (i as u8);
    }
    key
}

fn hangup(server: &ServerProcess) {
    let pid = server.child.id().expect("running").to_string();
    let status = std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Waits until the server has handled `n` reloads with `outcome`, as `/metrics` counts them.
async fn reloads(client: &reqwest::Client, server: &ServerProcess, outcome: &str, n: u32) {
    let line = format!("schalter_master_key_reloads_total{{outcome=\"{outcome}\"}} {n}");
    for _ in 0..100 {
        let metrics = client.get(format!("{}/metrics", server.url)).send().await.unwrap();
        if metrics.text().await.unwrap().lines().any(|l| l == line) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server never reported {line}");
}

/// The rotation in docs/operations.md, with the server running throughout: new key in the key
/// file and the old one beside it, reload, re-wrap, remove the old one, reload. Every booking
/// stays readable, the old key opens nothing any more, and keyed hashes do not change.
async fn the_master_key_rotates_without_a_restart(db: TestDb) {
    let client = reqwest::Client::new();
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("master.key");
    let previous_file = dir.path().join("master.key.previous");
    let (old, new) = (random_key(), random_key());
    std::fs::write(&key_file, hex::encode(old)).unwrap();
    let key_arg = key_file.display().to_string();
    let server = ServerProcess::start_with(&db.url, &["--demo", "--master-key-file", &key_arg], |_| {}).await;
    let starts = free_places(&client, &server.url).await;
    let first = booked(&client, &server.url, &booking(&starts[0], "erika@example.org")).await;

    let store = db.store().await;
    let token_before = Vault::unlock(&MasterKeys::single(old), store.clone())
        .await
        .unwrap()
        .confirm_token("ABCD");

    std::fs::rename(&key_file, &previous_file).unwrap();
    std::fs::write(&key_file, hex::encode(new)).unwrap();
    hangup(&server);
    reloads(&client, &server, "reloaded", 1).await;
    let during = booked(&client, &server.url, &booking(&starts[1], "max@example.org")).await;

    let rotate = || {
        cli_output(
            &[
                "rotate-master-key",
                "--database-url",
                &db.url,
                "--master-key-file",
                &key_arg,
            ],
            "",
        )
    };
    let rotated = rotate();
    let said = String::from_utf8_lossy(&rotated.stdout);
    assert!(
        rotated.status.success(),
        "{said} {}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    assert!(
        said.contains("re-wrapped 2 data key(s)"),
        "the first booking's key and the pepper: {said}"
    );

    std::fs::remove_file(&previous_file).unwrap();
    hangup(&server);
    reloads(&client, &server, "reloaded", 2).await;
    let after = booked(&client, &server.url, &booking(&starts[2], "ina@example.org")).await;
    for (view, name) in [
        (&first, "Erika Mustermann"),
        (&during, "Erika Mustermann"),
        (&after, "Erika Mustermann"),
    ] {
        assert_eq!(
            holder(&client, &server.url, view.code.as_deref().unwrap()).await,
            Ok(name.into())
        );
    }

    let stale = Vault::unlock(&MasterKeys::single(old), store.clone()).await;
    assert!(
        matches!(stale, Err(VaultError::WrongMasterKey { .. })),
        "the old key stops working"
    );
    let vault = Vault::unlock(&MasterKeys::single(new), store.clone()).await.unwrap();
    let census = vault.census(false).await.unwrap();
    assert_eq!((census.previous, census.unreadable), (0, 0), "{census:?}");
    assert_eq!(census.current, 4, "three bookings and the pepper: {census:?}");
    assert_eq!(
        vault.confirm_token("ABCD"),
        token_before,
        "links in sent messages keep working"
    );

    // A mistyped key file is refused at reload; the server keeps sealing under the right key.
    std::fs::write(&key_file, hex::encode(random_key())).unwrap();
    hangup(&server);
    reloads(&client, &server, "refused", 1).await;
    let last = booked(&client, &server.url, &booking(&starts[3], "ole@example.org")).await;
    assert_eq!(
        holder(&client, &server.url, last.code.as_deref().unwrap()).await,
        Ok("Erika Mustermann".into())
    );
    assert_eq!(vault.census(false).await.unwrap().current, 5);

    let nothing_to_do = rotate();
    assert!(!nothing_to_do.status.success());
    assert!(String::from_utf8_lossy(&nothing_to_do.stderr).contains("no previous master key"));
    store.close().await;
    server.kill9().await;
}

/// Another key is refused (it would seal new data under a key that opens none of the old);
/// after `lost-master-key` the server starts with a new key and every appointment is still there.
async fn a_lost_master_key_costs_the_personal_data_not_the_appointments(db: TestDb) {
    let client = reqwest::Client::new();
    let server = ServerProcess::start(&db.url, &["--demo"]).await;
    let starts = free_places(&client, &server.url).await;
    let code = booked(&client, &server.url, &booking(&starts[0], "erika@example.org"))
        .await
        .code
        .unwrap();
    server.kill9().await;

    let new_key = hex::encode(random_key());
    let refused = cli_output(&["purge", "--database-url", &db.url], &new_key);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("does not open this database"));
    let unconfirmed = cli_output(&["lost-master-key", "--database-url", &db.url], &new_key);
    assert!(!unconfirmed.status.success(), "nothing is erased without saying so");
    let done = cli_output(
        &["lost-master-key", "--database-url", &db.url, "--erase-personal-data"],
        &new_key,
    );
    let printed = String::from_utf8_lossy(&done.stdout);
    assert!(
        done.status.success() && printed.contains("erased 1 wrapped key(s)"),
        "{printed}"
    );

    let server = ServerProcess::start_with(&db.url, &[], |c| {
        c.env("SCHALTER_MASTER_KEY", &new_key);
    })
    .await;
    let view = answer_json(client.get(format!("{}/api/bookings/{code}", server.url))).await;
    assert_eq!(view["personal_data_erased"], true, "{view}");
    assert_eq!(view["start"], starts[0].as_str(), "the appointment itself stays");
    let later = booked(&client, &server.url, &booking(&starts[1], "max@example.org")).await;
    assert_eq!(
        holder(&client, &server.url, later.code.as_deref().unwrap()).await,
        Ok("Erika Mustermann".into())
    );
    server.kill9().await;
}

/// A load balancer as far as this test needs one: round robin over the servers it knows, and a
/// request that finds a server gone (refused, or its connection closed while it stopped) goes
/// to the next one, with the same Idempotency-Key.
struct Balancer {
    servers: std::sync::RwLock<Vec<String>>,
    client: reqwest::Client,
    next: std::sync::atomic::AtomicUsize,
}

impl Balancer {
    async fn rate(&self, key: &str) -> Result<u16, String> {
        let mut last = String::new();
        for _ in 0..20 {
            let servers = self.servers.read().unwrap().clone();
            let url = &servers[self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % servers.len()];
            match self
                .client
                .post(format!("{url}/api/feedback"))
                .header("Idempotency-Key", key)
                .json(&serde_json::json!({"rating": 5}))
                .send()
                .await
            {
                Ok(r) => return Ok(r.status().as_u16()),
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(last)
    }
}

/// SIGTERM drains within a bound: a request already on its way (its body still arriving) is
/// answered, a hall screen is told to come back in a second (`restart` with `retry:`) and its
/// stream ends, and the process exits cleanly well inside systemd's limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_answers_requests_in_flight_and_sends_screens_back() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let db = TestDb::sqlite().await;
    let server = ServerProcess::start(&db.url, &["--demo"]).await;
    let display = add_device(&db.url, "buergerbuero", "display");
    let mut screen = reqwest::get(format!(
        "{}/api/locations/buergerbuero/display/stream?token={display}",
        server.url
    ))
    .await
    .unwrap();
    assert_eq!(screen.status(), 200);
    let first = screen.chunk().await.unwrap().expect("the snapshot");
    assert!(String::from_utf8_lossy(&first).contains("event: snapshot"));

    let body = br#"{"rating": 4}"#;
    let mut slow = tokio::net::TcpStream::connect(server.url.trim_start_matches("http://"))
        .await
        .unwrap();
    let head = format!(
        "POST /api/feedback HTTP/1.1\r\nHost: schalter\r\nContent-Type: application/json\r\nIdempotency-Key: drain-test-0000-0001\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.write_all(&body[..5]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    let stopping = std::time::Instant::now();
    server.send_sigterm();
    tokio::time::sleep(Duration::from_millis(300)).await;
    slow.write_all(&body[5..]).await.unwrap();
    let mut answer = Vec::new();
    slow.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.starts_with("HTTP/1.1 201"),
        "the request in flight is answered: {answer}"
    );

    let mut rest = String::new();
    while let Some(chunk) = tokio::time::timeout(Duration::from_secs(15), screen.chunk())
        .await
        .expect("the screen's stream ends during the drain")
        .unwrap()
    {
        rest.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(
        rest.contains("event: restart") && rest.contains("retry: 1000"),
        "the screen is told when to come back: {rest}"
    );
    let status = server.exited_within(Duration::from_secs(15)).await;
    assert!(status.success(), "a clean exit on SIGTERM, not {status}");
    eprintln!("SIGTERM to exit: {:?}", stopping.elapsed());
    // Nothing acknowledged was lost on the way out.
    let store = db.store().await;
    assert_eq!(store.read_stream("feedback", 0).await.unwrap().len(), 1);
    store.close().await;
}

/// Two servers on one PostgreSQL restarted one after the other (SIGTERM, new binary start) while
/// clients keep writing: every request is answered without a 5xx, and every acknowledged write
/// is in the log exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rolling_restart_of_two_servers_loses_no_request() {
    let Some(db) = TestDb::postgres().await else { return };
    let a = ServerProcess::start(&db.url, &["--demo"]).await;
    let b = ServerProcess::start(&db.url, &[]).await;
    let balancer = std::sync::Arc::new(Balancer {
        servers: std::sync::RwLock::new(vec![a.url.clone(), b.url.clone()]),
        client: reqwest::Client::new(),
        next: Default::default(),
    });
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..8)
        .map(|c| {
            let (balancer, stop) = (balancer.clone(), stop.clone());
            tokio::spawn(async move {
                let mut answers = Vec::new();
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    answers.push(balancer.rate(&format!("rolling-{c}-{n}-0000")).await);
                    n += 1;
                }
                answers
            })
        })
        .collect();

    let mut running = vec![a, b];
    for turn in 0..2 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let old = running.remove(0);
        // The balancer stops sending to it first, as a health-checked one would; requests
        // already on their way are answered while it drains.
        balancer.servers.write().unwrap().retain(|u| *u != old.url);
        let status = old.terminate().await;
        assert!(status.success(), "turn {turn}: a clean exit on SIGTERM, not {status}");
        let new = ServerProcess::start(&db.url, &[]).await;
        balancer.servers.write().unwrap().push(new.url.clone());
        running.push(new);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut acknowledged = 0;
    for client in clients {
        for answer in client.await.unwrap() {
            assert_eq!(answer, Ok(201), "every request answered, none with an error");
            acknowledged += 1;
        }
    }
    let store = db.store().await;
    let ratings = store.read_stream("feedback", 0).await.unwrap().len();
    assert_eq!(
        ratings, acknowledged,
        "each acknowledged rating is in the log exactly once"
    );
    assert!(
        acknowledged > 50,
        "the load ran through both restarts: {acknowledged} requests"
    );
    eprintln!("rolling restart: {acknowledged} ratings acknowledged and stored, no failure");
    store.close().await;
    for server in running {
        server.kill9().await;
    }
}

/// A database restart under load, as the server sees one: every connection to its database is
/// terminated and new ones are refused for two seconds (sizes: `SCHALTER_FAULT_WRITERS`,
/// `SCHALTER_FAULT_OUTAGE_MS`). Meanwhile a write is answered either as usual or 503
/// `store_unavailable` with Retry-After, never another 5xx; afterwards the server has reconnected
/// by itself, and every acknowledged write is in the log exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_database_restart_under_load_is_503_then_business_as_usual() {
    let Some(db) = TestDb::postgres().await else { return };
    let (writers, outage) = (
        schalter_tests::fault_size("WRITERS", 8),
        schalter_tests::fault_size("OUTAGE_MS", 2000) as u64,
    );
    let server = ServerProcess::start(&db.url, &["--demo"]).await;
    let name = db.url.rsplit('/').next().unwrap().to_owned();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..writers)
        .map(|c| {
            let (url, stop) = (server.url.clone(), stop.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let (mut acknowledged, mut unavailable) = (0, 0);
                let mut n = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let key = format!("outage-{c}-{n}-0000");
                    // Retried with its key until it lands, as the app does.
                    loop {
                        let r = client
                            .post(format!("{url}/api/feedback"))
                            .header("Idempotency-Key", &key)
                            .json(&serde_json::json!({"rating": 3}))
                            .send()
                            .await
                            .expect("the server itself stays up");
                        let status = r.status().as_u16();
                        let retry_after = r.headers().contains_key("retry-after");
                        let body: serde_json::Value = r.json().await.unwrap_or_default();
                        match status {
                            201 => break,
                            503 => {
                                assert_eq!(body["error"], "store_unavailable", "{body}");
                                assert!(retry_after, "503 without Retry-After");
                                unavailable += 1;
                                tokio::time::sleep(Duration::from_millis(100)).await;
                            }
                            other => panic!("answered {other} during the outage: {body}"),
                        }
                    }
                    acknowledged += 1;
                    n += 1;
                }
                (acknowledged, unavailable)
            })
        })
        .collect();
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&schalter_tests::pg_admin_url())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    for sql in [
        format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"),
        format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"),
    ] {
        sqlx::query(&sql).execute(&mut admin).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(outage)).await;
    sqlx::query(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .execute(&mut admin)
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let back = async {
        loop {
            let r = client
                .get(format!("{}/api/health/ready", server.url))
                .send()
                .await
                .unwrap();
            if r.status() == 200 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), back)
        .await
        .expect("ready again within 20 s of the database's return");
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut acknowledged, mut unavailable) = (0, 0);
    for c in clients {
        let (a, u) = c.await.unwrap();
        acknowledged += a;
        unavailable += u;
    }
    assert!(unavailable > 0, "the outage was noticed");
    let store = db.store().await;
    assert_eq!(
        store.read_stream("feedback", 0).await.unwrap().len(),
        acknowledged,
        "each acknowledged rating in the log exactly once"
    );
    eprintln!(
        "database restart ({writers} writers, {outage} ms away): {acknowledged} ratings acknowledged, {unavailable} answers 503 meanwhile"
    );
    store.close().await;
    server.kill9().await;
}

/// What a load balancer and a supervisor ask: liveness touches nothing but the process;
/// readiness says 503 with a stable code and Retry-After while the database is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readiness_follows_the_database_and_liveness_does_not() {
    let Some(db) = TestDb::postgres().await else { return };
    let server = ServerProcess::start(&db.url, &["--demo"]).await;
    let client = reqwest::Client::new();
    let get = |path: &'static str| client.get(format!("{}{path}", server.url)).send();
    let ready = get("/api/health/ready").await.unwrap();
    assert_eq!(ready.status(), 200);
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["head"], ready["applied"], "{ready}");
    assert_eq!(get("/api/health/live").await.unwrap().status(), 200);

    let name = db.url.rsplit('/').next().unwrap().to_owned();
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(&schalter_tests::pg_admin_url())
        .await
        .unwrap();
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap();

    let gone = get("/api/health/ready").await.unwrap();
    assert_eq!(gone.status(), 503);
    assert!(gone.headers().contains_key("retry-after"));
    let body: serde_json::Value = gone.json().await.unwrap();
    assert_eq!(body["error"], "store_unavailable", "{body}");
    let live = get("/api/health/live").await.unwrap();
    assert_eq!(
        live.status(),
        200,
        "a database outage is no reason to restart the server"
    );
    server.kill9().await;
}
