//! The real binary: durability under kill -9, and clear errors for operators.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use schalter_events::store::{ConnectOptions, Store, StoreError};
use schalter_tests::app::{add_device, add_user, schalter_bin, sign_in, status_and_json, ServerProcess};
use schalter_tests::citizen::{availability, booking, ID_CARD};
use schalter_tests::sse::{called_numbers, SseStream};
use schalter_tests::{on_both_backends, TestDb};

on_both_backends!(
    acknowledged_write_survives_kill_9,
    a_kill_in_the_middle_of_a_rush_loses_no_booking,
    a_hall_screen_misses_no_call_across_a_kill_9
);

/// An acknowledged command is on disk: SIGKILL right after the 201, restart, it is there.
async fn acknowledged_write_survives_kill_9(db: TestDb) {
    let client = reqwest::Client::new();
    for round in 0..3 {
        let server = ServerProcess::start(&db.url, &["--demo"]).await;
        let key = format!("kill-nine-{round}-0000");
        let r = client
            .post(format!("{}/api/feedback", server.url))
            .header("Idempotency-Key", &key)
            .json(&serde_json::json!({"rating": 4}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        server.kill9().await;
        let store = Store::connect(&db.url, ConnectOptions::default()).await.unwrap();
        // The key is stored, bound to the request's fingerprint (which only the server
        // computes): asked without it, the store says it was used for another request.
        let outcome = store.command_outcome(&key, None).await;
        assert!(
            matches!(outcome, Err(StoreError::CommandReused { .. })),
            "round {round}: acknowledged feedback lost after kill -9: {outcome:?}"
        );
        assert_eq!(store.read_stream("feedback", 0).await.unwrap().len(), round + 1);
        store.close().await;
    }
    // And the restarted server serves on from the same log.
    let server = ServerProcess::start(&db.url, &["--demo"]).await;
    let health: serde_json::Value = client
        .get(format!("{}/api/health", server.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["head"], 26, "23 demo events seeded once + 3 ratings");
    server.kill9().await;
}

/// kill -9 while 24 citizens rush a week's slots, then a restart on the same log: every booking
/// that was answered 201 is there with its code and time, no slot holds more than it has
/// places, and the restarted server has caught up (it counts them all as taken).
async fn a_kill_in_the_middle_of_a_rush_loses_no_booking(db: TestDb) {
    let (rushing, days, kill_after) = (
        schalter_tests::fault_size("CITIZENS", 24),
        schalter_tests::fault_size("DAYS", 7) as u32,
        schalter_tests::fault_size("KILL_MS", 500) as u64,
    );
    let client = reqwest::Client::new();
    let server = ServerProcess::start(&db.url, &["--demo"]).await;
    let tomorrow = chrono::Local::now().date_naive() + chrono::Duration::days(1);
    let places: HashMap<String, u32> = availability(&client, &server.url, ID_CARD, tomorrow, days)
        .await
        .slots
        .into_iter()
        .filter(|s| s.free > 0)
        .take(300 * days as usize / 7)
        .map(|s| (s.start.as_str().to_owned(), s.free))
        .collect();
    assert!(!places.is_empty(), "the demo office has free places next week");
    let starts: Arc<Vec<String>> = Arc::new(places.keys().cloned().collect());
    let stop = Arc::new(AtomicBool::new(false));
    let citizens: Vec<_> = (0..rushing)
        .map(|c| {
            let (client, url, starts, stop) = (client.clone(), server.url.clone(), starts.clone(), stop.clone());
            tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    let start = &starts[(c + n) % starts.len()];
                    let request = booking(start, &format!("rush-{c}-{n}@example.org"));
                    n += 1;
                    match client.post(format!("{url}/api/bookings")).json(&request).send().await {
                        Ok(r) if r.status() == 201 => {
                            let view: serde_json::Value = match r.json().await {
                                Ok(view) => view,
                                Err(_) => break, // killed while the answer was on its way
                            };
                            acknowledged.push((view["code"].as_str().unwrap().to_owned(), start.clone()));
                        }
                        Ok(r) => assert!(r.status().is_client_error(), "no 5xx before the kill: {}", r.status()),
                        Err(_) => break, // the server is gone
                    }
                }
                acknowledged
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(kill_after)).await;
    server.kill9().await;
    stop.store(true, Ordering::Relaxed);
    let mut acknowledged = Vec::new();
    for citizen in citizens {
        acknowledged.extend(citizen.await.unwrap());
    }
    let total: u32 = places.values().sum();
    assert!(
        !acknowledged.is_empty() && (acknowledged.len() as u32) < total,
        "killed in the middle: {} of {total} places booked",
        acknowledged.len()
    );

    let server = ServerProcess::start(&db.url, &[]).await;
    let mut held: HashMap<&str, u32> = HashMap::new();
    for (code, start) in &acknowledged {
        let (status, view) = status_and_json(client.get(format!("{}/api/bookings/{code}", server.url))).await;
        assert_eq!(status, 200, "acknowledged booking {code} lost after kill -9: {view}");
        assert_eq!(view["start"].as_str(), Some(start.as_str()), "{code}");
        *held.entry(start).or_default() += 1;
    }
    let after = availability(&client, &server.url, ID_CARD, tomorrow, days).await;
    for slot in after.slots.iter().filter(|s| places.contains_key(s.start.as_str())) {
        let (before, acked) = (
            places[slot.start.as_str()],
            held.get(slot.start.as_str()).copied().unwrap_or(0),
        );
        assert!(
            acked <= before,
            "{}: {acked} bookings answered for {before} places",
            slot.start.as_str()
        );
        assert!(
            before - slot.free >= acked,
            "{}: the restarted server counts {} taken, {acked} were answered",
            slot.start.as_str(),
            before - slot.free
        );
    }
    eprintln!(
        "kill -9 mid-rush ({:?}, {rushing} citizens, {} places, killed after {kill_after} ms): {} acknowledged bookings, all there after the restart",
        db.kind,
        places.values().sum::<u32>(),
        acknowledged.len()
    );
    server.kill9().await;
}

/// A hall screen across a kill -9: it saw the first call; the server dies; the restarted server
/// (on another port, as a new process behind the proxy would be) calls two more tickets before
/// the screen is back; the screen resumes with its `Last-Event-ID` and gets exactly the two
/// calls it missed, in order, then a snapshot with all three.
async fn a_hall_screen_misses_no_call_across_a_kill_9(db: TestDb) {
    let client = reqwest::Client::new();
    // The demo office first, then the screen, the kiosk and the clerk, all read at the start.
    ServerProcess::start(&db.url, &["--demo"]).await.kill9().await;
    let display = add_device(&db.url, "buergerbuero", "display");
    let kiosk = format!("Bearer {}", add_device(&db.url, "buergerbuero", "kiosk"));
    add_user(&db.url, "anna", "desk", "counter-one-2026");
    let server = ServerProcess::start(&db.url, &[]).await;
    let post = |url: &str, path: &str, auth: (&str, String), body: Option<serde_json::Value>| {
        let mut r = client.post(format!("{url}{path}")).header(auth.0, auth.1);
        if let Some(body) = body {
            r = r.json(&body);
        }
        status_and_json(r)
    };
    let anna = (
        "cookie",
        sign_in(&client, &server.url, "anna", "counter-one-2026").await,
    );
    assert_eq!(
        post(&server.url, "/api/counters/buergerbuero-1/open", anna.clone(), None)
            .await
            .0,
        200
    );
    let mut numbers = Vec::new();
    for _ in 0..3 {
        let (status, ticket) = post(
            &server.url,
            "/api/locations/buergerbuero/tickets",
            ("authorization", kiosk.clone()),
            Some(serde_json::json!({"service": "meldebescheinigung"})),
        )
        .await;
        assert_eq!(status, 201, "{ticket}");
        numbers.push(ticket["number"].as_str().unwrap().to_owned());
    }
    let screen = |url: &str| {
        client.get(format!(
            "{url}/api/locations/buergerbuero/display/stream?token={display}"
        ))
    };
    let wait = Duration::from_secs(5);
    let mut feed = SseStream::open(screen(&server.url)).await;
    assert_eq!(feed.next(wait).await.expect("a snapshot").event, "snapshot");
    let (status, first) = post(
        &server.url,
        "/api/counters/buergerbuero-1/call-next",
        anna.clone(),
        None,
    )
    .await;
    assert_eq!(status, 200, "{first}");
    let seen = feed.next_named("call", wait).await.expect("the first call arrives");
    assert_eq!(seen.json()["number"], numbers[0].as_str());
    let last_event_id = seen.id.clone().expect("calls carry ids");
    server.kill9().await;
    drop(feed);

    let server = ServerProcess::start(&db.url, &[]).await;
    let anna = (
        "cookie",
        sign_in(&client, &server.url, "anna", "counter-one-2026").await,
    );
    let mut current = first["id"].as_str().unwrap().to_owned();
    for number in &numbers[1..] {
        let finish = format!("/api/tickets/{current}/finish");
        assert_eq!(post(&server.url, &finish, anna.clone(), None).await.0, 200);
        let (status, called) = post(
            &server.url,
            "/api/counters/buergerbuero-1/call-next",
            anna.clone(),
            None,
        )
        .await;
        assert_eq!((status, called["number"].as_str()), (200, Some(number.as_str())));
        current = called["id"].as_str().unwrap().to_owned();
    }

    let mut feed = SseStream::open(screen(&server.url).header("last-event-id", &last_event_id)).await;
    let mut missed = Vec::new();
    let snapshot = loop {
        let e = feed
            .next(wait)
            .await
            .expect("the resumed stream ends its catch-up with a snapshot");
        match e.event.as_str() {
            "call" => missed.push(e.json()["number"].as_str().unwrap().to_owned()),
            "snapshot" => break e.json(),
            _ => {}
        }
    };
    assert_eq!(
        missed,
        numbers[1..],
        "exactly the calls made while the screen was away, in order"
    );
    let shown = called_numbers(&snapshot);
    assert_eq!(
        shown,
        [numbers[2].as_str(), numbers[1].as_str(), numbers[0].as_str()],
        "newest first"
    );
    server.kill9().await;
}

/// A small tmpfs the test mounts for itself (the machines that run the suite run it as root).
struct SmallDisk {
    path: std::path::PathBuf,
}

impl SmallDisk {
    fn mount(megabytes: u32) -> Option<SmallDisk> {
        let dir = std::env::temp_dir().join(format!("schalter-disk-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let size = format!("size={megabytes}m");
        match system("mount", &["-t", "tmpfs", "-o", &size, "tmpfs", dir.to_str().unwrap()]) {
            Ok(()) => Some(SmallDisk { path: dir }),
            Err(e) => {
                schalter_tests::missing("a small file system (mount -t tmpfs)", &e);
                None
            }
        }
    }

    /// Writes zeros until the disk is full; returns the file that holds them.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let filler = self.path.join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        let chunk = vec![0u8; 4096];
        while file.write_all(&chunk).is_ok() {}
        let _ = file.sync_all();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.path).status();
        let _ = std::fs::remove_dir(&self.path);
    }
}

/// SQLite on a disk that fills up: writes are answered 503 `store_unavailable` with
/// Retry-After (never 500), nothing already written is damaged, and once there is room again the
/// same server writes on without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_on_a_full_disk_says_503_and_recovers() {
    let Some(disk) = SmallDisk::mount(24) else { return };
    let file = disk.path.join("schalter.db");
    let url = format!("sqlite://{}", file.display());
    let server = ServerProcess::start(&url, &["--demo"]).await;
    let client = reqwest::Client::new();
    let mut n = 0;
    let mut rate = || {
        n += 1;
        client
            .post(format!("{}/api/feedback", server.url))
            .header("Idempotency-Key", format!("disk-{n}-0000-0000"))
            .json(&serde_json::json!({"rating": 2}))
    };
    let mut acknowledged = 0;
    for _ in 0..20 {
        assert_eq!(rate().send().await.unwrap().status(), 201);
        acknowledged += 1;
    }
    let filler = disk.fill();
    let mut refused = 0;
    for _ in 0..400 {
        let r = rate().send().await.unwrap();
        match r.status().as_u16() {
            201 => acknowledged += 1,
            503 => {
                assert!(r.headers().contains_key("retry-after"));
                let body: serde_json::Value = r.json().await.unwrap();
                assert_eq!(body["error"], "store_unavailable", "{body}");
                refused += 1;
                if refused >= 5 {
                    break;
                }
            }
            other => panic!("a full disk answered {other}: {}", r.text().await.unwrap_or_default()),
        }
    }
    assert!(
        refused >= 5,
        "the full disk was noticed: {acknowledged} written, {refused} refused"
    );

    std::fs::remove_file(&filler).unwrap();
    let mut back = false;
    for _ in 0..50 {
        let r = rate().send().await.unwrap();
        match r.status().as_u16() {
            201 => {
                acknowledged += 1;
                back = true;
                break;
            }
            503 => tokio::time::sleep(Duration::from_millis(100)).await,
            other => panic!("after the disk had room again: {other}"),
        }
    }
    assert!(back, "the server writes again once the disk has room");
    server.kill9().await;

    assert_ratings_kept(&url, acknowledged).await;
    eprintln!("full disk: {acknowledged} ratings written, {refused} refused with 503 meanwhile");
}

/// SQLite's own check of the whole file finds nothing wrong.
async fn assert_intact(url: &str) {
    let mut db = <sqlx::SqliteConnection as sqlx::Connection>::connect(url)
        .await
        .unwrap();
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut db)
        .await
        .unwrap();
    assert_eq!(check, "ok");
}

/// The database is intact and holds exactly the `acknowledged` ratings: none lost, none of the
/// refused ones written after all.
async fn assert_ratings_kept(url: &str, acknowledged: usize) {
    assert_intact(url).await;
    let store = Store::connect(url, ConnectOptions::default()).await.unwrap();
    assert_eq!(
        store.read_stream("feedback", 0).await.unwrap().len(),
        acknowledged,
        "every acknowledged rating, and nothing refused"
    );
    store.close().await;
}

/// Runs a system tool for a test's own file system; `Err` with its complaint if it cannot.
fn system(program: &str, args: &[&str]) -> Result<(), String> {
    match std::process::Command::new(program).args(args).output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!("{program}: {}", String::from_utf8_lossy(&out.stderr).trim())),
        Err(e) => Err(format!("{program}: {e}")),
    }
}

