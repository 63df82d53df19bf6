//! A minimal Server-Sent Events reader over reqwest, for the hall-screen stream: enough of the
//! format (event, id, data lines, blank line ends an event; comments ignored) to test it.

use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;

#[derive(Debug, Clone)]
pub struct SseEvent {
    pub event: String,
    pub id: Option<String>,
    pub data: String,
}

impl SseEvent {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).expect("event data is JSON")
    }
}

/// The ticket numbers a hall-screen snapshot shows as called, newest first.
pub fn called_numbers(snapshot: &Value) -> Vec<&str> {
    snapshot["calls"]
        .as_array()
        .expect("a snapshot lists its calls")
        .iter()
        .map(|c| c["number"].as_str().expect("each call has a number"))
        .collect()
}

pub struct SseStream {
    body: futures::stream::BoxStream<'static, reqwest::Result<Vec<u8>>>,
    buffer: String,
    /// Everything received, for checks over the whole feed (e.g. no personal data).
    pub raw: String,
}

impl SseStream {
    /// Opens the stream; panics unless the server answers 200 with `text/event-stream`.
    pub async fn open(request: reqwest::RequestBuilder) -> SseStream {
        let response = request.send().await.expect("stream request sent");
        assert_eq!(response.status(), 200, "stream opened");
        let kind = response.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(kind.starts_with("text/event-stream"), "{kind}");
        SseStream {
            body: response.bytes_stream().map(|r| r.map(|b| b.to_vec())).boxed(),
            buffer: String::new(),
            raw: String::new(),
        }
    }

    /// The next event, or None if none arrives within `wait`.
    pub async fn next(&mut self, wait: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = SseEvent {
                    event: "message".into(),
                    id: None,
                    data: String::new(),
                };
                let mut has_data = false;
                for line in block.lines() {
                    let (field, value) = line.split_once(':').unwrap_or((line, ""));
                    let value = value.strip_prefix(' ').unwrap_or(value);
                    match field {
                        "event" => event.event = value.to_owned(),
                        "id" => event.id = Some(value.to_owned()),
                        "data" => {
                            if has_data {
                                event.data.push('\n');
                            }
                            event.data.push_str(value);
                            has_data = true;
                        }
                        _ => {}
                    }
                }
                if has_data {
                    return Some(event);
                }
                continue;
            }
            let chunk = tokio::time::timeout_at(deadline, self.body.next()).await.ok()??;
            let text = String::from_utf8_lossy(&chunk.expect("stream readable")).replace("\r\n", "\n");
            self.raw.push_str(&text);
            self.buffer.push_str(&text);
        }
    }

    /// Skips events until one named `name` arrives (or `wait` passes).
    pub async fn next_named(&mut self, name: &str, wait: Duration) -> Option<SseEvent> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let event = self.next(left).await?;
            if event.event == name {
                return Some(event);
            }
        }
    }
}
