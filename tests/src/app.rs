//! The real server: in-process on port 0 (`spawn_app`), or as the real binary in a child
//! process for crash and CLI tests.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use schalter_server::jobs::outbox::MessageSettings;
use schalter_server::{Server, Settings};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::TestDb;

/// The master key every test server and CLI run shares (tests only).
pub const TEST_MASTER_KEY: &str = "5c4a1e7d0b9f3a2c6e8d1f4b7a0c3e5d9b2f6a8c1e4d7b0a3c5e8f1d4b7a9c2e";

pub struct TestApp {
    pub url: String,
    pub client: reqwest::Client,
    pub db: TestDb,
    server: Option<Server>,
}

/// Starts the whole server (store, migrations, projections, router) on a free port, with the
/// demo municipality unless told otherwise: `spawn_app(db).start().await`, or with options,
/// e.g. `spawn_app(db).mailing(&smtp).start().await`.
pub fn spawn_app(db: TestDb) -> Spawn {
    Spawn {
        db,
        settings: Settings {
            demo: true,
            // Tests run many servers at once against one PostgreSQL: keep each pool small.
            max_connections: 8,
            // Tests make hundreds of requests from one address: abuse protection is off unless
            // a test is about it (or about what a citizen in a browser sees).
            abuse_protection: false,
            // Tests run at any hour; `office_hours()` turns the rule back on.
            walk_ins_any_hour: true,
            messages: MessageSettings::default(),
            ..Settings::default()
        },
    }
}

/// A test server about to start; each option names what it changes.
pub struct Spawn {
    db: TestDb,
    settings: Settings,
}

impl Spawn {
    /// An empty municipality: no catalogue, no accounts.
    pub fn without_demo(mut self) -> Spawn {
        self.settings.demo = false;
        self
    }

    /// Walk-in tickets only while the office is open, as in production.
    pub fn office_hours(mut self) -> Spawn {
        self.settings.walk_ins_any_hour = false;
        self
    }

    /// The database pool's size (the production default, or more, for benchmarks).
    pub fn pool(mut self, max_connections: u32) -> Spawn {
        self.settings.max_connections = max_connections;
        self
    }

    /// Citizens' email to the SMTP server at `smtp_url` (links point at `http://schalter.test`).
    pub fn mailing(mut self, smtp_url: &str) -> Spawn {
        self.settings.messages = MessageSettings {
            mail: Some(schalter_server::jobs::outbox::MailSettings {
                smtp_url: smtp_url.to_owned(),
                from: "Bürgerservice <noreply@schalter.test>".into(),
            }),
            ..test_messages()
        };
        self
    }

    /// Text messages to the gateway at `sms_url` (see [`texting`]).
    pub fn texting(self, sms_url: &str, reminder_hours: u32) -> Spawn {
        self.messages(texting(sms_url, reminder_hours))
    }

    pub fn messages(mut self, messages: MessageSettings) -> Spawn {
        self.settings.messages = messages;
        self
    }

    /// The clock the message sender goes by (set after [`Spawn::mailing`] or [`Spawn::messages`]).
    pub fn message_clock(mut self, clock: schalter_server::engine::clock::Clock) -> Spawn {
        self.settings.messages.clock = clock;
        self
    }

    /// The rate limits, cooling-off and proof of work a real installation has.
    pub fn protected(mut self) -> Spawn {
        self.settings.abuse_protection = true;
        self
    }

    /// Demo mode's outbox: without a mail server, messages go to the admins' viewer.
    pub fn demo_outbox(mut self) -> Spawn {
        self.settings.demo_outbox = true;
        self
    }

    /// Lets other machines read `/metrics` with this bearer token.
    pub fn metrics_token(mut self, token: &str) -> Spawn {
        self.settings.metrics_token = Some(token.into());
        self
    }

    /// Connection limits and the header timeout other than the defaults.
    pub fn connections(mut self, limits: schalter_server::http::connections::ConnectionLimits) -> Spawn {
        self.settings.connections = limits;
        self
    }

    /// Anonymous monthly aggregates at `/api/open-data`.
    pub fn publishing(mut self) -> Spawn {
        self.settings.open_data = true;
        self
    }

