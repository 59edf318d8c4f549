//! Follow-up questions ("那预备期多长？") made standalone without an LLM: when a question
//! looks like it leans on the previous turn, carry over that turn's most specific terms.

/// Words that mark a question as leaning on what was said before.
const FOLLOW_UP_MARKERS: &[&str] = &[
    "那", "那么", "这个", "那个", "这些", "那些", "它", "其", "他们", "还有", "另外", "此外", "这种", "那种", "上述", "该", "要是", "如果", "假如",
    "万一", "具体", "除了", "其中", "这事", "这样", "这期间", "这时", "此时", "不服", "我是说", "我是问", "我问的是", "我说的是", "我是想", "不是",
    "然后", "接着", "我想问", "我想看", "问的是", "说的是",
];

/// Pronouns inside a question that point back ("…对这个咋规定的", "它拿啥作行动指南").
const BACK_REFERENCES: &[&str] = &["这个", "这事", "这种", "它", "那个", "上面", "刚才", "前面说的"];

/// Question and function words: never the topic carried into a follow-up.
const NOT_TOPIC: &[&str] = &[
    "能", "能否", "可以", "谁", "什么", "怎么", "怎样", "多久", "多长", "几", "几个", "一次", "才能", "定", "负", "具体", "有", "要", "需要", "是否",
    "哪些", "吗", "呢", "个", "不能", "开", "讲", "说", "走", "找", "怎么办", "如何", "多少", "几年", "时候", "一般", "应该", "必须", "还", "就",
    "直接", "最高", "一起", "规定", "问", "想", "咋", "啥", "会", "被", "给", "让", "里", "中", "这种", "那种", "这个", "那个", "处理",
    "情况", "不是", "一下", "知道", "请问", "细则", "条例", "党章", "规定里", "还有", "别的", "其他", "然后", "哪儿", "哪里", "东西", "弄",
    "搞", "干", "行", "算", "说法", "写", "看", "意思", "路子", "办法",
];

/// How many words of its own a question brings: words the knowledge base knows that are not
/// question or function words, positions (第二条) or amounts (一年, 三次).
pub fn own_topic_terms(terms: &[(String, f32)]) -> usize {
    // A single character (「列」「车」) is too vague to be a topic of its own.
    terms.iter().filter(|(t, idf)| *idf > 0.0 && t.chars().count() >= 2 && is_topic(t)).count()
}

fn is_topic(term: &str) -> bool {
    !NOT_TOPIC.contains(&term) && !is_position(term) && !is_amount(term)
}

/// What a question brings of its own: topic words (see [`own_topic_terms`], counted without
/// the documents it names as sources) and whether it names a document in passing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OwnTopic {
    pub terms: usize,
    /// 「八项规定最后一条讲的啥」: a document is a topic of its own.
    pub names_document: bool,
}

/// True when `question` probably depends on the previous turn.
pub fn looks_like_follow_up(question: &str, own: OwnTopic) -> bool {
    let q = question.trim();
    let starts_with_marker = FOLLOW_UP_MARKERS.iter().any(|m| q.starts_with(m));
    let points_back = BACK_REFERENCES.iter().any(|m| q.contains(m));
    if own.names_document && !starts_with_marker && !points_back {
        return false;
    }
    let own_terms = own.terms;
    let bare = q.trim_end_matches(|c: char| c.is_ascii_punctuation() || "？！。，、".contains(c));
    // A question ending in 呢 with at most two words of its own leans on the topic before
    // (「县委委员呢？」「接收那边审核呢？」). One word of its own in a short question does too
    // (「职责具体有哪些？」); in a longer one it is the new topic (「去信访的时候哪些事是不让干
    // 的？」), and two make a short question complete (「党徽是啥图案」).
    let elliptical = bare.ends_with('呢') && own_terms <= 2;
    let short = bare.chars().count() <= SHORT_QUESTION_CHARS && own_terms <= 1;
    starts_with_marker || points_back || short || elliptical || own_terms == 0
}

/// Longest question (in characters, without the final punctuation) that one word of its own
/// does not make standalone.
const SHORT_QUESTION_CHARS: usize = 10;

const NUMERALS: &str = "一二三四五六七八九十百零两几0123456789";

/// 「第二条」「一条」「第三项」「第二」: a position in a document, not a topic.
fn is_position(term: &str) -> bool {
    let ordinal = term.starts_with('第');
    let t = term.trim_start_matches('第');
    let n = t.chars().count();
    if ordinal && n >= 1 && t.chars().all(|c| NUMERALS.contains(c)) {
        return true;
    }
    t.ends_with(['条', '项', '章', '款']) && n <= 5 && t.chars().take(n - 1).all(|c| NUMERALS.contains(c))
}

/// 「一年」「三次」「一届」「几回」: an amount the question asks about, not its topic.
fn is_amount(term: &str) -> bool {
    let n = term.chars().count();
    n >= 2
        && term.chars().last().is_some_and(|c| "年次届回个名月天人岁周期".contains(c))
        && term.chars().take(n - 1).all(|c| NUMERALS.contains(c))
}

