//! The real saved WeChat pages from the shared corpus: exact fields, notice pages reported as
//! such, and `load_file` recognising WeChat pages.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use dwt_ingest::extract::{parse_wechat, WechatPage};
use dwt_ingest::{load_file, LoadOptions};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wechat").join(name)
}

fn article(name: &str) -> dwt_ingest::extract::WechatArticle {
    match parse_wechat(&std::fs::read_to_string(fixture(name)).unwrap()) {
        WechatPage::Article(a) => a,
        other => panic!("{name}: expected an article, got {other:?}"),
    }
}

#[test]
fn saved_articles_give_exact_fields() {
    let cases = [
        ("wechat_article_detail_qqmusic.html", "关于音乐", "闲云野鹤古刹", "2018-04-07T22:21:55+08:00", "文艺青年消遣有四大法宝：读书、旅行、运动与音乐。读书是最奢侈的享受，读书不是看书，而有选择的汲取。旅行不是旅游，是去自己想去的地方，过程远比目的地重要。运动不是体育，只看不做是没有任何意义的。音乐不仅仅是歌曲，任何能打动人的声音都可以称为音乐。"),
        ("wechat_article_detail_iframe.html", "【视频】石榴花开", "共产党员", "2018-03-20T11:19:59+08:00", "“各民族要相互了解、相互尊重、"),
        ("wechat_article_detail_mpvoice.html", "语音 | 早安武汉〔2018.3.19 周一〕", "长江日报", "2018-03-19T05:30:00+08:00", ""),
        ("wechat_article_detail_backgroud-image.html", "4月6日周五【新闻速览一分钟】", "华商报", "2018-04-06T06:56:20+08:00", ""),
    ];
    for (file, title, account, published, first_line) in cases {
        let a = article(file);
        assert_eq!(a.title, title, "{file}");
        assert_eq!(a.account.as_deref(), Some(account), "{file}");
        assert_eq!(a.published_at.as_deref(), Some(published), "{file}");
        assert!(!a.text.is_empty(), "{file}: body text");
        if !first_line.is_empty() {
            assert_eq!(a.text.lines().next(), Some(first_line), "{file}");
        }
        assert!(!a.text.contains("var first_sceen__time"), "{file}: scripts are not text");
        assert!(!a.images.is_empty() && a.images.iter().all(|i| i.contains("://mmbiz.qpic.cn/")), "{file}: lazy data-src images {:?}", a.images);
    }
}

#[test]
fn expired_and_verification_pages_are_reported_as_such() {
    let expired = parse_wechat(&std::fs::read_to_string(fixture("wechat_article_detail_expired.html")).unwrap());
    assert_eq!(expired, WechatPage::Unavailable { message: "链接已过期".into() });
    let verify = parse_wechat(&std::fs::read_to_string(fixture("wechat_verification_synthetic.html")).unwrap());
    assert_eq!(verify, WechatPage::Verification);
}

#[test]
fn ingest_recognises_saved_wechat_pages() {
    let opts = LoadOptions::default();
    let doc = load_file(&fixture("wechat_article_detail_qqmusic.html"), &opts).unwrap();
    assert_eq!(doc.meta.title, "关于音乐");
    assert_eq!(doc.meta.issuer.as_deref(), Some("闲云野鹤古刹"));
    assert_eq!(doc.meta.doc_type, dwt_core::DocType::News);
    assert_eq!(doc.meta.published_at.as_deref(), Some("2018-04-07T22:21:55+08:00"));
    assert!(doc.blocks.iter().any(|b| b.text.contains("读书是最奢侈的享受")));
    let err = load_file(&fixture("wechat_article_detail_expired.html"), &opts).unwrap_err();
    assert_eq!(err.code(), "ingest.wechat_unavailable");
    assert!(err.to_string().contains("链接已过期"), "{err}");
    let err = load_file(&fixture("wechat_verification_synthetic.html"), &opts).unwrap_err();
    assert_eq!(err.code(), "ingest.wechat_verification");
}
