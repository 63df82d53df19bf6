//! The server's own accept loop, so that nobody can hold it by opening connections and saying
//! nothing: each connection must send a request's headers within the header timeout (also
//! between requests on a kept-alive connection, so idle ones close), and the number of open
//! connections is capped, overall and per client address, with a JSON refusal beyond.
//!
//! Hall screens hold their event stream open for hours on purpose. Once a screen is signed in
//! and its stream starts ([`Connection::hold_as_stream`]), its connection leaves the general
//! count for a budget of its own: idle junk cannot crowd out the screens, and screens cannot
//! crowd out citizens.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt;

use crate::http::error::ApiError;

/// How many connections the server keeps open, and how long it waits for a request.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Open connections that are not hall-screen streams.
    pub max: usize,
    /// Open connections from one address; none for addresses that may be a proxy in front
    /// (loopback, private networks: see `abuse::is_local_proxy`), whose clients it stands for.
    pub per_address: usize,
    /// Hall-screen streams, counted apart from the rest.
    pub streams: usize,
    /// A request's headers must arrive within this; an idle kept-alive connection closes after it.
    pub header_timeout: Duration,
    /// A hall-screen stream ends after this; the screen reconnects and resumes where it was.
    pub stream_lifetime: Duration,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        ConnectionLimits {
            max: 4096,
            per_address: 64,
            streams: 2048,
            header_timeout: Duration::from_secs(10),
            stream_lifetime: Duration::from_secs(30 * 60),
        }
    }
}

impl ConnectionLimits {
    /// Every connection is a file descriptor: the limits shrink to what the process may open
    /// (after raising its soft limit as far as allowed), leaving room for the database, files
    /// and outgoing mail.
    pub fn fitted_to_file_limit(mut self) -> ConnectionLimits {
        const RESERVED: usize = 256;
        let wanted = (self.max + self.streams + RESERVED) as u64;
        let available = raise_file_limit(wanted).saturating_sub(RESERVED as u64) as usize;
        if self.max + self.streams > available {
            let max = available * self.max / (self.max + self.streams);
            tracing::warn!(
                file_limit = available + RESERVED,
                connections = max,
                streams = available - max,
                "the process may open too few files for the configured connection limits; lowered"
            );
            self.streams = available - max;
            self.max = max;
        }
        self
    }
}

/// Raises the soft limit on open files towards `wanted` (never above the hard limit) and
/// returns the limit now in force.
fn raise_file_limit(wanted: u64) -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return wanted;
        }
        if limit.rlim_cur < wanted && limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: wanted.min(limit.rlim_max),
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                return raised.rlim_cur;
            }
        }
    }
    limit.rlim_cur
}

/// The open connections, by kind and address.
pub struct Connections {
    limits: ConnectionLimits,
    open: AtomicUsize,
    streams: AtomicUsize,
    by_address: Mutex<HashMap<IpAddr, usize>>,
}

/// Why a connection was not taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Full,
    AddressFull,
}

impl Connections {
    pub fn new(limits: ConnectionLimits) -> Arc<Connections> {
        Arc::new(Connections {
            limits,
            open: AtomicUsize::new(0),
            streams: AtomicUsize::new(0),
            by_address: Mutex::default(),
        })
    }

    fn admit(self: &Arc<Self>, peer: IpAddr) -> Result<Connection, Refusal> {
        if self.open.fetch_add(1, Ordering::SeqCst) >= self.limits.max {
            self.open.fetch_sub(1, Ordering::SeqCst);
            return Err(Refusal::Full);
        }
        let per_address = !crate::http::abuse::is_local_proxy(peer);
        if per_address {
            let mut by_address = self.by_address.lock().unwrap_or_else(|e| e.into_inner());
            let count = by_address.entry(peer).or_insert(0);
            if *count >= self.limits.per_address {
                drop(by_address);
                self.open.fetch_sub(1, Ordering::SeqCst);
                return Err(Refusal::AddressFull);
            }
            *count += 1;
        }
        metrics::gauge!("schalter_http_connections").increment(1.0);
        Ok(Connection(Arc::new(Slot {
            connections: self.clone(),
            peer,
            per_address,
            stream: AtomicBool::new(false),
        })))
    }

