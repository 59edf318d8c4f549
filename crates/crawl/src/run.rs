//! One crawl of one source: discover (list pages / the configured URL list / API pages), then
//! visit the queue politely, writing each changed article through the knowledge base. State
//! lives in SQL, so an interrupted run continues where it stopped.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use dwt_core::config::CrawlSettings;
use dwt_core::{DocMeta, DocStatus};
use dwt_index::{IngestOutcome, KnowledgeBase};
use dwt_ingest::extract::{extract_article, extract_links, looks_like_wechat, normalize_date, parse_wechat, ArticleRules, Confidence, WechatPage};
use dwt_store::{CrawlRun, CrawlStore, CrawlUrl, DocumentRow, UrlOutcome, UrlVisit};
use futures::StreamExt;
use url::Url;

use crate::canonical::canonical_url;
use crate::classify::Classifier;
use crate::config::{load_sources, Source, SourceFileError, SourceKind};
use crate::fetch::{Fetched, Fetcher, Page, Politeness};
use crate::CrawlError;

/// Progress of a run, for a progress bar.
pub trait Progress: Send + Sync {
    fn queued(&self, _total: usize) {}
    fn visited(&self, _url: &str, _outcome: UrlOutcome) {}
}

pub struct NoProgress;
impl Progress for NoProgress {}

pub struct Crawler {
    kb: Arc<KnowledgeBase>,
    state: CrawlStore,
    fetcher: Fetcher,
    settings: CrawlSettings,
    classifier: Classifier,
    running: Mutex<HashSet<String>>,
}

/// Marks a source as running in this process until dropped (also when the run is cancelled).
struct Running<'a> {
    set: &'a Mutex<HashSet<String>>,
    name: String,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.set.lock().unwrap_or_else(|p| p.into_inner()).remove(&self.name);
    }
}

fn failure(code: &str, reason: impl Into<String>) -> (UrlOutcome, UrlVisit) {
    (UrlOutcome::Failed, UrlVisit { error: Some((code.to_string(), reason.into())), ..UrlVisit::default() })
}

