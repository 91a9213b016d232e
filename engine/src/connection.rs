//! Which TCP connection a request came on, and its number on it.
//!
//! The server accepts connections with [`Connection`] as their connect info
//! (instead of a bare `SocketAddr`), and [`number_requests`] stamps every
//! request with a [`RequestOnConnection`]. The inspector puts both in the
//! trace, so a student sees keep-alive reuse and HTTP/2's one connection.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, Request};
use axum::http::Extensions;
use axum::serve::{IncomingStream, Listener};
use tokio::net::TcpListener;

/// The client's address as a trusted proxy gave it, on requests whose
/// connection came through one (the middleware of `--trusted-proxy`
/// notes it; [`Connection::client_ip`] reads it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForwardedClient(pub IpAddr);

/// Connections accepted by this process; ids start at 1.
static ACCEPTED: AtomicU64 = AtomicU64::new(0);

/// One accepted TCP connection: who is on the other end, and how many
/// requests have arrived on it so far.
#[derive(Clone, Debug)]
pub struct Connection {
    /// The peer's address and port.
    pub peer: SocketAddr,
    /// This process's number for the connection, from 1.
    pub id: u64,
    requests: Arc<AtomicU64>,
}

impl Connection {
    /// A connection from `peer`, given the next id.
    pub fn accepted(peer: SocketAddr) -> Self {
        Self {
            peer,
            id: ACCEPTED.fetch_add(1, Ordering::Relaxed) + 1,
            requests: Arc::default(),
        }
    }

    /// The peer address of the connection a request came on, or
    /// `0.0.0.0` where there is none (a router called without a listener).
    pub fn peer_ip(extensions: &Extensions) -> IpAddr {
        extensions
            .get::<ConnectInfo<Connection>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.peer.ip())
    }

    /// The client a request came from: the peer, or behind a trusted
    /// proxy the address it forwarded for. Limits per address count this
    /// one.
    pub fn client_ip(extensions: &Extensions) -> IpAddr {
        extensions
            .get::<ForwardedClient>()
            .map_or_else(|| Self::peer_ip(extensions), |client| client.0)
    }

    /// Counts one more request on this connection and returns its number.
    fn next_request(&self) -> u64 {
        self.requests.fetch_add(1, Ordering::Relaxed) + 1
    }
}

impl Connected<IncomingStream<'_, TcpListener>> for Connection {
    fn connect_info(stream: IncomingStream<'_, TcpListener>) -> Self {
        Self::accepted(*stream.remote_addr())
    }
}

impl Connected<IncomingStream<'_, NoDelay>> for Connection {
    fn connect_info(stream: IncomingStream<'_, NoDelay>) -> Self {
        Self::accepted(*stream.remote_addr())
    }
}

/// A TCP listener that turns Nagle's algorithm off on every connection it
/// accepts.
///
/// HTTP/2 writes an answer's HEADERS and DATA frames separately; with
/// Nagle's algorithm on, the second small write waits for the client's
/// delayed acknowledgement, about 40 ms on Linux, and the streams answered
/// after the first pay it.
pub struct NoDelay(pub TcpListener);

impl Listener for NoDelay {
    type Io = tokio::net::TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, peer) = Listener::accept(&mut self.0).await;
        if let Err(error) = stream.set_nodelay(true) {
            tracing::debug!(%error, "could not turn Nagle's algorithm off");
        }
        (stream, peer)
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.0.local_addr()
    }
}

/// Where a request stands on its connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestOnConnection {
    /// The connection's id ([`Connection::id`]).
    pub connection: u64,
    /// 1 for the first request on the connection, 2 for the next (keep-alive
    /// reuse on HTTP/1.1, another stream on HTTP/2), and so on.
    pub number: u64,
}

/// Stamps the request with its [`RequestOnConnection`]; runs once per
/// request, outside every router, so pages and assets count too.
pub async fn number_requests(mut request: Request) -> Request {
    let stamp = request
        .extensions()
        .get::<ConnectInfo<Connection>>()
        .map(|c| RequestOnConnection {
            connection: c.0.id,
            number: c.0.next_request(),
        });
    if let Some(stamp) = stamp {
        request.extensions_mut().insert(stamp);
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn requests_are_numbered_per_connection() {
        let first = Connection::accepted(([127, 0, 0, 1], 4000).into());
        let second = Connection::accepted(([127, 0, 0, 1], 4001).into());
        assert!(second.id > first.id);
        let stamp = |connection: &Connection| {
            let mut request = Request::new(axum::body::Body::empty());
            request
                .extensions_mut()
                .insert(ConnectInfo(connection.clone()));
            async move {
                *number_requests(request)
                    .await
                    .extensions()
                    .get::<RequestOnConnection>()
                    .unwrap()
            }
        };
        assert_eq!(stamp(&first).await.number, 1);
        assert_eq!(stamp(&first).await.number, 2);
        let on_second = stamp(&second).await;
        assert_eq!((on_second.connection, on_second.number), (second.id, 1));
        assert_eq!(
            Connection::peer_ip(&Extensions::new()),
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        );
    }
}