    pub async fn start(self) -> TestApp {
        spawn_with(self.db, self.settings).await
    }

    /// For browser tests: `None` (after saying why) when the web app is not built. Citizens in
    /// a browser must not notice the abuse protection, so the journeys run with it on.
    pub async fn start_with_ui(self) -> Option<TestApp> {
        let app = self.protected().start().await;
        if app.get("/").await.status() == 503 {
            crate::missing(
                "the built web app (dist/)",
                "run trunk build --release first; scripts/test does",
            );
            app.stop().await;
            return None;
        }
        Some(app)
    }
}

/// The message settings of [`Spawn::texting`]: token `sms-test-token`, "your turn is near" at
/// 2 ahead, reminders `reminder_hours` before the appointment.
pub fn texting(sms_url: &str, reminder_hours: u32) -> MessageSettings {
    MessageSettings {
        reminder_hours,
        sms: Some(schalter_server::jobs::sms::SmsSettings {
            url: sms_url.to_owned(),
            token: Some("sms-test-token".into()),
            sender: "Stadt".into(),
            near_ahead: 2,
        }),
        ..test_messages()
    }
}

fn test_messages() -> MessageSettings {
    MessageSettings {
        public_url: "http://schalter.test".into(),
        reminder_hours: 24,
        lease: chrono::Duration::seconds(2),
        ..MessageSettings::default()
    }
}

async fn spawn_with(db: TestDb, settings: Settings) -> TestApp {
    let server = start_on(&db.url, settings).await;
    TestApp {
        url: format!("http://{}", server.addr),
        client: reqwest::Client::new(),
        db,
        server: Some(server),
    }
}

/// A server on `database_url`, on a free port, with the tests' master key.
async fn start_on(database_url: &str, settings: Settings) -> Server {
    schalter_server::start(Settings {
        database_url: database_url.to_owned(),
        listen: "127.0.0.1:0".into(),
        master_key: Some(TEST_MASTER_KEY.into()),
        ..settings
    })
    .await
    .expect("server starts")
}

/// Another server on a [`TestApp`]'s database, as a second instance behind a load balancer.
pub struct Peer {
    pub url: String,
    server: Server,
}

impl Peer {
    pub async fn stop(self) {
        self.server.shutdown().await;
    }
}

impl TestApp {
    /// Starts a [`Peer`] (no demo seeding, no abuse protection) with a pool of `max_connections`.
    pub async fn peer(&self, max_connections: u32) -> Peer {
        let settings = Settings {
            max_connections,
            abuse_protection: false,
            ..Settings::default()
        };
        let server = start_on(&self.db.url, settings).await;
        Peer {
            url: format!("http://{}", server.addr),
            server,
        }
    }

    pub fn store(&self) -> &schalter_events::store::Store {
        &self.server.as_ref().expect("running").store
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        status_and_json(self.client.get(format!("{}{path}", self.url))).await
    }

    /// A GET as signed-in staff (`cookie`): the status and the JSON answer.
    pub async fn get_json_as(&self, path: &str, cookie: &str) -> (u16, Value) {
        status_and_json(self.client.get(format!("{}{path}", self.url)).header("cookie", cookie)).await
    }

    /// A JSON POST as a device (`("authorization", "Bearer …")`) or signed-in staff
    /// (`("cookie", …)`): the status and the JSON answer (`Null` if there is none).
    pub async fn post_as(&self, path: &str, auth: (&str, &str), body: &Value) -> (u16, Value) {
        status_and_json(
            self.client
                .post(format!("{}{path}", self.url))
                .header(auth.0, auth.1)
                .json(body),
        )
        .await
    }

    /// A location's hours and booking rules as the admin page reads them.
    pub async fn schedule_of(&self, admin: &str, location: &str) -> Value {
        let setup = self.staff_ok(admin, reqwest::Method::GET, "/api/admin/setup").await;
        setup["locations"]
            .as_array()
            .expect("locations")
            .iter()
            .find(|l| l["location"]["id"] == location)
            .unwrap_or_else(|| panic!("no location {location}"))["schedule"]
            .clone()
    }

