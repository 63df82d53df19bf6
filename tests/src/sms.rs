//! A local SMS gateway: real HTTP on port 0, speaking Schalter's generic gateway contract
//! (`POST` JSON `{"id","to","from","text"}`), keeping every message it accepts. It can be told
//! to refuse (503) to show failures to admins.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::Value;

/// One request as the gateway saw it.
#[derive(Debug, Clone)]
pub struct Received {
    pub body: Value,
    pub authorization: Option<String>,
    pub idempotency_key: Option<String>,
}

#[derive(Default)]
struct Inner {
    received: Mutex<Vec<Received>>,
    refuse: AtomicBool,
}

pub struct SmsSink {
    pub url: String,
    inner: Arc<Inner>,
    task: tokio::task::JoinHandle<()>,
}

impl SmsSink {
    pub async fn start() -> SmsSink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/messages", listener.local_addr().unwrap());
        let inner: Arc<Inner> = Arc::default();
        let app = Router::new().route("/messages", post(accept)).with_state(inner.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        SmsSink { url, inner, task }
    }

    /// From now on answer 503 (a gateway that is down) instead of accepting.
    pub fn refuse(&self, refuse: bool) {
        self.inner.refuse.store(refuse, Ordering::SeqCst);
    }

    /// Accepted messages, in arrival order.
    pub fn received(&self) -> Vec<Received> {
        self.inner.received.lock().unwrap().clone()
    }

    /// Waits until at least `n` messages were accepted (or `wait` passed) and returns all.
    pub async fn wait_for(&self, n: usize, wait: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + wait;
        while self.received().len() < n && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.received()
    }
}

impl Drop for SmsSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept(State(inner): State<Arc<Inner>>, headers: HeaderMap, Json(body): Json<Value>) -> StatusCode {
    if inner.refuse.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    inner.received.lock().unwrap().push(Received {
        body,
        authorization: header("authorization"),
        idempotency_key: header("idempotency-key"),
    });
    StatusCode::ACCEPTED
}