/// The previous turn's topic words worth carrying: content words (not question or function
/// words) that the knowledge base knows, most specific first.
fn topic_terms<'a>(question: &str, prev_terms: &'a [(String, f32)]) -> Vec<&'a str> {
    let mut carried: Vec<&(String, f32)> = prev_terms
        .iter()
        .filter(|(t, idf)| {
            *idf > 0.0 && t.chars().count() >= 2 && is_topic(t) && !question.contains(t.as_str())
        })
        .collect();
    carried.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal));
    // A shorter term inside a longer carried one adds nothing ("申请书" in "入党申请书").
    let mut out: Vec<&str> = Vec::new();
    for (t, _) in carried {
        if !out.iter().any(|o| o.contains(t.as_str())) {
            out.push(t.as_str());
        }
    }
    out.truncate(3);
    out
}

/// Rewrites `question` using `previous` (the previous standalone question) and its weighted
/// terms. `own`: what the question brings of its own. Returns the question unchanged when it stands
/// alone.
pub fn rewrite(question: &str, own: OwnTopic, previous: Option<(&str, &[(String, f32)])>) -> String {
    let Some((prev, prev_terms)) = previous else {
        return question.trim().to_string();
    };
    if !looks_like_follow_up(question, own) {
        return question.trim().to_string();
    }
    let body = question.trim().trim_start_matches(['那', '么']).trim();
    // Nothing of its own (「还有别的吗？」「我问的是细则里咋说的」): the whole previous question
    // is the topic.
    if own.terms == 0 && !own.names_document {
        return format!("{} {body}", prev.trim());
    }
    // The previous turn's most specific topic words that the question does not repeat.
    let carried = topic_terms(question, prev_terms);
    if carried.is_empty() {
        return question.trim().to_string();
    }
    format!("{} {}", carried.join(" "), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn own(terms: usize) -> OwnTopic {
        OwnTopic { terms, names_document: false }
    }

    fn t(words: &[(&str, f32)]) -> Vec<(String, f32)> {
        words.iter().map(|(w, i)| (w.to_string(), *i)).collect()
    }

    #[test]
    fn follow_up_carries_previous_topic() {
        let prev = t(&[("预备党员", 3.0), ("权利", 2.0)]);
        let q = "那预备期多长？";
        let out = rewrite(q, own(1), Some(("预备党员有哪些权利", &prev)));
        assert!(out.contains("预备党员"), "{out}");
        assert!(out.contains("预备期多长"), "{out}");
        assert!(!out.starts_with('那'));
    }

    #[test]
    fn standalone_question_is_kept() {
        let prev = t(&[("预备党员", 3.0)]);
        let q = "党员有哪些权利和义务";
        let out = rewrite(q, own(3), Some(("预备党员", &prev)));
        assert_eq!(out, q);
        assert_eq!(rewrite(q, own(0), None), q);
    }

    #[test]
    fn only_topic_words_are_carried() {
        let prev = t(&[("能", 4.0), ("档案", 3.0), ("干部", 2.5), ("查阅", 2.8), ("谁", 5.0), ("一次", 4.5)]);
        let out = rewrite("那具体走啥程序？", own(1), Some(("干部能查阅自己的档案吗", &prev)));
        assert!(out.starts_with("档案 查阅 干部"), "{out}");
        for junk in ["能 ", "谁", "一次"] {
            assert!(!out.contains(junk), "{out}");
        }
    }

    #[test]
    fn hypotheticals_corrections_and_back_references_are_follow_ups() {
        for q in ["要是开除党籍呢？", "我是说党章里对这个咋规定的", "不是党章，是发展党员细则", "这事谁负直接责任？"] {
            assert!(looks_like_follow_up(q, own(3)), "{q}");
        }
        assert!(!looks_like_follow_up("去信访的时候哪些事是不让干的？", own(3)));
        assert!(!looks_like_follow_up("去信访的时候哪些事是不让干的？", own(1)), "one word of its own in a long question is a new topic");
        assert!(looks_like_follow_up("职责具体有哪些？", own(1)));
        assert!(!looks_like_follow_up("党徽是啥图案？", own(2)), "short but complete");
        assert!(looks_like_follow_up("县委委员呢？", own(2)));
        assert!(looks_like_follow_up("接收那边审核呢？", own(2)));
        let names = OwnTopic { terms: 0, names_document: true };
        assert!(!looks_like_follow_up("八项规定最后一条讲的啥？", names), "a new document is a new topic");
        assert!(looks_like_follow_up("那八项规定呢？", names));
        assert!(!looks_like_follow_up("预备党员的权利和义务有哪些呢？", own(3)));
        assert!(is_position("第二条") && is_position("一条") && is_position("第三项") && is_position("第二") && !is_position("条例"));
        assert!(is_amount("一年") && is_amount("几回") && !is_amount("年度") && !is_amount("全年"));
    }

    #[test]
    fn a_question_with_nothing_of_its_own_takes_the_whole_previous_question() {
        let prev = t(&[("干部", 2.0), ("档案", 3.0), ("材料", 2.5)]);
        let out = rewrite("还有别的吗？", own(0), Some(("干部档案里都装些啥材料", &prev)));
        assert_eq!(out, "干部档案里都装些啥材料 还有别的吗？");
        let own = own_topic_terms(&t(&[("还有", 1.0), ("一年", 3.0), ("第二条", 4.0), ("那边", 0.0)]));
        assert_eq!(own, 0, "function words, amounts, positions and unknown words are not topics");
    }
}