    /// Saves a location's hours and booking rules as the admin page does; they must be taken.
    pub async fn set_schedule(&self, admin: &str, location: &str, schedule: &Value) {
        let path = format!("/api/admin/locations/{location}/schedule");
        let (status, body) = self.send_as(admin, reqwest::Method::PUT, &path, schedule).await;
        assert_eq!(status, 200, "{body}");
    }

    /// `method` on `path` with a JSON body, signed in with `cookie`.
    pub async fn send_as(&self, cookie: &str, method: reqwest::Method, path: &str, body: &Value) -> (u16, Value) {
        status_and_json(
            self.client
                .request(method, format!("{}{path}", self.url))
                .header("cookie", cookie)
                .json(body),
        )
        .await
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        status_and_json(self.client.post(format!("{}{path}", self.url)).json(body)).await
    }

    /// Signs staff in through the API and returns the `Cookie` header value.
    pub async fn sign_in(&self, username: &str, password: &str) -> String {
        sign_in(&self.client, &self.url, username, password).await
    }

    /// The vault as the test servers have it, for tests that read or erase sealed data.
    pub async fn vault(&self) -> schalter_server::engine::vault::Vault {
        let key: [u8; 32] = (0..32)
            .map(|i| u8::from_str_radix(&TEST_MASTER_KEY[2 * i..2 * i + 2], 16).unwrap())
            .collect::<Vec<_>>()
            .try_into()
            .unwrap();
        let keys = schalter_server::engine::vault::MasterKeys::single(key);
        schalter_server::engine::vault::Vault::unlock(&keys, self.store().clone())
            .await
            .expect("the test servers' master key")
    }

    /// A booking at the Bürgerbüro starting `minutes_from_now`, recorded as the booking rules
    /// would (the API's lead time forbids bookings this near, and check-in needs them).
    pub async fn booking_near_now(&self, code: &str, minutes_from_now: i64, name: &str, email: &str) {
        let start = chrono::Utc::now() + chrono::Duration::minutes(minutes_from_now);
        self.recorded_booking(code, start, "test", name, email).await;
    }

    /// A booking at the Bürgerbüro at `start` (also in the past) for `holder` (the keyed hash
    /// of an email, or any text), written beside the server as another server would; returns
    /// its stream once the server has applied it.
    pub async fn recorded_booking(
        &self,
        code: &str,
        start: chrono::DateTime<chrono::Utc>,
        holder: &str,
        name: &str,
        email: &str,
    ) -> String {
        use schalter_events::booking::{BookingEvent, Channel};
        let hash = schalter_server::features::bookings::code_hash(code).expect("a well-formed code");
        let event = BookingEvent::BookingPlaced {
            location: "buergerbuero".into(),
            service: "personalausweis".into(),
            start,
            end: start + chrono::Duration::minutes(20),
            units: vec![start, start + chrono::Duration::minutes(10)],
            contact: self
                .vault()
                .await
                .seal(&schalter_server::engine::vault::PersonalData {
                    name: name.into(),
                    email: email.into(),
                    phone: None,
                    code: Some(code.into()),
                })
                .await
                .expect("sealed"),
            holder: holder.into(),
            channel: Channel::Online,
            confirm_by: None,
            confirm_because_missed: false,
        };
        let stream = schalter_events::booking::stream(&hash);
        let request =
            schalter_events::store::AppendRequest::new(vec![schalter_events::encode(stream.clone(), 1, &event)])
                .expect(stream.clone(), schalter_events::Expectation::NoStream);
        let written = self.store().append(&request).await.expect("booking recorded");
        self.applied(written.last_position).await;
        stream
    }

    /// Waits until the server's projections hold `position` (written beside it: the kiosk,
    /// the desk and bookings read the server's projections).
    pub async fn applied(&self, position: i64) {
        crate::eventually(
            "the events applied by the server",
            Duration::from_secs(10),
            async || {
                let (_, ready) = self.get_json("/api/health/ready").await;
                let applied = ready["applied"].as_i64().unwrap_or(0) >= position;
                crate::when(ready, applied)
            },
        )
        .await;
    }

