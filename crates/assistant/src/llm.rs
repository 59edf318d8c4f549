//! OpenAI-compatible chat endpoint through async-openai (DeepSeek, Qwen/DashScope, vLLM,
//! Ollama…). Always streams; every wait is bounded (connect, first token by a deadline the
//! caller sets, idle gap, total), so a slow or broken endpoint costs at most those waits before
//! the answer falls back to quoting.

use std::pin::Pin;
use std::time::Duration;

use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::Client;
use dwt_core::config::LlmSettings;
use futures::{Stream, StreamExt};
use serde::Deserialize;
use tokio::time::Instant;

#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum LlmError {
    /// Nothing (not even response headers) before the first-token deadline.
    #[error("大模型服务在限定时间内没有开始回答")]
    Timeout,
    /// Text had started, then the stream fell silent longer than the idle limit.
    #[error("大模型服务生成中断（超过 {0} 秒无新内容）")]
    Stalled(u64),
    /// The whole generation took longer than the total limit.
    #[error("大模型服务生成时间过长（超过 {0} 秒）")]
    TooLong(u64),
    /// The connection broke after it was established.
    #[error("与大模型服务的连接中断：{0}")]
    Disconnected(String),
    #[error("大模型服务返回错误：{0}")]
    Api(String),
    #[error("大模型服务返回的数据无法解析：{0}")]
    Malformed(String),
    #[error("无法连接大模型服务：{0}")]
    Connect(String),
    #[error("大模型没有返回内容")]
    Empty,
    #[error("大模型配置无效：{0}")]
    Config(String),
}

impl LlmError {
    /// Stable code, logged and reported in `done.llm_error`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Timeout => "llm.timeout",
            Self::Stalled(_) => "llm.stalled",
            Self::TooLong(_) => "llm.too_long",
            Self::Disconnected(_) => "llm.disconnected",
            Self::Api(_) => "llm.api_error",
            Self::Malformed(_) => "llm.malformed",
            Self::Connect(_) => "llm.unreachable",
            Self::Empty => "llm.empty",
            Self::Config(_) => "llm.config",
        }
    }
}

fn map_error(e: OpenAIError) -> LlmError {
    use async_openai::error::StreamError;
    use reqwest_eventsource::Error as SseError;
    match e {
        OpenAIError::ApiError(api) => LlmError::Api(api.message),
        OpenAIError::JSONDeserialize(err, _) => LlmError::Malformed(err.to_string()),
        OpenAIError::Reqwest(err) => transport_error(&err, false),
        OpenAIError::StreamError(err) => match *err {
            StreamError::ReqwestEventSource(SseError::Transport(err)) => transport_error(&err, true),
            StreamError::ReqwestEventSource(SseError::InvalidStatusCode(status, _)) => LlmError::Api(format!("HTTP {status}")),
            StreamError::ReqwestEventSource(SseError::StreamEnded) => LlmError::Disconnected("stream ended".into()),
            other => LlmError::Malformed(other.to_string()),
        },
        other => LlmError::Api(other.to_string()),
    }
}

/// A transport failure, named by when it happened: before any connection (unreachable), while
/// waiting (timeout), or on an open stream (disconnected).
fn transport_error(err: &reqwest::Error, streaming: bool) -> LlmError {
    // A connect that timed out is still a connection that never came up.
    if err.is_connect() {
        LlmError::Connect(err.to_string())
    } else if err.is_timeout() {
        LlmError::Timeout
    } else if streaming || err.is_body() || err.is_decode() {
        LlmError::Disconnected(err.to_string())
    } else {
        LlmError::Api(err.to_string())
    }
}

/// One message to the model.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LlmMessage {
    pub role: &'static str,
    pub content: String,
}

impl LlmMessage {
    pub fn system(content: impl Into<String>) -> Self {
        Self { role: "system", content: content.into() }
    }
    pub fn user(content: impl Into<String>) -> Self {
        Self { role: "user", content: content.into() }
    }
}

/// Lenient view of a streamed chunk: vendors differ in which fields they send, and only the
/// text, the finish reason and the usage matter here.
#[derive(Debug, Deserialize)]
struct Chunk {
    #[serde(default)]
    choices: Vec<ChunkChoice>,
    #[serde(default)]
    usage: Option<ChunkUsage>,
}

#[derive(Debug, Deserialize)]
struct ChunkChoice {
    #[serde(default)]
    delta: Option<ChunkDelta>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ChunkDelta {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Debug, Deserialize, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChunkUsage {
    #[serde(default)]
    pub prompt_tokens: u32,
    #[serde(default)]
    pub completion_tokens: u32,
}

/// What the model streamed so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LlmEvent {
    Text(String),
    Usage(ChunkUsage),
    /// The model said it stopped (e.g. `stop`, `length`).
    Finished(String),
}

type ChunkStream = Pin<Box<dyn Stream<Item = Result<Chunk, OpenAIError>> + Send>>;

/// How much longer the socket read timeout is than the stream's own limits.
const SOCKET_SLACK_SECS: u64 = 5;

pub struct LlmClient {
    client: Client<OpenAIConfig>,
    settings: LlmSettings,
}

impl LlmClient {
    pub fn new(settings: &LlmSettings) -> Result<Self, LlmError> {
        let base = settings.base_url.clone().unwrap_or_default();
        let base = base.trim().trim_end_matches('/').to_string();
        if base.is_empty() {
            return Err(LlmError::Config("未配置 llm.base_url".into()));
        }
        let mut config = OpenAIConfig::new().with_api_base(base);
        // Local servers (vLLM, Ollama) accept any key; async-openai would otherwise read
        // OPENAI_API_KEY from the environment.
        config = config.with_api_key(settings.api_key.clone().unwrap_or_else(|| "none".into()));
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(settings.connect_timeout_secs.max(1)))
            // Bounds each read at the socket too, so a stream we stopped waiting for does not
            // keep its connection open until the upstream sends again. A backstop only: the
            // stream's own (shorter) limits fire first and name what went wrong.
            .read_timeout(Duration::from_secs(settings.idle_timeout_secs.max(settings.first_token_timeout_secs).max(1) + SOCKET_SLACK_SECS))
            .build()
            .map_err(|e| LlmError::Config(e.to_string()))?;
        Ok(Self { client: Client::with_config(config).with_http_client(http), settings: settings.clone() })
    }