    fn forget_address(&self, peer: IpAddr) {
        let mut by_address = self.by_address.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = by_address.get_mut(&peer) {
            *count -= 1;
            if *count == 0 {
                by_address.remove(&peer);
            }
        }
    }
}

struct Slot {
    connections: Arc<Connections>,
    peer: IpAddr,
    per_address: bool,
    stream: AtomicBool,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let c = &self.connections;
        if self.stream.load(Ordering::SeqCst) {
            c.streams.fetch_sub(1, Ordering::SeqCst);
            metrics::gauge!("schalter_http_stream_connections").decrement(1.0);
        } else {
            c.open.fetch_sub(1, Ordering::SeqCst);
            metrics::gauge!("schalter_http_connections").decrement(1.0);
            if self.per_address {
                c.forget_address(self.peer);
            }
        }
    }
}

/// The connection a request came on (a request extension).
#[derive(Clone)]
pub struct Connection(Arc<Slot>);

impl Connection {
    /// Moves this connection from the general count to the hall screens' own, for a stream
    /// that stays open as long as the returned lifetime. 503 when the screens' budget is used up.
    pub fn hold_as_stream(&self) -> Result<Duration, ApiError> {
        let slot = &self.0;
        let c = &slot.connections;
        if slot.stream.load(Ordering::SeqCst) {
            return Ok(c.limits.stream_lifetime);
        }
        if c.streams.fetch_add(1, Ordering::SeqCst) >= c.limits.streams {
            c.streams.fetch_sub(1, Ordering::SeqCst);
            return Err(ApiError::Overloaded {
                status: StatusCode::SERVICE_UNAVAILABLE,
                code: "too_many_streams",
                message: "this server holds as many hall-screen streams as it may; please try again later",
            });
        }
        slot.stream.store(true, Ordering::SeqCst);
        c.open.fetch_sub(1, Ordering::SeqCst);
        metrics::gauge!("schalter_http_connections").decrement(1.0);
        metrics::gauge!("schalter_http_stream_connections").increment(1.0);
        if slot.per_address {
            c.forget_address(slot.peer);
        }
        Ok(c.limits.stream_lifetime)
    }
}

/// Refusals being written at once; beyond, a refused connection is just closed.
const REFUSALS_IN_FLIGHT: usize = 256;

