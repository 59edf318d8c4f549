//! Dense vector storage behind one trait: Qdrant Edge in process (default) or a Qdrant server.

mod edge;
mod server;

use std::collections::HashSet;

pub use edge::EdgeVectorStore;
pub use server::ServerVectorStore;

use crate::error::IndexError;
use crate::SearchFilter;

/// One chunk's vector and the payload filters need.
#[derive(Debug, Clone)]
pub struct VectorPoint {
    /// `chunk_id << 8 | unit` (unit 0 = whole chunk, then sentence probes).
    pub point_id: u64,
    pub chunk_id: i64,
    pub doc_id: i64,
    pub doc_type: String,
    pub status: String,
    /// Organisation scope tag ("public" for the whole system).
    pub org_scope: String,
    pub vector: Vec<f32>,
}

#[async_trait::async_trait]
pub trait VectorStore: Send + Sync {
    async fn upsert(&self, points: Vec<VectorPoint>) -> Result<(), IndexError>;
    async fn delete_documents(&self, doc_ids: &[i64]) -> Result<(), IndexError>;
    /// Deletes every point (all units) of these chunks.
    async fn delete_chunks(&self, chunk_ids: &[i64]) -> Result<(), IndexError>;
    /// (point id, cosine similarity), best first. Use [`best_per_chunk`] to rank chunks.
    async fn search(&self, vector: Vec<f32>, limit: usize, filter: &SearchFilter) -> Result<Vec<(u64, f32)>, IndexError>;
    /// Makes writes durable.
    async fn flush(&self) -> Result<(), IndexError>;
    /// Builds search structures (HNSW) after bulk writes; cheap when nothing changed.
    async fn optimize(&self) -> Result<(), IndexError>;
    async fn count(&self) -> Result<u64, IndexError>;
    /// Ids of the chunks that have at least one point.
    async fn chunk_ids(&self) -> Result<HashSet<i64>, IndexError>;
}

/// Collapses point hits to chunks (best unit wins), best first, at most `limit`.
pub fn best_per_chunk(points: Vec<(u64, f32)>, limit: usize) -> Vec<(i64, f32)> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (p, score) in points {
        let chunk = crate::chunker::chunk_of_point(p);
        if seen.insert(chunk) {
            out.push((chunk, score));
            if out.len() >= limit {
                break;
            }
        }
    }
    out
}

fn payload_json(p: &VectorPoint) -> serde_json::Value {
    serde_json::json!({
        "chunk_id": p.chunk_id,
        "doc_id": p.doc_id,
        "doc_type": p.doc_type,
        "status": p.status,
        "org_scope": p.org_scope,
    })
}
