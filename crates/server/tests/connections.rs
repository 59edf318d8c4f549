//! The server on a real socket: a client that never finishes its request headers is dropped
//! after `server.header_read_timeout_secs`; behind a trusted proxy the client's address comes
//! from `X-Forwarded-For`, from anyone else the header is ignored; shutdown returns.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::state_with_core;
use dwt_org::demo::DEMO_PASSWORD;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `raw` and reads until the server closes the connection (or `limit` passes: None).
async fn exchange(addr: std::net::SocketAddr, raw: &[u8], limit: Duration) -> Option<String> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(raw).await.unwrap();
    let mut out = Vec::new();
    let read = tokio::time::timeout(limit, async {
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    read.ok().map(|()| String::from_utf8_lossy(&out).into_owned())
}

/// A running server on an ephemeral loopback port: its address, the shutdown trigger, the task.
type Running = (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<std::io::Result<()>>);

async fn start(state: dwt_server::AppState, settings: dwt_core::config::ServerSettings) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        dwt_server::serve_on(listener, state, &settings, async move {
            let _ = stop_rx.await;
        })
        .await
    });
    (addr, stop_tx, server)
}

fn login_request(forwarded_for: &str) -> Vec<u8> {
    let body = serde_json::json!({"username": "sysadmin", "password": DEMO_PASSWORD}).to_string();
    format!(
        "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nX-Forwarded-For: {forwarded_for}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[tokio::test]
async fn slow_headers_are_cut_off_and_forwarded_addresses_believed_only_from_trusted_proxies() {
    let (_tmp, state, mut settings, core, _) = state_with_core(Default::default()).await;
    settings.server.header_read_timeout_secs = 1;
    settings.server.trusted_proxies = vec!["127.0.0.1".into()];
    let (addr, stop_tx, server) = start(state, settings.server.clone()).await;

    // A complete request is answered.
    let ok = exchange(addr, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", Duration::from_secs(10)).await.expect("answered");
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");

    // Twenty clients that stop half-way through their headers are all dropped, long before
    // the 30 s they would otherwise hold (10 s is the patience here; the limit is 1 s).
    let mut half_open = Vec::new();
    for _ in 0..20 {
        half_open.push(tokio::spawn(exchange(addr, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ", Duration::from_secs(10))));
    }
    for h in half_open {
        let got = h.await.unwrap();
        let text = got.expect("a client that never finished its headers still holds its connection");
        assert!(!text.contains("200 OK"), "{text}");
    }
    // A connection that sends nothing at all is dropped too.
    assert!(exchange(addr, b"", Duration::from_secs(10)).await.is_some(), "an idle connection is held");

    // From loopback (trusted): the forwarded client is the one recorded.
    let resp = exchange(addr, &login_request("6.6.6.6, 198.51.100.20"), Duration::from_secs(10)).await.unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let logins = core.audit.recent(Some("auth.login"), 1).await.unwrap();
    assert_eq!(logins[0].client_ip.as_deref(), Some("198.51.100.20"), "{logins:?}");

    // Shutdown ends the accept loop and returns.
    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(40), server).await.expect("shutdown returns").unwrap().unwrap();
}

#[tokio::test]
async fn without_trusted_proxies_forwarded_headers_are_ignored() {
    let (_tmp, state, settings, core, _) = state_with_core(Default::default()).await;
    assert!(settings.server.trusted_proxies.is_empty(), "nothing is trusted by default");
    let (addr, stop_tx, server) = start(state, settings.server.clone()).await;
    let resp = exchange(addr, &login_request("198.51.100.20"), Duration::from_secs(10)).await.unwrap();
    assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
    let logins = core.audit.recent(Some("auth.login"), 1).await.unwrap();
    assert_eq!(logins[0].client_ip.as_deref(), Some("127.0.0.1"), "{logins:?}");
    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(40), server).await.expect("shutdown returns").unwrap().unwrap();
}
