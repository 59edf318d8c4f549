//! Prometheus metrics (`GET /metrics`, text exposition format): HTTP traffic per route, chat
//! answers by mode and outcome, time to the first streamed event, and LLM fallbacks.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    /// The route pattern (`/api/documents/{id}`), never the raw path, so ids do not explode
    /// the series count.
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AnswerLabels {
    /// faq | rag | extractive
    pub mode: String,
    /// answered | refused | fallback | error
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CodeLabels {
    pub code: String,
}

pub struct Metrics {
    registry: Registry,
    pub http_requests: Family<HttpLabels, Counter>,
    pub http_duration: Family<RouteLabels, Histogram>,
    pub answers: Family<AnswerLabels, Counter>,
    pub first_event: Histogram,
    pub llm_errors: Family<CodeLabels, Counter>,
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("dwt");
        let http_requests = Family::<HttpLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests by route and status", http_requests.clone());
        let http_duration = Family::<RouteLabels, Histogram>::new_with_constructor(|| Histogram::new(exponential_buckets(0.002, 2.0, 14)));
        registry.register("http_request_duration_seconds", "Time to the response head, by route", http_duration.clone());
        let answers = Family::<AnswerLabels, Counter>::default();
        registry.register("chat_answers", "Chat answers by mode and outcome", answers.clone());
        let first_event = Histogram::new(exponential_buckets(0.005, 2.0, 12));
        registry.register("chat_first_event_seconds", "Time from a chat request to its first streamed event", first_event.clone());
        let llm_errors = Family::<CodeLabels, Counter>::default();
        registry.register("llm_fallbacks", "Answers quoted instead of generated because the LLM failed, by error code", llm_errors.clone());
        Self { registry, http_requests, http_duration, answers, first_event, llm_errors }
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }

    /// Records one finished answer.
    pub fn answer(&self, done: &dwt_assistant::Done) {
        let outcome = if done.refused {
            "refused"
        } else if done.llm_error.is_some() {
            "fallback"
        } else {
            "answered"
        };
        self.answers.get_or_create(&AnswerLabels { mode: done.mode.as_str().into(), outcome: outcome.into() }).inc();
        if let Some(code) = &done.llm_error {
            self.llm_errors.get_or_create(&CodeLabels { code: code.clone() }).inc();
        }
    }

    pub fn answer_error(&self) {
        self.answers.get_or_create(&AnswerLabels { mode: "unknown".into(), outcome: "error".into() }).inc();
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Middleware: counts every request by matched route and status.
pub async fn track(State(m): State<Arc<Metrics>>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| "static".into());
    let method = req.method().as_str().to_string();
    let start = Instant::now();
    let res = next.run(req).await;
    m.http_duration.get_or_create(&RouteLabels { route: route.clone() }).observe(start.elapsed().as_secs_f64());
    m.http_requests.get_or_create(&HttpLabels { method, route, status: res.status().as_u16() }).inc();
    res
}

pub async fn endpoint(State(s): State<crate::AppState>) -> Response {
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], s.metrics.render()).into_response()
}
