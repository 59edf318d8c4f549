use std::collections::HashSet;

use qdrant_client::qdrant::point_id::PointIdOptions;
use qdrant_client::qdrant::{
    Condition, CountPointsBuilder, CreateCollectionBuilder, CreateFieldIndexCollectionBuilder, DeletePointsBuilder,
    Distance, FieldType, Filter, PointStruct, QueryPointsBuilder, ScrollPointsBuilder, UpsertPointsBuilder,
    VectorParamsBuilder,
};
use qdrant_client::{Payload, Qdrant};

use super::{payload_json, VectorPoint, VectorStore};
use crate::error::IndexError;
use crate::SearchFilter;

/// A collection on a Qdrant server (scale-out mode), same schema as the Edge shard.
pub struct ServerVectorStore {
    client: Qdrant,
    collection: String,
}

fn verr(e: impl std::fmt::Display) -> IndexError {
    IndexError::Vector(e.to_string())
}

fn filter_of(filter: &SearchFilter) -> Option<Filter> {
    let mut must = Vec::new();
    if !filter.doc_types.is_empty() {
        must.push(Condition::matches("doc_type", filter.doc_types.iter().map(|t| t.as_str().to_string()).collect::<Vec<_>>()));
    }
    if !filter.statuses.is_empty() {
        must.push(Condition::matches("status", filter.statuses.iter().map(|t| t.as_str().to_string()).collect::<Vec<_>>()));
    }
    if !filter.doc_ids.is_empty() {
        must.push(Condition::matches("doc_id", filter.doc_ids.clone()));
    }
    if must.is_empty() {
        None
    } else {
        Some(Filter::must(must))
    }
}

fn num_id(id: Option<qdrant_client::qdrant::PointId>) -> Option<u64> {
    match id?.point_id_options? {
        PointIdOptions::Num(n) => Some(n),
        PointIdOptions::Uuid(_) => None,
    }
}

impl ServerVectorStore {
    pub async fn connect(url: &str, api_key: Option<&str>, collection: &str, dimension: usize) -> Result<Self, IndexError> {
        let mut builder = Qdrant::from_url(url).skip_compatibility_check();
        if let Some(key) = api_key {
            builder = builder.api_key(key);
        }
        let client = builder.build().map_err(verr)?;
        if !client.collection_exists(collection).await.map_err(verr)? {
            client
                .create_collection(
                    CreateCollectionBuilder::new(collection).vectors_config(VectorParamsBuilder::new(dimension as u64, Distance::Cosine)),
                )
                .await
                .map_err(verr)?;
            for (field, ty) in [("doc_id", FieldType::Integer), ("chunk_id", FieldType::Integer), ("doc_type", FieldType::Keyword), ("status", FieldType::Keyword)] {
                client.create_field_index(CreateFieldIndexCollectionBuilder::new(collection, field, ty).wait(true)).await.map_err(verr)?;
            }
        }
        Ok(Self { client, collection: collection.to_string() })
    }

    /// Drops the collection (tests use throwaway collections).
    pub async fn drop_collection(&self) -> Result<(), IndexError> {
        self.client.delete_collection(&self.collection).await.map_err(verr)?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl VectorStore for ServerVectorStore {
    async fn upsert(&self, points: Vec<VectorPoint>) -> Result<(), IndexError> {
        if points.is_empty() {
            return Ok(());
        }
        let mut list = Vec::with_capacity(points.len());
        for p in points {
            let payload = Payload::try_from(payload_json(&p)).map_err(verr)?;
            list.push(PointStruct::new(p.point_id, p.vector, payload));
        }
        self.client.upsert_points(UpsertPointsBuilder::new(&self.collection, list).wait(true)).await.map_err(verr)?;
        Ok(())
    }

    async fn delete_documents(&self, doc_ids: &[i64]) -> Result<(), IndexError> {
        if doc_ids.is_empty() {
            return Ok(());
        }
        let filter = Filter::must([Condition::matches("doc_id", doc_ids.to_vec())]);
        self.client.delete_points(DeletePointsBuilder::new(&self.collection).points(filter).wait(true)).await.map_err(verr)?;
        Ok(())
    }

    async fn delete_chunks(&self, chunk_ids: &[i64]) -> Result<(), IndexError> {
        if chunk_ids.is_empty() {
            return Ok(());
        }
        let filter = Filter::must([Condition::matches("chunk_id", chunk_ids.to_vec())]);
        self.client.delete_points(DeletePointsBuilder::new(&self.collection).points(filter).wait(true)).await.map_err(verr)?;
        Ok(())
    }

    async fn search(&self, vector: Vec<f32>, limit: usize, filter: &SearchFilter) -> Result<Vec<(u64, f32)>, IndexError> {
        let mut q = QueryPointsBuilder::new(&self.collection).query(vector).limit(limit as u64);
        if let Some(f) = filter_of(filter) {
            q = q.filter(f);
        }
        let res = self.client.query(q).await.map_err(verr)?;
        Ok(res.result.into_iter().filter_map(|p| num_id(p.id).map(|id| (id, p.score))).collect())
    }

    async fn flush(&self) -> Result<(), IndexError> {
        // Writes use wait=true: durable on the server when they return.
        Ok(())
    }

    async fn optimize(&self) -> Result<(), IndexError> {
        // The server optimises in the background.
        Ok(())
    }

    async fn count(&self) -> Result<u64, IndexError> {
        let res = self.client.count(CountPointsBuilder::new(&self.collection).exact(true)).await.map_err(verr)?;
        Ok(res.result.map(|r| r.count).unwrap_or(0))
    }

    async fn chunk_ids(&self) -> Result<HashSet<i64>, IndexError> {
        let mut ids = HashSet::new();
        let mut offset = None;
        loop {
            let mut req = ScrollPointsBuilder::new(&self.collection).limit(1000).with_payload(false).with_vectors(false);
            if let Some(o) = offset.take() {
                req = req.offset(o);
            }
            let res = self.client.scroll(req).await.map_err(verr)?;
            for p in res.result {
                if let Some(id) = num_id(p.id) {
                    ids.insert(crate::chunker::chunk_of_point(id));
                }
            }
            match res.next_page_offset {
                Some(o) => offset = Some(o),
                None => break,
            }
        }
        Ok(ids)
    }
}
