//! Source files (`crawlers/<name>.toml`): one declarative file per site, JSON API or WeChat
//! article list. Files are checked on load; every problem names the file, the key and what is
//! wrong, and one bad file never hides the good ones.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use dwt_core::DocType;
use dwt_ingest::extract::ArticleRules;
use regex::Regex;
use serde::{Deserialize, Serialize};
use url::Url;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// List pages (with pagination) linking to article pages.
    Site,
    /// A paged JSON news API (智慧党建网站 news sync).
    JsonApi,
    /// Listed WeChat article URLs (no account history scraping).
    Wechat,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Site => "site",
            SourceKind::JsonApi => "json_api",
            SourceKind::Wechat => "wechat",
        }
    }
}

/// The file as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceFile {
    label: Option<String>,
    kind: SourceKind,
    #[serde(default = "yes")]
    enabled: bool,
    doc_type: Option<String>,
    #[serde(default)]
    start_urls: Vec<String>,
    #[serde(default)]
    urls: Vec<String>,
    list: Option<ListFile>,
    #[serde(default)]
    article: ArticleRules,
    api: Option<ApiRules>,
    charset: Option<String>,
    rate_limit: Option<f64>,
    concurrency: Option<usize>,
    schedule: Option<String>,
    #[serde(default = "yes")]
    recheck: bool,
    recheck_after_hours: Option<u32>,
    #[serde(default)]
    classify: ClassifyFile,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ListFile {
    link_selector: String,
    #[serde(default)]
    include: Vec<String>,
    #[serde(default)]
    exclude: Vec<String>,
    next_selector: Option<String>,
    /// `https://site/news/list_{page}.html`; page numbers continue from `first_page`.
    page_url_template: Option<String>,
    first_page: Option<u32>,
    max_pages: Option<u32>,
}

/// JSON news API: `url` holds `{page}`; fields are JSON pointers (`/data/list`, `/title`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ApiRules {
    pub url: String,
    #[serde(default = "one")]
    pub first_page: u32,
    #[serde(default = "five")]
    pub max_pages: u32,
    pub items: String,
    pub id: String,
    pub title: String,
    pub date: Option<String>,
    pub date_format: Option<String>,
    /// HTML or text of the article.
    pub body: String,
    /// The item's page (for citations); or `link_template` with `{id}`.
    pub link: Option<String>,
    pub link_template: Option<String>,
    pub author: Option<String>,
    /// Header name and the environment variable holding its value (never in the file).
    pub auth_header: Option<String>,
    pub auth_env: Option<String>,
}

fn one() -> u32 {
    1
}
fn five() -> u32 {
    5
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassifyFile {
    default_category: Option<String>,
    #[serde(default)]
    rules: Vec<RuleFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    category: String,
    url_pattern: Option<String>,
    #[serde(default)]
    title_contains: Vec<String>,
}

/// A checked, ready-to-run source.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    pub label: String,
    pub file: PathBuf,
    pub kind: SourceKind,
    pub enabled: bool,
    pub doc_type: DocType,
    pub start_urls: Vec<Url>,
    pub urls: Vec<Url>,
    pub list: Option<ListRules>,
    pub article: ArticleRules,
    pub api: Option<ApiRules>,
    pub charset: Option<&'static encoding_rs::Encoding>,
    /// Minimum gap between two requests to one host.
    pub interval: Duration,
    pub concurrency: usize,
    pub schedule: Option<(String, croner::Cron)>,
    pub recheck: bool,
    /// Known articles missing from this run's listing are re-checked once this old.
    pub recheck_after_hours: u32,
    pub default_category: Option<String>,
    pub rules: Vec<ClassifyRule>,
}

#[derive(Debug, Clone)]
pub struct ListRules {
    pub link_selector: String,
    pub include: Vec<Regex>,
    pub exclude: Vec<Regex>,
    pub next_selector: Option<String>,
    pub page_url_template: Option<String>,
    pub first_page: u32,
    pub max_pages: u32,
}

#[derive(Debug, Clone)]
pub struct ClassifyRule {
    pub category: String,
    pub url_pattern: Option<Regex>,
    pub title_contains: Vec<String>,
}

/// One problem in one source file.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[error("{file}：{key}：{problem}")]
pub struct SourceFileError {
    pub file: String,
    pub key: String,
    pub problem: String,
}

