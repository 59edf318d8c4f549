//! The HTTP API end to end over a real knowledge base (SQLite, Qdrant Edge, tantivy, e5).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code

mod common;

use axum::http::StatusCode;
use common::{answer_text, app, call, chat, event, get_json};
use serde_json::json;

#[tokio::test]
async fn chat_streams_a_cited_extractive_answer_and_keeps_history() {
    let (_tmp, app) = app().await;
    let events = chat(&app, "党龄从什么时候开始计算", None).await;
    let names: Vec<&str> = events.iter().map(|(e, _)| e.as_str()).collect();
    assert_eq!(names.first(), Some(&"meta"));
    assert_eq!(names.get(1), Some(&"sources"));
    assert_eq!(names.last(), Some(&"done"));
    assert!(names.iter().filter(|n| **n == "delta").count() > 1, "answer streams in pieces: {names:?}");

    let meta = event(&events, "meta");
    assert_eq!(meta["mode"], "extractive");
    let sources = event(&events, "sources").as_array().unwrap().clone();
    assert_eq!(sources[0]["doc_title"], "中国共产党章程");
    assert_eq!(sources[0]["article"], "第七条");
    assert_eq!(sources[0]["index"], 1);
    assert!(sources[0]["url"].as_str().unwrap().contains("article=第七条"));

    let text = answer_text(&events);
    assert!(text.starts_with("根据《中国共产党章程》（2022年版）第七条："), "{text}");
    assert!(text.contains("党员的党龄，从预备期满转为正式党员之日算起。[1]"), "{text}");
    // Extractive means quoted: every quoted piece occurs verbatim in the source it cites.
    for para in text.split("\n\n").filter(|p| p.starts_with("根据")) {
        let (_, rest) = para.split_once('：').unwrap();
        let (quoted, cite) = rest.rsplit_once('[').unwrap();
        let n: usize = cite.trim_end_matches(']').parse().unwrap();
        let source_text = sources[n - 1]["text"].as_str().unwrap();
        for piece in quoted.split("……") {
            assert!(source_text.contains(piece), "{piece:?} is not in source [{n}]");
        }
    }
    let done = event(&events, "done");
    assert_eq!(done["refused"], false);
    assert_eq!(done["handoff_suggested"], false);
    assert!(done["confidence"].as_f64().unwrap() >= 0.5);

    // History is stored, and feedback attaches to the assistant message.
    let conv = meta["conversation_id"].as_str().unwrap();
    let (status, history) = get_json(&app, &format!("/api/conversations/{conv}")).await;
    assert_eq!(status, StatusCode::OK);
    let messages = history["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["role"], "user");
    assert_eq!(messages[1]["content"].as_str().unwrap(), text);
    assert_eq!(messages[1]["sources"][0]["article"], "第七条");

    let id = meta["message_id"].as_i64().unwrap();
    let (status, _) = call(&app, "POST", &format!("/api/messages/{id}/feedback"), Some(json!({"rating": "down", "comment": "不够详细"}))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = call(&app, "POST", &format!("/api/messages/{id}/feedback"), Some(json!({"rating": "up"}))).await;
    assert_eq!(status, StatusCode::OK, "a second vote replaces the first");
    let (status, body) = call(&app, "POST", &format!("/api/messages/{id}/feedback"), Some(json!({"rating": "meh"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("feedback.invalid_rating"), "{body}");
    let user_msg = messages[0]["id"].as_i64().unwrap();
    let (status, body) = call(&app, "POST", &format!("/api/messages/{user_msg}/feedback"), Some(json!({"rating": "up"}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "only assistant answers take feedback: {body}");

    // Another browser (another asker cookie, or none) neither reads, continues nor rates it.
    let stranger = [("cookie", "dwt_asker=00000000000000000000000000000000000000000000000000000000000000ff")];
    for headers in [&stranger[..], &[("cookie", "x=1")][..]] {
        let (status, _, body) = common::request(&app, "POST", &format!("/api/messages/{id}/feedback"), None, headers, Some(json!({"rating": "down"}).to_string().into()), Some("application/json")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{headers:?}: {body}");
        let (status, _, _) = common::request(&app, "GET", &format!("/api/conversations/{conv}"), None, headers, None, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{headers:?}");
        let ask = json!({"question": "那预备期多长？", "conversation_id": conv}).to_string();
        let (status, _, body) = common::request(&app, "POST", "/api/chat", None, headers, Some(ask.into()), Some("application/json")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{headers:?}: {body}");
    }
    // A browser without the cookie gets one (HttpOnly) with its first answer.
    let ask = json!({"question": "党龄从什么时候开始计算"}).to_string();
    let (status, headers, _) = common::request(&app, "POST", "/api/chat", None, &[("cookie", "x=1")], Some(ask.into()), Some("application/json")).await;
    assert_eq!(status, StatusCode::OK);
    let set = headers.get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(set.starts_with("dwt_asker=") && set.contains("HttpOnly"), "{set}");
    let (_, after) = get_json(&app, &format!("/api/conversations/{conv}")).await;
    assert_eq!(after["messages"].as_array().unwrap().len(), 2, "nothing was appended by the strangers");
}

#[tokio::test]
async fn follow_up_and_refusal() {
    let (_tmp, app) = app().await;
    let first = chat(&app, "预备党员有哪些权利", None).await;
    let conv = event(&first, "meta")["conversation_id"].as_str().unwrap().to_string();
    let follow = chat(&app, "那预备期多长？", Some(&conv)).await;
    let meta = event(&follow, "meta");
    assert_eq!(meta["conversation_id"], conv.as_str());
    let standalone = meta["standalone_question"].as_str().unwrap();
    assert!(standalone.contains("预备") && standalone.contains("预备期多长"), "{standalone}");
    let text = answer_text(&follow);
    assert!(text.contains("预备党员的预备期为一年"), "{text}");

    // Out of scope: refuse honestly, suggest a human answer, cite nothing.
    let refused = chat(&app, "明天北京天气怎么样？", None).await;
    let done = event(&refused, "done");
    assert_eq!(done["refused"], true);
    assert_eq!(done["handoff_suggested"], true);
    assert!(event(&refused, "sources").as_array().unwrap().is_empty());
    assert!(answer_text(&refused).contains("知识库中没有找到"));
}

#[tokio::test]
async fn bad_requests_get_stable_codes_and_chinese_messages() {
    let (_tmp, app) = app().await;
    let cases = [
        (json!({"question": "   "}), StatusCode::BAD_REQUEST, "chat.empty_question"),
        (json!({"question": "党".repeat(501)}), StatusCode::BAD_REQUEST, "chat.question_too_long"),
        (json!({"question": "党龄", "conversation_id": "nope"}), StatusCode::NOT_FOUND, "chat.conversation_not_found"),
        (json!({"q": "缺字段"}), StatusCode::BAD_REQUEST, "request.invalid_json"),
    ];
    for (body, status, code) in cases {
        let (s, b) = call(&app, "POST", "/api/chat", Some(body)).await;
        assert_eq!(s, status, "{b}");
        let v: serde_json::Value = serde_json::from_str(&b).unwrap();
        assert_eq!(v["code"], code);
        assert!(v["message"].as_str().unwrap().chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "Chinese message: {b}");
    }
    let (s, v) = get_json(&app, "/api/conversations/nope").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(v["code"], "chat.conversation_not_found");
    let (s, v) = get_json(&app, "/api/search/text?q=%20").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["code"], "search.empty_query");
    let (s, b) = call(&app, "POST", "/api/chat", Some(json!({"question": "x".repeat(70_000)}))).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "body limit");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&b).unwrap()["code"], "request.too_large", "{b}");
    // Errors the framework raises before a handler runs have the same shape, in Chinese.
    let big = json!({"rating": "up", "comment": "x".repeat(70_000)});
    for (method, uri, body, status, code) in [
        ("POST", "/api/messages/1/feedback", Some(big), StatusCode::PAYLOAD_TOO_LARGE, "request.too_large"),
        ("GET", "/api/documents/abc", None, StatusCode::BAD_REQUEST, "request.invalid"),
        ("GET", "/api/search/text?q=党&limit=many", None, StatusCode::BAD_REQUEST, "request.invalid"),
        ("GET", "/api/no-such-endpoint", None, StatusCode::NOT_FOUND, "request.not_found"),
        ("DELETE", "/api/chat", None, StatusCode::METHOD_NOT_ALLOWED, "request.method_not_allowed"),
    ] {
        let (status_got, headers, b) = common::request(&app, method, &uri.replace('党', "%E5%85%9A"), None, &[], body.map(|b| b.to_string().into()), Some("application/json")).await;
        assert_eq!(status_got, status, "{uri}: {b}");
        assert!(headers.get("content-type").unwrap().to_str().unwrap().starts_with("application/json"), "{uri}");
        let v: serde_json::Value = serde_json::from_str(&b).unwrap_or_else(|_| panic!("{uri}: {b}"));
        assert_eq!(v["code"], code, "{uri}: {b}");
        assert!(v["message"].as_str().unwrap().chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "{uri}: {b}");
    }
    // Security headers on pages and API answers alike.
    for uri in ["/", "/api/documents", "/api/no-such-endpoint"] {
        let (_, headers, _) = common::request(&app, "GET", uri, None, &[], None, None).await;
        for (name, value) in [("x-content-type-options", "nosniff"), ("x-frame-options", "DENY"), ("referrer-policy", "same-origin")] {
            assert_eq!(headers.get(name).and_then(|v| v.to_str().ok()), Some(value), "{uri} {name}");
        }
        let csp = headers.get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"), "{uri}: {csp}");
    }
}

#[tokio::test]
async fn regulation_library_and_pages() {
    let (_tmp, app) = app().await;
    let (s, _) = call(&app, "GET", "/healthz", None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, ready) = get_json(&app, "/readyz").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ready["documents"], 2);

    let (_, docs) = get_json(&app, "/api/documents").await;
    let dz = docs["documents"].as_array().unwrap().iter().find(|d| d["title"] == "中国共产党章程").unwrap().clone();
    let id = dz["id"].as_i64().unwrap();
    assert_eq!(dz["status"], "current");
    let (s, doc) = get_json(&app, &format!("/api/documents/{id}")).await;
    assert_eq!(s, StatusCode::OK);
    let articles = doc["articles"].as_array().unwrap();
    let labelled: Vec<&str> = articles.iter().filter_map(|a| a["article"].as_str()).filter(|a| a.starts_with('第')).collect();
    assert_eq!(labelled.iter().collect::<std::collections::HashSet<_>>().len(), 55, "all 55 articles of the 2017 党章");
    for label in ["第七条", "7", "第7条"] {
        let (s, a) = get_json(&app, &format!("/api/documents/{id}/articles/{label}")).await;
        assert_eq!(s, StatusCode::OK, "{label}");
        assert!(a["article"]["text"].as_str().unwrap().contains("党员的党龄"), "{label}");
    }
    let (s, v) = get_json(&app, &format!("/api/documents/{id}/articles/第九十九条")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(v["code"], "document.article_not_found");
    let (s, v) = get_json(&app, "/api/documents/999999").await;
    assert_eq!((s, v["code"].as_str()), (StatusCode::NOT_FOUND, Some("document.not_found")));

    let (s, hits) = get_json(&app, "/api/search/text?q=%E5%85%9A%E9%BE%84").await; // 党龄
    assert_eq!(s, StatusCode::OK);
    let first = &hits["hits"][0];
    assert_eq!(first["article"], "第七条");
    assert!(first["snippet"].as_str().unwrap().contains("<em>党龄</em>"));

    let (s, page) = call(&app, "GET", "/", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("党务通"));
    let (s, js) = call(&app, "GET", "/chat.js", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(js.contains("/api/chat"));
    let (s, _) = call(&app, "GET", "/nope.html", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_hundred_concurrent_chats_all_complete() {
    let (_tmp, app) = app().await;
    let questions = ["党龄从什么时候开始计算", "预备期多长", "党员有哪些义务", "党的最高领导机关是什么", "明天天气怎么样"];
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let app = app.clone();
            let q = questions[i % questions.len()];
            tokio::spawn(async move { chat(&app, q, None).await })
        })
        .collect();
    let mut conversations = std::collections::HashSet::new();
    for t in tasks {
        let events = t.await.unwrap();
        assert!(events.iter().all(|(e, _)| e != "error"), "{events:?}");
        assert_eq!(events.last().unwrap().0, "done");
        conversations.insert(event(&events, "meta")["conversation_id"].as_str().unwrap().to_string());
    }
    assert_eq!(conversations.len(), 100, "each request got its own conversation");
}
