//! Crawls against a fixture HTTP server on loopback (no internet): extraction, politeness,
//! robots.txt, retries, limits, incremental re-crawl with a changed and a deleted page, resume
//! after an interrupted run, the JSON API and real saved WeChat pages.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path as AxPath, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use dwt_core::{DocStatus, Settings};
use dwt_crawl::{parse_source, Crawler, NoProgress};
use dwt_index::{KnowledgeBase, SearchOptions};

/// (path, If-None-Match sent, start, end) of one request.
type Logged = (String, Option<String>, Instant, Instant);

#[derive(Default)]
struct Fixture {
    log: Mutex<Vec<Logged>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    phase: AtomicUsize,
    flaky_hits: AtomicUsize,
    /// Delay for /slow-list/ articles (resume test).
    article_delay_ms: AtomicUsize,
}

impl Fixture {
    fn requests(&self, path: &str) -> Vec<Option<String>> {
        self.log.lock().unwrap().iter().filter(|(p, ..)| p == path).map(|(_, e, ..)| e.clone()).collect()
    }
}

type Shared = Arc<Fixture>;

fn html(body: String) -> Response {
    ([("content-type", "text/html; charset=utf-8")], body).into_response()
}

fn article(title: &str, date: &str, source: &str, paragraphs: &[&str]) -> String {
    let ps: String = paragraphs.iter().map(|p| format!("<p>{p}</p>")).collect();
    format!(
        r#"<!DOCTYPE html><html><head><title>{title}_党建网</title></head><body>
<div class="nav"><a href="/">首页</a></div>
<div class="article"><h1 class="title">{title}</h1><div class="meta"><span class="time">{date}</span> <span class="src">来源：{source}</span></div>
<div class="content">{ps}<div class="share-bar">分享到：微信 微博</div><p class="editor">责任编辑：李四</p></div></div>
<div class="footer">Copyright 党建网</div></body></html>"#
    )
}