impl SourceFileError {
    pub fn code(&self) -> &'static str {
        "crawl.bad_source_file"
    }
}

struct Checker<'a> {
    file: &'a str,
    errors: Vec<SourceFileError>,
}

impl Checker<'_> {
    fn bad(&mut self, key: &str, problem: impl Into<String>) {
        self.errors.push(SourceFileError { file: self.file.to_string(), key: key.to_string(), problem: problem.into() });
    }

    fn url(&mut self, key: &str, s: &str) -> Option<Url> {
        match Url::parse(s.trim()) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => Some(crate::fetch::without_credentials(&u)),
            Ok(_) => {
                self.bad(key, format!("只支持 http/https 网址：{s}"));
                None
            }
            Err(e) => {
                self.bad(key, format!("网址无效：{s}（{e}）"));
                None
            }
        }
    }

    fn selector(&mut self, key: &str, s: &str) {
        if let Err(e) = scraper_check(s) {
            self.bad(key, format!("CSS 选择器无效：{s}（{e}）"));
        }
    }

    fn regex(&mut self, key: &str, s: &str) -> Option<Regex> {
        match Regex::new(s) {
            Ok(r) => Some(r),
            Err(e) => {
                self.bad(key, format!("正则表达式无效：{s}（{e}）"));
                None
            }
        }
    }

    fn pointer(&mut self, key: &str, s: &str) {
        if !s.is_empty() && !s.starts_with('/') {
            self.bad(key, format!("应为 JSON Pointer（以 / 开头，如 /data/list）：{s}"));
        }
    }
}

/// The extractor's own parser, so a typo is reported when the file loads, not at the first crawl.
fn scraper_check(s: &str) -> Result<(), String> {
    dwt_ingest::extract::check_selector(s).map_err(|e| e.to_string())
}

/// WeChat sources take article links on mp.weixin.qq.com only (no other site's pages sneak in
/// under a WeChat source); loopback is accepted so the fixture server in tests can stand in.
pub fn wechat_host(u: &Url) -> bool {
    matches!(u.host_str(), Some("mp.weixin.qq.com" | "127.0.0.1" | "localhost"))
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
        && name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
}

