//! Connections that say nothing cannot hold the server: 2,000 of them left half-sent while
//! the health check keeps answering, a hall screen keeps getting its calls, and all of them are
//! closed after the header timeout; beyond the cap a connection gets a JSON refusal.

use std::time::{Duration, Instant};

use schalter_server::http::connections::ConnectionLimits;
use schalter_tests::app::{add_device, add_user};
use schalter_tests::sse::SseStream;
use schalter_tests::{spawn_app, TestApp, TestDb};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const IDLE: usize = 2_000;
const HEADER_TIMEOUT: Duration = Duration::from_secs(3);

/// A server (SQLite, demo office) with `limits`, and its address for raw connections.
async fn serving(limits: ConnectionLimits) -> (TestApp, String) {
    let app = spawn_app(TestDb::sqlite().await).connections(limits).start().await;
    let addr = app.url.trim_start_matches("http://").to_owned();
    (app, addr)
}

/// Opens a connection and sends the start of a request, never its end.
async fn half_sent(addr: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.expect("connects");
    stream.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
    stream
}

/// Whether the server closed `stream` within `wait` (end of file or a reset).
async fn closed_by_server(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buffer = [0u8; 512];
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // Whatever hyper says before closing (a 408) is fine; keep reading to the end.
            Ok(Ok(_)) => continue,
            Err(_) => return false,
        }
    }
}

/// Milliseconds for each of `n` health checks, each on a new connection.
async fn health_times(app: &TestApp, n: usize) -> Vec<f64> {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let client = reqwest::Client::new();
        let started = Instant::now();
        let r = client.get(format!("{}/api/health", app.url)).send().await.unwrap();
        assert_eq!(r.status(), 200);
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    times
}

/// A hall screen's token, a kiosk's token and a clerk's session at the open counter 1.
async fn hall(app: &TestApp) -> (String, String, String) {
    let display = add_device(&app.db.url, "buergerbuero", "display");
    let kiosk = add_device(&app.db.url, "buergerbuero", "kiosk");
    add_user(&app.db.url, "anna", "desk", "counter-one-2026");
    let anna = app.sign_in("anna", "counter-one-2026").await;
    app.open_counter(&anna, "buergerbuero-1").await;
    (display, kiosk, anna)
}

