//! Structure of Chinese regulations: 编/章/节 headings, 条 articles, 总纲/序言 preambles.

use std::sync::OnceLock;

use dwt_core::numerals::{parse_number, to_chinese};
use dwt_core::{Block, BlockKind, DocMeta, DocType};
use regex::Regex;

/// What the text itself says about the document, before front matter overrides.
#[derive(Debug, Default)]
pub struct ParsedText {
    pub title: Option<String>,
    pub version: Option<String>,
    pub notes: Vec<String>,
    pub origin: Option<String>,
    pub issuer: Option<String>,
    pub effective_date: Option<String>,
    pub blocks: Vec<Block>,
}

/// Compiles a regex literal of this file once. The patterns are constants covered by the unit
/// tests, so a failure is a programming error, not an input error.
#[allow(clippy::expect_used)]
fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("static regex compiles"))
}

fn article_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"^第\s*([零〇一二两三四五六七八九十百千0-9]+)\s*条(?:[\s\u{3000}]+|$|(?:[之]))")
}

fn heading_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"^第\s*[零〇一二两三四五六七八九十百千0-9]+\s*(编|章|节)(?:[\s\u{3000}]+(.*))?$")
}

/// A numbered item "一、…" of a text that has no 第X条 articles (八项规定, 若干准则 …).
fn item_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"^([一二三四五六七八九十]{1,3})、")
}

/// Item label "第一项" when a structured text numbers its provisions 一、二、… instead of 条.
pub fn item_label(line: &str) -> Option<String> {
    let caps = item_re().captures(line)?;
    let n = parse_number(caps.get(1)?.as_str())?;
    Some(format!("第{}项", to_chinese(n)))
}

fn date_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"自(\d{4})年(\d{1,2})月(\d{1,2})日起施行")
}

fn issuer_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"^\d{4}年\d{1,2}月\d{1,2}日\s*(.+?)(?:发布|印发)$")
}

const PREAMBLE_HEADINGS: &[&str] = &["总纲", "序言", "前言"];

/// Collapses whitespace inside a heading: "第一章 党 员" → "第一章 党员".
fn clean_heading(text: &str) -> String {
    let t = text.trim().trim_start_matches('#').trim();
    if let Some(caps) = heading_re().captures(t) {
        let label_end = caps.get(1).map(|m| m.end()).unwrap_or(t.len());
        let label: String = t[..label_end].chars().filter(|c| !c.is_whitespace()).collect();
        let rest: String = t[label_end..].chars().filter(|c| !c.is_whitespace()).collect();
        return if rest.is_empty() { label } else { format!("{label} {rest}") };
    }
    t.to_string()
}

fn heading_level_for_label(kind: &str) -> usize {
    match kind {
        "编" => 2,
        "章" => 3,
        _ => 4,
    }
}

/// Splits "中国共产党章程（…通过）" into the title and its version note.
fn split_title(raw: &str) -> (String, Option<String>) {
    let t = raw.trim();
    for (open, close) in [('（', '）'), ('(', ')')] {
        if t.ends_with(close) {
            if let Some(pos) = t.find(open) {
                let head = t[..pos].trim();
                let inner = t[pos + open.len_utf8()..t.len() - close.len_utf8()].trim();
                if !head.is_empty() && !inner.is_empty() {
                    return (head.to_string(), Some(inner.to_string()));
                }
            }
        }
    }
    (t.to_string(), None)
}

/// Article label "第七条" from a line starting with one, Arabic numerals normalised.
pub fn article_label(line: &str) -> Option<String> {
    let caps = article_re().captures(line)?;
    let n = parse_number(caps.get(1)?.as_str())?;
    Some(format!("第{}条", to_chinese(n)))
}

struct Builder {
    headings: Vec<(usize, String)>,
    blocks: Vec<Block>,
    current: Option<Block>,
    structured: bool,
    /// The text has no 第X条 lines: its 一、二、… items are its provisions.
    items: bool,
}

impl Builder {
    fn heading_path(&self) -> Vec<String> {
        self.headings.iter().map(|(_, h)| h.clone()).collect()
    }

    fn in_preamble(&self) -> Option<String> {
        self.headings.last().and_then(|(_, h)| PREAMBLE_HEADINGS.iter().find(|p| h.as_str() == **p)).map(|s| s.to_string())
    }

    fn flush(&mut self) {
        if let Some(mut b) = self.current.take() {
            b.text = b.text.trim().to_string();
            if !b.text.is_empty() {
                self.blocks.push(b);
            }
        }
    }

