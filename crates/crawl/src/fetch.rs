//! Polite, bounded HTTP: robots.txt (cached), one identifying User-Agent, a per-host gap and
//! concurrency limit, conditional GET, retries with backoff and jitter on 5xx/timeouts only,
//! a body size cap, a redirect limit, and charset detection (GBK/GB18030 sites) into UTF-8.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dwt_core::config::CrawlSettings;
use encoding_rs::{Encoding, GB18030, UTF_8};
use rand::Rng;
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE, ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED, LOCATION};
use reqwest::StatusCode;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use url::Url;

/// How hard a source may hit one host.
#[derive(Debug, Clone, Copy)]
pub struct Politeness {
    pub interval: Duration,
    pub concurrency: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Fetched {
    Page(Page),
    /// 304: what we stored is current.
    NotModified,
    /// 404/410: the page is gone.
    Gone { status: u16 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub url: Url,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub content_type: Option<String>,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FetchError {
    #[error("robots.txt 不允许抓取该网址")]
    Robots,
    #[error("服务器返回 HTTP {0}")]
    Status(u16),
    #[error("请求超时")]
    Timeout,
    #[error("无法连接：{0}")]
    Connect(String),
    #[error("页面过大（超过 {0} 字节）")]
    TooLarge(u64),
    #[error("重定向次数过多")]
    Redirects,
    #[error("拒绝跳转到内网地址：{0}")]
    InternalRedirect(String),
    #[error("拒绝访问内网地址：{0}（确需抓取政务外网等内网站点时，请在配置中开启 crawl.allow_internal_hosts）")]
    InternalTarget(String),
    #[error("请求失败：{0}")]
    Other(String),
}

impl FetchError {
    pub fn code(&self) -> &'static str {
        match self {
            FetchError::Robots => "crawl.robots_disallowed",
            FetchError::Status(_) => "crawl.http_status",
            FetchError::Timeout => "crawl.timeout",
            FetchError::Connect(_) => "crawl.connect",
            FetchError::TooLarge(_) => "crawl.too_large",
            FetchError::Redirects => "crawl.redirect_loop",
            FetchError::InternalRedirect(_) => "crawl.internal_redirect",
            FetchError::InternalTarget(_) => "crawl.internal_address",
            FetchError::Other(_) => "crawl.request",
        }
    }

    fn retryable(&self) -> bool {
        match self {
            // 4xx, 429 included, is the server's answer: not retried within the run.
            FetchError::Status(s) => *s >= 500,
            FetchError::Timeout | FetchError::Connect(_) => true,
            _ => false,
        }
    }
}

struct HostGate {
    permits: Arc<Semaphore>,
    next: tokio::sync::Mutex<Instant>,
}

enum Robots {
    AllowAll,
    DisallowAll,
    Rules(Box<texting_robots::Robot>),
}

struct RobotsEntry {
    robots: Arc<Robots>,
    fetched: Instant,
}

const ROBOTS_TTL: Duration = Duration::from_secs(6 * 3600);
/// An unreachable robots.txt blocks the host for this long before it is asked again.
const ROBOTS_RETRY: Duration = Duration::from_secs(10 * 60);
/// RFC 9309: follow at least five redirects for robots.txt.
const ROBOTS_REDIRECTS: usize = 5;

/// One origin's robots.txt; its own lock, so fetching it never holds up other hosts.
type RobotsSlot = Arc<tokio::sync::Mutex<Option<RobotsEntry>>>;

pub struct Fetcher {
    client: reqwest::Client,
    agent_token: String,
    settings: CrawlSettings,
    hosts: Mutex<HashMap<String, Arc<HostGate>>>,
    robots: Mutex<HashMap<String, RobotsSlot>>,
}

fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

/// Politeness is per server: `http://` and `https://` links to one host share its gap.
fn host_key(url: &Url) -> String {
    url.host_str().unwrap_or_default().to_ascii_lowercase()
}

/// A host that is not a public address: `localhost` names and every non-public IP literal (the
/// URL parser has already turned 0x7f000001, 2130706433, 127.1 and 0177.0.0.1 into 127.0.0.1).
/// Other names are checked when they resolve ([`PublicResolver`]).
pub fn internal_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        Some(url::Host::Ipv4(ip)) => !dwt_core::net::is_public_ip(ip.into()),
        Some(url::Host::Ipv6(ip)) => !dwt_core::net::is_public_ip(ip.into()),
        None => true,
    }
}

