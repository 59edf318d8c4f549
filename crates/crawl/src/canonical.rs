//! Canonical article URLs: one document per article however it was linked.

use url::Url;

/// Query parameters that only track where a click came from, on any site. Names that a CMS may
/// also use for content (`from`, `key`, `lang` …) are left alone: stripping them could merge
/// different articles into one.
const TRACKING: &[&str] = &["spm", "fbclid", "gclid", "isappinstalled"];

/// Lower-cased scheme and host (by `Url`), no credentials, no fragment, tracking parameters (utm_* and the
/// list above) removed, remaining parameters sorted. WeChat article links keep only the four
/// parameters that identify an article (`__biz`, `mid`, `idx`, `sn`).
pub fn canonical_url(url: &Url) -> String {
    let mut u = crate::fetch::without_credentials(url);
    u.set_fragment(None);
    let wechat = u.host_str() == Some("mp.weixin.qq.com");
    let mut pairs: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            if wechat {
                // An article is __biz+mid+idx+sn (or the short /s/<id> path); the rest is
                // session and share tracking.
                return matches!(k.as_str(), "__biz" | "mid" | "idx" | "sn");
            }
            !k.starts_with("utm_") && !TRACKING.contains(&k.as_str())
        })
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.sort();
    if pairs.is_empty() {
        u.set_query(None);
    } else {
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    u.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> String {
        Url::parse(s).map(|u| canonical_url(&u)).unwrap_or_default()
    }

    #[test]
    fn tracking_is_stripped_and_order_normalised() {
        assert_eq!(c("HTTPS://Dj.Example.CN:443/a/1.html?utm_source=wx&b=2&a=1#top"), "https://dj.example.cn/a/1.html?a=1&b=2");
        assert_eq!(c("https://dj.example.cn/a/1.html?spm=x"), "https://dj.example.cn/a/1.html");
        assert_eq!(c("https://dj.example.cn/content.jsp?key=123&from=app"), "https://dj.example.cn/content.jsp?from=app&key=123", "CMS parameters kept");
        assert_eq!(
            c("https://mp.weixin.qq.com/s?__biz=MzA&mid=265&idx=1&sn=abc&chksm=zz&scene=21#wechat_redirect"),
            "https://mp.weixin.qq.com/s?__biz=MzA&idx=1&mid=265&sn=abc"
        );
        assert_eq!(c("https://mp.weixin.qq.com/s/AbCdEf?scene=1"), "https://mp.weixin.qq.com/s/AbCdEf");
        assert_eq!(c("https://user:pw@dj.example.cn/a.html"), "https://dj.example.cn/a.html", "credentials are never stored");
    }
}
