//! WeChat Official Account article pages (mp.weixin.qq.com), fetched or saved: the article, or
//! the "link expired / deleted" notice, or the anti-bot verification page, each reported as such.

use std::collections::HashSet;
use std::sync::OnceLock;

use regex::Regex;
use scraper::{Html, Selector};
use serde::Serialize;

use super::article::{first_text, meta_content};
use super::dates::from_unix;
use super::text::render;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WechatArticle {
    pub title: String,
    /// The official account (`nickname`).
    pub account: Option<String>,
    pub author: Option<String>,
    /// From `ct` (Unix seconds), RFC 3339 in Asia/Shanghai.
    pub published_at: Option<String>,
    pub url: Option<String>,
    pub text: String,
    /// Image URLs from lazy `data-src` attributes.
    pub images: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WechatPage {
    Article(WechatArticle),
    /// 链接已过期 / 该内容已被发布者删除 / 违规无法查看 …: the article is gone.
    Unavailable { message: String },
    /// 环境异常 / 完成验证后即可继续访问: WeChat wants a human; retry later, never "empty".
    Verification,
    /// Neither an article nor a known notice (a layout change, a post type without text):
    /// a failure to look at, never taken as "deleted".
    Unrecognized,
}

/// Whether saved HTML is a WeChat article page or one of its notice pages (not merely a page
/// linking to one).
pub fn looks_like_wechat(html: &str) -> bool {
    html.contains("id=\"js_content\"") || (html.contains("res.wx.qq.com") && html.contains("weui-msg"))
}

fn js_var(html: &str, name: &str) -> Option<String> {
    static CACHE: OnceLock<Option<Regex>> = OnceLock::new();
    let re = CACHE
        .get_or_init(|| Regex::new(r#"var\s+([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)')"#).ok())
        .as_ref()?;
    re.captures_iter(html)
        .filter(|c| c.get(1).is_some_and(|m| m.as_str() == name))
        .find_map(|c| c.get(2).or_else(|| c.get(3)).map(|m| unescape(m.as_str())))
        .filter(|v| !v.trim().is_empty())
}

/// JS string escapes WeChat uses (`\x26amp;`), then the HTML entities they produce.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('x') => {
                let hex: String = chars.by_ref().take(2).collect();
                if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    out.push(ch);
                }
            }
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    out.push(ch);
                }
            }
            Some('n') => out.push('\n'),
            Some(other) => out.push(other),
            None => {}
        }
    }
    out.replace("&quot;", "\"").replace("&#39;", "'").replace("&lt;", "<").replace("&gt;", ">").replace("&nbsp;", " ").replace("&amp;", "&").trim().to_string()
}

fn text_of(doc: &Html, sel: &str) -> Option<String> {
    first_text(doc, Some(sel)).ok().flatten()
}

fn meta(doc: &Html, property: &str) -> Option<String> {
    meta_content(doc, &[property])
}

const GONE_MARKERS: &[&str] = &["已过期", "已被发布者删除", "已删除", "违规无法查看", "已停止访问", "无法查看", "内容已被"];
const VERIFY_MARKERS: &[&str] = &["环境异常", "完成验证后即可继续访问", "去验证", "请在微信客户端打开链接"];

pub fn parse_wechat(html: &str) -> WechatPage {
    let doc = Html::parse_document(html);
    let body = Selector::parse("#js_content").ok().and_then(|s| doc.select(&s).next());
    let Some(body) = body else {
        let notice = text_of(&doc, ".weui-msg__title").or_else(|| text_of(&doc, ".weui-msg__desc")).or_else(|| text_of(&doc, "title"));
        let all = doc.root_element().text().collect::<String>();
        if VERIFY_MARKERS.iter().any(|m| all.contains(m)) {
            return WechatPage::Verification;
        }
        let message = notice.filter(|n| GONE_MARKERS.iter().any(|m| n.contains(m))).or_else(|| {
            GONE_MARKERS.iter().find(|m| all.contains(**m)).map(|m| format!("文章{m}"))
        });
        return match message {
            Some(message) => WechatPage::Unavailable { message },
            None => WechatPage::Unrecognized,
        };
    };
    let rendered = render(body, &HashSet::new(), None);
    let title = js_var(html, "msg_title")
        .or_else(|| meta(&doc, "og:title"))
        .or_else(|| text_of(&doc, "#activity-name"))
        .or_else(|| text_of(&doc, ".rich_media_title"))
        .unwrap_or_default();
    let account = js_var(html, "nickname").or_else(|| text_of(&doc, "#js_name"));
    let author = meta(&doc, "author").or_else(|| text_of(&doc, "#js_author_name"));
    let published_at = js_var(html, "ct").and_then(|ct| ct.parse::<i64>().ok()).and_then(from_unix);
    let url = js_var(html, "msg_link").or_else(|| meta(&doc, "og:url")).filter(|u| u.starts_with("http"));
    WechatPage::Article(WechatArticle { title, account, author, published_at, url, text: rendered.text, images: rendered.images })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn js_strings_are_unescaped() {
        assert_eq!(unescape(r"A\x26amp;B \u5341 \'x\'"), "A&B 十 'x'");
    }

    #[test]
    fn pages_linking_to_wechat_are_not_wechat_pages() {
        let html = "<html><body><div class=\"content\"><p>关注我们的公众号：<a href=\"https://mp.weixin.qq.com/s/abc\">点击</a></p></div></body></html>";
        assert!(!looks_like_wechat(html));
        assert_eq!(parse_wechat("<html><body><p>改版后的页面</p></body></html>"), WechatPage::Unrecognized);
    }

    #[test]
    fn verification_page_is_not_an_empty_article() {
        let html = "<html><head><title>微信公众平台</title></head><body><div class=\"weui-msg\"><h2 class=\"weui-msg__title\">环境异常</h2><p>当前环境异常，完成验证后即可继续访问。</p><a>去验证</a></div></body></html>";
        assert_eq!(parse_wechat(html), WechatPage::Verification);
    }
}