    fn push_heading(&mut self, level: usize, text: String) {
        self.flush();
        while self.headings.last().is_some_and(|(l, _)| *l >= level) {
            self.headings.pop();
        }
        self.headings.push((level, text));
    }

    fn push_line(&mut self, line: &str) {
        if self.structured {
            let label = if self.items { item_label(line) } else { article_label(line) };
            if let Some(label) = label {
                self.flush();
                self.current = Some(Block {
                    heading_path: self.heading_path(),
                    article: Some(label),
                    text: line.to_string(),
                    kind: BlockKind::Article,
                });
                return;
            }
            if let Some(label) = self.in_preamble() {
                // One block per preamble paragraph (a line is a paragraph in these texts).
                self.flush();
                self.current = Some(Block {
                    heading_path: self.heading_path(),
                    article: Some(label),
                    text: line.to_string(),
                    kind: BlockKind::Preamble,
                });
                self.flush();
                return;
            }
        }
        match &mut self.current {
            Some(b) => {
                b.text.push('\n');
                b.text.push_str(line);
            }
            None => {
                self.current = Some(Block {
                    heading_path: self.heading_path(),
                    article: None,
                    text: line.to_string(),
                    kind: BlockKind::Text,
                });
            }
        }
    }

    fn blank(&mut self) {
        // A blank line ends free text paragraphs; articles may span blank lines.
        if let Some(b) = &self.current {
            if b.kind == BlockKind::Text && !self.structured {
                self.flush();
            }
        }
    }
}

/// Parses Markdown or plain text into metadata hints and blocks. `structured` asks for article
/// parsing; `None` decides from the text (three or more article lines).
pub fn parse_text(text: &str, structured: Option<bool>) -> ParsedText {
    let text = text.trim_start_matches('\u{feff}');
    let lines: Vec<String> = text
        .lines()
        .map(|l| l.trim_matches(|c: char| c.is_whitespace() || c == '\u{3000}').to_string())
        .collect();
    let structured =
        structured.unwrap_or_else(|| lines.iter().filter(|l| article_label(l).is_some()).take(3).count() >= 3);
    let items = structured
        && !lines.iter().any(|l| article_label(l).is_some())
        && lines.iter().filter(|l| item_label(l).is_some()).take(2).count() >= 2;

    let mut out = ParsedText::default();
    let mut b = Builder { headings: Vec::new(), blocks: Vec::new(), current: None, structured, items };
    let mut seen_content = false;

    for line in &lines {
        if line.is_empty() {
            b.blank();
            continue;
        }
        if line.starts_with("<!--") && line.ends_with("-->") {
            continue;
        }
        if let Some(src) = line.strip_prefix("Source:").or_else(|| line.strip_prefix("来源：")) {
            out.origin = Some(src.trim().to_string());
            continue;
        }
        if let Some(note) = line.strip_prefix('>') {
            out.notes.push(note.trim().to_string());
            continue;
        }
        if line.starts_with('#') {
            let level = line.chars().take_while(|c| *c == '#').count();
            let heading = clean_heading(line);
            if level == 1 && out.title.is_none() && !seen_content {
                let (title, version) = split_title(&heading);
                out.title = Some(title);
                out.version = version;
                continue;
            }
            b.push_heading(level, heading);
            continue;
        }
        if structured {
            if let Some(caps) = heading_re().captures(line) {
                if line.chars().count() <= 40 && !line.ends_with('。') {
                    let kind = caps.get(1).map(|m| m.as_str()).unwrap_or("章");
                    b.push_heading(heading_level_for_label(kind), clean_heading(line));
                    continue;
                }
            }
            if !seen_content && b.headings.is_empty() && out.issuer.is_none() {
                if let Some(c) = issuer_re().captures(line) {
                    out.issuer = c.get(1).map(|m| m.as_str().trim().to_string());
                }
            }
        }
        if out.effective_date.is_none() {
            if let Some(c) = date_re().captures(line) {
                let (y, m, d) = (&c[1], &c[2], &c[3]);
                out.effective_date = Some(format!("{y}-{:0>2}-{:0>2}", m, d));
            }
        }
        seen_content = true;
        b.push_line(line);
    }
    b.flush();
    out.blocks = b.blocks;
    out
}