    /// Solves a proof-of-work challenge as the app does: the `proof` of a booking request.
    pub async fn proof(&self) -> schalter_events::api::Proof {
        let (_, c) = self.get_json("/api/bookings/challenge").await;
        let c: schalter_events::api::Challenge = serde_json::from_value(c).expect("a challenge");
        let nonce = schalter_events::work::solve(&c.challenge, c.difficulty);
        schalter_events::api::Proof {
            challenge: c.challenge,
            nonce,
        }
    }

    /// Waits (`within` at most) until `/api/admin/messages`, as the admin signed in with
    /// `cookie` sees it, satisfies `done`, and returns it; `what` names the awaited state in the
    /// failure.
    pub async fn message_problems_when(
        &self,
        cookie: &str,
        what: &str,
        within: Duration,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        crate::eventually(what, within, async || {
            let problems = self.staff_ok(cookie, reqwest::Method::GET, "/api/admin/messages").await;
            let reached = done(&problems);
            crate::when(problems, reached)
        })
        .await
    }

    /// Waits (10 s at most) until `/api/admin/messages` lists a failing message.
    pub async fn failing_messages(&self, cookie: &str) -> Value {
        self.message_problems_when(cookie, "a failure reported", Duration::from_secs(10), |p| {
            !p["failing"].as_array().expect("failing").is_empty()
        })
        .await
    }

    /// Opens a counter as the signed-in clerk (`cookie`), so it may call tickets.
    pub async fn open_counter(&self, cookie: &str, counter: &str) {
        let path = format!("/api/counters/{counter}/open");
        self.staff_ok(cookie, reqwest::Method::POST, &path).await;
    }

    /// A request without a body as signed-in staff (`cookie`); asserts 200 and returns the JSON
    /// answer (`Null` if there is none).
    pub async fn staff_ok(&self, cookie: &str, method: reqwest::Method, path: &str) -> Value {
        let r = self
            .client
            .request(method.clone(), format!("{}{path}", self.url))
            .header("cookie", cookie)
            .send()
            .await
            .expect("request sent");
        assert_eq!(r.status(), 200, "{method} {path}");
        r.json().await.unwrap_or(Value::Null)
    }

    /// The key figures of the Bürgerbüro for local days `from..=to`, as a manager reads them.
    pub async fn office_figures(&self, cookie: &str, from: &str, to: &str) -> Value {
        let path = format!("/api/stats/summary?from={from}&to={to}&location=buergerbuero");
        self.staff_ok(cookie, reqwest::Method::GET, &path).await["figures"].clone()
    }

    pub async fn stop(mut self) -> TestDb {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
        self.db
    }
}

/// The `schalter` binary next to the test executable (the test command builds it first).
pub fn schalter_bin() -> PathBuf {
    if let Ok(p) = std::env::var("SCHALTER_BIN") {
        return p.into();
    }
    let exe = std::env::current_exe().expect("test executable path");
    let candidate = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join("schalter"))
        .expect("target dir");
    assert!(
        candidate.exists(),
        "{} is missing: run `cargo build -p schalter-server` first (scripts/test does)",
        candidate.display()
    );
    candidate
}

