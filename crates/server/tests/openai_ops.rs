//! The OpenAI-compatible API, Prometheus metrics and the OpenAPI document.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::http::StatusCode;
use common::*;

/// `data:` payloads of an SSE body, in order (including the final `[DONE]`).
fn data_lines(body: &str) -> Vec<String> {
    body.split("\n\n").flat_map(|b| b.lines()).filter_map(|l| l.strip_prefix("data:")).map(|d| d.trim_start().to_string()).collect()
}

#[tokio::test]
async fn openai_compatible_chat_completions_stream_and_non_stream() {
    let (_tmp, app) = app().await;
    let messages = serde_json::json!([{"role": "system", "content": "你是助手"}, {"role": "user", "content": "党员的党龄从什么时候算起？"}]);

    let (s, body) = call(&app, "POST", "/v1/chat/completions", Some(serde_json::json!({"model": "dangwutong", "messages": messages}))).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["choices"][0]["message"]["role"], "assistant");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    let content = v["choices"][0]["message"]["content"].as_str().unwrap().to_string();
    assert!(content.contains("根据《中国共产党章程》（2022年版）第七条：") && content.contains("预备期满转为正式党员之日算起"), "{content}");
    assert!(content.contains("\n\n参考资料：\n[1] 《中国共产党章程》（2022年版）第七条 /library.html#doc="), "{content}");
    assert_eq!(v["references"][0]["index"], 1);
    assert_eq!(v["references"][0]["article"], "第七条");
    assert_eq!(v["dangwutong"]["mode"], "extractive");

    // Streamed: chat.completion.chunk events whose contents add up to the same text.
    let (s, body) = call(&app, "POST", "/v1/chat/completions", Some(serde_json::json!({"model": "dangwutong", "messages": messages, "stream": true}))).await;
    assert_eq!(s, StatusCode::OK);
    let data = data_lines(&body);
    assert_eq!(data.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<serde_json::Value> = data[..data.len() - 1].iter().map(|d| serde_json::from_str(d).unwrap()).collect();
    assert!(chunks.iter().all(|c| c["object"] == "chat.completion.chunk"));
    assert_eq!(chunks[0]["choices"][0]["delta"]["role"], "assistant");
    let streamed: String = chunks.iter().filter_map(|c| c["choices"][0]["delta"]["content"].as_str()).collect();
    assert_eq!(streamed, content);
    assert!(chunks.len() >= 5, "streamed in pieces: {}", chunks.len());
    let last = chunks.last().unwrap();
    assert_eq!(last["choices"][0]["finish_reason"], "stop");
    assert_eq!(last["references"][0]["doc_title"], "中国共产党章程");
    assert_eq!(last["dangwutong"]["mode"], "extractive");
    assert!(chunks[..chunks.len() - 1].iter().all(|c| c["choices"][0]["finish_reason"].is_null()));
    assert!(chunks.iter().all(|c| c["created"] == chunks[0]["created"] && c["id"] == chunks[0]["id"]));

    // History in `messages` makes a follow-up understandable.
    let follow = serde_json::json!({"messages": [
        {"role": "user", "content": "预备党员有哪些权利？"},
        {"role": "assistant", "content": "预备党员的权利，除了没有表决权、选举权和被选举权以外，也同正式党员一样。"},
        {"role": "user", "content": "那预备期多长？"}]});
    let (s, body) = call(&app, "POST", "/v1/chat/completions", Some(follow)).await;
    assert_eq!(s, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(v["choices"][0]["message"]["content"].as_str().unwrap().contains("预备期为一年"), "{v}");

    // Errors: OpenAI's shape, with the stable code and Chinese message at the top level too.
    let (s, body) = call(&app, "POST", "/v1/chat/completions", Some(serde_json::json!({"messages": [{"role": "system", "content": "x"}]}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["code"], "openai.no_user_message");
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert_eq!(v["error"]["code"], "openai.no_user_message");
    let (s, body) = call(&app, "POST", "/v1/chat/completions", Some(serde_json::json!({"messages": [{"role": "user", "content": "   "}]}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("chat.empty_question") && body.contains("问题不能为空"), "{body}");
    let (s, body) = call(&app, "POST", "/v1/chat/completions", Some(serde_json::json!({"messages": "nope"}))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("request.invalid_json"), "{body}");

    let (s, v) = get_json(&app, "/v1/models").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["data"][0]["id"], "dangwutong");
}

fn metric(text: &str, line_prefix: &str) -> f64 {
    text.lines().find(|l| l.starts_with(line_prefix)).and_then(|l| l.rsplit(' ').next()).and_then(|x| x.parse().ok()).unwrap_or(0.0)
}

#[tokio::test]
async fn metrics_count_requests_answers_and_first_events() {
    let (_tmp, app) = app().await;
    let (_, before) = call(&app, "GET", "/metrics", None).await;
    assert_eq!(metric(&before, "dwt_chat_first_event_seconds_count"), 0.0);
    chat(&app, "党员的党龄从什么时候算起？", None).await;
    chat(&app, "明天北京天气怎么样？", None).await;
    let _ = call(&app, "GET", "/api/documents/987654", None).await;
    let (s, text) = call(&app, "GET", "/metrics", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(metric(&text, "dwt_chat_answers_total{mode=\"extractive\",outcome=\"answered\"}"), 1.0, "{text}");
    assert_eq!(metric(&text, "dwt_chat_answers_total{mode=\"extractive\",outcome=\"refused\"}"), 1.0, "{text}");
    assert_eq!(metric(&text, "dwt_chat_first_event_seconds_count"), 2.0, "{text}");
    assert_eq!(metric(&text, "dwt_http_requests_total{method=\"POST\",route=\"/api/chat\",status=\"200\"}"), 2.0, "{text}");
    // Route patterns, not raw paths: ids do not create series.
    assert_eq!(metric(&text, "dwt_http_requests_total{method=\"GET\",route=\"/api/documents/{id}\",status=\"404\"}"), 1.0, "{text}");
    assert!(!text.contains("/api/documents/987654"));
    assert!(text.trim_end().ends_with("# EOF"));
}

#[tokio::test]
async fn openapi_document_lists_every_route_and_each_exists() {
    let (_tmp, app) = app().await;
    let (s, doc) = get_json(&app, "/api/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    let mut documented: Vec<String> = Vec::new();
    for (path, ops) in paths {
        for method in ops.as_object().unwrap().keys() {
            documented.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    documented.sort();
    let expected = [
        "DELETE /api/admin/kb/documents/{id}",
        "DELETE /api/admin/members/{id}",
        "DELETE /api/admin/qa/categories/{id}",
        "GET /api/admin/audit",
        "GET /api/admin/crawl/runs",
        "GET /api/admin/crawl/runs/{id}/errors",
        "GET /api/admin/crawl/sources",
        "GET /api/admin/feedback",
        "GET /api/admin/handoff/stats",
        "GET /api/admin/handoff/stats/export",
        "GET /api/admin/kb/chunks/{id}/versions",
        "GET /api/admin/kb/documents",
        "GET /api/admin/kb/documents/{id}/chunks",
        "GET /api/admin/kb/hit-test",
        "GET /api/admin/members",
        "GET /api/admin/members/export",
        "GET /api/admin/members/{id}",
        "GET /api/admin/orgs",
        "GET /api/admin/orgs/export",
        "GET /api/admin/qa",
        "GET /api/admin/qa-proposals",
        "GET /api/admin/qa/categories",
        "GET /api/admin/qa/export",
        "GET /api/admin/qa/template",
        "GET /api/admin/qa/{id}/versions",
        "GET /api/admin/users",
        "GET /api/auth/me",
        "GET /api/consultations/mine",
        "GET /api/consultations/{id}",
        "GET /api/conversations/{id}",
        "GET /api/documents",
        "GET /api/documents/{id}",
        "GET /api/documents/{id}/articles/{label}",
        "GET /api/events",
        "GET /api/faq",
        "GET /api/notifications",
        "GET /api/openapi.json",
        "GET /api/search/text",
        "GET /api/staff/queue",
        "GET /healthz",
        "GET /metrics",
        "GET /readyz",
        "GET /v1/models",
        "POST /api/admin/crawl/sources/{name}/run",
        "POST /api/admin/crawl/sources/{name}/urls",
        "POST /api/admin/kb/chunks/{id}/{action}",
        "POST /api/admin/kb/documents/upload",
        "POST /api/admin/kb/documents/{id}/rechunk",
        "POST /api/admin/kb/documents/{id}/status",
        "POST /api/admin/members",
        "POST /api/admin/members/import",
        "POST /api/admin/orgs",
        "POST /api/admin/orgs/import",
        "POST /api/admin/orgs/{id}/dissolve",
        "POST /api/admin/orgs/{id}/move",
        "POST /api/admin/qa",
        "POST /api/admin/qa-proposals/{id}/approve",
        "POST /api/admin/qa-proposals/{id}/reject",
        "POST /api/admin/qa/categories",
        "POST /api/admin/qa/categories/{id}/move",
        "POST /api/admin/qa/import",
        "POST /api/admin/qa/{id}/rollback",
        "POST /api/admin/qa/{id}/status",
        "POST /api/admin/users",
        "POST /api/admin/users/{id}/unlock",
        "POST /api/auth/login",
        "POST /api/auth/login/sms",
        "POST /api/auth/logout",
        "POST /api/auth/password/change",
        "POST /api/auth/password/reset",
        "POST /api/auth/sms/send",
        "POST /api/chat",
        "POST /api/consultations",
        "POST /api/consultations/{id}/close",
        "POST /api/consultations/{id}/rate",
        "POST /api/messages/{id}/feedback",
        "POST /api/notifications/read",
        "POST /api/staff/consultations/{id}/promote",
        "POST /api/staff/consultations/{id}/{action}",
        "POST /v1/chat/completions",
        "PUT /api/admin/kb/chunks/{id}",
        "PUT /api/admin/members/{id}",
        "PUT /api/admin/orgs/{id}",
        "PUT /api/admin/qa/categories/{id}",
        "PUT /api/admin/qa/{id}",
        "PUT /api/admin/users/{id}",
    ];
    assert_eq!(documented, expected);
    // Every documented route is served: no "no such endpoint" and no 405.
    for entry in &documented {
        let (method, path) = entry.split_once(' ').unwrap();
        let uri = path.replace("{id}", "1").replace("{label}", "7").replace("{action}", "claim").replace("/api/search/text", "/api/search/text?q=党员");
        let body = (method == "POST").then(|| serde_json::json!({}));
        let (s, b) = call(&app, method, &uri, body).await;
        assert_ne!(s, StatusCode::METHOD_NOT_ALLOWED, "{entry}");
        assert!(!b.contains("request.not_found") && !b.contains("页面不存在"), "{entry}: {s} {b}");
    }
    // Schemas carry the error shape.
    assert!(doc["components"]["schemas"]["ErrorBody"]["properties"]["code"].is_object());
}