/// Serves `router` on `listener` until `stop` turns true, then lets open connections finish.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    connections: Arc<Connections>,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(connections.limits.header_timeout);
    // A body that stops arriving holds its connection as a missing header would.
    let router = router.layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
        connections.limits.header_timeout,
    ));
    let refusing = Arc::new(AtomicUsize::new(0));
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, most likely: wait for some to close rather
                    // than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = async { let _ = stop.wait_for(|stopped| *stopped).await; } => break,
        };
        let connection = match connections.admit(peer.ip()) {
            Ok(connection) => connection,
            Err(refusal) => {
                metrics::counter!("schalter_http_connections_refused_total",
                    "reason" => if refusal == Refusal::Full { "full" } else { "address" })
                .increment(1);
                if refusing.fetch_add(1, Ordering::SeqCst) < REFUSALS_IN_FLIGHT {
                    let refusing = refusing.clone();
                    tokio::spawn(async move {
                        refuse(stream, refusal).await;
                        refusing.fetch_sub(1, Ordering::SeqCst);
                    });
                } else {
                    refusing.fetch_sub(1, Ordering::SeqCst);
                }
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service = router
            .clone()
            .map_request(move |mut request: axum::extract::Request<_>| {
                request.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                request.extensions_mut().insert(connection.clone());
                request
            });
        let serving = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let serving = graceful.watch(serving);
        tokio::spawn(async move {
            // A client that went away or never spoke: nothing to report.
            let _ = serving.await;
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// Answers the first request on a refused connection with a JSON error and closes it.
async fn refuse(stream: TcpStream, refusal: Refusal) {
    let error = match refusal {
        Refusal::Full => ApiError::Overloaded {
            status: StatusCode::SERVICE_UNAVAILABLE,
            code: "too_many_connections",
            message: "the server holds as many connections as it may; please try again shortly",
        },
        Refusal::AddressFull => ApiError::Overloaded {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: "too_many_connections",
            message: "too many open connections from this address; close some and try again",
        },
    };
    let response = std::sync::Mutex::new(Some(error.into_response()));
    let service = hyper::service::service_fn(move |_request| {
        let response = response.lock().unwrap_or_else(|e| e.into_inner()).take();
        async move {
            Ok::<_, std::convert::Infallible>(
                response.unwrap_or_else(|| StatusCode::SERVICE_UNAVAILABLE.into_response()),
            )
        }
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(2))
        .keep_alive(false);
    let _ = tokio::time::timeout(
        Duration::from_secs(3),
        http.serve_connection(TokioIo::new(stream), service),
    )
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max: usize, per_address: usize, streams: usize) -> ConnectionLimits {
        ConnectionLimits {
            max,
            per_address,
            streams,
            ..ConnectionLimits::default()
        }
    }

    #[test]
    fn one_public_address_gets_its_share_and_gives_it_back() {
        let connections = Connections::new(limits(100, 3, 10));
        let citizen: IpAddr = "203.0.113.5".parse().unwrap();
        let held: Vec<_> = (0..3).map(|_| connections.admit(citizen).unwrap()).collect();
        assert_eq!(connections.admit(citizen).err(), Some(Refusal::AddressFull));
        assert!(
            connections.admit("198.51.100.1".parse().unwrap()).is_ok(),
            "others are not affected"
        );
        drop(held);
        assert!(connections.admit(citizen).is_ok());
        assert!(
            connections.by_address.lock().unwrap().len() <= 1,
            "closed addresses are forgotten"
        );
    }

    #[test]
    fn a_proxy_speaks_for_many_and_only_the_total_caps_it() {
        let connections = Connections::new(limits(5, 1, 10));
        let proxy: IpAddr = "127.0.0.1".parse().unwrap();
        let held: Vec<_> = (0..5).map(|_| connections.admit(proxy).unwrap()).collect();
        assert_eq!(connections.admit(proxy).err(), Some(Refusal::Full));
        assert_eq!(
            connections.admit("203.0.113.5".parse().unwrap()).err(),
            Some(Refusal::Full)
        );
        drop(held);
        assert_eq!(connections.open.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_hall_screen_leaves_the_general_count_for_its_own() {
        let connections = Connections::new(limits(2, 1, 1));
        let screen_address: IpAddr = "203.0.113.9".parse().unwrap();
        let screen = connections.admit(screen_address).unwrap();
        screen.hold_as_stream().unwrap();
        screen.hold_as_stream().unwrap();
        assert_eq!(connections.open.load(Ordering::SeqCst), 0);
        assert_eq!(connections.streams.load(Ordering::SeqCst), 1);
        // Its address and the general budget are free again; the screens' budget is not.
        let other = connections.admit(screen_address).unwrap();
        let second = connections.admit("203.0.113.10".parse().unwrap()).unwrap();
        assert!(matches!(
            second.hold_as_stream(),
            Err(ApiError::Overloaded {
                code: "too_many_streams",
                ..
            })
        ));
        drop((screen, other, second));
        assert_eq!(
            (
                connections.open.load(Ordering::SeqCst),
                connections.streams.load(Ordering::SeqCst)
            ),
            (0, 0)
        );
    }
}
