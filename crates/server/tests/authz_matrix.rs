//! Authorization matrix: every admin endpoint × role × (own subtree / other subtree) against the
//! expected allow/deny, so a cross-organisation leak cannot slip in later. Plus the HTTP side of
//! authentication: cookies, CSRF, lockout (423), and answers that do not reveal accounts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cloned_ref_to_slice_refs, clippy::type_complexity)]

mod common;

use axum::body::Body;
use axum::http::StatusCode;
use common::{app_with_core, request};
use dwt_org::Core;
use serde_json::{json, Value};

const ROLES: [&str; 4] = ["sysadmin", "jy_admin", "jy_staff", "member1"];

use common::demo_token as token;

fn xlsx(headers: &[&str], row: Vec<String>) -> Vec<u8> {
    let row: Vec<&str> = row.iter().map(String::as_str).collect();
    dwt_org::xlsx::sheet_from_rows(headers, &[row]).unwrap()
}

fn id_number(seq: u32) -> String {
    let first17 = format!("11010519900101{seq:03}");
    format!("{first17}{}", dwt_org::validate::id_check_char(&first17).unwrap())
}

/// The organisations and records one side of the matrix acts on: "own" lies under 市教育局党委
/// (DW01, where jy_admin and jy_staff hold their roles), "other" under 市卫健委党委 (DW02).
struct Side {
    /// A 支部 with members.
    branch: Value,
    /// Another 支部 in the same subtree (a move target).
    sibling: Value,
    member_id: i64,
    user_id: i64,
    /// A curated Q&A pair scoped to `branch` (created by the 系统管理员 before the matrix runs).
    qa_pair: i64,
}

async fn side(core: &Core, branch_code: &str, sibling_code: &str, username: &str) -> Side {
    let branch = core.orgs.get_by_code(branch_code).await.unwrap().unwrap();
    let sibling = core.orgs.get_by_code(sibling_code).await.unwrap().unwrap();
    let (_, members) = core.members.search(&[branch.path.clone()], &Default::default()).await.unwrap();
    let user_id = core.users.account_by_username(username).await.unwrap().unwrap().id;
    Side { branch: serde_json::to_value(&branch).unwrap(), sibling: serde_json::to_value(&sibling).unwrap(), member_id: members[0].id, user_id, qa_pair: 0 }
}

/// Outcome of one call: allowed (2xx and, for lists, the target is in the answer) or denied (403,
/// or a list without the target). Anything else fails the test.
#[derive(Debug, PartialEq, Clone, Copy)]
enum Outcome {
    Allow,
    Deny,
}

