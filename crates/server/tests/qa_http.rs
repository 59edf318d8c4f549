//! Curated Q&A pairs over HTTP: a draft does not answer, publishing answers at once (no
//! restart), duplicates are refused, edits are versioned and can be rolled back, retiring stops
//! the answers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::body::Body;
use axum::http::StatusCode;
use common::{app_with_core, request, sse_events};
use dwt_org::demo::DEMO_PASSWORD;
use dwt_org::LoginOutcome;
use serde_json::{json, Value};

const JSON: Option<&str> = Some("application/json");

async fn mode_of(app: &axum::Router, question: &str) -> (String, String) {
    let (status, _, body) = request(app, "POST", "/api/chat", None, &[], Some(Body::from(json!({"question": question}).to_string())), JSON).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let events = sse_events(&body);
    let meta = events.iter().rev().find(|(n, _)| n == "meta").map(|(_, v)| v.clone()).unwrap();
    let text: String = events.iter().filter(|(n, _)| n == "delta").map(|(_, v)| v["text"].as_str().unwrap_or_default().to_string()).collect();
    (meta["mode"].as_str().unwrap_or_default().to_string(), text)
}

#[tokio::test]
async fn pairs_are_curated_with_workflow_versions_and_duplicate_checks() {
    let (_tmp, app, core) = app_with_core().await;
    let token = match core.auth.login("sysadmin", DEMO_PASSWORD, None).await.unwrap() {
        LoginOutcome::Ok(s) => s.token,
        other => panic!("{other:?}"),
    };
    let t = Some(token.as_str());
    let call = |method: &'static str, path: String, body: Value| {
        let app = app.clone();
        async move {
            let (status, _, text) = request(&app, method, &path, t, &[], Some(Body::from(body.to_string())), JSON).await;
            (status, serde_json::from_str::<Value>(&text).unwrap_or(Value::Null))
        }
    };
    let question = "党支部书记任期几年";
    let answer = "党支部委员会每届任期一般为三年，党支部书记随支部委员会换届产生（测试答案）。";
    let (status, pair) = call("POST", "/api/admin/qa".into(), json!({"question": question, "answer": answer, "category": "组织建设", "source_refs": [{"doc": "中国共产党章程", "article": "第三十条"}]})).await;
    assert_eq!(status, StatusCode::CREATED, "{pair}");
    let id = pair["id"].as_i64().unwrap();
    assert_eq!((pair["status"].as_str(), pair["version"].as_i64()), (Some("draft"), Some(1)));
    assert_ne!(mode_of(&app, question).await.0, "faq", "a draft does not answer");

    let (status, pair) = call("POST", format!("/api/admin/qa/{id}/status"), json!({"status": "published"})).await;
    assert_eq!((status, pair["version"].as_i64()), (StatusCode::OK, Some(2)));
    let (mode, text) = mode_of(&app, question).await;
    assert_eq!(mode, "faq", "published pairs answer at once");
    assert!(text.contains("测试答案"), "{text}");

    // Duplicates: the same question differently punctuated, and a rephrasing the pair answers.
    let (status, err) = call("POST", "/api/admin/qa".into(), json!({"question": "党支部书记 任期几年？", "answer": "x"})).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("qa.duplicate")), "{err}");
    let (status, err) = call("POST", "/api/admin/qa".into(), json!({"question": "党支部书记的任期是几年", "answer": "x"})).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("qa.near_duplicate")), "{err}");
    assert!(err["message"].as_str().unwrap().contains(question), "{err}");

    // Edit (version-guarded), stale edit refused, rollback restores the first answer.
    let edited = "党支部委员会每届任期三年（修订后的测试答案）。";
    let (status, pair) = call("PUT", format!("/api/admin/qa/{id}"), json!({"question": question, "answer": edited, "category": "组织建设", "version": 2})).await;
    assert_eq!((status, pair["version"].as_i64()), (StatusCode::OK, Some(3)), "{pair}");
    assert!(mode_of(&app, question).await.1.contains("修订后的测试答案"), "the edit answers at once");
    let (status, err) = call("PUT", format!("/api/admin/qa/{id}"), json!({"question": question, "answer": "别人", "version": 2})).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("qa.version_conflict")));
    let (status, v) = call("GET", format!("/api/admin/qa/{id}/versions"), Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<&str> = v["items"].as_array().unwrap().iter().map(|x| x["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["edit", "status", "create"]);
    let (status, pair) = call("POST", format!("/api/admin/qa/{id}/rollback"), json!({"version": 1})).await;
    assert_eq!((status, pair["answer"].as_str(), pair["status"].as_str()), (StatusCode::OK, Some(answer), Some("published")));

    // Bad input: Chinese messages, stable codes.
    for (body, code) in [
        (json!({"question": "", "answer": "x"}), "qa.question_required"),
        (json!({"question": "新问题一", "answer": " "}), "qa.answer_required"),
        (json!({"question": "新问题二", "answer": "x", "effective_from": "2026-13-01"}), "qa.bad_date"),
        (json!({"question": "新问题三", "answer": "x", "status": "live"}), "qa.bad_status"),
    ] {
        let (status, err) = call("POST", "/api/admin/qa".into(), body).await;
        assert_eq!((status, err["code"].as_str()), (StatusCode::BAD_REQUEST, Some(code)), "{err}");
    }

    // Categories: the pair's category is in the tree; members browse published pairs by category.
    let (status, cats) = call("GET", "/api/admin/qa/categories".into(), Value::Null).await;
    assert_eq!(status, StatusCode::OK);
    let org = cats["items"].as_array().unwrap().iter().find(|c| c["name"] == "组织建设").expect("category from the pair").clone();
    assert_eq!(org["published"], 1);
    let (status, sub) = call("POST", "/api/admin/qa/categories".into(), json!({"name": "支部建设", "parent_id": org["id"]})).await;
    assert_eq!(status, StatusCode::CREATED, "{sub}");
    let (status, err) = call("POST", format!("/api/admin/qa/categories/{}/move", org["id"]), json!({"parent_id": sub["id"], "position": 0})).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::BAD_REQUEST, Some("qa.category_cycle")));
    let (status, err) = call("DELETE", format!("/api/admin/qa/categories/{}", org["id"]), Value::Null).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::BAD_REQUEST, Some("qa.category_not_empty")));
    let (_, _, text) = request(&app, "GET", "/api/faq?category=%E7%BB%84%E7%BB%87%E5%BB%BA%E8%AE%BE", None, &[], None, None).await;
    let faq: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(faq["items"].as_array().unwrap().len(), 1, "{faq}");
    assert_eq!(faq["items"][0]["question"], question);

    // Retire: no longer answers; the list filters by status.
    call("POST", format!("/api/admin/qa/{id}/status"), json!({"status": "retired"})).await;
    assert_ne!(mode_of(&app, question).await.0, "faq");
    let (_, list) = call("GET", "/api/admin/qa?status=retired&q=%E6%94%AF%E9%83%A8%E4%B9%A6%E8%AE%B0".into(), Value::Null).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1, "{list}");
    let audited = core.audit.recent(None, 200).await.unwrap().into_iter().filter(|e| e.action.starts_with("qa.")).count();
    assert!(audited >= 5, "curation actions are audited ({audited})");
}