/// Signs staff in at the server at `url` and returns the `Cookie` header value.
pub async fn sign_in(client: &reqwest::Client, url: &str, username: &str, password: &str) -> String {
    let r = client
        .post(format!("{url}/api/auth/login"))
        .json(&serde_json::json!({"username": username, "password": password}))
        .send()
        .await
        .expect("request sent");
    assert_eq!(r.status(), 200, "sign-in of {username}");
    r.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

/// A `schalter serve` child process.
pub struct ServerProcess {
    pub url: String,
    pub child: Child,
    /// What it printed before its "is running" line (e.g. the demo's doors).
    pub printed: Vec<String>,
}

impl ServerProcess {
    pub async fn start(database_url: &str, extra: &[&str]) -> ServerProcess {
        Self::start_with(database_url, extra, |command| {
            command.env("SCHALTER_MASTER_KEY", TEST_MASTER_KEY);
        })
        .await
    }

    /// As [`ServerProcess::start`], but without the tests' master key: `configure` says where
    /// the key comes from (and may set anything else).
    pub async fn start_with(database_url: &str, extra: &[&str], configure: impl FnOnce(&mut Command)) -> ServerProcess {
        let mut command = Command::new(schalter_bin());
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--database-url", database_url])
            .args(extra)
            .env_remove("SCHALTER_MASTER_KEY")
            .env("SCHALTER_ABUSE_PROTECTION", "off")
            .env("SCHALTER_WALK_INS_ANY_HOUR", "on");
        configure(&mut command);
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn schalter");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut printed = Vec::new();
        let url = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.expect("read stdout") {
                if let Some(start) = line.find("is running: http://") {
                    let rest = &line[start + "is running: ".len()..];
                    return rest.split_whitespace().next().unwrap().trim_end_matches('/').to_owned();
                }
                printed.push(line);
            }
            panic!("schalter exited before printing its URL");
        })
        .await
        .expect("schalter prints its URL within 30 s");
        // Whatever it prints later must not meet a closed pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        ServerProcess { url, child, printed }
    }

    /// SIGTERM, as systemd stops a service, and waits until the process has exited.
    pub async fn terminate(self) -> std::process::ExitStatus {
        self.send_sigterm();
        self.exited_within(Duration::from_secs(30)).await
    }

    /// SIGTERM without waiting for the exit.
    pub fn send_sigterm(&self) {
        let pid = self.child.id().expect("running").to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(sent.success());
    }

    /// The exit status, which must come within `limit`.
    pub async fn exited_within(mut self, limit: Duration) -> std::process::ExitStatus {
        tokio::time::timeout(limit, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("the server exits within {limit:?}"))
            .expect("reaped")
    }

    /// SIGKILL: no shutdown hooks, no flushing, like a power cut to the process.
    pub async fn kill9(mut self) {
        self.child.start_kill().expect("kill");
        self.child.wait().await.expect("reaped");
    }
}

/// The status of the answer to `request` and its JSON (`Null` if there is none).
pub async fn status_and_json(request: reqwest::RequestBuilder) -> (u16, Value) {
    let r = request.send().await.expect("request sent");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The JSON an answer to `request` carries (whatever its status).
pub async fn answer_json(request: reqwest::RequestBuilder) -> serde_json::Value {
    request
        .send()
        .await
        .expect("request sent")
        .json()
        .await
        .expect("a JSON answer")
}

/// Runs `schalter ARGS` to completion and returns stdout; fails the test if it fails.
pub fn cli(args: &[&str]) -> String {
    let out = cli_output(args, TEST_MASTER_KEY);
    assert!(
        out.status.success(),
        "schalter {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs `schalter ARGS` with `master_key` (empty: none in the environment) to completion.
pub fn cli_output(args: &[&str], master_key: &str) -> std::process::Output {
    let mut command = std::process::Command::new(schalter_bin());
    command.args(args).env_remove("SCHALTER_MASTER_KEY");
    if !master_key.is_empty() {
        command.env("SCHALTER_MASTER_KEY", master_key);
    }
    command.output().expect("run schalter")
}

/// Imports the demo configuration (`docs/config-example.toml`) as `edit` changes it.
pub fn import_demo_config(database_url: &str, edit: impl FnOnce(String) -> String) {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/config-example.toml");
    let config = edit(std::fs::read_to_string(example).expect("the example configuration"));
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), config).expect("written");
    cli(&[
        "import-config",
        "--database-url",
        database_url,
        file.path().to_str().unwrap(),
    ]);
}

/// `schalter user add`, the password through standard input as an operator would.
pub fn add_user(database_url: &str, name: &str, role: &str, password: &str) {
    use std::io::Write;
    let mut child = std::process::Command::new(schalter_bin())
        .args([
            "user",
            "add",
            "--database-url",
            database_url,
            "--username",
            name,
            "--role",
            role,
            "--password-stdin",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn schalter");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// `schalter device add`; returns the token (the last line of its output).
pub fn add_device(database_url: &str, location: &str, role: &str) -> String {
    let out = cli(&[
        "device",
        "add",
        "--database-url",
        database_url,
        "--location",
        location,
        "--role",
        role,
    ]);
    out.lines().last().expect("a token line").trim().to_owned()
}
