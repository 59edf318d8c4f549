use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use qdrant_edge::{
    Condition, CountRequest, CreateIndex, Distance, EdgeConfigBuilder, EdgeShard, EdgeVectorParams, FieldCondition,
    FieldIndexOperations, Filter, JsonPath, Match, NamedQuery, PayloadFieldSchema, PayloadSchemaType, PointId,
    PointInsertOperations, PointOperations, PointStruct, QueryEnum, QueryRequest, ScoringQuery, ScrollRequest,
    UpdateOperation, WithPayloadInterface, WithVector,
};

use super::{payload_json, VectorPoint, VectorStore};
use crate::error::IndexError;
use crate::SearchFilter;

/// Qdrant Edge shard under `data_dir/vectors`. Edge is synchronous (own thread pool), so every
/// call goes through `spawn_blocking`.
pub struct EdgeVectorStore {
    shard: Arc<EdgeShard>,
}

fn verr(e: impl std::fmt::Display) -> IndexError {
    IndexError::Vector(e.to_string())
}

/// Payload keys here are plain identifiers, which always parse.
#[allow(clippy::expect_used)]
fn json_path(key: &str) -> JsonPath {
    JsonPath::try_from(key).expect("plain payload key")
}

fn filter_of(filter: &SearchFilter) -> Option<Filter> {
    let mut must = Vec::new();
    let any_str = |key: &str, values: Vec<String>| {
        Condition::Field(FieldCondition::new_match(json_path(key), Match::from(values)))
    };
    if !filter.doc_types.is_empty() {
        must.push(any_str("doc_type", filter.doc_types.iter().map(|t| t.as_str().to_string()).collect()));
    }
    if !filter.statuses.is_empty() {
        must.push(any_str("status", filter.statuses.iter().map(|t| t.as_str().to_string()).collect()));
    }
    if !filter.doc_ids.is_empty() {
        must.push(Condition::Field(FieldCondition::new_match(json_path("doc_id"), Match::from(filter.doc_ids.clone()))));
    }
    if must.is_empty() {
        None
    } else {
        Some(Filter { must: Some(must), ..Filter::default() })
    }
}

impl EdgeVectorStore {
    pub fn open(dir: &Path, dimension: usize) -> Result<Self, IndexError> {
        let dir: PathBuf = dir.to_path_buf();
        std::fs::create_dir_all(&dir).map_err(verr)?;
        let exists = dir.join("edge_config.json").exists();
        let shard = if exists {
            let shard = EdgeShard::load(&dir, None).map_err(verr)?;
            let found = shard.config().vectors.get("").map(|v| v.size);
            if let Some(found) = found {
                if found != dimension {
                    return Err(IndexError::DimensionMismatch { expected: dimension, found });
                }
            }
            shard
        } else {
            let config = EdgeConfigBuilder::new().vector("", EdgeVectorParams::builder(dimension, Distance::Cosine).build()).build();
            let shard = EdgeShard::new(&dir, config).map_err(verr)?;
            for (field, schema) in [("doc_id", PayloadSchemaType::Integer), ("chunk_id", PayloadSchemaType::Integer), ("doc_type", PayloadSchemaType::Keyword), ("status", PayloadSchemaType::Keyword)] {
                shard
                    .update(UpdateOperation::FieldIndexOperation(FieldIndexOperations::CreateIndex(CreateIndex {
                        field_name: json_path(field),
                        field_schema: Some(PayloadFieldSchema::FieldType(schema)),
                    })))
                    .map_err(verr)?;
            }
            shard
        };
        Ok(Self { shard: Arc::new(shard) })
    }

    async fn blocking<T: Send + 'static>(&self, f: impl FnOnce(&EdgeShard) -> Result<T, IndexError> + Send + 'static) -> Result<T, IndexError> {
        let shard = self.shard.clone();
        tokio::task::spawn_blocking(move || f(&shard)).await.map_err(verr)?
    }
}

