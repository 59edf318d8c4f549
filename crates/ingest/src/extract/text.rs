//! Element → clean text: block structure kept as lines, dropped subtrees skipped, image alt
//! text kept, links and image sources collected as absolute URLs.

use std::collections::HashSet;

use ego_tree::NodeId;
use scraper::{ElementRef, Node};
use url::Url;

const BLOCK_TAGS: &[&str] = &[
    "p", "div", "section", "article", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "blockquote", "pre", "table", "ul",
    "ol", "header", "footer", "figure", "figcaption", "dd", "dt", "main",
];
/// Never article text, whatever the configuration says.
pub(crate) const ALWAYS_DROP: &[&str] = &["script", "style", "noscript", "template", "svg", "iframe", "head", "form", "button", "select", "textarea"];

#[derive(Default)]
pub(crate) struct Rendered {
    pub text: String,
    pub images: Vec<String>,
    pub links: Vec<String>,
}

pub(crate) fn absolutise(base: Option<&Url>, href: &str) -> Option<String> {
    let href = href.trim();
    if href.is_empty() || href.starts_with('#') || href.starts_with("javascript:") || href.starts_with("data:") {
        return None;
    }
    match base {
        Some(b) => b.join(href).ok().map(String::from),
        None => Url::parse(href).ok().map(String::from),
    }
}

pub(crate) fn render(el: ElementRef<'_>, drop: &HashSet<NodeId>, base: Option<&Url>) -> Rendered {
    let mut out = Rendered::default();
    let mut raw = String::new();
    walk(el, drop, base, &mut raw, &mut out);
    out.text = clean_lines(&raw);
    out
}

/// Collapses whitespace (including no-break and ideographic spaces) inside lines and drops
/// empty lines, so paragraphs are exactly one line each.
pub(crate) fn clean_lines(raw: &str) -> String {
    raw.lines()
        .map(|l| l.split(|c: char| c.is_whitespace() || c == '\u{a0}' || c == '\u{3000}').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

fn walk(el: ElementRef<'_>, drop: &HashSet<NodeId>, base: Option<&Url>, raw: &mut String, out: &mut Rendered) {
    for child in el.children() {
        match child.value() {
            Node::Text(t) => raw.push_str(t),
            Node::Element(e) => {
                let name = e.name();
                if ALWAYS_DROP.contains(&name) || drop.contains(&child.id()) {
                    continue;
                }
                let Some(child_el) = ElementRef::wrap(child) else { continue };
                let block = BLOCK_TAGS.contains(&name);
                if block {
                    raw.push('\n');
                }
                match name {
                    "img" => {
                        if let Some(src) = e.attr("data-src").or_else(|| e.attr("src")).and_then(|s| absolutise(base, s)) {
                            out.images.push(src);
                        }
                        if let Some(alt) = e.attr("alt").map(str::trim).filter(|a| !a.is_empty()) {
                            raw.push('\n');
                            raw.push_str(alt);
                            raw.push('\n');
                        }
                    }
                    "a" => {
                        if let Some(href) = e.attr("href").and_then(|h| absolutise(base, h)) {
                            out.links.push(href);
                        }
                    }
                    _ => {}
                }
                walk(child_el, drop, base, raw, out);
                if block {
                    raw.push('\n');
                }
            }
            _ => {}
        }
    }
}

/// Characters of text under `el`, and how many of them are inside links.
pub(crate) fn text_and_link_chars(el: ElementRef<'_>) -> (usize, usize) {
    let mut total = 0;
    let mut linked = 0;
    for node in el.descendants() {
        if let Node::Text(t) = node.value() {
            let n = t.chars().filter(|c| !c.is_whitespace()).count();
            if n == 0 {
                continue;
            }
            let skipped = node.ancestors().filter_map(|a| a.value().as_element()).any(|e| ALWAYS_DROP.contains(&e.name()));
            if skipped {
                continue;
            }
            total += n;
            if node.ancestors().filter_map(|a| a.value().as_element()).any(|e| e.name() == "a") {
                linked += n;
            }
        }
    }
    (total, linked)
}
