//! Follow-up questions ("那预备期多长？") made standalone without an LLM: when a question
//! looks like it leans on the previous turn, carry over that turn's most specific terms.

/// Words that mark a question as leaning on what was said before.
const FOLLOW_UP_MARKERS: &[&str] = &["那", "那么", "这个", "那个", "这些", "那些", "它", "其", "他们", "还有", "另外", "此外", "这种", "那种", "上述", "该"];

/// True when `question` probably depends on the previous turn.
pub fn looks_like_follow_up(question: &str, question_terms: usize) -> bool {
    let q = question.trim();
    let starts_with_marker = FOLLOW_UP_MARKERS.iter().any(|m| q.starts_with(m));
    let short = q.chars().filter(|c| !c.is_ascii_punctuation() && !"？！。，、".contains(*c)).count() <= 6;
    starts_with_marker || short || question_terms <= 1
}

/// Rewrites `question` using `previous` (the previous standalone question) and its weighted
/// terms. Returns the question unchanged when it stands alone.
pub fn rewrite(question: &str, question_terms: &[(String, f32)], previous: Option<(&str, &[(String, f32)])>) -> String {
    let Some((_, prev_terms)) = previous else {
        return question.trim().to_string();
    };
    if !looks_like_follow_up(question, question_terms.len()) {
        return question.trim().to_string();
    }
    // The previous turn's most specific (highest-IDF) terms that the question does not repeat.
    let mut carried: Vec<&(String, f32)> = prev_terms.iter().filter(|(t, idf)| *idf > 0.0 && !question.contains(t.as_str())).collect();
    carried.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal));
    let carried: Vec<&str> = carried.iter().take(3).map(|(t, _)| t.as_str()).collect();
    if carried.is_empty() {
        return question.trim().to_string();
    }
    let body = question.trim().trim_start_matches(['那', '么']).trim();
    format!("{} {}", carried.join(" "), body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(words: &[(&str, f32)]) -> Vec<(String, f32)> {
        words.iter().map(|(w, i)| (w.to_string(), *i)).collect()
    }

    #[test]
    fn follow_up_carries_previous_topic() {
        let prev = t(&[("预备党员", 3.0), ("权利", 2.0)]);
        let q = "那预备期多长？";
        let out = rewrite(q, &t(&[("预备期", 3.5)]), Some(("预备党员有哪些权利", &prev)));
        assert!(out.contains("预备党员"), "{out}");
        assert!(out.contains("预备期多长"), "{out}");
        assert!(!out.starts_with('那'));
    }

    #[test]
    fn standalone_question_is_kept() {
        let prev = t(&[("预备党员", 3.0)]);
        let q = "党员有哪些权利和义务";
        let out = rewrite(q, &t(&[("党员", 1.0), ("权利", 2.0), ("义务", 2.0)]), Some(("预备党员", &prev)));
        assert_eq!(out, q);
        assert_eq!(rewrite(q, &[], None), q);
    }
}
