//! The client's address behind a reverse proxy. Only a peer listed in `server.trusted_proxies`
//! may say who the client is (`X-Forwarded-For`, else `X-Real-IP`); anyone else's headers are
//! ignored, so a client cannot pick the address its SMS rate limits and audit entries count.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;

/// The address requests are attributed to (rate limits, audit log), set for every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// The proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Addresses (`10.0.0.5`) or networks (`10.0.0.0/8`, `::1/128`).
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let mut nets = Vec::new();
        for entry in entries {
            let e = entry.trim();
            let net = e.parse::<IpNet>().or_else(|_| e.parse::<IpAddr>().map(IpNet::from)).map_err(|_| format!("server.trusted_proxies 中的「{entry}」不是 IP 地址或网段"))?;
            nets.push(net);
        }
        Ok(Self(nets))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client behind `peer`: the right-most forwarded address that is not itself a trusted
    /// proxy (entries further left were written by the client and prove nothing).
    pub fn client(&self, peer: IpAddr, forwarded_for: Option<&str>, real_ip: Option<&str>) -> IpAddr {
        if !self.trusts(peer) {
            return canonical(peer);
        }
        if let Some(list) = forwarded_for {
            let mut last = None;
            for hop in list.rsplit(',') {
                let Some(ip) = parse_hop(hop) else { break };
                last = Some(ip);
                if !self.trusts(ip) {
                    return ip;
                }
            }
            if let Some(ip) = last {
                return ip;
            }
        }
        real_ip.and_then(parse_hop).unwrap_or(canonical(peer))
    }
}

/// One address as proxies write it (`203.0.113.7`, `[2001:db8::1]:443`, `203.0.113.7:5000`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let h = hop.trim();
    if let Ok(ip) = h.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    h.parse::<SocketAddr>().ok().map(|s| canonical(s.ip()))
}

/// `::ffff:10.0.0.1` is `10.0.0.1`.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// Middleware: records [`ClientAddr`] for the request (when the connection's address is known).
pub async fn resolve(State(trusted): State<Arc<TrustedProxies>>, mut req: Request, next: Next) -> Response {
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
        let client = trusted.client(peer.ip(), header("x-forwarded-for"), header("x-real-ip"));
        req.extensions_mut().insert(ClientAddr(client));
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|e| unreachable!("{s}: {e}"))
    }

    #[test]
    fn only_trusted_peers_name_the_client() {
        let t = TrustedProxies::parse(&["127.0.0.1".into(), "10.0.0.0/8".into()]).unwrap_or_default();
        // Untrusted peer: its headers are ignored.
        assert_eq!(t.client(ip("203.0.113.9"), Some("1.2.3.4"), Some("5.6.7.8")), ip("203.0.113.9"));
        // nginx on loopback: the client it saw.
        assert_eq!(t.client(ip("127.0.0.1"), Some("198.51.100.20"), None), ip("198.51.100.20"));
        // A client-forged entry on the left is skipped; the right-most untrusted hop wins.
        assert_eq!(t.client(ip("127.0.0.1"), Some("6.6.6.6, 198.51.100.20, 10.1.2.3"), None), ip("198.51.100.20"));
        // X-Real-IP when there is no X-Forwarded-For; ports and mapped addresses normalised.
        assert_eq!(t.client(ip("10.9.9.9"), None, Some("198.51.100.21:5555")), ip("198.51.100.21"));
        assert_eq!(t.client(ip("::ffff:127.0.0.1"), Some("[2001:db8::7]:443"), None), ip("2001:db8::7"));
        // Garbage in the header: the proxy itself.
        assert_eq!(t.client(ip("127.0.0.1"), Some("nonsense"), None), ip("127.0.0.1"));
        // Nothing trusted (the default): always the peer.
        assert_eq!(TrustedProxies::default().client(ip("127.0.0.1"), Some("1.2.3.4"), None), ip("127.0.0.1"));
    }

    #[test]
    fn bad_entries_are_refused_in_chinese() {
        let e = TrustedProxies::parse(&["10.0.0.0/33".into()]).err().unwrap_or_default();
        assert!(e.contains("不是 IP 地址或网段"), "{e}");
    }
}
