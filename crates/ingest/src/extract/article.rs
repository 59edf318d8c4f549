//! News and notice pages: configured selectors first, a readability-style fallback (the block
//! with the most paragraph text) flagged as low confidence when they miss.

use std::collections::{HashMap, HashSet};

use ego_tree::NodeId;
use regex::Regex;
use scraper::{ElementRef, Html, Selector};
use serde::{Deserialize, Serialize};
use url::Url;

use super::dates::normalize_date;
use super::text::{absolutise, render, text_and_link_chars, ALWAYS_DROP};

/// Selectors of one site's article pages (CSS, as in the crawler's source file).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArticleRules {
    pub title: Option<String>,
    pub date: Option<String>,
    /// chrono format of the date text, e.g. `%Y-%m-%d %H:%M`; common forms work without it.
    pub date_format: Option<String>,
    pub author: Option<String>,
    pub body: Option<String>,
    /// Elements removed from the body (share widgets, editor notes …).
    #[serde(default)]
    pub drop: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// The configured body selector matched.
    High,
    /// The body came from the fallback: worth an admin's look.
    Low,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Extracted {
    pub title: String,
    /// RFC 3339, Asia/Shanghai.
    pub published_at: Option<String>,
    pub author: Option<String>,
    /// Paragraphs one per line; image alt text and captions kept.
    pub text: String,
    /// Absolute image URLs (`data-src` of lazy images first).
    pub images: Vec<String>,
    /// Absolute link targets inside the body.
    pub links: Vec<String>,
    pub confidence: Confidence,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExtractError {
    #[error("选择器无效：{0}")]
    Selector(String),
    #[error("页面中没有可识别的正文")]
    NoText,
}

impl ExtractError {
    pub fn code(&self) -> &'static str {
        match self {
            ExtractError::Selector(_) => "extract.bad_selector",
            ExtractError::NoText => "extract.no_text",
        }
    }
}

/// Share bars and similar widgets dropped on every site.
const DEFAULT_DROP: &[&str] = &["nav", "[class*=share]", "[id*=share]", "[class*=Share]", ".bdsharebuttonbox"];
/// Below this many characters a selector's body is treated as a miss.
const MIN_BODY_CHARS: usize = 20;

fn selector(s: &str) -> Result<Selector, ExtractError> {
    Selector::parse(s).map_err(|e| ExtractError::Selector(format!("{s}（{e}）")))
}

/// Whether a CSS selector parses (source files are checked with it on load).
pub fn check_selector(s: &str) -> Result<(), ExtractError> {
    selector(s).map(|_| ())
}

pub(crate) fn first_text(doc: &Html, sel: Option<&str>) -> Result<Option<String>, ExtractError> {
    let Some(s) = sel else { return Ok(None) };
    let sel = selector(s)?;
    Ok(doc
        .select(&sel)
        .map(|e| super::text::clean_lines(&e.text().collect::<String>()).replace('\n', " "))
        .find(|t| !t.is_empty()))
}

pub(crate) fn meta_content(doc: &Html, names: &[&str]) -> Option<String> {
    for n in names {
        for attr in ["property", "name", "itemprop"] {
            let Ok(sel) = Selector::parse(&format!("meta[{attr}=\"{n}\"]")) else { continue };
            if let Some(v) = doc.select(&sel).filter_map(|m| m.value().attr("content")).map(str::trim).find(|v| !v.is_empty()) {
                return Some(v.to_string());
            }
        }
    }
    None
}

fn drop_set(doc: &Html, extra: &[String]) -> Result<HashSet<NodeId>, ExtractError> {
    let mut set = HashSet::new();
    for s in DEFAULT_DROP.iter().copied().chain(extra.iter().map(String::as_str)) {
        let sel = selector(s)?;
        set.extend(doc.select(&sel).map(|e| e.id()));
    }
    Ok(set)
}

