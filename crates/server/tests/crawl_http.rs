//! Crawler administration over HTTP: sources with file problems, run now, run history, URLs
//! added by hand (validated, audit-logged).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::body::Body;
use axum::http::StatusCode;
use common::{app_with_core, request};
use dwt_org::demo::DEMO_PASSWORD;
use dwt_org::LoginOutcome;
use serde_json::{json, Value};

#[tokio::test]
async fn sources_runs_and_manual_urls() {
    let (_tmp, app, core) = app_with_core().await;
    let token = match core.auth.login("sysadmin", DEMO_PASSWORD, None).await.unwrap() {
        LoginOutcome::Ok(s) => s.token,
        other => panic!("{other:?}"),
    };
    let t = Some(token.as_str());
    let (status, _, body) = request(&app, "GET", "/api/admin/crawl/sources", t, &[], None, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["sources"][0]["name"], "wechat-test");
    assert_eq!(v["sources"][0]["label"], "测试公众号");
    assert_eq!(v["sources"][0]["last_run"], Value::Null);
    let errors = v["errors"].as_array().unwrap();
    assert!(errors.iter().any(|e| e["file"].as_str().unwrap().ends_with("broken.toml") && e["key"] == "rate_limit"), "{errors:?}");

    let (status, _, body) = request(&app, "POST", "/api/admin/crawl/sources/nope/run", t, &[], None, None).await;
    assert_eq!((status, serde_json::from_str::<Value>(&body).unwrap()["code"].clone()), (StatusCode::NOT_FOUND, json!("crawl.unknown_source")));
    let (status, _, body) = request(&app, "POST", "/api/admin/crawl/sources/broken/run", t, &[], None, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body.contains("crawl.bad_source_file") && body.contains("rate_limit"), "{body}");

    let (status, _, _) = request(&app, "POST", "/api/admin/crawl/sources/wechat-test/run", t, &[], None, None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let mut run = Value::Null;
    for _ in 0..200 {
        let (_, _, body) = request(&app, "GET", "/api/admin/crawl/runs?source=wechat-test", t, &[], None, None).await;
        run = serde_json::from_str::<Value>(&body).unwrap()["items"][0].clone();
        if run["status"] == "finished" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert_eq!((run["status"].clone(), run["trigger"].clone(), run["new"].clone()), (json!("finished"), json!("admin"), json!(0)), "{run}");
    assert_eq!(core.audit.recent(Some("crawl.run_requested"), 10).await.unwrap().len(), 1);

    let add = |url: &str| Some(Body::from(json!({"url": url}).to_string()));
    let (status, _, body) = request(&app, "POST", "/api/admin/crawl/sources/wechat-test/urls", t, &[], add("ftp://example.com/a"), Some("application/json")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("crawl.bad_url") && body.contains("只支持 http/https"), "{body}");
    // The server itself in any spelling is refused (intranet sources are off by default).
    for internal in ["http://127.0.0.1:8080/admin", "http://[::ffff:127.0.0.1]/", "http://localhost/"] {
        let (status, _, body) = request(&app, "POST", "/api/admin/crawl/sources/wechat-test/urls", t, &[], add(internal), Some("application/json")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{internal}: {body}");
        assert!(body.contains("不能抓取内网或本机地址"), "{body}");
    }
    let url = "https://mp.weixin.qq.com/s?__biz=MzA&mid=1&idx=1&sn=ab&scene=21#wechat_redirect";
    let (_, _, body) = request(&app, "POST", "/api/admin/crawl/sources/wechat-test/urls", t, &[], add(url), Some("application/json")).await;
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["added"], true);
    let same = "https://mp.weixin.qq.com/s?__biz=MzA&mid=1&idx=1&sn=ab";
    let (_, _, body) = request(&app, "POST", "/api/admin/crawl/sources/wechat-test/urls", t, &[], add(same), Some("application/json")).await;
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["added"], false, "the canonical URL is already there");
    let (_, _, body) = request(&app, "GET", "/api/admin/crawl/sources", t, &[], None, None).await;
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["sources"][0]["urls"]["new"], 1);
}
