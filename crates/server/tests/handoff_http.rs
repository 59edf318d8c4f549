//! Human handoff over HTTP: a member hands off a real chat answer, staff of the 支部 claim and
//! reply, the member's open event stream receives the notification at once, the member rates,
//! staff propose the reply as a curated pair, the 支部 admin approves it, and the same question
//! is then answered from that pair (mode `faq`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{app_with_core, request, sse_events};
use futures::StreamExt;
use serde_json::{json, Value};
use tower::ServiceExt;

const JSON: Option<&str> = Some("application/json");

use common::demo_token as token;

async fn post(app: &axum::Router, uri: &str, token: &str, body: Value) -> (StatusCode, Value) {
    let (s, _, b) = request(app, "POST", uri, Some(token), &[], Some(Body::from(body.to_string())), JSON).await;
    (s, serde_json::from_str(&b).unwrap_or(Value::Null))
}

async fn ask(app: &axum::Router, token: &str, q: &str) -> Vec<(String, Value)> {
    let (s, _, body) = request(app, "POST", "/api/chat", Some(token), &[], Some(Body::from(json!({"question": q}).to_string())), JSON).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    sse_events(&body)
}

/// Reads the event stream until `needle` has been seen (10 s at most).
async fn read_until(stream: &mut axum::body::BodyDataStream, seen: &mut String, needle: &str) {
    let fut = async {
        while !seen.contains(needle) {
            let chunk = stream.next().await.expect("stream ended").unwrap();
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    tokio::time::timeout(Duration::from_secs(10), fut).await.unwrap_or_else(|_| panic!("no {needle} within 10 s"));
}

#[tokio::test]
async fn handoff_reply_arrives_live_and_becomes_a_curated_answer() {
    let (_tmp, app, core) = app_with_core().await;
    let member = token(&core, "member1").await;
    let question = "入党宣誓仪式上要宣读的誓词内容是什么";
    let events = ask(&app, &member, question).await;
    let meta = &events.iter().rev().find(|(e, _)| e == "meta").unwrap().1;
    assert_ne!(meta["mode"], "faq", "not a curated answer yet: {meta}");
    let message_id = meta["message_id"].as_i64().unwrap();
    let conversation_id = meta["conversation_id"].as_str().unwrap().to_string();
    // Someone else cannot take this answer by guessing its sequential id.
    let other_member = token(&core, "gw_staff").await;
    let (s, body) = post(&app, "/api/consultations", &other_member, json!({"message_id": message_id, "conversation_id": "0123456789abcdef"})).await;
    assert_eq!((s, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("handoff.message_not_found")), "{body}");
    assert_eq!(body["message"], "找不到要转人工的那条回答");
    // Nor with the right conversation id: the conversation is member1's, not theirs.
    let (s, body) = post(&app, "/api/consultations", &other_member, json!({"message_id": message_id, "conversation_id": conversation_id})).await;
    assert_eq!((s, body["code"].as_str()), (StatusCode::NOT_FOUND, Some("handoff.message_not_found")), "{body}");

    // Anonymous visitors cannot hand off.
    let (s, _, _) = request(&app, "POST", "/api/consultations", None, &[], Some(Body::from(json!({"message_id": message_id}).to_string())), JSON).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, c) = post(&app, "/api/consultations", &member, json!({"message_id": message_id, "conversation_id": conversation_id, "note": "想确认原文"})).await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert_eq!((c["status"].as_str(), c["question"].as_str(), c["expected_hours"].as_i64()), (Some("pending"), Some(question), Some(24)));
    assert!(!c["ai_answer"].as_str().unwrap().is_empty(), "the AI answer travels with the handoff");
    assert_eq!(c["org_name"], "第一中学党支部");
    let id = c["id"].as_i64().unwrap();
    let (s, again) = post(&app, "/api/consultations", &member, json!({"message_id": message_id, "conversation_id": conversation_id})).await;
    assert_eq!((s, again["code"].as_str()), (StatusCode::CONFLICT, Some("handoff.already_requested")));

    // The member's live stream is open before staff act.
    let req = Request::builder().uri("/api/events").header("authorization", format!("Bearer {member}")).body(Body::empty()).unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let mut stream = resp.into_body().into_data_stream();
    let mut seen = String::new();
    read_until(&mut stream, &mut seen, "event: hello").await;
    // At most 8 live streams per user: the 9th is refused in Chinese; closing one frees a slot.
    let open_stream = || {
        let app = app.clone();
        let member = member.clone();
        async move { app.oneshot(Request::builder().uri("/api/events").header("authorization", format!("Bearer {member}")).body(Body::empty()).unwrap()).await.unwrap() }
    };
    let mut extra = Vec::new();
    for _ in 0..7 {
        let r = open_stream().await;
        assert_eq!(r.status(), StatusCode::OK);
        extra.push(r);
    }
    let refused = open_stream().await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let body = String::from_utf8(axum::body::to_bytes(refused.into_body(), 4096).await.unwrap().to_vec()).unwrap();
    assert!(body.contains("events.too_many_streams") && body.contains("实时连接过多"), "{body}");
    extra.pop();
    assert_eq!(open_stream().await.status(), StatusCode::OK, "a closed stream frees its slot");
    drop(extra);

    let staff = token(&core, "zb1_staff").await;
    let (s, q) = {
        let (s, _, b) = request(&app, "GET", "/api/staff/queue", Some(&staff), &[], None, None).await;
        (s, serde_json::from_str::<Value>(&b).unwrap())
    };
    assert_eq!(s, StatusCode::OK);
    assert!(q["items"].as_array().unwrap().iter().any(|x| x["id"] == id), "{q}");
    let other = token(&core, "wj_staff").await;
    let (s, body) = post(&app, &format!("/api/staff/consultations/{id}/claim"), &other, json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let (s, body) = post(&app, &format!("/api/staff/consultations/{id}/claim"), &staff, json!({})).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let reply = "入党誓词为：我志愿加入中国共产党，拥护党的纲领，遵守党的章程……（见党章第六条）";
    let (s, body) = post(&app, &format!("/api/staff/consultations/{id}/reply"), &staff, json!({"body": reply})).await;
    assert_eq!((s, body["status"].as_str()), (StatusCode::OK, Some("answered")), "{body}");
    read_until(&mut stream, &mut seen, "event: notification").await;
    assert!(seen.contains("您的咨询已有人工答复"), "{seen}");

    let (s, _, read) = request(&app, "POST", "/api/notifications/read", Some(&member), &[], None, None).await;
    assert_eq!((s, read.as_str()), (StatusCode::OK, r#"{"unread":0}"#), "no body = mark all read");
    let (s, _, mine) = request(&app, "GET", "/api/consultations/mine", Some(&member), &[], None, None).await;
    assert_eq!(s, StatusCode::OK);
    let mine: Value = serde_json::from_str(&mine).unwrap();
    assert_eq!((mine["unread"].as_i64(), mine["items"][0]["reply"].as_str()), (Some(1), Some(reply)));
    let (s, body) = post(&app, &format!("/api/consultations/{id}/rate"), &member, json!({"rating": 5, "comment": "清楚"})).await;
    assert_eq!((s, body["status"].as_str()), (StatusCode::OK, Some("closed")), "{body}");

    // 采纳为常用问答 → admin approval → the same question is answered from the pair.
    let curated = "入党誓词全文：我志愿加入中国共产党，拥护党的纲领，遵守党的章程，履行党员义务，执行党的决定，严守党的纪律，保守党的秘密，对党忠诚，积极工作，为共产主义奋斗终身，随时准备为党和人民牺牲一切，永不叛党。";
    let (s, p) = post(&app, &format!("/api/staff/consultations/{id}/promote"), &staff, json!({"question": question, "answer": reply})).await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let (s, body) = post(&app, &format!("/api/admin/qa-proposals/{}/approve", p["id"]), &staff, json!({})).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "staff cannot approve: {body}");
    let admin = token(&core, "zb1_admin").await;
    let (s, body) = post(&app, &format!("/api/admin/qa-proposals/{}/approve", p["id"]), &admin, json!({"answer": curated})).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let events = ask(&app, &member, question).await;
    let meta = &events.iter().rev().find(|(e, _)| e == "meta").unwrap().1;
    assert_eq!(meta["mode"], "faq", "{meta}");
    let text: String = events.iter().filter(|(e, _)| e == "delta").map(|(_, d)| d["text"].as_str().unwrap_or("").to_string()).collect();
    assert!(text.contains("永不叛党"), "{text}");

    // A proposal never replaces an existing curated pair; the proposal stays pending.
    let (_, p2) = post(&app, &format!("/api/staff/consultations/{id}/promote"), &staff, json!({"question": question, "answer": "篡改的答案"})).await;
    let (s, body) = post(&app, &format!("/api/admin/qa-proposals/{}/approve", p2["id"]), &admin, json!({})).await;
    assert_eq!((s, body["code"].as_str()), (StatusCode::CONFLICT, Some("handoff.qa_exists")), "{body}");
    let (_, _, pending) = request(&app, "GET", "/api/admin/qa-proposals", Some(&admin), &[], None, None).await;
    assert!(pending.contains("篡改的答案"), "still pending for an edit: {pending}");
    let again = ask(&app, &member, question).await;
    let again_text: String = again.iter().filter(|(e, _)| e == "delta").map(|(_, d)| d["text"].as_str().unwrap_or("").to_string()).collect();
    assert!(again_text.contains("永不叛党") && !again_text.contains("篡改"), "{again_text}");

    // Numbers for the admin.
    let (s, _, stats) = request(&app, "GET", "/api/admin/handoff/stats", Some(&admin), &[], None, None).await;
    assert_eq!(s, StatusCode::OK);
    let stats: Value = serde_json::from_str(&stats).unwrap();
    assert_eq!((stats["total"]["closed"].as_i64(), stats["total"]["avg_rating"].as_f64()), (Some(1), Some(5.0)), "{stats}");
}
