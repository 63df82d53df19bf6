//! A local SMTP sink: a real SMTP conversation (greeting, EHLO, MAIL, RCPT, DATA, QUIT) that
//! keeps every message it accepts, or, while it is down, turns every connection away with `421`
//! as a mail server in maintenance does; and a "black hole" that accepts connections and never
//! answers (a mail server that hangs, to kill the sender mid-send).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

pub struct SmtpSink {
    pub url: String,
    messages: Arc<Mutex<Vec<String>>>,
    down: Arc<AtomicBool>,
    turned_away: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("smtp://{}", listener.local_addr().unwrap());
        let messages: Arc<Mutex<Vec<String>>> = Arc::default();
        let down: Arc<AtomicBool> = Arc::default();
        let turned_away: Arc<AtomicUsize> = Arc::default();
        let (kept, is_down, counted) = (messages.clone(), down.clone(), turned_away.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                if is_down.load(Ordering::SeqCst) {
                    counted.fetch_add(1, Ordering::SeqCst);
                    let _ = socket.write_all(b"421 sink.test service not available\r\n").await;
                    continue;
                }
                let kept = kept.clone();
                tokio::spawn(async move {
                    let _ = converse(socket, kept).await;
                });
            }
        });
        SmtpSink {
            url,
            messages,
            down,
            turned_away,
            task,
        }
    }

    /// Down: every connection is answered `421` and closed; up: messages are accepted again.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// How many connections were turned away while down.
    pub fn turned_away(&self) -> usize {
        self.turned_away.load(Ordering::SeqCst)
    }

    pub fn messages(&self) -> Vec<String> {
        self.messages.lock().unwrap().clone()
    }

    /// Waits until at least `n` messages arrived (or `wait` passed) and returns all of them.
    pub async fn wait_for(&self, n: usize, wait: Duration) -> Vec<String> {
        let deadline = tokio::time::Instant::now() + wait;
        while self.messages().len() < n && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.messages()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn converse(socket: tokio::net::TcpStream, kept: Arc<Mutex<Vec<String>>>) -> std::io::Result<()> {
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    write.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    while let Some(line) = lines.next_line().await? {
        let verb = line.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        match verb.as_str() {
            "EHLO" | "HELO" => write.write_all(b"250-sink.test\r\n250 8BITMIME\r\n").await?,
            "MAIL" | "RCPT" | "RSET" | "NOOP" => write.write_all(b"250 OK\r\n").await?,
            "DATA" => {
                write.write_all(b"354 go ahead\r\n").await?;
                let mut message = String::new();
                while let Some(l) = lines.next_line().await? {
                    if l == "." {
                        break;
                    }
                    message.push_str(l.strip_prefix('.').unwrap_or(&l));
                    message.push_str("\r\n");
                }
                kept.lock().unwrap().push(message);
                write.write_all(b"250 queued\r\n").await?;
            }
            "QUIT" => {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            }
            _ => write.write_all(b"502 not implemented\r\n").await?,
        }
    }
    Ok(())
}

/// Accepts connections and never says a word: a sender talking to it hangs.
pub async fn black_hole() -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("smtp://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (url, task)
}

/// The message with its base64 and quoted-printable parts decoded, for searching its text.
pub fn decoded(raw: &str) -> String {
    let mut out = String::new();
    let mut encoding: Option<String> = None;
    let mut mode: Option<String> = None;
    let mut chunk = String::new();
    let flush = |mode: &Option<String>, chunk: &mut String, out: &mut String| {
        match mode.as_deref() {
            Some("base64") => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(chunk.replace(['\r', '\n'], ""))
                    .unwrap_or_default();
                out.push_str(&String::from_utf8_lossy(&bytes));
            }
            Some("quoted-printable") => out.push_str(&quoted_printable(chunk)),
            _ => out.push_str(chunk),
        }
        chunk.clear();
    };
    for line in raw.split("\r\n") {
        if line.starts_with("--") {
            flush(&mode, &mut chunk, &mut out);
            mode = None;
            out.push_str(line);
            out.push('\n');
            continue;
        }
        if mode.is_none() {
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-transfer-encoding:") {
                encoding = Some(value.trim().to_owned());
            }
            if line.is_empty() && encoding.is_some() {
                mode = encoding.take();
                continue;
            }
            out.push_str(line);
            out.push('\n');
        } else {
            chunk.push_str(line);
            chunk.push('\n');
        }
    }
    flush(&mode, &mut chunk, &mut out);
    out
}

fn quoted_printable(text: &str) -> String {
    let joined = text.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