#[tokio::test]
async fn xlsx_import_reports_bad_rows_and_round_trips_with_export() {
    let (_tmp, app, core) = app_with_core().await;
    let token = match core.auth.login("sysadmin", DEMO_PASSWORD, None).await.unwrap() {
        LoginOutcome::Ok(s) => s.token,
        other => panic!("{other:?}"),
    };
    let t = Some(token.as_str());
    // The template's header row is what the importer reads.
    let (status, _, body) = request(&app, "GET", "/api/admin/qa/template", t, &[], None, None).await;
    assert_eq!(status, StatusCode::OK);
    let rows = dwt_org::xlsx::read_sheet(&common::body_bytes(&body)).unwrap();
    assert_eq!(rows[0], ["标准问题", "相似问法", "答案", "分类", "依据"]);

    let existing = "党员的党龄从什么时候算起？";
    let body = json!({"question": existing, "answer": "从预备期满转为正式党员之日算起。", "status": "published"}).to_string();
    let (status, _, text) = request(&app, "POST", "/api/admin/qa", t, &[], Some(Body::from(body)), JSON).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    let sheet = dwt_org::xlsx::sheet_from_rows(
        &["标准问题", "相似问法", "答案", "分类", "依据"],
        &[
            vec!["导入测试：支部党员大会多久召开一次？", "党员大会多久开一次", "一般每季度召开一次（导入测试答案）。", "组织生活", "中国共产党章程 第三十条"],
            vec!["导入测试：没有答案的问题", "", "", "组织生活", ""],
            vec!["党员的党龄从什么时候算起", "", "重复的问题。", "党员发展", ""],
        ],
    )
    .unwrap();
    let xlsx = Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    let (status, _, body) = request(&app, "POST", "/api/admin/qa/import", t, &[], Some(Body::from(sheet)), xlsx).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let report: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((report["rows"].as_i64(), report["inserted"].as_i64(), report["failed"].as_i64()), (Some(3), Some(1), Some(2)), "{report}");
    assert_eq!(report["errors"][0]["row"], 3, "{report}");
    assert!(report["errors"][0]["message"].as_str().unwrap().contains("缺少答案"), "{report}");
    assert_eq!(report["errors"][1]["row"], 4);
    assert!(report["errors"][1]["message"].as_str().unwrap().contains(existing), "near-identical to the seed pair: {report}");
    assert!(mode_of(&app, "导入测试：支部党员大会多久召开一次？").await.1.contains("导入测试答案"), "imported pairs answer at once");

    // Not a spreadsheet: a clear error, nothing written.
    let (status, _, body) = request(&app, "POST", "/api/admin/qa/import", t, &[], Some(Body::from("not xlsx")), xlsx).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("upload.not_a_zip"), "{body}");

    let (status, _, body) = request(&app, "GET", "/api/admin/qa/export", t, &[], None, None).await;
    assert_eq!(status, StatusCode::OK);
    let rows = dwt_org::xlsx::read_sheet(&common::body_bytes(&body)).unwrap();
    let imported = rows.iter().find(|r| r[0] == "导入测试：支部党员大会多久召开一次？").expect("exported");
    assert_eq!((imported[4].as_str(), imported[5].as_str(), imported[8].as_str()), ("中国共产党章程 第三十条", "published", "1"));
}

