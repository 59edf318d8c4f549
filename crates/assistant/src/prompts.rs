//! Prompt templates (minijinja) from `prompts/`: read from `llm.prompts_dir` at start, with the
//! copies compiled into the binary standing in for missing files.

use std::path::Path;

use minijinja::Environment;
use serde::Serialize;

const TEMPLATES: &[(&str, &str)] = &[
    ("answer.system.j2", include_str!("../../../prompts/answer.system.j2")),
    ("answer.user.j2", include_str!("../../../prompts/answer.user.j2")),
    ("rewrite.system.j2", include_str!("../../../prompts/rewrite.system.j2")),
    ("rewrite.user.j2", include_str!("../../../prompts/rewrite.user.j2")),
];

#[derive(Debug, thiserror::Error)]
pub enum PromptError {
    #[error("提示词模板 {name} 有误：{message}")]
    Template { name: String, message: String },
}

pub struct Prompts {
    env: Environment<'static>,
}

#[derive(Debug, Serialize)]
pub struct PromptSource<'a> {
    pub index: usize,
    pub doc_title: &'a str,
    /// 「2022年版」: the answer names the edition it quotes.
    pub edition: Option<&'a str>,
    pub article: Option<&'a str>,
    pub heading: String,
    pub text: &'a str,
    /// The document is repealed (已废止): the answer must say so when it relies on it.
    #[serde(default)]
    pub repealed: bool,
    /// The current version of a repealed document, when known.
    pub superseded_by: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct PromptTurn<'a> {
    /// 党员 or 助手, as the model should read it.
    pub role: &'static str,
    pub content: &'a str,
}

impl Prompts {
    /// Loads every template, preferring `dir/<name>` over the built-in copy. A template that
    /// does not parse is an error at start, not at the first question.
    pub fn load(dir: &Path) -> Result<Self, PromptError> {
        let mut env = Environment::new();
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        for (name, builtin) in TEMPLATES {
            let source = match std::fs::read_to_string(dir.join(name)) {
                Ok(s) => {
                    tracing::debug!(template = name, dir = %dir.display(), "prompt template from disk");
                    s
                }
                Err(_) => (*builtin).to_string(),
            };
            env.add_template_owned(name.to_string(), source).map_err(|e| PromptError::Template { name: name.to_string(), message: e.to_string() })?;
        }
        Ok(Self { env })
    }

    pub fn render(&self, name: &str, ctx: minijinja::Value) -> Result<String, PromptError> {
        let t = self.env.get_template(name).map_err(|e| PromptError::Template { name: name.to_string(), message: e.to_string() })?;
        t.render(ctx).map(|s| s.trim().to_string()).map_err(|e| PromptError::Template { name: name.to_string(), message: e.to_string() })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn builtin_templates_render_sources_and_history() {
        let p = Prompts::load(Path::new("/nonexistent")).unwrap();
        let sources = vec![PromptSource { index: 1, doc_title: "中国共产党章程", edition: Some("2022年版"), article: Some("第七条"), heading: "第一章 党员".into(), text: "预备党员的预备期为一年。", repealed: false, superseded_by: None }];
        let history = vec![PromptTurn { role: "党员", content: "预备党员有什么权利？" }];
        let user = p.render("answer.user.j2", minijinja::context! { sources => sources, history => history, question => "那预备期多长？" }).unwrap();
        assert!(user.contains("[1] 《中国共产党章程》（2022年版）第七条（第一章 党员）\n预备党员的预备期为一年。"), "{user}");
        assert!(user.contains("党员：预备党员有什么权利？"), "{user}");
        assert!(user.ends_with("问题：那预备期多长？"), "{user}");
        let system = p.render("answer.system.j2", minijinja::context! { refusal_phrase => "知识库中没有找到", max_chars => 400 }).unwrap();
        assert!(system.contains("“知识库中没有找到”") && system.contains("400"), "{system}");
        // Answer first, the edition in citations, other articles only as pointers.
        assert!(system.contains("第一句直接回答所问") && system.contains("（2022年版）第七条") && system.contains("相关条文："), "{system}");
    }

    #[test]
    fn files_on_disk_override_and_broken_ones_fail_at_load() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("rewrite.user.j2"), "改写：{{ question }}").unwrap();
        let p = Prompts::load(dir.path()).unwrap();
        assert_eq!(p.render("rewrite.user.j2", minijinja::context! { question => "那呢", history => Vec::<String>::new() }).unwrap(), "改写：那呢");
        std::fs::write(dir.path().join("answer.user.j2"), "{% for %}").unwrap();
        let err = Prompts::load(dir.path()).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err.contains("answer.user.j2"), "{err}");
    }
}
