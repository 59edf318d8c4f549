//! Property test: the extractors never panic, whatever HTML-like input they get, and what they
//! return is well-formed (no empty lines, absolute URLs only).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dwt_ingest::extract::{extract_article, extract_links, parse_wechat, ArticleRules, WechatPage};
use proptest::prelude::*;
use url::Url;

fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("<p>".to_string()),
        Just("</p>".to_string()),
        Just("<div class=\"content\">".to_string()),
        Just("</div>".to_string()),
        Just("<a href=\"/x?a=1\">".to_string()),
        Just("<a href=\"javascript:void(0)\">".to_string()),
        Just("</a>".to_string()),
        Just("<img data-src=\"../i.png\" alt=\"图\">".to_string()),
        Just("<script>var ct = \"1\";</script>".to_string()),
        Just("<h1>".to_string()),
        Just("<table><tr><td>".to_string()),
        Just("<div id=\"js_content\">".to_string()),
        Just("var msg_title = \"\\x26amp;标题\";".to_string()),
        Just("<!--".to_string()),
        Just("-->".to_string()),
        Just("<br/>".to_string()),
        Just("&nbsp;&amp;&#x4e2d;".to_string()),
        "[\\PC\u{3000}<>\"'&/=]{0,12}",
        "[一-龥]{1,20}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn extractors_never_panic(parts in prop::collection::vec(fragment(), 0..60)) {
        let html = parts.concat();
        let base = Url::parse("https://dj.example.cn/news/a.html").unwrap();
        let rules = ArticleRules { title: Some("h1".into()), body: Some(".content".into()), date: Some(".date".into()), ..ArticleRules::default() };
        if let Ok(x) = extract_article(&html, Some(&base), &rules) {
            prop_assert!(!x.text.is_empty());
            prop_assert!(x.text.lines().all(|l| !l.trim().is_empty()));
            prop_assert!(x.links.iter().chain(&x.images).all(|u| u.starts_with("https://")));
        }
        let (links, _) = extract_links(&html, &base, "a", &[], &[], Some("a")).unwrap();
        prop_assert!(links.iter().all(|u| u.starts_with("https://dj.example.cn/")));
        if let WechatPage::Article(a) = parse_wechat(&html) {
            prop_assert!(a.text.lines().all(|l| !l.trim().is_empty()));
        }
    }
}