/// A text field of an API item: strings as they are, numbers printed.
fn json_text(item: &serde_json::Value, pointer: &str) -> Option<String> {
    match item.pointer(pointer)? {
        serde_json::Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Crawler {
    pub fn new(kb: Arc<KnowledgeBase>, settings: &CrawlSettings) -> Result<Self, CrawlError> {
        let fetcher = Fetcher::new(settings).map_err(|e| CrawlError::Internal(e.to_string()))?;
        let classifier = Classifier::new(settings.categories.clone(), settings.similarity_threshold, kb.embedder_handle());
        let state = CrawlStore::new(kb.store.pool().clone());
        Ok(Self { kb, state, fetcher, settings: settings.clone(), classifier, running: Mutex::new(HashSet::new()) })
    }

    pub fn state(&self) -> &CrawlStore {
        &self.state
    }

    pub fn settings(&self) -> &CrawlSettings {
        &self.settings
    }

    /// Source files as they are now on disk (adding a file adds a source; no restart).
    pub fn sources(&self) -> (Vec<Source>, Vec<SourceFileError>) {
        load_sources(&self.settings.dir, &self.classifier.names())
    }

    pub fn source(&self, name: &str) -> Result<Source, CrawlError> {
        let (sources, errors) = self.sources();
        if let Some(s) = sources.into_iter().find(|s| s.name == name) {
            return Ok(s);
        }
        let mine: Vec<SourceFileError> =
            errors.into_iter().filter(|e| std::path::Path::new(&e.file).file_stem().is_some_and(|f| f == name)).collect();
        if mine.is_empty() {
            Err(CrawlError::UnknownSource(name.to_string()))
        } else {
            Err(CrawlError::SourceFile(mine))
        }
    }

    pub fn is_running(&self, name: &str) -> bool {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).contains(name)
    }

    /// Adds an article URL by hand (WeChat articles, or a page the list does not reach); it is
    /// visited on the source's next run. Returns false when the source already had it.
    pub async fn add_url(&self, source: &Source, url: &str) -> Result<bool, CrawlError> {
        let u = Url::parse(url.trim()).map_err(|e| CrawlError::BadUrl(format!("{url}（{e}）")))?;
        if !matches!(u.scheme(), "http" | "https") {
            return Err(CrawlError::BadUrl(format!("{url}（只支持 http/https）")));
        }
        if !self.settings.allow_internal_hosts && crate::fetch::internal_host(&u) {
            return Err(CrawlError::BadUrl(format!("{url}（不能抓取内网或本机地址）")));
        }
        if source.kind == SourceKind::JsonApi {
            return Err(CrawlError::BadUrl(format!("{url}（接口类数据源的文章来自接口，不能手工添加网址）")));
        }
        if source.kind == SourceKind::Wechat && !crate::config::wechat_host(&u) {
            return Err(CrawlError::BadUrl(format!("{url}（公众号文章网址应在 mp.weixin.qq.com）")));
        }
        Ok(self.state.add_manual_url(&source.name, &canonical_url(&u)).await?)
    }

    /// Runs (or resumes) one crawl of `source`. Per-URL failures are recorded on the run; an
    /// error here means the run itself could not go on (it is marked failed).
    pub async fn run(&self, source: &Source, trigger: &str, progress: &dyn Progress) -> Result<CrawlRun, CrawlError> {
        let _running = {
            let mut set = self.running.lock().unwrap_or_else(|p| p.into_inner());
            if !set.insert(source.name.clone()) {
                return Err(CrawlError::AlreadyRunning(source.name.clone()));
            }
            Running { set: &self.running, name: source.name.clone() }
        };
        let run = self.state.open_run(&source.name, trigger).await?;
        if run.resumed {
            tracing::info!(source = %source.name, run = run.id, "resuming an interrupted crawl");
        }
        match self.run_inner(source, &run, progress).await {
            Ok(()) => self.state.finish_run(run.id, "finished", None).await?,
            Err(e) => {
                tracing::error!(source = %source.name, run = run.id, error = %e, "crawl failed");
                self.state.finish_run(run.id, "failed", Some(&e.to_string())).await?;
                return Err(e);
            }
        }
        let done = self.state.run(run.id).await?.ok_or_else(|| CrawlError::Internal("run row vanished".into()))?;
        if done.new + done.updated > 0 {
            if let Err(e) = self.kb.optimize().await {
                tracing::warn!(error = %e, "vector optimize after crawl failed");
            }
        }
        Ok(done)
    }

    async fn run_inner(&self, src: &Source, run: &CrawlRun, progress: &dyn Progress) -> Result<(), CrawlError> {
        // A withdraw or re-index whose index step failed (or was cut off) last time is finished
        // first, so a withdrawn page is never left answerable.
        self.kb.recover().await?;
        let source_id = self.kb.store.ensure_source(&src.name, &format!("crawler:{}", src.kind.as_str())).await?;
        if src.kind == SourceKind::JsonApi {
            return self.run_api(src, source_id, run, progress).await;
        }
        if !run.discovered {
            let found = match src.kind {
                SourceKind::Site => self.discover_site(src, run.id).await?,
                _ => src.urls.iter().map(canonical_url).collect(),
            };
            self.state.queue_urls(&src.name, run.id, &found).await?;
            self.state.queue_known(&src.name, run.id, src.recheck.then_some(src.recheck_after_hours)).await?;
            self.state.set_discovered(run.id).await?;
        }
        let queue = self.state.queued(&src.name, run.id).await?;
        progress.queued(queue.len());
        let mut visits = futures::stream::iter(queue)
            .map(|row| async move {
                let (outcome, visit) = self.visit(src, source_id, &row).await?;
                self.state.record_visit(&src.name, run.id, &row.url, outcome, &visit).await?;
                progress.visited(&row.url, outcome);
                Ok::<_, CrawlError>(())
            })
            .buffer_unordered(src.concurrency);
        while let Some(r) = visits.next().await {
            r?;
        }
        Ok(())
    }

    fn polite(src: &Source) -> Politeness {
        Politeness { interval: src.interval, concurrency: src.concurrency }
    }

    /// Follows list pages (next link, or the page URL template) and returns the article URLs.
    async fn discover_site(&self, src: &Source, run_id: i64) -> Result<Vec<String>, CrawlError> {
        let Some(list) = &src.list else { return Ok(Vec::new()) };
        let mut found = Vec::new();
        let mut seen_pages = HashSet::new();
        for start in &src.start_urls {
            let mut next = Some(start.clone());
            let mut page_no = list.first_page;
            let mut pages = 0;
            while let Some(page_url) = next.take() {
                if pages >= list.max_pages || !seen_pages.insert(page_url.to_string()) {
                    break;
                }
                pages += 1;
                let page = match self.fetcher.get(&page_url, Self::polite(src), None, src.charset).await {
                    Ok(Fetched::Page(p)) => p,
                    Ok(Fetched::Gone { status }) => {
                        self.state.record_run_error(run_id, page_url.as_str(), "crawl.list_gone", &format!("列表页不存在（HTTP {status}）")).await?;
                        break;
                    }
                    Ok(Fetched::NotModified) => break,
                    Err(e) => {
                        self.state.record_run_error(run_id, page_url.as_str(), e.code(), &format!("列表页：{e}")).await?;
                        break;
                    }
                };
                let (links, next_link) =
                    match extract_links(&page.body, &page.url, &list.link_selector, &list.include, &list.exclude, list.next_selector.as_deref()) {
                        Ok(x) => x,
                        Err(e) => {
                            self.state.record_run_error(run_id, page_url.as_str(), e.code(), &e.to_string()).await?;
                            break;
                        }
                    };
                if links.is_empty() {
                    break;
                }
                found.extend(links.iter().filter_map(|l| Url::parse(l).ok()).map(|u| canonical_url(&u)));
                next = match (&list.next_selector, &list.page_url_template) {
                    (Some(_), _) => next_link.and_then(|l| Url::parse(&l).ok()),
                    (None, Some(t)) => Url::parse(&t.replace("{page}", &page_no.to_string())).ok(),
                    (None, None) => None,
                };
                page_no += 1;
            }
        }
        let mut seen = HashSet::new();
        found.retain(|u| seen.insert(u.clone()));
        Ok(found)
    }

    /// Visits one article URL and decides what happened to it.
    async fn visit(&self, src: &Source, source_id: i64, row: &CrawlUrl) -> Result<(UrlOutcome, UrlVisit), CrawlError> {
        let Ok(url) = Url::parse(&row.url) else { return Ok(failure("crawl.bad_url", format!("网址无效：{}", row.url))) };
        let existing = self.kb.store.document_by_key(&row.url).await?;
        // Validators only while the stored document is there (an admin may have deleted it).
        let validators = (row.state == "ok" && existing.is_some()).then_some((&row.etag, &row.last_modified));
        match self.fetcher.get(&url, Self::polite(src), validators, src.charset).await {
            Ok(Fetched::NotModified) => Ok((UrlOutcome::Unchanged, UrlVisit::default())),
            Ok(Fetched::Gone { status }) => self.gone(existing, "crawl.gone", &format!("页面已不存在（HTTP {status}）")).await,
            Ok(Fetched::Page(page)) => self.page(src, source_id, &row.url, page, existing, row.confidence.as_deref()).await,
            Err(e) => Ok(failure(e.code(), e.to_string())),
        }
    }

    /// A page that is gone: its document is withdrawn (kept in SQL, out of every answer).
    async fn gone(&self, existing: Option<DocumentRow>, code: &str, reason: &str) -> Result<(UrlOutcome, UrlVisit), CrawlError> {
        match existing {
            Some(doc) if doc.status == DocStatus::Withdrawn => Ok((UrlOutcome::Unchanged, UrlVisit::default())),
            Some(doc) => {
                self.kb.set_document_status(doc.id, DocStatus::Withdrawn).await?;
                tracing::info!(doc = doc.id, title = %doc.title, "crawled page gone: document withdrawn");
                Ok((UrlOutcome::Withdrawn, UrlVisit::default()))
            }
            None => Ok(failure(code, reason)),
        }
    }

    async fn page(
        &self,
        src: &Source,
        source_id: i64,
        key: &str,
        page: Page,
        existing: Option<DocumentRow>,
        prior_confidence: Option<&str>,
    ) -> Result<(UrlOutcome, UrlVisit), CrawlError> {
        let wechat = src.kind == SourceKind::Wechat || (page.url.host_str() == Some("mp.weixin.qq.com") && looks_like_wechat(&page.body));
        let (meta, text, confidence) = if wechat {
            match parse_wechat(&page.body) {
                WechatPage::Article(a) => {
                    let mut meta = dwt_ingest::wechat_meta(&a);
                    meta.doc_type = src.doc_type;
                    meta.origin_url = Some(key.to_string());
                    (meta, a.text, Confidence::High)
                }
                WechatPage::Unavailable { message } => return self.gone(existing, "crawl.wechat_unavailable", &format!("公众号文章不可用：{message}")).await,
                WechatPage::Verification => {
                    return Ok(failure("crawl.wechat_verification", "微信要求人工验证（环境异常页），未当作文章处理；请稍后重试"))
                }
                WechatPage::Unrecognized => return Ok(failure("crawl.wechat_unrecognized", "不是可识别的公众号文章页面（未改动已收录的内容）")),
            }
        } else {
            match extract_article(&page.body, Some(&page.url), &src.article) {
                // A page whose body selector matched before and now misses is more likely an
                // error page served with 200 (a "soft 404") than a new article: keep what we have.
                Ok(x) if x.confidence == Confidence::Low && existing.is_some() && prior_confidence == Some("high") => {
                    return Ok(failure("crawl.low_confidence", "正文选择器未命中（可能是错误页或改版），未覆盖已收录的内容"))
                }
                Ok(x) => {
                    let meta = DocMeta {
                        title: x.title,
                        doc_type: src.doc_type,
                        issuer: x.author,
                        origin_url: Some(key.to_string()),
                        published_at: x.published_at,
                        ..DocMeta::default()
                    };
                    (meta, x.text, x.confidence)
                }
                Err(e) => return Ok(failure(e.code(), e.to_string())),
            }
        };
        let (outcome, mut visit) = self.store_document(src, source_id, key, meta, &text, existing).await?;
        visit.etag = page.etag;
        visit.last_modified = page.last_modified;
        visit.low_confidence = confidence == Confidence::Low;
        Ok((outcome, visit))
    }

    /// Classifies and writes one extracted article; unchanged content is skipped (before any
    /// embedding) and a withdrawn document whose page is back is restored.
    async fn store_document(
        &self,
        src: &Source,
        source_id: i64,
        key: &str,
        mut meta: DocMeta,
        text: &str,
        existing: Option<DocumentRow>,
    ) -> Result<(UrlOutcome, UrlVisit), CrawlError> {
        if meta.title.trim().is_empty() {
            meta.title = text.lines().next().unwrap_or_default().chars().take(60).collect();
        }
        // Same text under the category it already has: unchanged, and no embedding spent on
        // classifying it again.
        if let Some(d) = &existing {
            meta.category = d.category.clone();
            if let Some(same) = dwt_ingest::build_document(key.to_string(), meta.clone(), text).filter(|doc| doc.content_hash == d.content_hash) {
                let visit = UrlVisit { content_hash: Some(same.content_hash), ..UrlVisit::default() };
                if d.status == DocStatus::Withdrawn {
                    self.kb.set_document_status(d.id, DocStatus::Current).await?;
                    return Ok((UrlOutcome::Updated, visit));
                }
                return Ok((UrlOutcome::Unchanged, visit));
            }
        }
        meta.category = self.classifier.classify(src, key, &meta.title, text).await.0;
        let Some(doc) = dwt_ingest::build_document(key.to_string(), meta, text) else {
            return Ok(failure("extract.no_text", "页面中没有可识别的正文"));
        };
        let visit = UrlVisit { content_hash: Some(doc.content_hash.clone()), ..UrlVisit::default() };
        let outcome = self.kb.ingest_batch(vec![doc], Some(source_id)).await?.into_iter().next();
        Ok(match outcome {
            Some(IngestOutcome::Added { .. }) => (UrlOutcome::New, visit),
            Some(IngestOutcome::Updated { .. }) => (UrlOutcome::Updated, visit),
            Some(IngestOutcome::Unchanged) | None => (UrlOutcome::Unchanged, visit),
        })
    }

    /// JSON API sources: page by page from the run's cursor; each item is an article.
    async fn run_api(&self, src: &Source, source_id: i64, run: &CrawlRun, progress: &dyn Progress) -> Result<(), CrawlError> {
        let Some(api) = &src.api else { return Ok(()) };
        let mut headers = Vec::new();
        if let (Some(h), Some(env)) = (&api.auth_header, &api.auth_env) {
            let value = std::env::var(env).map_err(|_| CrawlError::MissingSecret(env.clone()))?;
            headers.push((h.clone(), value));
        }
        let body_rules = ArticleRules { body: Some("body".into()), ..ArticleRules::default() };
        for index in (run.cursor.max(0) as u32)..api.max_pages {
            let page = api.first_page + index;
            let url_text = api.url.replace("{page}", &page.to_string());
            let Ok(url) = Url::parse(&url_text) else { return Err(CrawlError::BadUrl(url_text)) };
            let json = match self.fetcher.get_json(&url, Self::polite(src), &headers).await {
                Ok(j) => j,
                Err(e) => {
                    self.state.record_run_error(run.id, url.as_str(), e.code(), &format!("接口第 {page} 页：{e}")).await?;
                    break;
                }
            };
            let Some(items) = json.pointer(&api.items).and_then(|v| v.as_array()) else {
                self.state.record_run_error(run.id, url.as_str(), "crawl.api_shape", &format!("接口第 {page} 页没有 {} 数组", api.items)).await?;
                break;
            };
            if items.is_empty() {
                break;
            }
            progress.queued(items.len());
            for (n, item) in items.iter().enumerate() {
                let Some(id) = json_text(item, &api.id) else {
                    self.state.record_run_error(run.id, url.as_str(), "crawl.api_item", &format!("第 {page} 页第 {} 项缺少 {}", n + 1, api.id)).await?;
                    continue;
                };
                let link = api
                    .link
                    .as_deref()
                    .and_then(|p| json_text(item, p))
                    .or_else(|| api.link_template.as_ref().map(|t| t.replace("{id}", &id)))
                    .and_then(|l| url.join(&l).ok());
                let key = match &link {
                    Some(u) => canonical_url(u),
                    None => format!("api:{}:{id}", src.name),
                };
                self.state.queue_urls(&src.name, run.id, std::slice::from_ref(&key)).await?;
                let (outcome, visit) = match (json_text(item, &api.title), json_text(item, &api.body)) {
                    (Some(title), Some(body)) => {
                        let text = if body.contains('<') {
                            let html = format!("<html><body>{body}</body></html>");
                            extract_article(&html, link.as_ref(), &body_rules).map(|x| x.text).unwrap_or_default()
                        } else {
                            body
                        };
                        let meta = DocMeta {
                            title,
                            doc_type: src.doc_type,
                            issuer: api.author.as_deref().and_then(|p| json_text(item, p)),
                            origin_url: link.as_ref().map(|u| u.to_string()),
                            published_at: api.date.as_deref().and_then(|p| json_text(item, p)).and_then(|d| normalize_date(&d, api.date_format.as_deref())),
                            ..DocMeta::default()
                        };
                        let existing = self.kb.store.document_by_key(&key).await?;
                        self.store_document(src, source_id, &key, meta, &text, existing).await?
                    }
                    _ => failure("crawl.api_item", format!("条目 {id} 缺少标题或正文")),
                };
                self.state.record_visit(&src.name, run.id, &key, outcome, &visit).await?;
                progress.visited(&key, outcome);
            }
            self.state.set_cursor(run.id, i64::from(index) + 1).await?;
        }
        self.state.set_discovered(run.id).await?;
        Ok(())
    }
}