/// Org scope: an 组织管理员 curates pairs for the organisations they manage (not system-wide
/// ones, not other subtrees); such a pair answers only members of that subtree, in the chat and
/// on the public FAQ page.
#[tokio::test]
async fn org_admins_curate_pairs_for_their_subtree_and_only_its_members_get_them() {
    let (_tmp, app, core) = app_with_core().await;
    let login = |u: &'static str| {
        let core = core.clone();
        async move {
            match core.auth.login(u, DEMO_PASSWORD, None).await.unwrap() {
                LoginOutcome::Ok(s) => s.token,
                other => panic!("{other:?}"),
            }
        }
    };
    let (sys, org_admin, member) = (login("sysadmin").await, login("jy_admin").await, login("member1").await);
    let call = |token: String, method: &'static str, path: String, body: Option<Value>| {
        let app = app.clone();
        async move {
            let (status, _, text) = request(&app, method, &path, Some(&token), &[], body.map(|b| Body::from(b.to_string())), JSON).await;
            (status, serde_json::from_str::<Value>(&text).unwrap_or(Value::Null))
        }
    };
    let zb01 = core.orgs.get_by_code("ZB01").await.unwrap().unwrap(); // member1's 支部, under jy_admin's DW01
    let zb03 = core.orgs.get_by_code("ZB03").await.unwrap().unwrap(); // another 党委's 支部
    let question = "我们支部的主题党日固定在每月哪一天";
    let answer = "本支部主题党日固定在每月第一个星期五下午（组织范围测试）。";

    let (status, system) = call(sys.clone(), "POST", "/api/admin/qa".into(), Some(json!({"question": "党员组织关系转接怎么办理", "answer": "向所在党支部提出申请（系统范围测试）。", "status": "published"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{system}");
    assert_eq!(system["org_name"], "全系统");

    // Scopes the 组织管理员 may not use.
    let (status, err) = call(org_admin.clone(), "POST", "/api/admin/qa".into(), Some(json!({"question": question, "answer": answer}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{err}");
    assert!(err["message"].as_str().unwrap().contains("系统管理员"), "{err}");
    let (status, _) = call(org_admin.clone(), "POST", "/api/admin/qa".into(), Some(json!({"question": question, "answer": answer, "org_id": zb03.id}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, err) = call(org_admin.clone(), "POST", "/api/admin/qa".into(), Some(json!({"question": question, "answer": answer, "org_id": 999_999}))).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::BAD_REQUEST, Some("qa.unknown_org")), "{err}");
    let (status, _) = call(org_admin.clone(), "PUT", format!("/api/admin/qa/{}", system["id"]), Some(json!({"question": "党员组织关系转接怎么办理", "answer": "改", "force": true}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "system-wide pairs are read-only to 组织管理员");

    // Their own 支部: created, published, listed as editable beside the read-only system pair.
    let (status, own) = call(org_admin.clone(), "POST", "/api/admin/qa".into(), Some(json!({"question": question, "answer": answer, "org_id": zb01.id, "status": "published"}))).await;
    assert_eq!(status, StatusCode::CREATED, "{own}");
    assert_eq!((own["org_id"].as_i64(), own["org_name"].as_str(), own["editable"].as_bool()), (Some(zb01.id), Some(zb01.name.as_str()), Some(true)));
    let (_, list) = call(org_admin.clone(), "GET", "/api/admin/qa".into(), None).await;
    let editable = |id: &Value| list["items"].as_array().unwrap().iter().find(|p| p["id"] == *id).map(|p| p["editable"].as_bool().unwrap());
    assert_eq!((editable(&own["id"]), editable(&system["id"])), (Some(true), Some(false)));
    let (_, only) = call(org_admin.clone(), "GET", format!("/api/admin/qa?org={}", zb01.id), None).await;
    assert_eq!(only["items"].as_array().unwrap().len(), 1);

    // An edit that does not name the scope keeps it; the same question in another scope is a
    // duplicate that does not show the other scope's pair.
    let (status, edited) = call(sys.clone(), "PUT", format!("/api/admin/qa/{}", own["id"]), Some(json!({"question": question, "answer": answer, "force": true}))).await;
    assert_eq!((status, edited["org_id"].as_i64()), (StatusCode::OK, Some(zb01.id)), "{edited}");
    // The system's question again for the 支部: a near-duplicate until confirmed, then the
    // 支部's own answer, which its members get instead of the system-wide one.
    let transfer = json!({"question": "党员组织关系转接怎么办理", "answer": "本支部：先找支部组织委员开具介绍信（支部专门答复）。", "org_id": zb01.id, "status": "published"});
    let (status, err) = call(org_admin.clone(), "POST", "/api/admin/qa".into(), Some(transfer.clone())).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("qa.near_duplicate")), "{err}");
    assert!(err["message"].as_str().unwrap().contains("本组织党员将优先看到本条"), "{err}");
    let mut forced = transfer.clone();
    forced["force"] = json!(true);
    let (status, own_transfer) = call(org_admin.clone(), "POST", "/api/admin/qa".into(), Some(forced)).await;
    assert_eq!(status, StatusCode::CREATED, "{own_transfer}");
    let (status, err) = call(org_admin.clone(), "POST", "/api/admin/qa".into(), Some(json!({"question": "党员组织关系转接怎么办理？", "answer": "x", "org_id": zb01.id, "force": true}))).await;
    assert_eq!((status, err["code"].as_str()), (StatusCode::CONFLICT, Some("qa.duplicate")), "same scope, same question: {err}");

    // The member of that 支部 gets the answer; an anonymous visitor does not.
    let ask = |token: Option<String>| {
        let app = app.clone();
        async move {
            let (status, _, body) = request(&app, "POST", "/api/chat", token.as_deref(), &[], Some(Body::from(json!({"question": question}).to_string())), JSON).await;
            assert_eq!(status, StatusCode::OK, "{body}");
            let events = sse_events(&body);
            let mode = events.iter().rev().find(|(n, _)| n == "meta").map(|(_, v)| v["mode"].as_str().unwrap_or_default().to_string()).unwrap();
            let text: String = events.iter().filter(|(n, _)| n == "delta").map(|(_, v)| v["text"].as_str().unwrap_or_default().to_string()).collect();
            (mode, text)
        }
    };
    let (mode, text) = ask(Some(member.clone())).await;
    assert_eq!(mode, "faq");
    assert!(text.contains("组织范围测试"), "{text}");
    let (mode, text) = ask(None).await;
    assert_ne!(mode, "faq");
    assert!(!text.contains("组织范围测试"), "{text}");
    let ask_transfer = |token: Option<String>| {
        let app = app.clone();
        async move {
            let (_, _, body) = request(&app, "POST", "/api/chat", token.as_deref(), &[], Some(Body::from(json!({"question": "党员组织关系转接怎么办理"}).to_string())), JSON).await;
            sse_events(&body).iter().filter(|(n, _)| n == "delta").map(|(_, v)| v["text"].as_str().unwrap_or_default().to_string()).collect::<String>()
        }
    };
    assert!(ask_transfer(Some(member.clone())).await.contains("支部专门答复"), "the member gets the 支部's own answer");
    assert!(ask_transfer(None).await.contains("系统范围测试"), "everyone else gets the system-wide one");
    // The org pair's own category: counted for the member, not shown to anonymous visitors.
    let (status, _) = call(org_admin.clone(), "PUT", format!("/api/admin/qa/{}", own["id"]), Some(json!({"question": question, "answer": answer, "category": "支部专属分类", "org_id": zb01.id, "force": true}))).await;
    assert_eq!(status, StatusCode::OK);
    let cat_count = |v: &Value| v["categories"].as_array().unwrap().iter().find(|c| c["name"] == "支部专属分类").map(|c| c["published"].as_i64().unwrap());
    let faq_has = |v: &Value| v["items"].as_array().unwrap().iter().any(|p| p["id"] == own["id"]);
    let (_, public) = call(member.clone(), "GET", "/api/faq".into(), None).await;
    assert!(faq_has(&public), "the member's FAQ page lists the pair");
    assert_eq!(cat_count(&public), Some(1));
    let (_, _, anon) = request(&app, "GET", "/api/faq", None, &[], None, None).await;
    let anon: Value = serde_json::from_str(&anon).unwrap();
    assert!(!faq_has(&anon), "anonymous visitors do not see it");
    assert_eq!(cat_count(&anon), None, "nor its category");

    // Import: new pairs take the chosen scope; a 组织管理员 must choose one they manage and cannot
    // overwrite a system-wide pair with the same question.
    let sheet = |rows: &[[&str; 3]]| {
        let rows: Vec<Vec<&str>> = rows.iter().map(|r| vec![r[0], "", r[1], r[2], ""]).collect();
        dwt_org::xlsx::sheet_from_rows(&["标准问题", "相似问法", "答案", "分类", ""], &rows).unwrap()
    };
    let file = sheet(&[["支部党费收缴日是哪天（导入测试）", "每月十日。", "党费"], ["党员组织关系转接怎么办理", "覆盖系统答案", "组织"]]);
    const XLSX: Option<&str> = Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
    let (status, _, _) = request(&app, "POST", "/api/admin/qa/import", Some(&org_admin), &[], Some(Body::from(file.clone())), XLSX).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no scope given: system-wide is refused");
    let (status, _, report) = request(&app, "POST", &format!("/api/admin/qa/import?org_id={}", zb01.id), Some(&org_admin), &[], Some(Body::from(file)), XLSX).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let report: Value = serde_json::from_str(&report).unwrap();
    // "党员组织关系转接怎么办理" updates the 支部's own pair, never the system-wide one.
    assert_eq!((report["inserted"].as_i64(), report["updated"].as_i64(), report["failed"].as_i64()), (Some(1), Some(1), Some(0)), "{report}");
    let (_, list) = call(sys.clone(), "GET", "/api/admin/qa?q=%E5%AF%BC%E5%85%A5%E6%B5%8B%E8%AF%95".into(), None).await;
    assert_eq!(list["items"][0]["org_id"].as_i64(), Some(zb01.id), "{list}");
    let (_, list) = call(sys, "GET", "/api/admin/qa?org=system".into(), None).await;
    let kept = list["items"].as_array().unwrap().iter().find(|p| p["id"] == system["id"]).unwrap();
    assert!(kept["answer"].as_str().unwrap().contains("系统范围测试"), "the system pair is untouched: {kept}");
}