async fn page(State(f): State<Shared>, AxPath(path): AxPath<String>, headers: HeaderMap) -> Response {
    let inm = headers.get("if-none-match").and_then(|v| v.to_str().ok()).map(str::to_string);
    let start = Instant::now();
    // The crawler gives up on slow.html at its timeout and moves on while this handler still
    // sleeps: that request no longer occupies one of the crawler's slots, so it is not counted.
    let counted = path != "news/slow.html";
    if counted {
        let now = f.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        f.max_in_flight.fetch_max(now, Ordering::SeqCst);
    }
    let resp = respond(&f, &path, inm.as_deref()).await;
    if counted {
        f.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
    f.log.lock().unwrap().push((format!("/{path}"), inm, start, Instant::now()));
    resp
}

async fn respond(f: &Fixture, path: &str, inm: Option<&str>) -> Response {
    let phase = f.phase.load(Ordering::SeqCst);
    match path {
        // robots.txt behind a redirect (common on CMS sites): followed, per RFC 9309.
        "robots.txt" => (StatusCode::MOVED_PERMANENTLY, [("location", "/static/robots.txt")]).into_response(),
        "static/robots.txt" => "User-agent: *\nDisallow: /private/\n".into_response(),
        "news/list.html" => html(
            r#"<ul class="list">
<li><a href="a1.html">通知</a></li><li><a href="a2.html?utm_source=wx&amp;spm=1">组织</a></li>
<li><a href="gbk.html">GBK</a></li><li><a href="/private/secret.html">内部</a></li>
<li><a href="flaky.html">偶发</a></li><li><a href="slow.html">超时</a></li><li><a href="big.html">过大</a></li>
<li><a href="loop.html">循环</a></li><li><a href="malformed.html">残缺</a></li><li><a href="/video/v1.html">视频</a></li>
<li><a href="soft.html">软404</a></li>
</ul><div class="pages"><a class="next" href="list_2.html">下一页</a></div>"#
                .into(),
        ),
        "news/list_2.html" => html(r#"<ul class="list"><li><a href="a3.html">三</a></li><li><a href="a1.html#top">重复</a></li></ul>"#.into()),
        "news/a1.html" => {
            if inm == Some("\"a1-v1\"") {
                return StatusCode::NOT_MODIFIED.into_response();
            }
            let body = article("关于开展“三会一课”专项检查的通知", "2024-03-05 10:20", "市委组织部", &["各基层党组织：", "为严格落实“三会一课”制度，决定开展专项检查，请于三月底前完成自查。"]);
            ([("content-type", "text/html; charset=utf-8"), ("etag", "\"a1-v1\"")], body).into_response()
        }
        "news/a2.html" => {
            let second = if phase == 0 { "支部委员会应当每月召开一次会议。" } else { "支部委员会应当每月召开一次会议，研究支部重要工作并形成纪要。" };
            html(article("支部委员会工作规程要点", "2024年3月8日", "组织科", &["支部委员会是党支部的领导机构。", second]))
        }
        "news/a3.html" => {
            if phase == 0 {
                html(article("主题党日活动掠影", "2024-03-10", "机关党委", &["机关党委组织开展主题党日活动，参观红色教育基地蓝莓谷纪念馆。"]))
            } else {
                StatusCode::NOT_FOUND.into_response()
            }
        }
        // An article that later answers 200 with an error page (a "soft 404").
        "news/soft.html" => {
            if phase == 0 {
                html(article("党员活动室开放时间调整", "2024-03-20", "机关党委", &["党员活动室开放时间调整为工作日八点半至十七点。"]))
            } else {
                html("<html><body><div class=\"err\"><p>您访问的页面不存在或已被删除，请返回首页继续浏览其他内容。</p></div></body></html>".into())
            }
        }
        "news/gbk.html" => {
            let page = article("党费收缴工作提示", "2024-02-01", "党委办公室", &["党员应当按月交纳党费，党费基数以上年度工资收入为准。"])
                .replace("<head>", "<head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=gbk\">");
            let (bytes, _, _) = encoding_rs::GBK.encode(&page);
            ([("content-type", "text/html")], bytes.into_owned()).into_response()
        }
        "news/flaky.html" => {
            if f.flaky_hits.fetch_add(1, Ordering::SeqCst) == 0 {
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
            html(article("基层党建工作推进会召开", "2024-03-12", "党建办", &["推进会总结了一季度基层党建工作，部署下一阶段任务。"]))
        }
        "news/slow.html" => {
            tokio::time::sleep(Duration::from_millis(2500)).await;
            html(article("迟到的页面", "2024-03-01", "无", &["这段文字不应被收录。"]))
        }
        "news/big.html" => html(format!("<html><body><div class=\"content\"><p>{}</p></div></body></html>", "党".repeat(400_000))),
        "news/loop.html" => (StatusCode::FOUND, [("location", "/news/loop.html")]).into_response(),
        "news/malformed.html" => html(
            "<html><head><title>残缺页面</title><body><div class=\"article\"><h1 class=\"title\">支部书记谈理论学习体会<div class=\"content\"><p>通过系统学习党的创新理论，支部书记带头讲党课，引导党员在学思践悟中提升理论素养<p>每月集中学习两次，交流心得体会 <b>坚持学用结合<i>久久为功</div></span></table>".into(),
        ),
        "private/secret.html" => html(article("内部页面", "2024-01-01", "无", &["不应被抓取。"])),
        p if p.starts_with("slow-list/") => {
            if p == "slow-list/index.html" {
                let links: String = (1..=5).map(|i| format!("<li><a href=\"p{i}.html\">{i}</a></li>")).collect();
                return html(format!("<ul class=\"list\">{links}</ul>"));
            }
            tokio::time::sleep(Duration::from_millis(f.article_delay_ms.load(Ordering::SeqCst) as u64)).await;
            let n = p.trim_start_matches("slow-list/p").trim_end_matches(".html");
            html(article(&format!("第{n}期支部工作简报"), "2024-04-01", "简报组", &[&format!("第{n}期简报介绍了支部开展学习和服务群众的情况。")]))
        }
        p if p.starts_with("wechat/") => {
            let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ingest/tests/fixtures/wechat").join(p.trim_start_matches("wechat/"));
            match std::fs::read_to_string(file) {
                Ok(s) => html(s),
                Err(_) => StatusCode::NOT_FOUND.into_response(),
            }
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn api(State(f): State<Shared>, Query(q): Query<HashMap<String, String>>, headers: HeaderMap) -> Response {
    f.log.lock().unwrap().push((format!("/api/news?page={}", q.get("page").cloned().unwrap_or_default()), None, Instant::now(), Instant::now()));
    if headers.get("x-api-token").and_then(|v| v.to_str().ok()) != Some("secret-token") {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let items = match q.get("page").map(String::as_str) {
        Some("1") => serde_json::json!([
            {"id": 101, "title": "市委召开党建工作领导小组会议", "publishTime": "2024-03-15 09:30:00", "content": "<p>会议传达学习了上级精神。</p><p>会议研究部署了<b>年度党建工作要点</b>。</p>", "url": "/news/api-101.html?utm_source=app"},
            {"id": 102, "title": "关于做好2024年度党员教育培训工作的通知", "publishTime": "2024-03-16 14:00:00", "content": "各单位要制定党员教育培训计划。"},
        ]),
        Some("2") => serde_json::json!([
            {"id": 103, "title": "街道党工委开展党员志愿服务", "publishTime": "2024-03-18 08:00:00", "content": "<p>党员志愿者走进社区开展服务。</p>"},
        ]),
        _ => serde_json::json!([]),
    };
    axum::Json(serde_json::json!({"code": 0, "data": {"list": items}})).into_response()
}

async fn start_fixture() -> (String, Shared) {
    let f: Shared = Arc::new(Fixture::default());
    let app = Router::new().route("/api/news", get(api)).route("/{*path}", get(page)).with_state(f.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}"), f)
}

fn settings(data: &Path, crawlers: &Path) -> Settings {
    let mut s = Settings::default();
    s.storage.data_dir = data.to_path_buf();
    s.embedding.model_dir = std::env::var_os("DWT__EMBEDDING__MODEL_DIR").map(PathBuf::from);
    s.crawl.dir = crawlers.to_path_buf();
    // The fixture site listens on loopback.
    s.crawl.allow_internal_hosts = true;
    s.crawl.read_timeout_secs = 1;
    s.crawl.request_timeout_secs = 2;
    s.crawl.max_body_bytes = 256 * 1024;
    s.crawl.retries = 1;
    s.crawl.retry_base_ms = 20;
    s.crawl.similarity_threshold = 0.0;
    s
}

const SITE: &str = r#"
label = "测试党建网"
kind = "site"
doc_type = "news"
start_urls = ["{base}/news/list.html"]
rate_limit = 8
concurrency = 2
[list]
link_selector = "ul.list li"
include = ["/news/", "/private/"]
next_selector = "a.next"
max_pages = 5
[article]
title = "h1.title"
date = ".meta .time"
author = ".meta .src"
body = ".content"
drop = [".editor"]
[classify]
default_category = "工作动态"
[[classify.rules]]
category = "组织建设"
url_pattern = "/news/a2"
"#;

async fn open(dir: &Path, files: &[(&str, String)]) -> (Arc<KnowledgeBase>, Crawler) {
    let crawlers = dir.join("crawlers");
    std::fs::create_dir_all(&crawlers).unwrap();
    for (name, text) in files {
        std::fs::write(crawlers.join(name), text).unwrap();
    }
    let s = settings(&dir.join("data"), &crawlers);
    let kb = Arc::new(KnowledgeBase::open(&s).await.unwrap());
    let crawler = Crawler::new(kb.clone(), &s.crawl).unwrap();
    (kb, crawler)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn site_crawl_is_polite_exact_and_incremental() {
    let (base, fx) = start_fixture().await;
    let dir = tempfile::tempdir().unwrap();
    let (kb, crawler) = open(dir.path(), &[("test-site.toml", SITE.replace("{base}", &base))]).await;
    let source = crawler.source("test-site").unwrap();

    // First run.
    let run = crawler.run(&source, "cli", &NoProgress).await.unwrap();
    assert_eq!(run.status, "finished");
    assert_eq!((run.new, run.updated, run.unchanged, run.failed, run.withdrawn), (7, 0, 0, 4, 0), "{run:?}");
    let mut codes: Vec<String> = crawler.state().errors(run.id).await.unwrap().into_iter().map(|e| e.code).collect();
    codes.sort();
    assert_eq!(codes, ["crawl.redirect_loop", "crawl.robots_disallowed", "crawl.timeout", "crawl.too_large"]);
    assert!(fx.requests("/private/secret.html").is_empty(), "robots.txt disallows /private/");
    assert!(fx.requests("/video/v1.html").is_empty(), "include patterns filter list links");
    assert_eq!(fx.requests("/news/flaky.html").len(), 2, "a 500 is retried once, then succeeds");
    assert_eq!(fx.requests("/robots.txt").len(), 1, "robots.txt is cached");

    // Politeness: request starts to the host at least the configured gap apart (8/s → 125 ms),
    // never more than `concurrency` in flight.
    let mut starts: Vec<Instant> = fx.log.lock().unwrap().iter().map(|(_, _, s, _)| *s).collect();
    starts.sort();
    let min_gap = starts.windows(2).map(|w| w[1] - w[0]).min().unwrap();
    assert!(min_gap >= Duration::from_millis(110), "min gap between requests {min_gap:?}");
    assert!(fx.max_in_flight.load(Ordering::SeqCst) <= 2, "in flight {}", fx.max_in_flight.load(Ordering::SeqCst));

    // Exact fields of an article.
    let a1_key = format!("{base}/news/a1.html");
    let a1 = kb.store.document_by_key(&a1_key).await.unwrap().expect("a1 stored under its canonical URL");
    assert_eq!(a1.title, "关于开展“三会一课”专项检查的通知");
    assert_eq!(a1.published_at.as_deref(), Some("2024-03-05T10:20:00+08:00"));
    assert_eq!(a1.issuer.as_deref(), Some("市委组织部"));
    assert_eq!(a1.origin_url.as_deref(), Some(a1_key.as_str()));
    assert_eq!(a1.category.as_deref(), Some("通知公告"), "title keyword");
    let text: Vec<String> = kb.store.chunks_of_document(a1.id).await.unwrap().into_iter().map(|c| c.text).collect();
    assert_eq!(text.join("\n"), "各基层党组织：\n为严格落实“三会一课”制度，决定开展专项检查，请于三月底前完成自查。");
    let a2 = kb.store.document_by_key(&format!("{base}/news/a2.html")).await.unwrap().expect("tracking parameters stripped");
    assert_eq!(a2.category.as_deref(), Some("组织建设"), "source URL rule");
    let gbk = kb.store.document_by_key(&format!("{base}/news/gbk.html")).await.unwrap().unwrap();
    assert_eq!(gbk.title, "党费收缴工作提示");
    assert_eq!(gbk.category.as_deref(), Some("组织建设"), "category keyword 党费");
    let gbk_text = kb.store.chunks_of_document(gbk.id).await.unwrap()[0].text.clone();
    assert_eq!(gbk_text, "党员应当按月交纳党费，党费基数以上年度工资收入为准。");
    let bad = kb.store.document_by_key(&format!("{base}/news/malformed.html")).await.unwrap().unwrap();
    assert_eq!(bad.category.as_deref(), Some("党员教育"), "no rule or keyword: nearest category description");
    let bad_text = kb.store.chunks_of_document(bad.id).await.unwrap().into_iter().map(|c| c.text).collect::<Vec<_>>().join("\n");
    assert!(bad_text.contains("支部书记带头讲党课") && bad_text.contains("坚持学用结合"), "{bad_text}");

    // Citations carry the page and its date.
    let hits = kb.search("三会一课专项检查什么时候完成自查", &SearchOptions::default()).await.unwrap();
    assert_eq!(hits[0].doc_id, a1.id);
    assert_eq!(hits[0].doc_url.as_deref(), Some(a1_key.as_str()));
    assert_eq!(hits[0].doc_published_at.as_deref(), Some("2024-03-05T10:20:00+08:00"));
    let filter = dwt_index::SearchFilter { categories: vec!["组织建设".into()], ..Default::default() };
    let only = kb.search("支部委员会", &SearchOptions { filter, ..SearchOptions::default() }).await.unwrap();
    // Only documents of that category come back (a2 by the source URL rule, the GBK page by
    // the keyword 党费, others possibly by similarity).
    let ids: Vec<i64> = only.iter().map(|h| h.doc_id).collect();
    assert!(ids.contains(&a2.id), "category filter: {ids:?}");
    for id in ids {
        assert_eq!(kb.store.document_by_id(id).await.unwrap().unwrap().category.as_deref(), Some("组织建设"));
    }
    assert!(!kb.search("支部委员会", &SearchOptions::default()).await.unwrap().iter().all(|h| h.doc_id == a2.id || h.doc_id == gbk.id), "without the filter other documents match too");

    // Second run: a2 changed, a3 deleted, a1 answers 304 to its ETag, soft.html turned into an
    // error page served with 200 (refused, the stored article is kept).
    fx.phase.store(1, Ordering::SeqCst);
    let run2 = crawler.run(&source, "cli", &NoProgress).await.unwrap();
    assert_eq!((run2.new, run2.updated, run2.unchanged, run2.failed, run2.withdrawn), (0, 1, 4, 5, 1), "{run2:?}");
    let soft = kb.store.document_by_key(&format!("{base}/news/soft.html")).await.unwrap().unwrap();
    assert_eq!(soft.status, DocStatus::Current);
    assert!(kb.store.chunks_of_document(soft.id).await.unwrap()[0].text.contains("八点半"));
    assert!(crawler.state().errors(run2.id).await.unwrap().iter().any(|e| e.code == "crawl.low_confidence" && e.url.ends_with("/news/soft.html")));
    // A third run right away: the deleted page stays withdrawn and is not counted again.
    let run3 = crawler.run(&source, "cli", &NoProgress).await.unwrap();
    assert_eq!((run3.new, run3.updated, run3.withdrawn), (0, 0, 0), "{run3:?}");
    assert_eq!(fx.requests("/news/a1.html").last().cloned().flatten().as_deref(), Some("\"a1-v1\""), "conditional GET");
    let a2_text = kb.store.chunks_of_document(a2.id).await.unwrap().into_iter().map(|c| c.text).collect::<Vec<_>>().join("\n");
    assert!(a2_text.contains("形成纪要"), "{a2_text}");
    let a3 = kb.store.document_by_key(&format!("{base}/news/a3.html")).await.unwrap().unwrap();
    assert_eq!(a3.status, DocStatus::Withdrawn);
    let hits = kb.search("蓝莓谷纪念馆", &SearchOptions::default()).await.unwrap();
    assert!(hits.iter().all(|h| h.doc_id != a3.id), "withdrawn documents are never retrieved");
    assert!(kb.consistency().await.unwrap().consistent());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn interrupted_crawl_resumes_where_it_stopped() {
    let (base, fx) = start_fixture().await;
    fx.article_delay_ms.store(400, Ordering::SeqCst);
    let site = format!(
        "kind = \"site\"\nstart_urls = [\"{base}/slow-list/index.html\"]\nrate_limit = 20\nconcurrency = 1\n[list]\nlink_selector = \"ul.list li\"\n[article]\ntitle = \"h1.title\"\nbody = \".content\"\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let (kb, crawler) = open(dir.path(), &[("slow.toml", site)]).await;
    let crawler = Arc::new(crawler);
    let source = crawler.source("slow").unwrap();
    let c = crawler.clone();
    let s = source.clone();
    let task = tokio::spawn(async move { c.run(&s, "cli", &NoProgress).await });
    // Interrupt once two articles are stored.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let done = kb.store.list_documents().await.unwrap().len();
        if done >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "crawl made no progress");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    task.abort();
    let _ = task.await;
    let first = crawler.state().runs(Some("slow"), 1).await.unwrap().remove(0);
    assert_eq!(first.status, "running", "an interrupted run stays open");
    assert!(!crawler.is_running("slow"));

    fx.article_delay_ms.store(0, Ordering::SeqCst);
    let resumed = crawler.run(&source, "cli", &NoProgress).await.unwrap();
    assert_eq!((resumed.id, resumed.resumed, resumed.status.as_str()), (first.id, true, "finished"));
    assert_eq!(resumed.new + resumed.unchanged, 5, "{resumed:?}");
    assert_eq!(fx.requests("/slow-list/index.html").len(), 1, "discovery is not repeated");
    let refetched: usize = (1..=5).map(|i| fx.requests(&format!("/slow-list/p{i}.html")).len()).sum();
    assert!(refetched <= 6, "only the article cut off mid-request is fetched again ({refetched} requests)");
    assert_eq!(kb.store.list_documents().await.unwrap().len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn json_api_and_wechat_sources() {
    let (base, fx) = start_fixture().await;
    let api = format!(
        r#"kind = "json_api"
doc_type = "news"
rate_limit = 20
[api]
url = "{base}/api/news?page={{page}}&size=2"
items = "/data/list"
id = "/id"
title = "/title"
date = "/publishTime"
date_format = "%Y-%m-%d %H:%M:%S"
body = "/content"
link = "/url"
link_template = "{base}/news/api-{{id}}.html"
auth_header = "X-Api-Token"
auth_env = "DWT_TEST_NEWS_API_TOKEN"
"#
    );
    let wechat = format!(
        "kind = \"wechat\"\nrate_limit = 20\nurls = [\"{base}/wechat/wechat_article_detail_qqmusic.html\", \"{base}/wechat/wechat_article_detail_expired.html\", \"{base}/wechat/wechat_verification_synthetic.html\"]\n"
    );
    let dir = tempfile::tempdir().unwrap();
    let (kb, crawler) = open(dir.path(), &[("news-api.toml", api), ("wechat-test.toml", wechat)]).await;

    let api_source = crawler.source("news-api").unwrap();
    let err = crawler.run(&api_source, "cli", &NoProgress).await.unwrap_err();
    assert_eq!(err.code(), "crawl.missing_secret");
    std::env::set_var("DWT_TEST_NEWS_API_TOKEN", "secret-token");
    let run = crawler.run(&api_source, "cli", &NoProgress).await.unwrap();
    assert_eq!((run.new, run.failed), (3, 0), "{run:?}");
    assert_eq!(fx.requests("/api/news?page=3").len(), 1, "paging stops at the first empty page");
    let d101 = kb.store.document_by_key(&format!("{base}/news/api-101.html")).await.unwrap().expect("link field, canonical");
    assert_eq!(d101.published_at.as_deref(), Some("2024-03-15T09:30:00+08:00"));
    let t101 = kb.store.chunks_of_document(d101.id).await.unwrap().into_iter().map(|c| c.text).collect::<Vec<_>>().join("\n");
    assert_eq!(t101, "会议传达学习了上级精神。\n会议研究部署了年度党建工作要点。");
    let d102 = kb.store.document_by_key(&format!("{base}/news/api-102.html")).await.unwrap().expect("link template");
    assert_eq!(d102.category.as_deref(), Some("通知公告"));
    let again = crawler.run(&api_source, "cli", &NoProgress).await.unwrap();
    assert_eq!((again.new, again.unchanged), (0, 3), "unchanged items are skipped");

    let wx = crawler.source("wechat-test").unwrap();
    let run = crawler.run(&wx, "cli", &NoProgress).await.unwrap();
    assert_eq!((run.new, run.failed), (1, 2), "{run:?}");
    let mut errors: Vec<(String, String)> = crawler.state().errors(run.id).await.unwrap().into_iter().map(|e| (e.code, e.reason)).collect();
    errors.sort();
    assert_eq!(errors[0].0, "crawl.wechat_unavailable");
    assert!(errors[0].1.contains("链接已过期"), "{}", errors[0].1);
    assert_eq!(errors[1].0, "crawl.wechat_verification");
    let doc = kb.store.document_by_key(&format!("{base}/wechat/wechat_article_detail_qqmusic.html")).await.unwrap().unwrap();
    assert_eq!((doc.title.as_str(), doc.issuer.as_deref()), ("关于音乐", Some("闲云野鹤古刹")));
    assert_eq!(doc.published_at.as_deref(), Some("2018-04-07T22:21:55+08:00"));

    // `crawl add-url`: validated, canonical, visited on the next run.
    assert_eq!(crawler.add_url(&wx, "ftp://x/").await.unwrap_err().code(), "crawl.bad_url");
    assert_eq!(crawler.add_url(&wx, "https://example.com/a").await.unwrap_err().code(), "crawl.bad_url");
    assert!(crawler.add_url(&wx, &format!("{base}/wechat/wechat_article_detail_iframe.html?utm_source=timeline#rd")).await.unwrap());
    let run = crawler.run(&wx, "cli", &NoProgress).await.unwrap();
    assert_eq!((run.new, run.unchanged), (1, 1), "{run:?}");
    assert!(kb.store.document_by_key(&format!("{base}/wechat/wechat_article_detail_iframe.html")).await.unwrap().is_some());
}

#[test]
fn source_file_errors_name_the_file_and_key() {
    let errs = parse_source(Path::new("crawlers/x.toml"), "kind = \"json_api\"\n", &[]).err().unwrap();
    assert_eq!(errs[0].to_string(), "crawlers/x.toml：api：json_api 类型需要 [api] 段");
}
