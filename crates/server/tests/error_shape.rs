//! Every route, walked with malformed input (bad path ids, broken JSON, wrong content type,
//! nonsense query parameters), anonymously and as the 系统管理员: no answer is a 5xx, and every
//! error leaves in the one `{code, message}` JSON shape with a stable code and a Chinese message
//! that carries none of the framework's or serde's English.
//!
//! The routes are read from the router's source, so a route added later is walked too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::body::Body;
use axum::http::StatusCode;
use common::{app_with_core, demo_token, repo_root, request};

/// (method, path) of every `.route(…)` in the server crate.
fn routes() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut files = vec![repo_root().join("crates/server/src/lib.rs")];
    for entry in std::fs::read_dir(repo_root().join("crates/server/src/admin")).unwrap() {
        files.push(entry.unwrap().path());
    }
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for line in text.lines() {
            // One route per `.route("path", method(handler).method(handler))`.
            for part in line.split(".route(\"").skip(1) {
                let (path, rest) = part.split_once('"').unwrap();
                let rest = rest.split(".route(").next().unwrap_or(rest);
                for method in ["get", "post", "put", "delete", "patch"] {
                    let called = rest.match_indices(&format!("{method}(")).any(|(i, _)| i == 0 || !rest.as_bytes()[i - 1].is_ascii_alphanumeric() && rest.as_bytes()[i - 1] != b'_');
                    if called {
                        out.push((method.to_uppercase(), path.to_string()));
                    }
                }
            }
        }
    }
    out
}

/// The path with every `{param}` replaced by `value`.
fn fill(path: &str, value: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').unwrap() + start;
        out.push_str(value);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// English that must never reach a member: serde, axum, sqlx and panic wording.
const LEAKS: [&str; 14] = [
    "invalid type", "expected", "missing field", "unknown field", "unknown variant", "at line", "column", "EOF", "Failed", "error", "panicked", "sqlx", "database", "deserialize",
];

fn check_shape(what: &str, status: StatusCode, headers: &axum::http::HeaderMap, body: &str) {
    assert!(!status.is_server_error(), "{what}: malformed input answered {status}: {body}");
    if !status.is_client_error() {
        return;
    }
    let ct = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
    assert!(ct.starts_with("application/json"), "{what}: {status} as {ct:?}: {body}");
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {body}"));
    let code = v["code"].as_str().unwrap_or_else(|| panic!("{what}: no code: {body}"));
    let well_formed = code.split('.').count() >= 2 && code.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
    assert!(well_formed, "{what}: code {code:?}");
    let message = v["message"].as_str().unwrap_or_else(|| panic!("{what}: no message: {body}"));
    assert!(message.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{what}: message not in Chinese: {message}");
    for leak in LEAKS {
        assert!(!message.contains(leak), "{what}: message carries {leak:?}: {message}");
    }
}

#[tokio::test]
async fn every_route_answers_malformed_input_in_the_one_error_shape() {
    let (_tmp, app, core) = app_with_core().await;
    let routes = routes();
    // The router has some 80 method routes; a parse that finds few means the walk walks nothing.
    assert!(routes.len() >= 70, "only {} routes found: {routes:?}", routes.len());
    assert!(routes.contains(&("POST".into(), "/api/chat".into())) && routes.contains(&("PUT".into(), "/api/admin/qa/{id}".into())));

    let bad_ids = ["abc", "-1", "99999999999999999999", "%FF%FE", "1%00", "0"];
    let bad_bodies: [(&[u8], Option<&str>); 5] = [
        (b"{\"", Some("application/json")),
        (b"[]", Some("application/json")),
        (b"{\"question\": 1, \"name\": [], \"org_id\": \"x\", \"status\": \"zzz\"}", Some("application/json")),
        (b"{\"x\": 1}", Some("text/plain")),
        (b"\xff\xfe\x00", None),
    ];
    let bad_query = "?limit=abc&offset=-5&page=x&top_k=zz&q=%FF&status=zzz&org_id=abc&rating=nope&since=yesterday";
    let admin = demo_token(&core, "sysadmin").await;
    // Logging out ends the session the walk uses: that route goes last.
    let mut routes = routes;
    routes.sort_by_key(|(_, p)| p == "/api/auth/logout");
    let mut calls = 0;
    for (method, path) in &routes {
        for who in ["anonymous", "sysadmin"] {
            // A logged-in event stream never ends; its query parameters are ignored anyway.
            if who == "sysadmin" && path == "/api/events" {
                continue;
            }
            let token = (who == "sysadmin").then_some(admin.as_str());
            let has_params = path.contains('{');
            let uris: Vec<String> = if has_params { bad_ids.iter().map(|v| fill(path, v)).collect() } else { vec![path.clone()] };
            for uri in &uris {
                let what = format!("{who} {method} {uri}");
                if method == "GET" || method == "DELETE" {
                    let (status, headers, body) = request(&app, method, &format!("{uri}{bad_query}"), token, &[], None, None).await;
                    check_shape(&format!("{what}{bad_query}"), status, &headers, &body);
                    calls += 1;
                    if method == "DELETE" {
                        let (status, headers, body) = request(&app, method, uri, token, &[], None, None).await;
                        check_shape(&what, status, &headers, &body);
                        calls += 1;
                    }
                    continue;
                }
                for (body, ct) in &bad_bodies {
                    let (status, headers, text) = request(&app, method, uri, token, &[], Some(Body::from(body.to_vec())), *ct).await;
                    check_shape(&format!("{what} with {:?} as {ct:?}", String::from_utf8_lossy(body)), status, &headers, &text);
                    calls += 1;
                }
            }
        }
    }
    // Unknown routes and methods answer in the same shape.
    for (method, uri) in [("GET", "/api/no-such-thing"), ("DELETE", "/api/chat"), ("GET", "/v1/nothing"), ("PATCH", "/api/admin/qa/1")] {
        let (status, headers, body) = request(&app, method, uri, None, &[], None, None).await;
        assert!(status.is_client_error(), "{method} {uri}: {status}");
        check_shape(&format!("{method} {uri}"), status, &headers, &body);
    }
    assert!(calls > 500, "{calls} calls");
}

/// A JSON body that parses but does not fit names the field in Chinese, nothing of serde's text.
#[tokio::test]
async fn a_body_of_the_wrong_shape_names_the_field_in_chinese() {
    let (_tmp, app, _core) = app_with_core().await;
    let (status, headers, body) = request(&app, "POST", "/api/chat", None, &[], Some(Body::from("{\"question\": 12}")), Some("application/json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    check_shape("chat with a number", status, &headers, &body);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["code"], "request.invalid_json");
    assert_eq!(v["message"], "请求格式错误：字段「question」的类型不对", "{body}");
    let (_, _, body) = request(&app, "POST", "/api/chat", None, &[], Some(Body::from("{}")), Some("application/json")).await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["message"], "请求格式错误：缺少字段「question」", "{body}");
}
