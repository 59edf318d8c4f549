//! `dangwutong eval --answers` on a conversation file: each line is a conversation whose turns
//! are asked in order through the assistant (stateless history, as the OpenAI-compatible API
//! sends it); a turn counts when the first cited source is one of its gold articles.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use dwt_assistant::{Assistant, ChatRequest, Turn};
use serde::{Deserialize, Serialize};

use crate::eval::{matches, Gold};
use crate::output::out;

#[derive(Debug, Deserialize)]
struct Conversation {
    id: serde_json::Value,
    turns: Vec<ConversationTurn>,
}

#[derive(Debug, Deserialize)]
struct ConversationTurn {
    question: String,
    #[serde(default)]
    gold: Vec<Gold>,
    /// ellipsis | pronoun | more | hypothetical | shift | correction (follow-ups only).
    #[serde(default)]
    kind: Option<String>,
}

#[derive(Debug, Serialize, PartialEq, Default)]
pub struct ConversationSummary {
    pub conversations: usize,
    /// First turns whose first citation is gold.
    pub first_turns: f64,
    /// Follow-up turns whose first citation is gold.
    pub follow_ups: f64,
    /// Follow-ups refused (no citation at all).
    pub follow_ups_refused: f64,
    pub by_kind: BTreeMap<String, KindScore>,
}

#[derive(Debug, Serialize, PartialEq, Default)]
pub struct KindScore {
    pub n: usize,
    pub hit: f64,
}

/// True when the file holds conversations (its first line has `turns`).
pub fn is_conversation_file(text: &str) -> bool {
    text.lines().find(|l| !l.trim().is_empty()).and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok()).is_some_and(|v| v.get("turns").is_some())
}

fn share(hits: usize, n: usize) -> f64 {
    if n == 0 {
        0.0
    } else {
        ((hits as f64 / n as f64) * 10000.0).round() / 10000.0
    }
}

pub async fn run(assistant: &Assistant, file: &Path, verbose: bool) -> anyhow::Result<ConversationSummary> {
    let text = std::fs::read_to_string(file).with_context(|| format!("无法读取评测文件 {}", file.display()))?;
    let mut conversations = Vec::new();
    for (i, l) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let c: Conversation = serde_json::from_str(l).with_context(|| format!("评测文件第 {} 行格式错误", i + 1))?;
        conversations.push(c);
    }
    anyhow::ensure!(!conversations.is_empty(), "评测文件中没有对话：{}", file.display());
    let (mut first, mut first_n, mut follow, mut follow_n, mut refused) = (0, 0, 0, 0, 0);
    let mut kinds: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for c in &conversations {
        let mut history: Vec<Turn> = Vec::new();
        for (i, turn) in c.turns.iter().enumerate() {
            let req = ChatRequest {
                question: turn.question.clone(),
                conversation_id: None,
                history: history.clone(),
                persist: false,
                audience: dwt_store::Audience::anonymous(),
                asker: dwt_store::Asker::default(),
            };
            let answer = assistant.chat(req, None).await?;
            let cited = answer.sources.first().map(|s| (s.doc_title.clone(), s.article.clone()));
            let hit = !answer.done.refused && cited.as_ref().is_some_and(|(t, a)| matches(t, a.as_deref(), &turn.gold));
            if i == 0 {
                first_n += 1;
                first += usize::from(hit);
            } else {
                follow_n += 1;
                follow += usize::from(hit);
                refused += usize::from(answer.done.refused);
                let e = kinds.entry(turn.kind.clone().unwrap_or_else(|| "other".into())).or_default();
                e.0 += 1;
                e.1 += usize::from(hit);
            }
            if verbose && !hit {
                let got = cited.map(|(t, a)| format!("《{t}》{}", a.unwrap_or_default())).unwrap_or_else(|| "拒答".into());
                let gold: Vec<String> = turn.gold.iter().map(|g| format!("{}{}", g.doc, g.article)).collect();
                out(&format!(
                    "未命中 {} 第{}轮（{}）: {} | 改写 {} | 期望 {} | 得到 {got}",
                    c.id,
                    i + 1,
                    turn.kind.as_deref().unwrap_or("首问"),
                    turn.question,
                    answer.meta.standalone_question,
                    gold.join("/")
                ));
            }
            history.push(Turn { role: "user".into(), content: turn.question.clone() });
            history.push(Turn { role: "assistant".into(), content: answer.text.clone() });
        }
    }
    Ok(ConversationSummary {
        conversations: conversations.len(),
        first_turns: share(first, first_n),
        follow_ups: share(follow, follow_n),
        follow_ups_refused: share(refused, follow_n),
        by_kind: kinds.into_iter().map(|(k, (n, h))| (k, KindScore { n, hit: share(h, n) })).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_files_are_told_apart() {
        assert!(is_conversation_file("\n{\"id\":1,\"turns\":[]}\n"));
        assert!(!is_conversation_file("{\"id\":1,\"question\":\"党龄\"}\n"));
        assert!(!is_conversation_file(""));
    }
}