/// An ext4 file system in a file, mounted through a loop device with `errors=remount-ro`: on the
/// first error the kernel turns it read-only, as it does a failing disk, and the test can cause
/// that error (`/sys/fs/ext4/<device>/trigger_fs_error`).
struct LoopDisk {
    image: std::path::PathBuf,
    path: std::path::PathBuf,
}

impl LoopDisk {
    fn mount(megabytes: u64) -> Option<LoopDisk> {
        let name = format!("schalter-ext4-{}", uuid::Uuid::new_v4().simple());
        let disk = LoopDisk {
            image: std::env::temp_dir().join(format!("{name}.img")),
            path: std::env::temp_dir().join(name),
        };
        std::fs::create_dir_all(&disk.path).unwrap();
        let image = std::fs::File::create(&disk.image).unwrap();
        image.set_len(megabytes << 20).unwrap();
        let made = system("mkfs.ext4", &["-q", "-F", disk.image.to_str().unwrap()]).and_then(|()| disk.attach());
        match made {
            Ok(()) => Some(disk),
            Err(e) => {
                schalter_tests::missing("an ext4 file system on a loop device (mkfs.ext4, mount -o loop)", &e);
                None
            }
        }
    }

    fn attach(&self) -> Result<(), String> {
        let (image, path) = (self.image.to_str().unwrap(), self.path.to_str().unwrap());
        system("mount", &["-o", "loop,errors=remount-ro", image, path])
    }