/// Readability-style choice: every paragraph adds its (non-link) text to its parent and half to
/// its grandparent; the best-scoring block wins. Pages without `<p>` fall back to the block
/// with the most non-link text of its own.
fn fallback_body<'a>(doc: &'a Html, drop: &HashSet<NodeId>) -> Option<ElementRef<'a>> {
    let p = Selector::parse("p, pre, blockquote").ok()?;
    let mut score: HashMap<NodeId, f64> = HashMap::new();
    for para in doc.select(&p) {
        if para.ancestors().any(|a| drop.contains(&a.id())) {
            continue;
        }
        let (text, linked) = text_and_link_chars(para);
        let own = text.saturating_sub(linked) as f64;
        if own < 10.0 {
            continue;
        }
        let mut up = para.ancestors().filter(|a| a.value().is_element());
        if let Some(parent) = up.next() {
            *score.entry(parent.id()).or_default() += own;
        }
        if let Some(grand) = up.next() {
            *score.entry(grand.id()).or_default() += own / 2.0;
        }
    }
    let best = score.into_iter().max_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal).then(b.0.cmp(&a.0)));
    if let Some((id, _)) = best {
        return doc.tree.get(id).and_then(ElementRef::wrap);
    }
    let blocks = Selector::parse("article, main, section, div, td").ok()?;
    doc.select(&blocks)
        .filter(|e| !drop.contains(&e.id()) && !ALWAYS_DROP.contains(&e.value().name()))
        .map(|e| {
            let own: usize = e.children().filter_map(|c| c.value().as_text()).map(|t| t.chars().filter(|c| !c.is_whitespace()).count()).sum();
            (own, e)
        })
        .filter(|(own, _)| *own > 0)
        .max_by_key(|(own, _)| *own)
        .map(|(_, e)| e)
}

/// "来源：市委组织部" → "市委组织部".
fn strip_label(s: &str) -> String {
    let t = s.trim();
    for label in ["来源", "作者", "发布单位", "信息来源", "文章来源"] {
        if let Some(rest) = t.strip_prefix(label) {
            return rest.trim_start_matches([':', '：', ' ', '\u{3000}']).trim().to_string();
        }
    }
    t.to_string()
}

/// Extracts one article. `base` absolutises links and image sources.
pub fn extract_article(html: &str, base: Option<&Url>, rules: &ArticleRules) -> Result<Extracted, ExtractError> {
    let doc = Html::parse_document(html);
    let drop = drop_set(&doc, &rules.drop)?;

    let mut confidence = Confidence::Low;
    let mut rendered = None;
    if let Some(body) = rules.body.as_deref() {
        let sel = selector(body)?;
        if let Some(el) = doc.select(&sel).next() {
            let r = render(el, &drop, base);
            if r.text.chars().filter(|c| !c.is_whitespace()).count() >= MIN_BODY_CHARS {
                confidence = Confidence::High;
                rendered = Some(r);
            }
        }
    }
    let rendered = match rendered {
        Some(r) => r,
        None => {
            let el = fallback_body(&doc, &drop).ok_or(ExtractError::NoText)?;
            render(el, &drop, base)
        }
    };
    if rendered.text.is_empty() {
        return Err(ExtractError::NoText);
    }

    let title = match first_text(&doc, rules.title.as_deref())? {
        Some(t) => t,
        None => meta_content(&doc, &["og:title"])
            .or_else(|| first_text(&doc, Some("h1")).ok().flatten())
            .or_else(|| first_text(&doc, Some("title")).ok().flatten())
            .unwrap_or_default(),
    };
    let date_text = first_text(&doc, rules.date.as_deref())?
        .or_else(|| meta_content(&doc, &["article:published_time", "publishdate", "PubDate", "pubdate", "datePublished"]));
    let published_at = date_text.and_then(|d| normalize_date(&d, rules.date_format.as_deref()));
    let author = first_text(&doc, rules.author.as_deref())?
        .or_else(|| meta_content(&doc, &["author", "ContentSource"]))
        .map(|a| strip_label(&a))
        .filter(|a| !a.is_empty());
    Ok(Extracted { title, published_at, author, text: rendered.text, images: rendered.images, links: rendered.links, confidence })
}