/// Fills metadata from parsed text where the caller left it empty.
pub fn infer_meta(meta: &mut DocMeta, parsed: &ParsedText, fallback_title: &str, doc_type_given: bool) {
    if meta.title.is_empty() {
        meta.title = parsed.title.clone().unwrap_or_else(|| fallback_title.to_string());
    }
    if meta.version.is_none() {
        let mut parts: Vec<String> = parsed.version.iter().cloned().collect();
        parts.extend(parsed.notes.iter().cloned());
        if !parts.is_empty() {
            meta.version = Some(parts.join("；"));
        }
    }
    if meta.origin_url.is_none() {
        meta.origin_url = parsed.origin.clone();
    }
    if meta.issuer.is_none() {
        meta.issuer = parsed.issuer.clone();
    }
    if meta.effective_date.is_none() {
        meta.effective_date = parsed.effective_date.clone();
    }
    if !doc_type_given {
        let t = meta.title.as_str();
        let articles = parsed.blocks.iter().filter(|b| b.kind == BlockKind::Article).count();
        // What precedes the first article: issuing body, order number, adopting meeting.
        let mut header: String = parsed.blocks.iter().take_while(|b| b.kind != BlockKind::Article).map(|b| b.text.as_str()).collect();
        header.extend([meta.issuer.as_deref(), meta.version.as_deref()].into_iter().flatten());
        header.extend(parsed.notes.iter().map(String::as_str));
        let header: String = header.chars().take(600).collect();
        // Party rules state their purpose in party terms in the first articles (「坚持党的领导」);
        // state regulations without an issuing line mostly do not.
        let opening: String = parsed.blocks.iter().filter(|b| b.kind == BlockKind::Article).take(3).map(|b| b.text.as_str()).collect();
        meta.doc_type = if t.contains("中国共产党章程") {
            DocType::Constitution
        } else if state_title_re().is_match(t) {
            DocType::Law
        } else if party_re().is_match(t) || party_issuer_re().is_match(&header) {
            // 党内法规, including those the Party and the State issue together.
            if articles >= 3 { DocType::Regulation } else { DocType::Other }
        } else if t.starts_with("中华人民共和国")
            || (t.ends_with('法') && !t.ends_with("办法"))
            || state_re().is_match(t)
            || state_re().is_match(&header)
            || (articles >= 3 && !opening.contains('党'))
        {
            // Laws, 行政法规, 部门规章 and 司法解释: state law, not party rules.
            DocType::Law
        } else if articles >= 3 {
            DocType::Regulation
        } else {
            DocType::Other
        };
    }
}

/// A title that names a party rule.
fn party_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"中国共产党|中共|党内|党组|党委|党支部|党员|党的|党政机关|党建|纪律检查|八项规定")
}

/// A title that starts with a state issuer (司法解释, 国务院 decisions).
fn state_title_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"^(最高人民法院|最高人民检察院|国务院|全国人民代表大会)")
}

/// A party body among the issuers.
fn party_issuer_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"中共中央|中国共产党|中央委员会|中央办公厅|中央纪委|中央组织部|中央政治局")
}