async fn call_one(app: &TestApp, kiosk: &str, cookie: &str) {
    let r = app
        .client
        .post(format!("{}/api/locations/buergerbuero/tickets", app.url))
        .header("authorization", format!("Bearer {kiosk}"))
        .json(&json!({"service": "personalausweis"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let r = app
        .client
        .post(format!("{}/api/counters/buergerbuero-1/call-next", app.url))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_cannot_hold_the_server() {
    let app = spawn_app(TestDb::sqlite().await)
        .connections(ConnectionLimits {
            header_timeout: HEADER_TIMEOUT,
            ..ConnectionLimits::default()
        })
        .start()
        .await;
    let (display, kiosk, anna) = hall(&app).await;
    let mut screen = SseStream::open(app.client.get(format!(
        "{}/api/locations/buergerbuero/display/stream?token={display}",
        app.url
    )))
    .await;
    assert_eq!(screen.next(HEADER_TIMEOUT).await.expect("snapshot").event, "snapshot");

    let addr = app.url.trim_start_matches("http://").to_owned();
    let opened = Instant::now();
    let mut idle = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        idle.push(half_sent(&addr).await);
    }
    let opening = opened.elapsed();
    let last_opened = Instant::now();
    // All of them are still open: the health check and the screen must get through anyway.
    let times = health_times(&app, 20).await;
    let median = times[times.len() / 2];
    println!(
        "{IDLE} idle connections opened in {} ms; /api/health with them open: median {median:.1} ms, \
         slowest {:.1} ms of {}",
        opening.as_millis(),
        times[times.len() - 1],
        times.len()
    );
    assert!(
        median < 100.0,
        "health answers while idle connections are held: {times:?}"
    );
    call_one(&app, &kiosk, &anna).await;
    let call = screen
        .next_named("call", HEADER_TIMEOUT)
        .await
        .expect("the screen still gets calls");
    assert_eq!(call.json()["counter"], "1");

    // After the header timeout, every one of them has been closed by the server.
    let mut closed = 0;
    for stream in &mut idle {
        if closed_by_server(stream, HEADER_TIMEOUT * 2).await {
            closed += 1;
        }
    }
    println!(
        "{closed} of {IDLE} closed by the server within {} ms of the last being opened (header timeout {} s)",
        last_opened.elapsed().as_millis(),
        HEADER_TIMEOUT.as_secs()
    );
    assert_eq!(closed, IDLE);

    // The screen's stream outlived the timeout (it is long-lived on purpose) and still works.
    call_one(&app, &kiosk, &anna).await;
    assert!(screen.next_named("call", HEADER_TIMEOUT).await.is_some());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_alive_connection_closes_when_idle() {
    let (app, addr) = serving(ConnectionLimits {
        header_timeout: Duration::from_secs(1),
        ..ConnectionLimits::default()
    })
    .await;
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(b"GET /api/health HTTP/1.1\r\nhost: schalter\r\n\r\n")
        .await
        .unwrap();
    let mut answer = [0u8; 1024];
    let n = stream.read(&mut answer).await.unwrap();
    assert!(
        answer[..n].starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer[..n])
    );
    let started = Instant::now();
    assert!(closed_by_server(&mut stream, Duration::from_secs(5)).await);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "not before the timeout"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_cap_a_connection_is_refused_with_json() {
    let (app, addr) = serving(ConnectionLimits {
        max: 10,
        ..ConnectionLimits::default()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..10 {
        held.push(half_sent(&addr).await);
    }
    let refused = reqwest::Client::new()
        .get(format!("{}/api/health", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "5");
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"], "too_many_connections");
    // One closes; the next gets through.
    drop(held.pop());
    let mut answered = None;
    for _ in 0..50 {
        let r = reqwest::Client::new()
            .get(format!("{}/api/health", app.url))
            .send()
            .await
            .unwrap();
        if r.status() == 200 {
            answered = Some(r.status());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(answered.map(|s| s.as_u16()), Some(200));
    drop(held);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stops_coming_does_not_hold_the_connection() {
    let (app, addr) = serving(ConnectionLimits {
        header_timeout: Duration::from_secs(1),
        ..ConnectionLimits::default()
    })
    .await;
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(
            b"POST /api/feedback HTTP/1.1\r\nhost: schalter\r\ncontent-type: application/json\r\n\
              content-length: 200\r\n\r\n{\"rating\": 5,",
        )
        .await
        .unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "closed within the timeout and some slack");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "not before the timeout"
    );
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        !answer.starts_with("HTTP/1.1 5"),
        "a stalled body is no server error: {answer}"
    );
    app.stop().await;
}

/// A hall-screen stream ends after its lifetime (so screens move to restarted or added
/// servers); the screen comes back with its `Last-Event-ID` and gets the call it missed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hall_screen_stream_ends_after_its_lifetime_and_resumes() {
    let app = spawn_app(TestDb::sqlite().await)
        .connections(ConnectionLimits {
            stream_lifetime: Duration::from_millis(500),
            ..ConnectionLimits::default()
        })
        .start()
        .await;
    let (display, kiosk, anna) = hall(&app).await;
    let url = format!("{}/api/locations/buergerbuero/display/stream?token={display}", app.url);
    let mut screen = SseStream::open(app.client.get(&url)).await;
    let snapshot = screen.next(HEADER_TIMEOUT).await.expect("snapshot");
    let opened = Instant::now();
    assert!(screen.next(Duration::from_secs(10)).await.is_none());
    let lasted = opened.elapsed();
    assert!(
        lasted < Duration::from_secs(5),
        "the stream ended by itself: {lasted:?}"
    );

    call_one(&app, &kiosk, &anna).await;
    let mut screen = SseStream::open(app.client.get(&url).header("last-event-id", snapshot.id.unwrap())).await;
    let missed = screen
        .next_named("call", HEADER_TIMEOUT)
        .await
        .expect("the missed call");
    assert_eq!(missed.json()["number"], "A-001");
    app.stop().await;
}
