//! Category of a crawled document: the source's URL/title rules, then the configured category
//! keywords (in the title), then embedding similarity to the category descriptions, then the
//! source's default.

use std::sync::Arc;

use dwt_core::config::CategorySetting;
use dwt_index::Embedder;
use serde::Serialize;
use tokio::sync::OnceCell;

use crate::config::Source;
use crate::CrawlError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassifiedBy {
    SourceRule,
    Keyword,
    Similarity,
    Default,
    None,
}

pub struct Classifier {
    categories: Vec<CategorySetting>,
    threshold: f32,
    embedder: Arc<Embedder>,
    vectors: OnceCell<Vec<Vec<f32>>>,
}

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

impl Classifier {
    pub fn new(categories: Vec<CategorySetting>, threshold: f32, embedder: Arc<Embedder>) -> Self {
        Self { categories, threshold, embedder, vectors: OnceCell::new() }
    }

    pub fn names(&self) -> Vec<String> {
        self.categories.iter().map(|c| c.name.clone()).collect()
    }

    async fn category_vectors(&self) -> Result<&Vec<Vec<f32>>, CrawlError> {
        self.vectors
            .get_or_try_init(|| async {
                let texts: Vec<String> = self.categories.iter().map(|c| format!("{}：{}", c.name, c.description)).collect();
                let e = self.embedder.clone();
                tokio::task::spawn_blocking(move || e.embed_passages(&texts))
                    .await
                    .map_err(|e| CrawlError::Internal(e.to_string()))?
                    .map_err(|e| CrawlError::Internal(e.to_string()))
            })
            .await
    }

    /// The category and what decided it. An embedding failure is logged and falls through to
    /// the source's default: classification never fails a page.
    pub async fn classify(&self, source: &Source, url: &str, title: &str, text: &str) -> (Option<String>, ClassifiedBy) {
        for r in &source.rules {
            let by_url = r.url_pattern.as_ref().is_some_and(|p| p.is_match(url));
            let by_title = r.title_contains.iter().any(|k| title.contains(k.as_str()));
            if by_url || by_title {
                return (Some(r.category.clone()), ClassifiedBy::SourceRule);
            }
        }
        if let Some(c) = self.categories.iter().find(|c| c.keywords.iter().any(|k| title.contains(k.as_str()))) {
            return (Some(c.name.clone()), ClassifiedBy::Keyword);
        }
        match self.by_similarity(title, text).await {
            Ok(Some(name)) => return (Some(name), ClassifiedBy::Similarity),
            Ok(None) => {}
            Err(e) => tracing::warn!(url, error = %e, "classification by similarity failed; using the default category"),
        }
        match &source.default_category {
            Some(d) => (Some(d.clone()), ClassifiedBy::Default),
            None => (None, ClassifiedBy::None),
        }
    }

    /// The category whose description is most similar, when at least the threshold.
    async fn by_similarity(&self, title: &str, text: &str) -> Result<Option<String>, CrawlError> {
        if self.categories.is_empty() {
            return Ok(None);
        }
        let lead: String = text.chars().take(300).collect();
        let query = format!("{title}\n{lead}");
        let e = self.embedder.clone();
        let v = tokio::task::spawn_blocking(move || e.embed_query(&query))
            .await
            .map_err(|e| CrawlError::Internal(e.to_string()))?
            .map_err(|e| CrawlError::Internal(e.to_string()))?;
        let best = self
            .category_vectors()
            .await?
            .iter()
            .zip(&self.categories)
            .map(|(cv, c)| (cosine(&v, cv), c))
            .max_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
        Ok(best.filter(|(score, _)| *score >= self.threshold).map(|(_, c)| c.name.clone()))
    }
}