/// The URL without `user:password@` (never sent, never stored).
pub fn without_credentials(url: &Url) -> Url {
    let mut u = url.clone();
    if !u.username().is_empty() || u.password().is_some() {
        let _ = u.set_username("");
        let _ = u.set_password(None);
    }
    u
}

/// A name that resolved only to non-public addresses.
#[derive(Debug)]
struct BlockedName(String);

impl std::fmt::Display for BlockedName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} resolves only to internal addresses", self.0)
    }
}

impl std::error::Error for BlockedName {}

/// Resolves names for the crawler's client and drops every non-public address, so the
/// connection goes only to an address that was checked (no window for DNS rebinding between a
/// check and the connect).
struct PublicResolver;

impl reqwest::dns::Resolve for PublicResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<std::net::SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.filter(|a| dwt_core::net::is_public_ip(a.ip())).collect();
            if addrs.is_empty() {
                return Err(Box::new(BlockedName(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

impl Fetcher {
    pub fn new(settings: &CrawlSettings) -> Result<Self, FetchError> {
        let mut client = reqwest::Client::builder();
        if !settings.allow_internal_hosts {
            client = client.dns_resolver(Arc::new(PublicResolver));
        }
        let client = client
            .user_agent(settings.user_agent.clone())
            .connect_timeout(Duration::from_secs(settings.connect_timeout_secs))
            .read_timeout(Duration::from_secs(settings.read_timeout_secs))
            .timeout(Duration::from_secs(settings.request_timeout_secs))
            // Redirects are followed by hand: each hop waits its turn and is checked against
            // robots.txt like any other request.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| FetchError::Other(e.to_string()))?;
        let agent_token = settings.user_agent.split(['/', ' ']).next().unwrap_or("DangwutongBot").to_string();
        Ok(Self { client, agent_token, settings: settings.clone(), hosts: Mutex::new(HashMap::new()), robots: Mutex::new(HashMap::new()) })
    }

    fn gate(&self, url: &Url, polite: Politeness) -> Arc<HostGate> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        hosts
            .entry(host_key(url))
            .or_insert_with(|| Arc::new(HostGate { permits: Arc::new(Semaphore::new(polite.concurrency.max(1))), next: tokio::sync::Mutex::new(Instant::now()) }))
            .clone()
    }

    /// Waits for a concurrency slot on the host, then for the host's next free moment.
    async fn turn(&self, url: &Url, polite: Politeness, extra_delay: Duration) -> Result<OwnedSemaphorePermit, FetchError> {
        let gate = self.gate(url, polite);
        let permit = gate.permits.clone().acquire_owned().await.map_err(|e| FetchError::Other(e.to_string()))?;
        let mut next = gate.next.lock().await;
        tokio::time::sleep_until(*next).await;
        *next = Instant::now() + polite.interval.max(extra_delay);
        Ok(permit)
    }

    async fn robots_for(&self, url: &Url, polite: Politeness) -> Arc<Robots> {
        let slot = self.robots.lock().unwrap_or_else(|p| p.into_inner()).entry(origin(url)).or_default().clone();
        let mut entry = slot.lock().await;
        if let Some(e) = entry.as_ref() {
            let ttl = if matches!(*e.robots, Robots::DisallowAll) { ROBOTS_RETRY } else { ROBOTS_TTL };
            if e.fetched.elapsed() < ttl {
                return e.robots.clone();
            }
        }
        let robots = Arc::new(self.fetch_robots(url, polite).await);
        *entry = Some(RobotsEntry { robots: robots.clone(), fetched: Instant::now() });
        robots
    }

    async fn fetch_robots(&self, url: &Url, polite: Politeness) -> Robots {
        let Ok(mut current) = url.join("/robots.txt") else { return Robots::AllowAll };
        for _ in 0..=ROBOTS_REDIRECTS {
            match self.fetch_once(&current, polite, None, Duration::ZERO, &[]).await {
                Ok((status, _, bytes)) if status.is_success() => {
                    return texting_robots::Robot::new(&self.agent_token, &bytes).map(|r| Robots::Rules(Box::new(r))).unwrap_or(Robots::AllowAll)
                }
                Ok((status, headers, _)) if status.is_redirection() => {
                    match headers.get(LOCATION).and_then(|v| v.to_str().ok()).and_then(|l| current.join(l).ok()) {
                        Some(next) => current = next,
                        None => return Robots::AllowAll,
                    }
                }
                // RFC 9309: an unavailable robots.txt (4xx) allows everything; an unreachable
                // one (5xx, network) means "disallow all" until it can be read.
                Ok((status, _, _)) if status.is_client_error() => return Robots::AllowAll,
                _ => return Robots::DisallowAll,
            }
        }
        Robots::AllowAll
    }

    /// One request, no retries. Returns status, headers and the body (capped).
    async fn fetch_once(
        &self,
        url: &Url,
        polite: Politeness,
        validators: Option<(&Option<String>, &Option<String>)>,
        extra_delay: Duration,
        headers: &[(String, String)],
    ) -> Result<(StatusCode, HeaderMap, Vec<u8>), FetchError> {
        let url = &without_credentials(url);
        if !self.settings.allow_internal_hosts && internal_host(url) {
            return Err(FetchError::InternalTarget(url.host_str().unwrap_or_default().to_string()));
        }
        let _permit = self.turn(url, polite, extra_delay).await?;
        let mut req = self.client.get(url.clone());
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        if let Some((etag, lm)) = validators {
            if let Some(e) = etag.as_deref().and_then(|e| HeaderValue::from_str(e).ok()) {
                req = req.header(IF_NONE_MATCH, e);
            }
            if let Some(l) = lm.as_deref().and_then(|l| HeaderValue::from_str(l).ok()) {
                req = req.header(IF_MODIFIED_SINCE, l);
            }
        }
        let mut resp = req.send().await.map_err(classify_reqwest)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let max = self.settings.max_body_bytes;
        if resp.content_length().is_some_and(|n| n > max) {
            return Err(FetchError::TooLarge(max));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(classify_reqwest)? {
            if body.len() as u64 + chunk.len() as u64 > max {
                return Err(FetchError::TooLarge(max));
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, headers, body))
    }

    /// robots.txt verdict for a URL: Err when disallowed, else the host's Crawl-delay.
    async fn allowed(&self, url: &Url, polite: Politeness) -> Result<Duration, FetchError> {
        match &*self.robots_for(url, polite).await {
            Robots::DisallowAll => Err(FetchError::Robots),
            Robots::Rules(r) if !r.allowed(url.as_str()) => Err(FetchError::Robots),
            Robots::Rules(r) => Ok(r.delay.map(|d| Duration::from_secs_f32(d.clamp(0.0, 60.0))).unwrap_or_default()),
            Robots::AllowAll => Ok(Duration::ZERO),
        }
    }

    /// Sleeps before retry number `attempt` (exponential backoff plus jitter).
    async fn backoff(&self, attempt: u32) {
        let base = self.settings.retry_base_ms.saturating_mul(1 << attempt.min(10));
        let jitter = rand::rng().random_range(0..=self.settings.retry_base_ms.max(1));
        tokio::time::sleep(Duration::from_millis(base + jitter)).await;
    }

    /// GET with robots.txt, politeness, retries, conditional headers and redirects (each hop
    /// polite and robots-checked, at most `max_redirects`). `charset` overrides detection.
    pub async fn get(
        &self,
        url: &Url,
        polite: Politeness,
        validators: Option<(&Option<String>, &Option<String>)>,
        charset: Option<&'static Encoding>,
    ) -> Result<Fetched, FetchError> {
        let mut current = url.clone();
        let mut hops = 0;
        loop {
            let crawl_delay = self.allowed(&current, polite).await?;
            let conditional = if hops == 0 { validators } else { None };
            let mut attempt = 0;
            let (status, headers, body) = loop {
                let result = self.fetch_once(&current, polite, conditional, crawl_delay, &[]).await.and_then(|r| {
                    if r.0.is_server_error() {
                        Err(FetchError::Status(r.0.as_u16()))
                    } else {
                        Ok(r)
                    }
                });
                match result {
                    Err(e) if e.retryable() && attempt < self.settings.retries => {
                        tracing::debug!(url = %current, attempt, error = %e, "retrying");
                        self.backoff(attempt).await;
                        attempt += 1;
                    }
                    other => break other?,
                }
            };
            if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
                let next = headers.get(LOCATION).and_then(|v| v.to_str().ok()).and_then(|l| current.join(l).ok());
                let Some(next) = next else { return Err(FetchError::Status(status.as_u16())) };
                // A public page may not send the crawler into the internal network.
                if internal_host(&next) && !internal_host(url) {
                    return Err(FetchError::InternalRedirect(next.to_string()));
                }
                hops += 1;
                if hops > self.settings.max_redirects {
                    return Err(FetchError::Redirects);
                }
                current = next;
                continue;
            }
            if status == StatusCode::NOT_MODIFIED {
                return Ok(Fetched::NotModified);
            }
            if status == StatusCode::NOT_FOUND || status == StatusCode::GONE {
                return Ok(Fetched::Gone { status: status.as_u16() });
            }
            if !status.is_success() {
                return Err(FetchError::Status(status.as_u16()));
            }
            let header = |h| headers.get(h).and_then(|v: &HeaderValue| v.to_str().ok()).map(str::to_string);
            let content_type = header(CONTENT_TYPE);
            let body = decode(&body, content_type.as_deref(), charset);
            return Ok(Fetched::Page(Page { url: current, etag: header(ETAG), last_modified: header(LAST_MODIFIED), content_type, body }));
        }
    }

    /// GET of a JSON API page (no robots.txt: the API is configured with its owner's consent),
    /// polite, capped and retried like pages; `headers` carry the auth token.
    pub async fn get_json(&self, url: &Url, polite: Politeness, headers: &[(String, String)]) -> Result<serde_json::Value, FetchError> {
        let mut attempt = 0;
        loop {
            let result = self.fetch_once(url, polite, None, Duration::ZERO, headers).await.and_then(|(status, _, body)| {
                if !status.is_success() {
                    return Err(FetchError::Status(status.as_u16()));
                }
                serde_json::from_slice(&body).map_err(|e| FetchError::Other(format!("不是有效的 JSON：{e}")))
            });
            match result {
                Err(e) if e.retryable() && attempt < self.settings.retries => {
                    self.backoff(attempt).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }
}

fn classify_reqwest(e: reqwest::Error) -> FetchError {
    let mut source = std::error::Error::source(&e);
    while let Some(inner) = source {
        if let Some(blocked) = inner.downcast_ref::<BlockedName>() {
            return FetchError::InternalTarget(blocked.0.clone());
        }
        source = inner.source();
    }
    if e.is_timeout() {
        FetchError::Timeout
    } else if e.is_redirect() {
        FetchError::Redirects
    } else if e.is_connect() {
        FetchError::Connect(e.to_string())
    } else {
        FetchError::Other(e.to_string())
    }
}

fn charset_param(s: &str) -> Option<&'static Encoding> {
    let lower = s.to_ascii_lowercase();
    let idx = lower.find("charset")?;
    let rest = lower[idx + 7..].trim_start().strip_prefix('=')?.trim_start().trim_start_matches(['"', '\'']);
    let label: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
    Encoding::for_label(label.as_bytes())
}

/// Bytes → text: the configured charset, else the Content-Type charset, else a `<meta>` charset
/// in the first 4 KB, else UTF-8 when valid, else GB18030 (a superset of GBK/GB2312).
pub fn decode(bytes: &[u8], content_type: Option<&str>, forced: Option<&'static Encoding>) -> String {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]).into_owned();
    let declared = forced.or_else(|| content_type.and_then(charset_param)).or_else(|| {
        let lower = head.to_ascii_lowercase();
        lower.match_indices("<meta").find_map(|(i, _)| {
            let tag = &lower[i..lower[i..].find('>').map(|e| i + e).unwrap_or(lower.len())];
            charset_param(tag)
        })
    });
    let enc = match declared {
        Some(e) => e,
        None if std::str::from_utf8(bytes).is_ok() => UTF_8,
        None => GB18030,
    };
    // A GBK declaration is decoded as GB18030 (same bytes, more characters).
    let enc = if enc.name() == "GBK" { GB18030 } else { enc };
    let (text, _, _) = enc.decode(bytes);
    text.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_recognised() {
        let internal = [
            "http://127.0.0.1/a",
            "http://10.1.2.3/",
            "http://192.168.0.1/",
            "http://169.254.169.254/latest",
            "http://localhost:8080/",
            "http://[::1]/",
            "http://[fd00::1]/",
            // The spellings a probe tried: all reach 127.0.0.1.
            "http://[::ffff:127.0.0.1]/",
            "http://0x7f000001/",
            "http://2130706433/",
            "http://127.1/",
            "http://0177.0.0.1/",
            "http://LOCALHOST/",
            "http://localhost./",
            "http://user:pw@127.0.0.1/",
            "http://100.64.0.1/",
            "http://[64:ff9b::7f00:1]/",
        ];
        for u in internal {
            assert!(internal_host(&Url::parse(u).unwrap()), "{u}");
        }
        for u in ["https://www.12371.cn/", "http://8.8.8.8/", "https://mp.weixin.qq.com/s/x"] {
            assert!(!internal_host(&Url::parse(u).unwrap()), "{u}");
        }
    }

    #[test]
    fn credentials_are_stripped() {
        assert_eq!(without_credentials(&Url::parse("https://u:p@dj.example.cn/a?x=1").unwrap()).as_str(), "https://dj.example.cn/a?x=1");
    }

    #[tokio::test]
    async fn internal_targets_are_refused_before_any_request_unless_allowed() {
        let polite = Politeness { interval: Duration::ZERO, concurrency: 1 };
        let strict = Fetcher::new(&CrawlSettings { retries: 0, ..CrawlSettings::default() }).unwrap();
        for u in ["http://2130706433/", "http://[::ffff:127.0.0.1]:9/", "http://u:p@127.1:9/x"] {
            let e = strict.fetch_once(&Url::parse(u).unwrap(), polite, None, Duration::ZERO, &[]).await.unwrap_err();
            assert_eq!(e.code(), "crawl.internal_address", "{u}: {e}");
        }
        // Other names are checked where they resolve: a name of loopback yields no address.
        use reqwest::dns::Resolve;
        let resolved = PublicResolver.resolve("localhost".parse().unwrap()).await;
        let err = resolved.err().expect("localhost resolves to loopback only");
        assert!(err.downcast_ref::<BlockedName>().is_some(), "{err}");
        // With intranet sources allowed the request is made (and fails to connect: nothing listens).
        let open = Fetcher::new(&CrawlSettings { retries: 0, allow_internal_hosts: true, connect_timeout_secs: 1, ..CrawlSettings::default() }).unwrap();
        let e = open.fetch_once(&Url::parse("http://127.0.0.1:9/").unwrap(), polite, None, Duration::ZERO, &[]).await.unwrap_err();
        assert_eq!(e.code(), "crawl.connect", "{e}");
    }

    #[test]
    fn gbk_pages_are_detected_from_meta_or_header() {
        let (bytes, _, _) = GB18030.encode("<html><head><meta charset=\"gbk\"></head><body>中国共产党章程</body></html>");
        assert!(decode(&bytes, None, None).contains("中国共产党章程"));
        let (bytes, _, _) = GB18030.encode("党员");
        assert_eq!(decode(&bytes, Some("text/html; charset=GB2312"), None), "党员");
        assert_eq!(decode(&bytes, None, None), "党员", "undeclared non-UTF-8 falls back to GB18030");
        assert_eq!(decode("党员".as_bytes(), Some("text/html"), None), "党员");
    }
}
