//! HTML → title + paragraph text, keeping block structure as lines.

use scraper::{ElementRef, Html, Node, Selector};

pub struct HtmlText {
    pub title: Option<String>,
    pub text: String,
}

const BLOCK_TAGS: &[&str] = &[
    "p", "div", "section", "article", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "blockquote", "pre",
    "table", "ul", "ol", "header", "footer",
];
const SKIP_TAGS: &[&str] = &["script", "style", "noscript", "template", "svg", "iframe", "nav", "head"];

pub fn html_to_text(html: &str) -> HtmlText {
    let doc = Html::parse_document(html);
    let title = Selector::parse("title")
        .ok()
        .and_then(|sel| doc.select(&sel).next())
        .map(|t| t.text().collect::<String>().trim().to_string())
        .filter(|t| !t.is_empty())
        .or_else(|| {
            Selector::parse("h1").ok().and_then(|sel| doc.select(&sel).next()).map(|h| {
                h.text().collect::<String>().trim().to_string()
            })
        });
    let body_sel = Selector::parse("body").ok();
    let root = body_sel.as_ref().and_then(|sel| doc.select(sel).next()).unwrap_or_else(|| doc.root_element());
    let mut out = String::new();
    walk(root, &mut out);
    let text = out
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    HtmlText { title, text }
}

fn walk(el: ElementRef<'_>, out: &mut String) {
    for child in el.children() {
        match child.value() {
            Node::Text(t) => out.push_str(t),
            Node::Element(e) => {
                let name = e.name();
                if SKIP_TAGS.contains(&name) {
                    continue;
                }
                let block = BLOCK_TAGS.contains(&name);
                if block {
                    out.push('\n');
                }
                if let Some(child_el) = ElementRef::wrap(child) {
                    if name == "img" {
                        if let Some(alt) = e.attr("alt").filter(|a| !a.trim().is_empty()) {
                            out.push_str(alt.trim());
                        }
                    }
                    walk(child_el, out);
                }
                if block {
                    out.push('\n');
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_paragraphs_and_drops_scripts() {
        let h = html_to_text(
            "<html><head><title>通知</title><script>var x=1;</script></head><body><p>第一段。</p><script>alert(1)</script><div>第二段<br>第三行</div></body></html>",
        );
        assert_eq!(h.title.as_deref(), Some("通知"));
        assert_eq!(h.text, "第一段。\n第二段\n第三行");
    }
}