/// Parses and checks one source file. `categories` are the configured category names.
pub fn parse_source(path: &Path, text: &str, categories: &[String]) -> Result<Source, Vec<SourceFileError>> {
    let file = path.display().to_string();
    let mut c = Checker { file: &file, errors: Vec::new() };
    let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string();
    if !valid_name(&name) {
        c.bad("（文件名）", "文件名只能用小写字母、数字、- 和 _（它就是数据源的名称）");
    }
    let f: SourceFile = match toml::from_str(text) {
        Ok(f) => f,
        Err(e) => {
            let key = e.span().map(|sp| format!("第 {} 行", text.get(..sp.start).unwrap_or(text).matches('\n').count() + 1)).unwrap_or_else(|| "（语法）".into());
            c.bad(&key, e.message().to_string());
            return Err(c.errors);
        }
    };
    let doc_type = match f.doc_type.as_deref() {
        None => DocType::News,
        Some(t) => DocType::parse(t).unwrap_or_else(|| {
            c.bad("doc_type", format!("取值无效：{t}（可选 news、notice、policy、regulation、other）"));
            DocType::News
        }),
    };
    let start_urls: Vec<Url> = f.start_urls.iter().enumerate().filter_map(|(i, u)| c.url(&format!("start_urls[{i}]"), u)).collect();
    let urls: Vec<Url> = f.urls.iter().enumerate().filter_map(|(i, u)| c.url(&format!("urls[{i}]"), u)).collect();
    let list = f.list.as_ref().map(|l| {
        c.selector("list.link_selector", &l.link_selector);
        if let Some(n) = &l.next_selector {
            c.selector("list.next_selector", n);
        }
        if let Some(t) = &l.page_url_template {
            if !t.contains("{page}") {
                c.bad("list.page_url_template", "必须包含 {page}");
            } else {
                c.url("list.page_url_template", &t.replace("{page}", "2"));
            }
        }
        let max_pages = l.max_pages.unwrap_or(5);
        if !(1..=1000).contains(&max_pages) {
            c.bad("list.max_pages", "应在 1 到 1000 之间");
        }
        ListRules {
            link_selector: l.link_selector.clone(),
            include: l.include.iter().enumerate().filter_map(|(i, r)| c.regex(&format!("list.include[{i}]"), r)).collect(),
            exclude: l.exclude.iter().enumerate().filter_map(|(i, r)| c.regex(&format!("list.exclude[{i}]"), r)).collect(),
            next_selector: l.next_selector.clone(),
            page_url_template: l.page_url_template.clone(),
            first_page: l.first_page.unwrap_or(2),
            max_pages,
        }
    });
    for (key, sel) in [
        ("article.title", &f.article.title),
        ("article.date", &f.article.date),
        ("article.author", &f.article.author),
        ("article.body", &f.article.body),
    ] {
        if let Some(s) = sel {
            c.selector(key, s);
        }
    }
    for (i, d) in f.article.drop.iter().enumerate() {
        c.selector(&format!("article.drop[{i}]"), d);
    }
    // Keys that mean nothing for the kind are refused rather than silently ignored.
    let stray: &[(&str, bool)] = match f.kind {
        SourceKind::Site => &[("urls", !f.urls.is_empty()), ("api", f.api.is_some())],
        SourceKind::Wechat => &[("start_urls", !f.start_urls.is_empty()), ("list", f.list.is_some()), ("api", f.api.is_some()), ("article", f.article != ArticleRules::default())],
        SourceKind::JsonApi => &[("start_urls", !f.start_urls.is_empty()), ("urls", !f.urls.is_empty()), ("list", f.list.is_some()), ("article", f.article != ArticleRules::default()), ("charset", f.charset.is_some())],
    };
    for (key, present) in stray {
        if *present {
            c.bad(key, format!("{} 类型的数据源不使用此项", f.kind.as_str()));
        }
    }
    match f.kind {
        SourceKind::Site => {
            if f.start_urls.is_empty() {
                c.bad("start_urls", "site 类型至少需要一个列表页网址");
            }
            if f.list.is_none() {
                c.bad("list", "site 类型需要 [list] 段（link_selector 等）");
            }
        }
        SourceKind::Wechat => {
            for (i, u) in urls.iter().enumerate() {
                if !wechat_host(u) {
                    c.bad(&format!("urls[{i}]"), format!("公众号文章网址应在 mp.weixin.qq.com：{u}"));
                }
            }
        }
        SourceKind::JsonApi => match &f.api {
            None => c.bad("api", "json_api 类型需要 [api] 段"),
            Some(a) => {
                if !a.url.contains("{page}") {
                    c.bad("api.url", "必须包含 {page}");
                }
                c.url("api.url", &a.url.replace("{page}", "1"));
                for (key, p) in [("api.items", &a.items), ("api.id", &a.id), ("api.title", &a.title), ("api.body", &a.body)] {
                    c.pointer(key, p);
                }
                for (key, p) in [("api.date", &a.date), ("api.link", &a.link), ("api.author", &a.author)] {
                    if let Some(p) = p {
                        c.pointer(key, p);
                    }
                }
                if a.auth_header.is_some() != a.auth_env.is_some() {
                    c.bad("api.auth_env", "auth_header 与 auth_env 须同时设置（令牌只放在环境变量里）");
                }
                if !(1..=1000).contains(&a.max_pages) {
                    c.bad("api.max_pages", "应在 1 到 1000 之间");
                }
            }
        },
    }
    let charset = f.charset.as_deref().and_then(|cs| {
        let e = encoding_rs::Encoding::for_label(cs.trim().as_bytes());
        if e.is_none() {
            c.bad("charset", format!("不认识的字符集：{cs}（如 utf-8、gbk、gb18030）"));
        }
        e
    });
    let rate = f.rate_limit.unwrap_or(1.0);
    if !(rate > 0.0 && rate <= 20.0) {
        c.bad("rate_limit", "每秒请求数应大于 0 且不超过 20");
    }
    let concurrency = f.concurrency.unwrap_or(2);
    if !(1..=8).contains(&concurrency) {
        c.bad("concurrency", "并发数应在 1 到 8 之间");
    }
    let schedule = f.schedule.as_deref().and_then(|s| match croner::Cron::from_str(s) {
        Ok(cron) => Some((s.to_string(), cron)),
        Err(e) => {
            c.bad("schedule", format!("cron 表达式无效：{s}（{e}）"));
            None
        }
    });
    let known = |cat: &str| categories.iter().any(|k| k == cat);
    if let Some(d) = &f.classify.default_category {
        if !known(d) {
            c.bad("classify.default_category", format!("未配置的类别：{d}（可选：{}）", categories.join("、")));
        }
    }
    let mut rules = Vec::new();
    for (i, r) in f.classify.rules.iter().enumerate() {
        if !known(&r.category) {
            c.bad(&format!("classify.rules[{i}].category"), format!("未配置的类别：{}", r.category));
        }
        if r.url_pattern.is_none() && r.title_contains.is_empty() {
            c.bad(&format!("classify.rules[{i}]"), "需要 url_pattern 或 title_contains");
        }
        let url_pattern = r.url_pattern.as_deref().and_then(|p| c.regex(&format!("classify.rules[{i}].url_pattern"), p));
        rules.push(ClassifyRule { category: r.category.clone(), url_pattern, title_contains: r.title_contains.clone() });
    }
    if !c.errors.is_empty() {
        return Err(c.errors);
    }
    Ok(Source {
        label: f.label.clone().unwrap_or_else(|| name.clone()),
        name,
        file: path.to_path_buf(),
        kind: f.kind,
        enabled: f.enabled,
        doc_type,
        start_urls,
        urls,
        list,
        article: f.article,
        api: f.api,
        charset,
        interval: Duration::from_secs_f64(1.0 / rate),
        concurrency,
        schedule,
        recheck: f.recheck,
        recheck_after_hours: f.recheck_after_hours.unwrap_or(24),
        default_category: f.classify.default_category,
        rules,
    })
}

