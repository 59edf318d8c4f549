//! Notifications: stored first (in-app, always), then delivered per channel by a retrying
//! worker, so a member who is offline — or a server killed mid-delivery — loses nothing.
//! Live delivery to open pages goes through the in-process [`Hub`].

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use dwt_core::config::HandoffSettings;
use serde::Serialize;
use tokio::sync::broadcast;

/// What the member (or staff) is told.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Notification {
    pub id: i64,
    #[serde(skip)]
    pub user_id: i64,
    pub kind: String,
    pub title: String,
    pub body: String,
    pub consultation_id: Option<i64>,
    pub created_at: String,
    pub read_at: Option<String>,
}

/// The addressee's contact details for external channels.
#[derive(Debug, Clone)]
pub struct Recipient {
    pub user_id: i64,
    pub username: String,
    pub phone: Option<String>,
}

/// One delivery channel beside in-app.
#[async_trait]
pub trait Notifier: Send + Sync {
    fn channel(&self) -> &'static str;
    async fn deliver(&self, to: &Recipient, n: &Notification) -> Result<(), String>;
}

/// Dev default: the notification goes to the service log.
pub struct LogNotifier;

#[async_trait]
impl Notifier for LogNotifier {
    fn channel(&self) -> &'static str {
        "log"
    }

    async fn deliver(&self, to: &Recipient, n: &Notification) -> Result<(), String> {
        tracing::info!(user = %to.username, kind = %n.kind, "notification (log channel): {} — {}", n.title, n.body);
        Ok(())
    }
}

/// WeChat template messages or SMS through a small HTTP adapter in front of the real gateway.
pub struct HttpNotifier {
    channel: &'static str,
    client: reqwest::Client,
    url: String,
    token: Option<String>,
}

impl HttpNotifier {
    pub fn new(channel: &'static str, url: &str, token: Option<String>) -> Result<Self, String> {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().map_err(|e| e.to_string())?;
        Ok(Self { channel, client, url: url.to_string(), token })
    }
}

#[async_trait]
impl Notifier for HttpNotifier {
    fn channel(&self) -> &'static str {
        self.channel
    }

    async fn deliver(&self, to: &Recipient, n: &Notification) -> Result<(), String> {
        let body = if self.channel == "sms" {
            let Some(phone) = &to.phone else { return Err("no phone on file".into()) };
            serde_json::json!({"phone": phone, "text": format!("【党务通】{}：{}", n.title, n.body)})
        } else {
            serde_json::json!({"user_id": to.user_id, "username": to.username, "title": n.title, "body": n.body,
                "url": n.consultation_id.map(|id| format!("/consultations.html#{id}"))})
        };
        let mut req = self.client.post(&self.url).json(&body);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.map_err(|e| e.to_string())?;
        if resp.status().is_success() {
            Ok(())
        } else {
            Err(format!("gateway answered {}", resp.status()))
        }
    }
}

pub fn notifiers_from_settings(s: &HandoffSettings) -> Result<Vec<Arc<dyn Notifier>>, String> {
    let mut out: Vec<Arc<dyn Notifier>> = Vec::new();
    for c in &s.channels {
        match c.as_str() {
            "log" => out.push(Arc::new(LogNotifier)),
            "wechat" => out.push(Arc::new(HttpNotifier::new("wechat", s.wechat_http_url.as_deref().unwrap_or_default(), s.http_token.clone())?)),
            "sms" => out.push(Arc::new(HttpNotifier::new("sms", s.sms_http_url.as_deref().unwrap_or_default(), s.http_token.clone())?)),
            other => return Err(format!("unknown channel {other}")),
        }
    }
    Ok(out)
}

/// Something changed that open pages may want to show at once.
#[derive(Debug, Clone)]
pub enum HubEvent {
    Notification(Notification),
    /// A consultation changed: its member, and staff whose scope covers `org_path`, are told.
    Consultation { id: i64, status: String, org_id: i64, org_path: String, member_user_id: i64 },
}

/// In-process fan-out to the SSE streams of this server.
#[derive(Clone)]
pub struct Hub {
    tx: broadcast::Sender<HubEvent>,
}

impl Default for Hub {
    fn default() -> Self {
        Self { tx: broadcast::channel(1024).0 }
    }
}

impl Hub {
    pub fn publish(&self, e: HubEvent) {
        // No subscribers is fine: the state is in the database.
        let _ = self.tx.send(e);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<HubEvent> {
        self.tx.subscribe()
    }
}
