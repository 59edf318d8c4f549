//! Authentication over HTTP: session cookies and CSRF, bearer tokens, lockout (423) with answers
//! that do not reveal whether an account exists, and anonymous chat by configuration.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::body::Body;
use axum::http::StatusCode;
use common::{app_with_core, app_with_core_settings, request};
use dwt_org::demo::DEMO_PASSWORD;
use serde_json::{json, Value};

const JSON: Option<&str> = Some("application/json");

fn login_body(user: &str, password: &str) -> Option<Body> {
    Some(Body::from(json!({"username": user, "password": password}).to_string()))
}

fn cookie_value(headers: &axum::http::HeaderMap, name: &str) -> Option<(String, String)> {
    headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find(|c| c.starts_with(&format!("{name}="))).map(|c| {
        let value = c.split(';').next().unwrap().split_once('=').unwrap().1.to_string();
        (value, c.to_string())
    })
}

#[tokio::test]
async fn cookie_session_needs_csrf_for_writes_and_logout_ends_it() {
    let (_tmp, app, _core) = app_with_core().await;
    let (s, h, body) = request(&app, "POST", "/api/auth/login", None, &[], login_body("jy_admin", DEMO_PASSWORD), JSON).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["user"]["roles"][0]["role"], "org_admin");
    assert_eq!(v["user"]["roles"][0]["org_name"], "市教育局党委");
    let (session, raw) = cookie_value(&h, "dwt_session").expect("session cookie");
    assert!(raw.contains("HttpOnly") && raw.contains("SameSite=Lax") && raw.contains("Path=/"), "{raw}");
    let (csrf, raw_csrf) = cookie_value(&h, "dwt_csrf").expect("csrf cookie");
    assert!(!raw_csrf.contains("HttpOnly"), "the page must be able to read the CSRF cookie: {raw_csrf}");
    assert_eq!(v["csrf_token"], csrf.as_str());
    let cookie = format!("dwt_session={session}; dwt_csrf={csrf}");

    let (s, _, me) = request(&app, "GET", "/api/auth/me", None, &[("cookie", &cookie)], None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(me.contains("\"username\":\"jy_admin\""), "{me}");

    let orgs: Value = serde_json::from_str(&request(&app, "GET", "/api/admin/orgs", None, &[("cookie", &cookie)], None, None).await.2).unwrap();
    let dw01 = orgs["items"].as_array().unwrap().iter().find(|o| o["code"] == "DW01").unwrap()["id"].as_i64().unwrap();
    let new_org = || Some(Body::from(json!({"parent_id": dw01, "name": "第三中学党支部", "org_type": "党支部", "code": "ZB09"}).to_string()));
    // A cookie-authenticated write without the CSRF header: refused, nothing created.
    let (s, _, body) = request(&app, "POST", "/api/admin/orgs", None, &[("cookie", &cookie)], new_org(), JSON).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("auth.csrf"), "{body}");
    let (s, _, body) = request(&app, "POST", "/api/admin/orgs", None, &[("cookie", &cookie), ("x-csrf-token", "forged")], new_org(), JSON).await;
    assert_eq!((s, body.contains("auth.csrf")), (StatusCode::FORBIDDEN, true), "{body}");
    let (s, _, body) = request(&app, "POST", "/api/admin/orgs", None, &[("cookie", &cookie), ("x-csrf-token", &csrf)], new_org(), JSON).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    // Bearer clients need no CSRF header.
    let token = v["token"].as_str().unwrap();
    let (s, _, _) = request(&app, "GET", "/api/admin/members", Some(token), &[], None, None).await;
    assert_eq!(s, StatusCode::OK);

    let (s, h, _) = request(&app, "POST", "/api/auth/logout", None, &[("cookie", &cookie), ("x-csrf-token", &csrf)], None, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(cookie_value(&h, "dwt_session").unwrap().1.contains("Max-Age=0"));
    let (s, _, body) = request(&app, "GET", "/api/auth/me", None, &[("cookie", &cookie)], None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(body.contains("auth.required") && body.contains("请先登录"), "{body}");
    assert_eq!(request(&app, "GET", "/api/auth/me", Some(token), &[], None, None).await.0, StatusCode::UNAUTHORIZED, "the same session via bearer is gone too");
}

#[tokio::test]
async fn lockout_after_five_wrong_passwords_is_423_and_does_not_reveal_accounts() {
    let (_tmp, app, core) = app_with_core().await;
    let mut bodies = Vec::new();
    for i in 1..=4 {
        let (s, _, body) = request(&app, "POST", "/api/auth/login", None, &[], login_body("member1", "wrong-pass"), JSON).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "attempt {i}: {body}");
        bodies.push(body);
    }
    // Unknown user: byte-identical answer.
    let (s, _, unknown) = request(&app, "POST", "/api/auth/login", None, &[], login_body("no_such_user", "wrong-pass"), JSON).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown, bodies[0]);
    assert!(unknown.contains("用户名或密码错误"), "{unknown}");
    let (s, _, body) = request(&app, "POST", "/api/auth/login", None, &[], login_body("member1", "wrong-pass"), JSON).await;
    assert_eq!(s, StatusCode::LOCKED, "5th failure locks: {body}");
    assert!(body.contains("auth.locked") && body.contains("锁定"), "{body}");
    let (s, _, body) = request(&app, "POST", "/api/auth/login", None, &[], login_body("member1", DEMO_PASSWORD), JSON).await;
    assert_eq!(s, StatusCode::LOCKED, "the right password while locked: {body}");
    assert_eq!(core.audit.recent(Some("auth.locked"), 5).await.unwrap().len(), 1);
    // Bad input: Chinese message, stable code.
    let (s, _, body) = request(&app, "POST", "/api/auth/login", None, &[], Some(Body::from("{not json")), JSON).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("request.invalid_json"), "{body}");
    let (s, _, body) = request(&app, "POST", "/api/auth/login", None, &[], login_body("", ""), JSON).await;
    assert_eq!((s, body.contains("请输入用户名和密码")), (StatusCode::BAD_REQUEST, true), "{body}");
}