/// All `*.toml` files of `dir`, sorted by name: the good sources and every problem found.
pub fn load_sources(dir: &Path, categories: &[String]) -> (Vec<Source>, Vec<SourceFileError>) {
    let mut sources = Vec::new();
    let mut errors = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return (sources, errors),
        Err(e) => {
            errors.push(SourceFileError { file: dir.display().to_string(), key: "（目录）".into(), problem: format!("无法读取：{e}") });
            return (sources, errors);
        }
    };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "toml")).collect();
    paths.sort();
    for p in paths {
        match std::fs::read_to_string(&p) {
            Ok(text) => match parse_source(&p, &text, categories) {
                Ok(s) => sources.push(s),
                Err(mut e) => errors.append(&mut e),
            },
            Err(e) => errors.push(SourceFileError { file: p.display().to_string(), key: "（文件）".into(), problem: format!("无法读取：{e}") }),
        }
    }
    (sources, errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cats() -> Vec<String> {
        vec!["工作动态".into(), "通知公告".into()]
    }

    #[test]
    fn every_problem_names_file_and_key() {
        let text = r#"
kind = "site"
start_urls = ["ftp://x/"]
rate_limit = 0
concurrency = 20
schedule = "every day"
[list]
link_selector = "ul >> a"
include = ["("]
[article]
body = ".content"
[classify]
default_category = "娱乐"
"#;
        let errs = parse_source(Path::new("crawlers/bad-site.toml"), text, &cats()).err().unwrap_or_default();
        let keys: Vec<&str> = errs.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            ["start_urls[0]", "list.link_selector", "list.include[0]", "rate_limit", "concurrency", "schedule", "classify.default_category"]
        );
        assert!(errs.iter().all(|e| e.file == "crawlers/bad-site.toml"));
        assert!(errs[0].to_string().starts_with("crawlers/bad-site.toml：start_urls[0]：只支持 http/https"), "{}", errs[0]);
    }

    #[test]
    fn unknown_keys_and_syntax_errors_are_reported_with_a_line() {
        let errs = parse_source(Path::new("x.toml"), "kind = \"site\"\nstart_url = [\"https://a/\"]\n", &cats()).err().unwrap_or_default();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].key, "第 2 行");
        assert!(errs[0].problem.contains("start_url"), "{}", errs[0].problem);
    }

    #[test]
    fn shipped_source_files_are_valid() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../crawlers");
        let names: Vec<String> = dwt_core::config::CrawlSettings::default().categories.into_iter().map(|c| c.name).collect();
        let (sources, errors) = load_sources(&dir, &names);
        assert!(errors.is_empty(), "{errors:?}");
        let kinds: Vec<SourceKind> = sources.iter().map(|s| s.kind).collect();
        assert!(kinds.contains(&SourceKind::Site) && kinds.contains(&SourceKind::JsonApi) && kinds.contains(&SourceKind::Wechat), "{kinds:?}");
    }
}