#[tokio::test]
async fn every_admin_endpoint_by_role_and_subtree() {
    let (_tmp, app, core) = app_with_core().await;
    let mut own = side(&core, "ZB02", "ZB01", "zb1_staff").await;
    let mut other = side(&core, "ZB03", "ZB04", "wj_staff").await;
    let mut tokens = Vec::new();
    for r in ROLES {
        tokens.push(token(&core, r).await);
    }
    for t in [&mut own, &mut other] {
        let body = json!({"question": format!("矩阵测试：{}的主题党日安排", t.branch["name"].as_str().unwrap()), "answer": "每月第一个周五。", "status": "draft", "org_id": t.branch["id"], "force": true});
        let (status, _, b) = request(&app, "POST", "/api/admin/qa", Some(&tokens[0]), &[], Some(Body::from(body.to_string())), Some("application/json")).await;
        assert_eq!(status, StatusCode::CREATED, "{b}");
        t.qa_pair = serde_json::from_str::<Value>(&b).unwrap()["id"].as_i64().unwrap();
    }
    let mut seq = 100u32;

    // (endpoint label, expected per role as "own other" with A = allow, D = deny) in ROLES order.
    let expectations: &[(&str, [&str; 4])] = &[
        ("GET /api/admin/orgs (visible)", ["AA", "AD", "AD", "DD"]),
        ("POST /api/admin/orgs (child)", ["AA", "AD", "DD", "DD"]),
        ("PUT /api/admin/orgs/{id}", ["AA", "AD", "DD", "DD"]),
        ("POST /api/admin/orgs/{id}/move", ["AA", "AD", "DD", "DD"]),
        ("POST /api/admin/orgs/{id}/dissolve", ["AA", "AD", "DD", "DD"]),
        ("POST /api/admin/orgs/import", ["AA", "AD", "DD", "DD"]),
        ("GET /api/admin/orgs/export (visible)", ["AA", "AD", "AD", "DD"]),
        ("GET /api/admin/members?org_id", ["AA", "AD", "AD", "DD"]),
        ("GET /api/admin/members (visible)", ["AA", "AD", "AD", "DD"]),
        ("GET /api/admin/members?unmask=1", ["AA", "AD", "DD", "DD"]),
        ("GET /api/admin/members/{id}", ["AA", "AD", "AD", "DD"]),
        ("GET /api/admin/members/{id}?unmask=1", ["AA", "AD", "DD", "DD"]),
        ("POST /api/admin/members", ["AA", "AD", "DD", "DD"]),
        ("PUT /api/admin/members/{id}", ["AA", "AD", "DD", "DD"]),
        ("DELETE /api/admin/members/{id}", ["AA", "AD", "DD", "DD"]),
        ("GET /api/admin/members/export?org_id", ["AA", "AD", "AD", "DD"]),
        ("POST /api/admin/members/import?org_id", ["AA", "AD", "DD", "DD"]),
        ("GET /api/admin/users (visible)", ["AA", "AD", "DD", "DD"]),
        ("POST /api/admin/users", ["AA", "AD", "DD", "DD"]),
        ("POST /api/admin/users (grant sys_admin)", ["AA", "DD", "DD", "DD"]),
        ("PUT /api/admin/users/{id}", ["AA", "AD", "DD", "DD"]),
        ("POST /api/admin/users/{id}/unlock", ["AA", "AD", "DD", "DD"]),
        ("GET /api/admin/audit", ["AA", "DD", "DD", "DD"]),
        ("GET /api/admin/crawl/sources", ["AA", "DD", "DD", "DD"]),
        ("POST /api/admin/crawl/sources/{name}/run", ["AA", "DD", "DD", "DD"]),
        ("POST /api/admin/crawl/sources/{name}/urls", ["AA", "DD", "DD", "DD"]),
        ("GET /api/admin/crawl/runs", ["AA", "DD", "DD", "DD"]),
        ("GET /api/admin/crawl/runs/{id}/errors", ["AA", "DD", "DD", "DD"]),
        ("GET /api/admin/kb/documents", ["AA", "DD", "DD", "DD"]),
        ("GET /api/admin/kb/documents/{id}/chunks", ["AA", "DD", "DD", "DD"]),
        ("POST /api/admin/kb/documents/{id}/status", ["AA", "DD", "DD", "DD"]),
        ("PUT /api/admin/kb/chunks/{id}", ["AA", "DD", "DD", "DD"]),
        ("POST /api/admin/kb/chunks/{id}/enable", ["AA", "DD", "DD", "DD"]),
        ("GET /api/admin/kb/chunks/{id}/versions", ["AA", "DD", "DD", "DD"]),
        ("GET /api/admin/kb/hit-test", ["AA", "DD", "DD", "DD"]),
        ("POST /api/admin/kb/documents/{id}/rechunk (preview)", ["AA", "DD", "DD", "DD"]),
        // Feedback review: 答复人员 and 组织管理员 see their subtree's (scoping tested in kb_http).
        ("GET /api/admin/feedback", ["AA", "AA", "AA", "DD"]),
        // Curated pairs: 组织管理员 curate the pairs of their own subtree; categories are read by
        // every curator (changed by 系统管理员 only).
        ("GET /api/admin/qa (visible)", ["AA", "AD", "DD", "DD"]),
        ("GET /api/admin/qa/categories", ["AA", "AA", "DD", "DD"]),
        ("POST /api/admin/qa", ["AA", "AD", "DD", "DD"]),
        ("PUT /api/admin/qa/{id}", ["AA", "AD", "DD", "DD"]),
        ("POST /api/admin/qa/{id}/status", ["AA", "AD", "DD", "DD"]),
        ("GET /api/admin/qa/{id}/versions", ["AA", "AD", "DD", "DD"]),
    ];

    let mut failures = Vec::new();
    let mut cells = 0;
    for (label, expected) in expectations {
        for (ri, role) in ROLES.iter().enumerate() {
            for (si, target) in [&own, &other].into_iter().enumerate() {
                seq += 1;
                let got = call_endpoint(&app, &core, label, Some(&tokens[ri]), target, seq).await;
                let want = if expected[ri].as_bytes()[si] == b'A' { Outcome::Allow } else { Outcome::Deny };
                cells += 1;
                if got != Ok(want) {
                    failures.push(format!("{label} as {role} on {} subtree: expected {want:?}, got {got:?}", if si == 0 { "own" } else { "other" }));
                }
            }
            let _ = ri;
        }
        // Anonymous: always 401.
        seq += 1;
        let got = call_endpoint(&app, &core, label, None, &own, seq).await;
        if got != Err(StatusCode::UNAUTHORIZED) {
            failures.push(format!("{label} anonymous: expected 401, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{} of {cells} cells wrong:\n{}", failures.len(), failures.join("\n"));
    // Each unmasked view above was audit-logged.
    let pii = core.audit.recent(Some("member.pii_viewed"), 100).await.unwrap();
    assert!(pii.len() >= 6, "unmasked views logged: {}", pii.len());
}

/// The current text of chunk 1 (so an edit with it changes nothing), or a placeholder when the
/// caller may not read it (the edit is then refused before the text matters).
async fn core_first_chunk(app: &axum::Router, token: Option<&str>) -> String {
    let (status, _, body) = request(app, "GET", "/api/admin/kb/documents/1/chunks", token, &[], None, None).await;
    if status != StatusCode::OK {
        return "（无权读取）".into();
    }
    let v: Value = serde_json::from_str(&body).unwrap();
    v["chunks"].as_array().unwrap().iter().find(|c| c["id"] == 1).map(|c| c["text"].as_str().unwrap().to_string()).unwrap_or_default()
}

/// Performs one matrix cell. Ok(outcome) for 2xx / 403, Err(status) for anything else.
async fn call_endpoint(app: &axum::Router, core: &Core, label: &str, token: Option<&str>, t: &Side, seq: u32) -> Result<Outcome, StatusCode> {
    let branch_id = t.branch["id"].as_i64().unwrap();
    let branch_code = t.branch["code"].as_str().unwrap().to_string();
    let sibling_id = t.sibling["id"].as_i64().unwrap();
    let json_body = |v: Value| Some(Body::from(v.to_string()));
    const JSON: Option<&str> = Some("application/json");
    const XLSX: Option<&str> = Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    let fresh_org = || async {
        core.orgs
            .create(Some(branch_id), &dwt_org::orgs::OrgInput { name: format!("临时小组{seq}"), org_type: "临时党支部".into(), code: format!("TMP{seq}"), ..Default::default() })
            .await
            .unwrap()
            .id
    };
    let fresh_member = || async {
        let m = dwt_org::members::MemberInput { name: format!("测试{seq}"), org_id: branch_id, status: "正式党员".into(), id_number: Some(id_number(seq)), ..Default::default() };
        core.members.create(&m).await.unwrap().id
    };
    let member_body = json!({"name": format!("党员{seq}"), "org_id": branch_id, "status": "正式党员", "id_number": id_number(seq), "phone": "13800138000"});
    let (list_check, (status, _, body)): (Option<Box<dyn Fn(&str) -> bool>>, _) = match label {
        "GET /api/admin/orgs (visible)" => (Some(Box::new(move |b: &str| b.contains(&format!("\"id\":{branch_id},")))), request(app, "GET", "/api/admin/orgs", token, &[], None, None).await),
        "POST /api/admin/orgs (child)" => {
            let body = json!({"parent_id": branch_id, "name": format!("新支部{seq}"), "org_type": "党支部", "code": format!("NEW{seq}")});
            (None, request(app, "POST", "/api/admin/orgs", token, &[], json_body(body), JSON).await)
        }
        "PUT /api/admin/orgs/{id}" => {
            let body = json!({"name": t.branch["name"], "org_type": "党支部", "code": branch_code, "leader_name": format!("负责人{seq}")});
            (None, request(app, "PUT", &format!("/api/admin/orgs/{branch_id}"), token, &[], json_body(body), JSON).await)
        }
        "POST /api/admin/orgs/{id}/move" => {
            let id = fresh_org().await;
            (None, request(app, "POST", &format!("/api/admin/orgs/{id}/move"), token, &[], json_body(json!({"parent_id": sibling_id})), JSON).await)
        }
        "POST /api/admin/orgs/{id}/dissolve" => {
            let id = fresh_org().await;
            (None, request(app, "POST", &format!("/api/admin/orgs/{id}/dissolve"), token, &[], None, None).await)
        }
        "POST /api/admin/orgs/import" => {
            let file = xlsx(dwt_org::xlsx::ORG_IMPORT_HEADERS, vec![format!("IMP{seq}"), format!("导入支部{seq}"), "党支部".into(), branch_code]);
            let r = request(app, "POST", "/api/admin/orgs/import", token, &[], Some(Body::from(file)), XLSX).await;
            // A row refused for lack of rights is a denial for the matrix (the report says 无权).
            let refused = r.0 == StatusCode::OK && serde_json::from_str::<Value>(&r.2).unwrap()["inserted"] != json!(1);
            if refused {
                assert!(r.2.contains("无权"), "import refused for another reason: {}", r.2);
                (None, (StatusCode::FORBIDDEN, r.1, r#"{"code":"auth.forbidden"}"#.to_string()))
            } else {
                (None, r)
            }
        }
        "GET /api/admin/orgs/export (visible)" => {
            let r = request(app, "GET", "/api/admin/orgs/export", token, &[], None, None).await;
            let visible = if r.0 == StatusCode::OK {
                let rows = dwt_org::xlsx::read_sheet(&common::body_bytes(&r.2)).unwrap();
                rows.iter().any(|row| row.first() == Some(&branch_code))
            } else {
                false
            };
            (Some(Box::new(move |_: &str| visible)), r)
        }
        "GET /api/admin/members?org_id" => (None, request(app, "GET", &format!("/api/admin/members?org_id={branch_id}"), token, &[], None, None).await),
        "GET /api/admin/members (visible)" => {
            let mid = t.member_id;
            (Some(Box::new(move |b: &str| b.contains(&format!("\"id\":{mid},")))), request(app, "GET", "/api/admin/members?page_size=200", token, &[], None, None).await)
        }
        "GET /api/admin/members?unmask=1" => (None, request(app, "GET", &format!("/api/admin/members?org_id={branch_id}&unmask=1"), token, &[], None, None).await),
        "GET /api/admin/members/{id}" => (None, request(app, "GET", &format!("/api/admin/members/{}", t.member_id), token, &[], None, None).await),
        "GET /api/admin/members/{id}?unmask=1" => (None, request(app, "GET", &format!("/api/admin/members/{}?unmask=1", t.member_id), token, &[], None, None).await),
        "POST /api/admin/members" => (None, request(app, "POST", "/api/admin/members", token, &[], json_body(member_body), JSON).await),
        "PUT /api/admin/members/{id}" => {
            let id = fresh_member().await;
            (None, request(app, "PUT", &format!("/api/admin/members/{id}"), token, &[], json_body(json!({"name": format!("改名{seq}"), "org_id": branch_id, "status": "正式党员", "id_number": id_number(seq)})), JSON).await)
        }
        "DELETE /api/admin/members/{id}" => {
            let id = fresh_member().await;
            (None, request(app, "DELETE", &format!("/api/admin/members/{id}"), token, &[], None, None).await)
        }
        "GET /api/admin/members/export?org_id" => (None, request(app, "GET", &format!("/api/admin/members/export?org_id={branch_id}"), token, &[], None, None).await),
        "POST /api/admin/members/import?org_id" => {
            let h = dwt_org::xlsx::MEMBER_IMPORT_HEADERS;
            let mut row = vec![String::new(); h.len()];
            row[0] = format!("导入{seq}");
            row[4] = id_number(seq);
            row[9] = "正式党员".into();
            (None, request(app, "POST", &format!("/api/admin/members/import?org_id={branch_id}"), token, &[], Some(Body::from(xlsx(h, row))), XLSX).await)
        }
        "GET /api/admin/users (visible)" => {
            let uid = t.user_id;
            (Some(Box::new(move |b: &str| b.contains(&format!("\"id\":{uid},")))), request(app, "GET", "/api/admin/users", token, &[], None, None).await)
        }
        "POST /api/admin/users" => {
            let body = json!({"username": format!("u{seq}"), "display_name": "新用户", "phone": "13800138000", "password": "Hx7#kq2Lm", "roles": [{"role": "member", "org_id": branch_id}]});
            (None, request(app, "POST", "/api/admin/users", token, &[], json_body(body), JSON).await)
        }
        "POST /api/admin/users (grant sys_admin)" => {
            let body = json!({"username": format!("s{seq}"), "display_name": "越权", "password": "Hx7#kq2Lm-Zz9", "roles": [{"role": "sys_admin", "org_id": branch_id}]});
            (None, request(app, "POST", "/api/admin/users", token, &[], json_body(body), JSON).await)
        }
        "PUT /api/admin/users/{id}" => {
            let body = json!({"display_name": format!("改名{seq}"), "status": "active"});
            (None, request(app, "PUT", &format!("/api/admin/users/{}", t.user_id), token, &[], json_body(body), JSON).await)
        }
        "POST /api/admin/users/{id}/unlock" => (None, request(app, "POST", &format!("/api/admin/users/{}/unlock", t.user_id), token, &[], None, None).await),
        "GET /api/admin/audit" => (None, request(app, "GET", "/api/admin/audit", token, &[], None, None).await),
        "GET /api/admin/crawl/sources" => (None, request(app, "GET", "/api/admin/crawl/sources", token, &[], None, None).await),
        "POST /api/admin/crawl/sources/{name}/run" => {
            let r = request(app, "POST", "/api/admin/crawl/sources/wechat-test/run", token, &[], None, None).await;
            // 409: authorized, and the previous cell's run was still going.
            if r.0 == StatusCode::CONFLICT {
                (None, (StatusCode::ACCEPTED, r.1, r.2))
            } else {
                (None, r)
            }
        }
        "POST /api/admin/crawl/sources/{name}/urls" => {
            let body = json!({"url": format!("https://mp.weixin.qq.com/s/matrix{seq}")});
            (None, request(app, "POST", "/api/admin/crawl/sources/wechat-test/urls", token, &[], json_body(body), JSON).await)
        }
        "GET /api/admin/crawl/runs" => (None, request(app, "GET", "/api/admin/crawl/runs", token, &[], None, None).await),
        "GET /api/admin/crawl/runs/{id}/errors" => (None, request(app, "GET", "/api/admin/crawl/runs/1/errors", token, &[], None, None).await),
        // Knowledge base: system-wide (no organisation); the calls change nothing (same status,
        // same text, already enabled) so every cell sees the same state.
        "GET /api/admin/kb/documents" => (None, request(app, "GET", "/api/admin/kb/documents", token, &[], None, None).await),
        "GET /api/admin/kb/documents/{id}/chunks" => (None, request(app, "GET", "/api/admin/kb/documents/1/chunks", token, &[], None, None).await),
        "POST /api/admin/kb/documents/{id}/status" => {
            (None, request(app, "POST", "/api/admin/kb/documents/1/status", token, &[], json_body(json!({"status": "current"})), JSON).await)
        }
        "PUT /api/admin/kb/chunks/{id}" => {
            let c = core_first_chunk(app, token).await;
            (None, request(app, "PUT", "/api/admin/kb/chunks/1", token, &[], json_body(json!({"text": c})), JSON).await)
        }
        "POST /api/admin/kb/chunks/{id}/enable" => (None, request(app, "POST", "/api/admin/kb/chunks/1/enable", token, &[], None, None).await),
        "GET /api/admin/kb/chunks/{id}/versions" => (None, request(app, "GET", "/api/admin/kb/chunks/1/versions", token, &[], None, None).await),
        "POST /api/admin/kb/documents/{id}/rechunk (preview)" => {
            (None, request(app, "POST", "/api/admin/kb/documents/1/rechunk", token, &[], json_body(json!({"text_tokens": 128})), JSON).await)
        }
        "GET /api/admin/kb/hit-test" => (None, request(app, "GET", "/api/admin/kb/hit-test?q=%E5%85%9A%E9%BE%84", token, &[], None, None).await),
        "GET /api/admin/qa/categories" => (None, request(app, "GET", "/api/admin/qa/categories", token, &[], None, None).await),
        "GET /api/admin/feedback" => (None, request(app, "GET", "/api/admin/feedback", token, &[], None, None).await),
        "GET /api/admin/qa (visible)" => {
            let pair = t.qa_pair;
            (Some(Box::new(move |b: &str| b.contains(&format!("\"id\":{pair},")))), request(app, "GET", "/api/admin/qa", token, &[], None, None).await)
        }
        "POST /api/admin/qa" => {
            let body = json!({"question": format!("矩阵测试问题{seq}：关于第{seq}号临时事项如何办理"), "answer": "测试", "status": "draft", "org_id": branch_id, "force": true});
            (None, request(app, "POST", "/api/admin/qa", token, &[], json_body(body), JSON).await)
        }
        // Same content and status as saved: allowed calls change nothing, so every cell sees the same pair.
        "PUT /api/admin/qa/{id}" => {
            let body = json!({"question": format!("矩阵测试：{}的主题党日安排", t.branch["name"].as_str().unwrap()), "answer": "每月第一个周五。", "org_id": branch_id, "force": true});
            (None, request(app, "PUT", &format!("/api/admin/qa/{}", t.qa_pair), token, &[], json_body(body), JSON).await)
        }
        "POST /api/admin/qa/{id}/status" => {
            (None, request(app, "POST", &format!("/api/admin/qa/{}/status", t.qa_pair), token, &[], json_body(json!({"status": "draft"})), JSON).await)
        }
        "GET /api/admin/qa/{id}/versions" => (None, request(app, "GET", &format!("/api/admin/qa/{}/versions", t.qa_pair), token, &[], None, None).await),
        other => panic!("no request for {other}"),
    };
    match (status.as_u16(), list_check) {
        (200..=299, Some(check)) => Ok(if check(&body) { Outcome::Allow } else { Outcome::Deny }),
        (200..=299, None) => Ok(Outcome::Allow),
        (403, _) => {
            assert!(body.contains("auth.forbidden"), "{label}: 403 without auth.forbidden: {body}");
            Ok(Outcome::Deny)
        }
        _ => Err(status),
    }
}