#[tokio::test]
async fn anonymous_chat_follows_the_config() {
    let auth = dwt_core::config::AuthSettings { allow_anonymous_chat: false, ..Default::default() };
    let (_tmp, app, core, _) = app_with_core_settings(auth).await;
    let ask = || Some(Body::from(json!({"question": "党员有哪些权利？"}).to_string()));
    let (s, _, body) = request(&app, "POST", "/api/chat", None, &[], ask(), JSON).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body.contains("请先登录"), "{body}");
    let token = match core.auth.login("member1", DEMO_PASSWORD, None).await.unwrap() {
        dwt_org::LoginOutcome::Ok(s) => s.token,
        other => panic!("{other:?}"),
    };
    let (s, _, body) = request(&app, "POST", "/api/chat", Some(&token), &[], ask(), JSON).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("event: done"), "{body}");
}

#[tokio::test]
async fn a_new_user_confirms_by_sms_and_must_change_the_password_first() {
    let (_tmp, app, core, sms) = app_with_core_settings(dwt_core::config::AuthSettings::default()).await;
    let admin = match core.auth.login("jy_admin", DEMO_PASSWORD, None).await.unwrap() {
        dwt_org::LoginOutcome::Ok(s) => s.token,
        other => panic!("{other:?}"),
    };
    let dw01 = core.orgs.get_by_code("DW01").await.unwrap().unwrap().id;
    // The initial password must meet the admin policy for an org_admin account.
    let weak = json!({"username": "zb_new", "display_name": "新管理员", "phone": "13712345678", "password": "Short1!", "roles": [{"role": "org_admin", "org_id": dw01}]});
    let (s, _, body) = request(&app, "POST", "/api/admin/users", Some(&admin), &[], Some(Body::from(weak.to_string())), JSON).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("auth.password_policy") && body.contains("至少 12 位"), "{body}");
    let ok = json!({"username": "zb_new", "display_name": "新管理员", "phone": "13712345678", "password": "Init#Pass2026", "roles": [{"role": "org_admin", "org_id": dw01}]});
    let (s, _, body) = request(&app, "POST", "/api/admin/users", Some(&admin), &[], Some(Body::from(ok.to_string())), JSON).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");

    let (s, _, body) = request(&app, "POST", "/api/auth/login", None, &[], login_body("zb_new", "Init#Pass2026"), JSON).await;
    assert_eq!(s, StatusCode::OK);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "sms_required", "{body}");
    assert_eq!(v["phone_masked"], "137****5678");
    assert!(v.get("token").is_none(), "no session before the SMS step");
    let step = json!({"challenge": v["challenge"], "code": sms.last_code()});
    let (s, _, body) = request(&app, "POST", "/api/auth/login/sms", None, &[], Some(Body::from(step.to_string())), JSON).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["user"]["must_change_password"], true);
    let token = v["token"].as_str().unwrap().to_string();
    // Until the password is changed only the auth endpoints answer.
    let (s, _, body) = request(&app, "GET", "/api/admin/orgs", Some(&token), &[], None, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert!(body.contains("auth.password_change_required"), "{body}");
    let (s, _, _) = request(&app, "POST", "/api/auth/sms/send", Some(&token), &[], Some(Body::from(json!({"purpose": "password_change"}).to_string())), JSON).await;
    assert_eq!(s, StatusCode::OK);
    let change = json!({"old_password": "Init#Pass2026", "new_password": "Brand#New2026x", "code": sms.last_code()});
    let (s, _, body) = request(&app, "POST", "/api/auth/password/change", Some(&token), &[], Some(Body::from(change.to_string())), JSON).await;
    assert_eq!(s, StatusCode::NO_CONTENT, "{body}");
    let (s, _, body) = request(&app, "GET", "/api/admin/orgs", Some(&token), &[], None, None).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert!(body.contains("第一中学党支部") && !body.contains("市卫健委党委"), "{body}");
}