/// Article links of a list page: `selector` matches links (or elements containing one); kept
/// when they match an `include` pattern (if any) and no `exclude` pattern; absolute, first
/// occurrence order, no duplicates. Also returns the next-page link when `next` is given.
pub fn extract_links(
    html: &str,
    base: &Url,
    selector_text: &str,
    include: &[Regex],
    exclude: &[Regex],
    next: Option<&str>,
) -> Result<(Vec<String>, Option<String>), ExtractError> {
    let doc = Html::parse_document(html);
    let sel = selector(selector_text)?;
    let a = selector("a[href]")?;
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    // The matched element's own href, or that of the first link inside it.
    let href_of = |e: ElementRef<'_>| if e.value().name() == "a" { e.value().attr("href") } else { e.select(&a).next().and_then(|x| x.value().attr("href")) }.map(str::to_string);
    for el in doc.select(&sel) {
        let Some(abs) = href_of(el).and_then(|h| absolutise(Some(base), &h)) else { continue };
        if (!include.is_empty() && !include.iter().any(|r| r.is_match(&abs))) || exclude.iter().any(|r| r.is_match(&abs)) {
            continue;
        }
        if seen.insert(abs.clone()) {
            out.push(abs);
        }
    }
    let next_url = match next {
        Some(n) => {
            let sel = selector(n)?;
            doc.select(&sel).filter_map(href_of).find_map(|h| absolutise(Some(base), &h))
        }
        None => None,
    };
    Ok((out, next_url))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<html><head><title>站点标题</title><meta property="og:title" content="OG 标题"></head>
<body><nav><a href="/">首页</a></nav>
<div class="main"><h1 class="t">关于开展主题党日活动的通知</h1>
<div class="info"><span class="date">2024年03月05日 10:20</span><span class="src">来源：市委组织部</span></div>
<div class="content"><p>　　各党支部：</p><p>为深入学习贯彻党的二十大精神，现就开展主题党日活动通知如下。</p>
<div class="share">分享到微信</div><figure><img data-src="/img/a.jpg" alt="活动现场"><figcaption>图为活动现场</figcaption></figure>
<p>详见<a href="../doc/1.html">附件</a>。</p><script>var x = 1;</script><p class="editor">责任编辑：张三</p></div></div>
<div class="footer">版权所有</div></body></html>"#;

    #[test]
    fn configured_selectors_extract_exact_fields() {
        let base = Url::parse("https://dj.example.cn/news/2024/a.html").ok();
        let rules = ArticleRules {
            title: Some("h1.t".into()),
            date: Some(".info .date".into()),
            date_format: None,
            author: Some(".info .src".into()),
            body: Some(".content".into()),
            drop: vec![".editor".into()],
        };
        let x = extract_article(PAGE, base.as_ref(), &rules).unwrap();
        assert_eq!(x.title, "关于开展主题党日活动的通知");
        assert_eq!(x.published_at.as_deref(), Some("2024-03-05T10:20:00+08:00"));
        assert_eq!(x.author.as_deref(), Some("市委组织部"));
        assert_eq!(x.text, "各党支部：\n为深入学习贯彻党的二十大精神，现就开展主题党日活动通知如下。\n活动现场\n图为活动现场\n详见附件。");
        assert_eq!(x.images, ["https://dj.example.cn/img/a.jpg"]);
        assert_eq!(x.links, ["https://dj.example.cn/news/doc/1.html"]);
        assert_eq!(x.confidence, Confidence::High);
    }

    #[test]
    fn missing_selectors_fall_back_with_low_confidence() {
        let rules = ArticleRules { body: Some(".does-not-exist".into()), ..ArticleRules::default() };
        let x = extract_article(PAGE, None, &rules).unwrap();
        assert_eq!(x.confidence, Confidence::Low);
        assert!(x.text.starts_with("各党支部：\n为深入学习贯彻"), "{}", x.text);
        assert!(!x.text.contains("版权所有") && !x.text.contains("首页") && !x.text.contains("分享到"), "{}", x.text);
        assert_eq!(x.title, "OG 标题");
        assert_eq!(x.published_at, None);
    }

    #[test]
    fn list_links_respect_patterns_and_next_link() {
        let html = r#"<ul class="list"><li><a href="/a/1.html">一</a></li><li><a href="/a/2.html?utm_source=x">二</a></li>
            <li><a href="/video/3.html">视频</a></li><li><a href="/a/1.html">一（重复）</a></li></ul>
            <div class="pager"><a class="next" href="list_2.html">下一页</a></div>"#;
        let base = Url::parse("https://dj.example.cn/news/list.html").unwrap();
        let include = [Regex::new("/a/").unwrap()];
        let (links, next) = extract_links(html, &base, "ul.list li", &include, &[], Some("a.next")).unwrap();
        assert_eq!(links, ["https://dj.example.cn/a/1.html", "https://dj.example.cn/a/2.html?utm_source=x"]);
        assert_eq!(next.as_deref(), Some("https://dj.example.cn/news/list_2.html"));
    }
}