    /// An error as a failing disk reports it: from now on every write is refused (EROFS).
    fn fail(&self) {
        let out = std::process::Command::new("findmnt")
            .args(["-n", "-o", "SOURCE"])
            .arg(&self.path)
            .output()
            .unwrap();
        let device = String::from_utf8_lossy(&out.stdout).trim().replace("/dev/", "");
        std::fs::write(format!("/sys/fs/ext4/{device}/trigger_fs_error"), "schalter test").unwrap();
    }

    /// What an administrator does before starting the server again: unmount, check and repair
    /// (e2fsck exits 1 or 2 when it repaired something), mount read-write.
    fn repair(&self) {
        system("umount", &[self.path.to_str().unwrap()]).unwrap();
        let fsck = std::process::Command::new("e2fsck")
            .args(["-f", "-y"])
            .arg(&self.image)
            .output()
            .unwrap();
        assert!(fsck.status.code().is_some_and(|c| c <= 2), "{fsck:?}");
        self.attach().unwrap();
    }
}

impl Drop for LoopDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.path).status();
        let _ = std::fs::remove_dir(&self.path);
        let _ = std::fs::remove_file(&self.image);
    }
}

/// SQLite on a disk the kernel turns read-only after an error: writes are answered 503
/// `store_unavailable` with Retry-After (never 500) while reads go on, and once the disk is
/// repaired the restarted server has every acknowledged write in an intact database.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_on_a_disk_turned_read_only_says_503_and_loses_nothing() {
    let Some(disk) = LoopDisk::mount(64) else { return };
    let url = format!("sqlite://{}", disk.path.join("schalter.db").display());
    let server = ServerProcess::start(&url, &["--demo"]).await;
    let client = reqwest::Client::new();
    let mut n = 0;
    let mut rate = |base: &str| {
        n += 1;
        client
            .post(format!("{base}/api/feedback"))
            .header("Idempotency-Key", format!("ro-{n}-0000-0000"))
            .json(&serde_json::json!({"rating": 4}))
    };
    let mut acknowledged = 0;
    for _ in 0..20 {
        assert_eq!(rate(&server.url).send().await.unwrap().status(), 201);
        acknowledged += 1;
    }
    disk.fail();
    for _ in 0..5 {
        let r = rate(&server.url).send().await.unwrap();
        assert_eq!(r.status(), 503, "a read-only disk");
        assert!(r.headers().contains_key("retry-after"));
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["error"], "store_unavailable", "{body}");
    }
    let services = client.get(format!("{}/api/services", server.url)).send().await.unwrap();
    assert_eq!(services.status(), 200, "reading goes on");
    server.kill9().await;

    disk.repair();
    assert_intact(&url).await;
    let server = ServerProcess::start(&url, &["--demo"]).await;
    assert_eq!(rate(&server.url).send().await.unwrap().status(), 201, "writing again");
    acknowledged += 1;
    server.kill9().await;
    assert_ratings_kept(&url, acknowledged).await;
}