#[tokio::test]
async fn edits_keep_what_the_form_cannot_see_and_nulls_get_chinese_errors() {
    let (_tmp, app, core) = app_with_core().await;
    let admin = match core.auth.login("sysadmin", DEMO_PASSWORD, None).await.unwrap() {
        dwt_org::LoginOutcome::Ok(s) => s.token,
        other => panic!("{other:?}"),
    };
    let id = core.users.account_by_username("member1").await.unwrap().unwrap().id;
    // A role/status edit without `phone` keeps the number (forms only see it masked).
    let (s, _, body) = request(&app, "PUT", &format!("/api/admin/users/{id}"), Some(&admin), &[], Some(Body::from(json!({"display_name": "张红", "status": "active"}).to_string())), JSON).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(core.users.account(id).await.unwrap().phone.as_deref(), Some("13900000001"));
    let (s, _, _) = request(&app, "PUT", &format!("/api/admin/users/{id}"), Some(&admin), &[], Some(Body::from(json!({"display_name": "张红", "phone": ""}).to_string())), JSON).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(core.users.account(id).await.unwrap().phone, None, "an empty string clears it");
    // null for a required field: the field's Chinese message, not serde's English.
    let gw = core.orgs.get_by_code("GW01").await.unwrap().unwrap().id;
    let (s, _, body) = request(&app, "POST", "/api/admin/orgs", Some(&admin), &[], Some(Body::from(json!({"parent_id": gw, "name": "新组织", "org_type": "党支部", "code": null, "sort_order": null}).to_string())), JSON).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("组织编码不能为空"), "{body}");
    let (s, _, body) = request(&app, "POST", "/api/admin/members", Some(&admin), &[], Some(Body::from(json!({"name": null, "org_id": gw}).to_string())), JSON).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("姓名不能为空"), "{body}");
    // Folder paths serve their index page.
    let (s, h, body) = request(&app, "GET", "/admin/", None, &[], None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html") && body.contains("<html"), "{body}");
}

#[tokio::test]
async fn admins_cannot_take_over_peers_or_their_own_roles() {
    let (_tmp, app, core) = app_with_core().await;
    let token = |u: &'static str| {
        let core = core.clone();
        async move {
            match core.auth.login(u, DEMO_PASSWORD, None).await.unwrap() {
                dwt_org::LoginOutcome::Ok(s) => s.token,
                other => panic!("{other:?}"),
            }
        }
    };
    let jy = token("jy_admin").await;
    let dw01 = core.orgs.get_by_code("DW01").await.unwrap().unwrap().id;
    // A second org_admin at the same organisation (a peer), created by the system admin.
    let peer = core
        .auth
        .create_user(
            dwt_org::NewUserInput { username: "jy_admin2".into(), display_name: "同级管理员".into(), phone: Some("13611112222".into()), password: "Peer#Admin2026".into(), member_id: None, must_change_password: false, first_login_pending: false },
            &[(dwt_org::Role::OrgAdmin, dw01)],
            &dwt_org::audit::Actor::default(),
        )
        .await
        .unwrap();
    let edit = json!({"display_name": "改掉", "phone": "13999999999", "status": "active"});
    let (s, _, body) = request(&app, "PUT", &format!("/api/admin/users/{}", peer.id), Some(&jy), &[], Some(Body::from(edit.to_string())), JSON).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a peer admin's phone cannot be changed: {body}");
    assert_eq!(core.users.account(peer.id).await.unwrap().phone.as_deref(), Some("13611112222"));
    // A subordinate admin (第一中学党支部) can be managed; the phone change is audited.
    let zb1 = core.users.account_by_username("zb1_admin").await.unwrap().unwrap().id;
    let (s, _, body) = request(&app, "PUT", &format!("/api/admin/users/{zb1}"), Some(&jy), &[], Some(Body::from(edit.to_string())), JSON).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(core.audit.recent(Some("user.phone_changed"), 5).await.unwrap().len(), 1);
    // Own roles: refused.
    let me = core.users.account_by_username("jy_admin").await.unwrap().unwrap().id;
    let mine = json!({"display_name": "教育局党委管理员", "roles": [{"role": "org_admin", "org_id": core.orgs.get_by_code("GW01").await.unwrap().unwrap().id}]});
    let (s, _, body) = request(&app, "PUT", &format!("/api/admin/users/{me}"), Some(&jy), &[], Some(Body::from(mine.to_string())), JSON).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(body.contains("user.self_roles"), "{body}");
}