#[async_trait::async_trait]
impl VectorStore for EdgeVectorStore {
    async fn upsert(&self, points: Vec<VectorPoint>) -> Result<(), IndexError> {
        if points.is_empty() {
            return Ok(());
        }
        self.blocking(move |shard| {
            let list = points
                .into_iter()
                .map(|p| PointStruct::new(PointId::NumId(p.point_id), p.vector.clone(), payload_json(&p)).into())
                .collect();
            shard
                .update(UpdateOperation::PointOperation(PointOperations::UpsertPoints(PointInsertOperations::PointsList(list))))
                .map_err(verr)
        })
        .await
    }

    async fn delete_documents(&self, doc_ids: &[i64]) -> Result<(), IndexError> {
        if doc_ids.is_empty() {
            return Ok(());
        }
        let ids = doc_ids.to_vec();
        self.blocking(move |shard| {
            let filter = Filter::new_must(Condition::Field(FieldCondition::new_match(json_path("doc_id"), Match::from(ids))));
            shard.update(UpdateOperation::PointOperation(PointOperations::DeletePointsByFilter(filter))).map_err(verr)
        })
        .await
    }

    async fn delete_chunks(&self, chunk_ids: &[i64]) -> Result<(), IndexError> {
        if chunk_ids.is_empty() {
            return Ok(());
        }
        let ids = chunk_ids.to_vec();
        self.blocking(move |shard| {
            let filter = Filter::new_must(Condition::Field(FieldCondition::new_match(json_path("chunk_id"), Match::from(ids))));
            shard.update(UpdateOperation::PointOperation(PointOperations::DeletePointsByFilter(filter))).map_err(verr)
        })
        .await
    }

    async fn search(&self, vector: Vec<f32>, limit: usize, filter: &SearchFilter) -> Result<Vec<(u64, f32)>, IndexError> {
        let filter = filter_of(filter);
        self.blocking(move |shard| {
            let req = QueryRequest {
                prefetches: vec![],
                query: Some(ScoringQuery::Vector(QueryEnum::Nearest(NamedQuery::default_dense(vector)))),
                filter,
                score_threshold: None,
                limit,
                offset: 0,
                params: None,
                with_vector: WithVector::Bool(false),
                with_payload: WithPayloadInterface::Bool(false),
            };
            let points = shard.query(req).map_err(verr)?;
            Ok(points
                .into_iter()
                .filter_map(|p| match p.id {
                    PointId::NumId(n) => Some((n, p.score)),
                    _ => None,
                })
                .collect())
        })
        .await
    }

    async fn flush(&self) -> Result<(), IndexError> {
        self.blocking(|shard| {
            shard.flush();
            Ok(())
        })
        .await
    }

    async fn optimize(&self) -> Result<(), IndexError> {
        self.blocking(|shard| shard.optimize().map(|_| ()).map_err(verr)).await
    }

    async fn count(&self) -> Result<u64, IndexError> {
        self.blocking(|shard| {
            shard.count(CountRequest { filter: None, exact: true }).map(|n| n as u64).map_err(verr)
        })
        .await
    }

    async fn chunk_ids(&self) -> Result<HashSet<i64>, IndexError> {
        self.blocking(|shard| {
            let mut ids = HashSet::new();
            let mut offset = None;
            loop {
                let req = ScrollRequest {
                    offset,
                    limit: Some(1000),
                    filter: None,
                    with_payload: Some(WithPayloadInterface::Bool(false)),
                    with_vector: WithVector::Bool(false),
                    order_by: None,
                };
                let (records, next) = shard.scroll(req).map_err(verr)?;
                for r in records {
                    if let PointId::NumId(n) = r.id {
                        ids.insert(crate::chunker::chunk_of_point(n));
                    }
                }
                match next {
                    Some(n) => offset = Some(n),
                    None => break,
                }
            }
            Ok(ids)
        })
        .await
    }
}