/// A state issuer or a state legal form (国务院令, 部令, 司法解释).
fn state_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"国务院|最高人民法院|最高人民检察院|人民代表大会|人民政府|令第|部令|司法解释|适用法律|若干问题的解释")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inferred(text: &str) -> DocType {
        let parsed = parse_text(text, None);
        let mut meta = DocMeta::default();
        infer_meta(&mut meta, &parsed, "x", false);
        meta.doc_type
    }

    #[test]
    fn state_law_is_told_from_party_rules() {
        let articles = "第一条 甲。\n第二条 乙。\n第三条 丙。\n";
        // 行政法规 and 部门规章: the order that issued them.
        assert_eq!(inferred(&format!("# 专利代理条例\n\n2018年11月6日中华人民共和国国务院令第706号公布\n\n{articles}")), DocType::Law);
        assert_eq!(inferred(&format!("# 上海航运交易所管理规定\n\n1996年10月3日 中华人民共和国交通部令第8号发布\n\n{articles}")), DocType::Law);
        // 司法解释 by their title.
        assert_eq!(inferred(&format!("# 最高人民法院关于审理买卖合同纠纷案件适用法律问题的解释\n\n{articles}")), DocType::Law);
        // Party rules, also those issued with the State.
        assert_eq!(inferred(&format!("# 中国共产党纪律处分条例\n\n{articles}")), DocType::Regulation);
        assert_eq!(inferred(&format!("# 党政机关厉行节约反对浪费条例\n\n中共中央 国务院印发\n\n{articles}")), DocType::Regulation);
        assert_eq!(inferred(&format!("# 信访工作条例\n\n中共中央、国务院印发\n\n{articles}")), DocType::Regulation);
        // A 行政法规 without an issuing line: its opening articles say nothing of the Party.
        assert_eq!(inferred(&format!("# 地名管理条例\n\n{articles}")), DocType::Law);
        assert_eq!(inferred(&format!("# 最高人民法院关于审理与党政机关脱钩企业相关纠纷案件若干问题的规定\n\n{articles}")), DocType::Law);
        // A rule that opens in party terms stays a regulation; short texts are other.
        assert_eq!(inferred("# 某校教职工学习制度\n\n第一条 为加强党的建设，制定本制度。\n第二条 乙。\n第三条 丙。\n"), DocType::Regulation);
        assert_eq!(inferred("# 关于开展主题党日活动的通知\n\n请各支部按时参加。\n"), DocType::Other);
    }

    #[test]
    fn parses_articles_headings_and_preamble() {
        let text = "# 中国共产党章程（中国共产党第十九次全国代表大会部分修改，2017年10月24日通过）\n\n> 注意：2017 版。\n\n## 总纲\n第一段。\n第二段。\n\n## 第一章 党 员\n第一条 年满十八岁的……可以申请加入中国共产党。\n第二条 党员是先锋战士。\n第二款。\n第三条 党员必须履行下列义务：\n（一）学习。\n\n第十条 第10条的内容。\n\nSource: repo@abc:path\n";
        let p = parse_text(text, None);
        assert_eq!(p.title.as_deref(), Some("中国共产党章程"));
        assert_eq!(p.version.as_deref(), Some("中国共产党第十九次全国代表大会部分修改，2017年10月24日通过"));
        assert_eq!(p.origin.as_deref(), Some("repo@abc:path"));
        let labels: Vec<_> = p.blocks.iter().map(|b| b.article.clone().unwrap_or_default()).collect();
        assert_eq!(labels, ["总纲", "总纲", "第一条", "第二条", "第三条", "第十条"]);
        assert_eq!(p.blocks[0].kind, BlockKind::Preamble);
        assert_eq!(p.blocks[3].text, "第二条 党员是先锋战士。\n第二款。");
        assert_eq!(p.blocks[2].heading_path, vec!["第一章 党员".to_string()]);
        assert_eq!(p.blocks[4].text, "第三条 党员必须履行下列义务：\n（一）学习。");
    }

    #[test]
    fn plain_chapter_lines_and_arabic_articles() {
        let text = "某某工作条例\n\n第一章 总则\n\n第1条 为了……，制定本条例。\n\n第二章 职责\n第一节 一般规定\n第2条 职责如下。\n第3条 本条例自2022年5月1日起施行。\n";
        let p = parse_text(text, None);
        let got: Vec<_> = p.blocks.iter().map(|b| (b.article.clone(), b.heading_path.clone())).collect();
        assert_eq!(got[0], (None, vec![]));
        assert_eq!(got[1], (Some("第一条".into()), vec!["第一章 总则".into()]));
        assert_eq!(got[2], (Some("第二条".into()), vec!["第二章 职责".into(), "第一节 一般规定".into()]));
        assert_eq!(p.effective_date.as_deref(), Some("2022-05-01"));
    }

    #[test]
    fn numbered_items_are_provisions_when_there_are_no_articles() {
        let text = "# 中共中央八项规定\n\n中央政治局召开会议，审议八项规定。\n一、要改进调查研究，到基层调研。\n二、要精简会议活动，切实改进会风。\n十、要厉行勤俭节约。\n";
        let p = parse_text(text, Some(true));
        let labels: Vec<Option<String>> = p.blocks.iter().map(|b| b.article.clone()).collect();
        assert_eq!(labels, vec![None, Some("第一项".into()), Some("第二项".into()), Some("第十项".into())]);
        assert!(p.blocks[2].text.starts_with("二、要精简会议活动"));
        // A text with articles keeps 一、 lines inside its articles.
        let text = "第一条 总则如下：\n一、甲。\n二、乙。\n第二条 其他。\n第三条 施行。\n";
        let p = parse_text(text, Some(true));
        assert_eq!(p.blocks.len(), 3);
        assert!(p.blocks[0].text.contains("二、乙"));
    }

    #[test]
    fn article_reference_inside_sentence_is_not_an_article() {
        assert_eq!(article_label("第七条 党员的党龄"), Some("第七条".into()));
        assert_eq!(article_label("第七条规定的情形"), None);
        assert_eq!(article_label("依照第七条"), None);
    }

}