    pub fn model(&self) -> &str {
        &self.settings.model
    }

    /// Starts a streamed completion whose first text must arrive by `first_token_by`.
    pub async fn stream(&self, messages: &[LlmMessage], first_token_by: Instant) -> Result<LlmStream, LlmError> {
        self.stream_with(messages, self.settings.max_tokens, first_token_by).await
    }

    async fn stream_with(&self, messages: &[LlmMessage], max_tokens: u32, first_token_by: Instant) -> Result<LlmStream, LlmError> {
        let mut request = serde_json::json!({
            "model": self.settings.model,
            "messages": messages,
            "stream": true,
            "temperature": self.settings.temperature,
            "max_tokens": max_tokens,
        });
        if self.settings.stream_usage {
            request["stream_options"] = serde_json::json!({"include_usage": true});
        }
        let total_secs = self.settings.total_timeout_secs.max(1);
        let deadline = Instant::now() + Duration::from_secs(total_secs);
        let opened = tokio::time::timeout_at(first_token_by.min(deadline), self.client.chat().create_stream_byot::<_, Chunk>(request)).await;
        let inner: ChunkStream = match opened {
            Err(_) => return Err(LlmError::Timeout),
            Ok(Err(e)) => return Err(map_error(e)),
            Ok(Ok(s)) => s,
        };
        Ok(LlmStream {
            inner: Some(inner),
            deadline,
            total_secs,
            first_token_by,
            idle_secs: self.settings.idle_timeout_secs.max(1),
            got_text: false,
            pending: std::collections::VecDeque::new(),
        })
    }

    /// Runs a short completion and returns its whole text (used for follow-up rewriting); the
    /// whole of it must be done by `by`.
    pub async fn complete(&self, messages: &[LlmMessage], max_tokens: u32, by: Instant) -> Result<String, LlmError> {
        tokio::time::timeout_at(by, self.complete_inner(messages, max_tokens, by)).await.unwrap_or(Err(LlmError::Timeout))
    }

    async fn complete_inner(&self, messages: &[LlmMessage], max_tokens: u32, by: Instant) -> Result<String, LlmError> {
        let mut s = self.stream_with(messages, max_tokens, by).await?;
        let mut text = String::new();
        while let Some(ev) = s.next().await {
            if let LlmEvent::Text(t) = ev? {
                text.push_str(&t);
            }
        }
        if text.trim().is_empty() {
            return Err(LlmError::Empty);
        }
        Ok(text)
    }
}

/// A streamed completion with its timeouts applied per read.
pub struct LlmStream {
    inner: Option<ChunkStream>,
    deadline: Instant,
    total_secs: u64,
    first_token_by: Instant,
    idle_secs: u64,
    got_text: bool,
    pending: std::collections::VecDeque<LlmEvent>,
}

impl LlmStream {
    /// The next event; `None` at the end. After an error the stream is closed and dropped.
    /// (async-openai's reader notices only at its next event; reqwest-eventsource may already
    /// have re-sent the request once after a dropped connection — a known cost, see README.)
    pub async fn next(&mut self) -> Option<Result<LlmEvent, LlmError>> {
        loop {
            if let Some(ev) = self.pending.pop_front() {
                return Some(Ok(ev));
            }
            let inner = self.inner.as_mut()?;
            let wait_until = if self.got_text { Instant::now() + Duration::from_secs(self.idle_secs) } else { self.first_token_by };
            let item = match tokio::time::timeout_at(wait_until.min(self.deadline), inner.next()).await {
                Err(_) => {
                    self.inner = None;
                    let e = if Instant::now() >= self.deadline {
                        LlmError::TooLong(self.total_secs)
                    } else if self.got_text {
                        LlmError::Stalled(self.idle_secs)
                    } else {
                        LlmError::Timeout
                    };
                    return Some(Err(e));
                }
                Ok(None) => {
                    self.inner = None;
                    return None;
                }
                Ok(Some(Err(e))) => {
                    self.inner = None;
                    return Some(Err(map_error(e)));
                }
                Ok(Some(Ok(chunk))) => chunk,
            };
            if let Some(u) = item.usage {
                self.pending.push_back(LlmEvent::Usage(u));
            }
            for c in item.choices {
                if let Some(t) = c.delta.and_then(|d| d.content).filter(|t| !t.is_empty()) {
                    self.got_text = true;
                    self.pending.push_back(LlmEvent::Text(t));
                }
                if let Some(r) = c.finish_reason {
                    self.pending.push_back(LlmEvent::Finished(r));
                }
            }
        }
    }
}