fn run(args: &[&str]) -> std::process::Output {
    std::process::Command::new(schalter_bin())
        .args(args)
        .output()
        .expect("run schalter")
}

#[test]
fn bad_database_urls_give_one_line_errors_and_nonzero_exit() {
    for url in [
        "mysql://localhost/x",
        "postgres://nobody@127.0.0.1:1/x",
        "sqlite:///nonexistent-dir/x/y.db",
    ] {
        let out = run(&["migrate", "--database-url", url]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{url}");
        assert!(!stderr.contains("panicked"), "{url}: {stderr}");
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{url}: {stderr}");
        assert!(lines[0].starts_with("schalter: "), "{stderr}");
    }
}

#[test]
fn help_lists_the_commands() {
    let out = run(&["--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    for command in ["serve", "migrate", "user", "rebuild-projections"] {
        assert!(help.contains(command), "{help}");
    }
}

#[tokio::test]
async fn user_add_hashes_the_password_and_refuses_duplicates() {
    use std::io::Write;
    let db = TestDb::sqlite().await;
    let add = |name: &str, password: &str| {
        let mut child = std::process::Command::new(schalter_bin())
            .args([
                "user",
                "add",
                "--database-url",
                &db.url,
                "--username",
                name,
                "--role",
                "desk",
                "--password-stdin",
            ])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{password}\n").as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    };
    assert!(add("anna", "correct horse battery").status.success());
    let dup = add("anna", "another long password");
    assert!(!dup.status.success());
    assert!(String::from_utf8_lossy(&dup.stderr).contains("already exists"));
    let short = add("bert", "short");
    assert!(!short.status.success());
    let store = db.store().await;
    let events = store.read_stream("staff-anna", 0).await.unwrap();
    assert_eq!(events.len(), 1);
    let hash = events[0].data["password_hash"].as_str().unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!serde_json::to_string(&events[0].data)
        .unwrap()
        .contains("correct horse"));
    assert!(store.read_stream("staff-bert", 0).await.unwrap().is_empty());
}

#[tokio::test]
async fn rebuild_projections_reports_what_it_folded() {
    let db = TestDb::sqlite().await;
    let store = db.store().await;
    assert!(schalter_server::seed_demo(&store).await.unwrap());
    store.close().await;
    let out = run(&["rebuild-projections", "--database-url", &db.url]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("rebuilt from 23 events"), "{stdout}");
    assert!(stdout.contains("2 locations, 10 services"), "{stdout}");
}

#[tokio::test]
async fn config_file_round_trips_and_a_second_import_changes_nothing() {
    let db = TestDb::sqlite().await;
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/config-example.toml");
    let out = run(&["import-config", "--database-url", &db.url, example]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("23 change(s) recorded"));
    let again = run(&["import-config", "--database-url", &db.url, example]);
    assert!(String::from_utf8_lossy(&again.stdout).contains("0 change(s)"));
    // What is stored is exactly the demo, and exports back to the same file.
    let store = db.store().await;
    let mut catalogue = schalter_events::catalogue::Catalogue::default();
    for e in store.read_stream("catalogue", 0).await.unwrap() {
        catalogue.apply_recorded(&e).unwrap();
    }
    assert_eq!(catalogue, schalter_events::catalogue::demo());
    let exported = run(&["export-config", "--database-url", &db.url]);
    let file = std::fs::read_to_string(example).unwrap();
    assert!(file.ends_with(&*String::from_utf8_lossy(&exported.stdout)));

    let broken = db.sqlite_path().unwrap().with_file_name("broken.toml");
    std::fs::write(&broken, file.replace("Europe/Berlin", "Mars/Olympus")).unwrap();
    let out = run(&["import-config", "--database-url", &db.url, broken.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("Mars/Olympus"), "{stderr}");
    std::fs::write(&broken, "this is = not [toml").unwrap();
    let out = run(&["import-config", "--database-url", &db.url, broken.to_str().unwrap()]);
    assert!(!out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
}

/// Scale-out: a call made through one server reaches a hall screen fed by another server on the
/// same PostgreSQL within a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_call_on_one_server_reaches_a_screen_on_another_within_a_second() {
    use schalter_tests::app::{add_device, add_user};
    use schalter_tests::sse::SseStream;
    let Some(db) = TestDb::postgres().await else { return };
    let a = ServerProcess::start(&db.url, &["--demo"]).await;
    let b = ServerProcess::start(&db.url, &[]).await;
    let display = add_device(&db.url, "buergerbuero", "display");
    let kiosk = add_device(&db.url, "buergerbuero", "kiosk");
    add_user(&db.url, "anna", "desk", "counter-one-2026");
    let client = reqwest::Client::new();
    let cookie = schalter_tests::app::sign_in(&client, &a.url, "anna", "counter-one-2026").await;
    let opened = client
        .post(format!("{}/api/counters/buergerbuero-1/open", a.url))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(opened.status(), 200);
    let mut feed = SseStream::open(client.get(format!(
        "{}/api/locations/buergerbuero/display/stream?token={display}",
        b.url
    )))
    .await;
    assert_eq!(
        feed.next(std::time::Duration::from_secs(5)).await.unwrap().event,
        "snapshot"
    );
    let mut slowest = std::time::Duration::ZERO;
    for _ in 0..5 {
        let issued = client
            .post(format!("{}/api/locations/buergerbuero/tickets", a.url))
            .header("authorization", format!("Bearer {kiosk}"))
            .json(&serde_json::json!({"service": "meldebescheinigung"}))
            .send()
            .await
            .unwrap();
        assert_eq!(issued.status(), 201);
        let called: serde_json::Value = client
            .post(format!("{}/api/counters/buergerbuero-1/call-next", a.url))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let acknowledged = std::time::Instant::now();
        let call = feed
            .next_named("call", std::time::Duration::from_secs(1))
            .await
            .expect("the call reached the other server's screen within 1 s");
        slowest = slowest.max(acknowledged.elapsed());
        assert_eq!(call.json()["number"], called["number"]);
    }
    eprintln!("slowest call → other server's screen: {slowest:?}");
    a.kill9().await;
    b.kill9().await;
}
