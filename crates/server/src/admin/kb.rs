//! Knowledge base curation (知识库维护、知识切片调优、命中测试): documents and their status,
//! chunk edit / split / merge / disable / enable with versions and rollback, and hit-testing.
//! Every change is audit-logged; each one re-indexes its document atomically (SQL first with the
//! index journal, then vectors and BM25).

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use dwt_core::DocStatus;
use dwt_index::{SearchOptions, SearchFilter};
use dwt_org::authz::Action;
use dwt_store::ChunkEdit;
use serde::Deserialize;

use super::session::Caller;
use crate::{rejected, ApiError, AppState, ErrorBody};

fn allowed(caller: &Caller) -> Result<(), ApiError> {
    Ok(caller.auth.principal.require_anywhere(Action::KnowledgeManage)?)
}

async fn audit(s: &AppState, caller: &Caller, action: &str, target: &str, id: i64, detail: Option<String>) -> Result<(), ApiError> {
    super::record_audit(s, caller, action, target, Some(id.to_string()), detail).await
}

/// Where a document came from, by its key.
fn origin(key: &str) -> &'static str {
    if key.starts_with("knowledge:") {
        "shipped"
    } else if key.starts_with("http://") || key.starts_with("https://") || key.starts_with("api:") {
        "crawler"
    } else {
        "upload"
    }
}

#[utoipa::path(get, path = "/api/admin/kb/documents", tag = "knowledge",
    responses((status = 200, description = "{items: [{id, key, title, doc_type, status, version, origin, category, published_at, chunk_count, updated_at}]}"), (status = 403, body = ErrorBody)))]
pub async fn documents(State(s): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    allowed(&caller)?;
    let docs = s.assistant.knowledge_base().store.list_documents().await?;
    let items: Vec<serde_json::Value> = docs
        .into_iter()
        .map(|d| {
            let mut v = serde_json::to_value(&d).unwrap_or_default();
            v["origin"] = origin(&d.key).into();
            v
        })
        .collect();
    Ok(Json(serde_json::json!({"items": items})).into_response())
}

#[utoipa::path(get, path = "/api/admin/kb/documents/{id}/chunks", tag = "knowledge", params(("id" = i64, Path)),
    responses((status = 200, description = "{document, chunks: [{id, position, heading_path, article, text, enabled, version}]}"), (status = 404, body = ErrorBody)))]
pub async fn chunks(State(s): State<AppState>, caller: Caller, Path(id): Path<i64>) -> Result<Response, ApiError> {
    allowed(&caller)?;
    let store = &s.assistant.knowledge_base().store;
    let doc = store.document_by_id(id).await?.ok_or_else(|| ApiError::not_found("kb.document_not_found", "文档不存在"))?;
    let chunks = store.chunk_rows(id).await?;
    // Text that speaks to an AI assistant ("忽略以上所有指令…") is flagged for the curator: it is
    // never quoted or given to the model, and usually should not be in the knowledge base at all.
    let chunks: Vec<serde_json::Value> = chunks
        .iter()
        .map(|c| {
            let mut v = serde_json::json!(c);
            v["instruction"] = serde_json::json!(dwt_core::text::instruction_marker(&c.text));
            v
        })
        .collect();
    Ok(Json(serde_json::json!({"document": doc, "chunks": chunks})).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct StatusBody {
    /// current | repealed | withdrawn
    status: String,
    /// The document that replaces this one (only with `repealed`); omitted: none.
    superseded_by: Option<i64>,
}

#[utoipa::path(post, path = "/api/admin/kb/documents/{id}/status", tag = "knowledge", params(("id" = i64, Path)), request_body = StatusBody,
    responses((status = 200, description = "{changed: bool}"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, description = "The successor leads back to this document", body = ErrorBody)))]
pub async fn set_status(State(s): State<AppState>, caller: Caller, Path(id): Path<i64>, body: Result<Json<StatusBody>, JsonRejection>) -> Result<Response, ApiError> {
    allowed(&caller)?;
    let Json(body) = body.map_err(rejected)?;
    let status = DocStatus::parse(&body.status).ok_or_else(|| ApiError::bad_request("kb.bad_status", "状态无效（可选 current 现行有效、repealed 已废止、withdrawn 已撤回）"))?;
    let kb = s.assistant.knowledge_base();
    kb.store.document_by_id(id).await?.ok_or_else(|| ApiError::not_found("kb.document_not_found", "文档不存在"))?;
    let changed = kb.set_document_successor(id, status, body.superseded_by).await?;
    if changed {
        let detail = match body.superseded_by {
            Some(next) => format!("{}，新版本文档 {next}", status.as_str()),
            None => status.as_str().into(),
        };
        audit(&s, &caller, "kb.document_status", "document", id, Some(detail)).await?;
    }
    Ok(Json(serde_json::json!({"changed": changed})).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RechunkBody {
    /// Token target of free-text chunks (default: the configured `ingest.text_chunk_tokens`).
    text_tokens: Option<usize>,
    /// Cut everything as free text, ignoring 条 labels.
    #[serde(default)]
    plain: bool,
    /// false (default): preview only. true: apply the preview identified by `basis`.
    #[serde(default)]
    apply: bool,
    basis: Option<String>,
}

/// 重新切分: previews how a document would be cut with other settings (nothing changes), then
/// applies exactly that preview (refused with 409 `kb.rechunk_stale` when a chunk changed since).
#[utoipa::path(post, path = "/api/admin/kb/documents/{id}/rechunk", tag = "knowledge", params(("id" = i64, Path)), request_body = RechunkBody,
    responses((status = 200, description = "{basis, before, disabled_dropped, questions_dropped, drafts: [{position, heading_path, article, text, token_count}], applied}"),
              (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn rechunk(State(s): State<AppState>, caller: Caller, Path(id): Path<i64>, body: Result<Json<RechunkBody>, JsonRejection>) -> Result<Response, ApiError> {
    allowed(&caller)?;
    let Json(b) = body.map_err(rejected)?;
    let kb = s.assistant.knowledge_base();
    let text_tokens = b.text_tokens.unwrap_or(kb.settings().ingest.text_chunk_tokens);
    if !(32..=kb.embedder().max_tokens()).contains(&text_tokens) {
        return Err(ApiError::bad_request("kb.bad_rechunk_size", format!("切片长度应在 32 到 {} 个词元之间", kb.embedder().max_tokens())));
    }
    let opts = dwt_index::RechunkOptions { text_tokens, plain: b.plain };
    let plan = if b.apply {
        let basis = b.basis.filter(|x| !x.is_empty()).ok_or_else(|| ApiError::bad_request("kb.rechunk_basis_required", "请先预览，再按预览结果应用（缺少 basis）"))?;
        let plan = kb.rechunk_apply(id, &opts, &basis, &caller.auth.principal.username).await?;
        let detail = format!("{} → {} 个切片（{} 词元{}）", plan.before, plan.drafts.len(), text_tokens, if b.plain { "，按普通文本" } else { "" });
        audit(&s, &caller, "kb.document_rechunked", "document", id, Some(detail)).await?;
        plan
    } else {
        kb.rechunk_preview(id, &opts).await?
    };
    let mut v = serde_json::to_value(&plan).unwrap_or_default();
    v["applied"] = serde_json::json!(b.apply);
    Ok(Json(v).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct ChunkBody {
    text: Option<String>,
    /// Article label (第七条); an empty string removes it.
    article: Option<String>,
    heading_path: Option<Vec<String>>,
    /// Questions or keywords this chunk answers (they count in retrieval).
    questions: Option<Vec<String>>,
    /// The version being edited (a newer one answers 409).
    version: Option<i64>,
}

#[utoipa::path(put, path = "/api/admin/kb/chunks/{id}", tag = "knowledge", params(("id" = i64, Path)), request_body = ChunkBody,
    responses((status = 200, description = "The chunk as saved"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn edit_chunk(State(s): State<AppState>, caller: Caller, Path(id): Path<i64>, body: Result<Json<ChunkBody>, JsonRejection>) -> Result<Response, ApiError> {
    allowed(&caller)?;
    let Json(b) = body.map_err(rejected)?;
    let edit = ChunkEdit { text: b.text, article: b.article.map(Some), heading_path: b.heading_path, questions: b.questions };
    let c = s.assistant.knowledge_base().edit_chunk(id, b.version, &edit, &caller.auth.principal.username).await?;
    audit(&s, &caller, "kb.chunk_edited", "chunk", id, Some(format!("版本 {}", c.version))).await?;
    Ok(Json(c).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct SplitBody {
    /// Character offset where the second part starts.
    at: usize,
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RollbackBody {
    version: i64,
}

#[utoipa::path(post, path = "/api/admin/kb/chunks/{id}/{action}", tag = "knowledge",
    params(("id" = i64, Path), ("action" = String, Path, description = "enable | disable | merge-next | split ({at}) | rollback ({version})")),
    responses((status = 200, description = "The changed chunk(s)"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn chunk_action(
    State(s): State<AppState>,
    caller: Caller,
    Path((id, action)): Path<(i64, String)>,
    body: Option<Json<serde_json::Value>>,
) -> Result<Response, ApiError> {
    allowed(&caller)?;
    let kb = s.assistant.knowledge_base();
    let editor = caller.auth.principal.username.clone();
    let body = body.map(|Json(v)| v).unwrap_or_default();
    let parse = |what: &str| ApiError::bad_request("request.invalid_json", format!("请求格式错误：需要 {what}"));
    let (out, detail) = match action.as_str() {
        "enable" | "disable" => (serde_json::to_value(kb.set_chunk_enabled(id, action == "enable", &editor).await?).unwrap_or_default(), None),
        "merge-next" => (serde_json::to_value(kb.merge_with_next(id, &editor).await?).unwrap_or_default(), None),
        "split" => {
            let b: SplitBody = serde_json::from_value(body).map_err(|_| parse("{\"at\": 字符位置}"))?;
            let (a, c) = kb.split_chunk(id, b.at, &editor).await?;
            (serde_json::json!({"first": a, "second": c}), Some(format!("在第 {} 字处拆分，新切片 {}", b.at, c.id)))
        }
        "rollback" => {
            let b: RollbackBody = serde_json::from_value(body).map_err(|_| parse("{\"version\": 版本号}"))?;
            (serde_json::to_value(kb.rollback_chunk(id, b.version, &editor).await?).unwrap_or_default(), Some(format!("回滚到版本 {}", b.version)))
        }
        _ => return Err(ApiError::not_found("request.unknown_action", "未知的操作")),
    };
    audit(&s, &caller, &format!("kb.chunk_{}", action.replace('-', "_")), "chunk", id, detail).await?;
    Ok(Json(out).into_response())
}

#[utoipa::path(get, path = "/api/admin/kb/chunks/{id}/versions", tag = "knowledge", params(("id" = i64, Path)),
    responses((status = 200, description = "{items: [{version, action, text, article, heading_path, enabled, editor, created_at}]} newest first")))]
pub async fn versions(State(s): State<AppState>, caller: Caller, Path(id): Path<i64>) -> Result<Response, ApiError> {
    allowed(&caller)?;
    let items = s.assistant.knowledge_base().store.chunk_versions(id).await?;
    Ok(Json(serde_json::json!({"items": items})).into_response())
}

#[derive(Deserialize)]
pub struct HitTestParams {
    q: String,
    top_k: Option<usize>,
    /// Ask as a member of this organisation (its org-scoped curated pairs count); default: as an
    /// anonymous visitor (system-wide pairs only).
    org_id: Option<i64>,
}

/// What would answer a question: the curated pair the FAQ matcher picks (and whether it clears
/// the threshold), and the hybrid hits with their BM25 and dense ranks and fused scores.
#[utoipa::path(get, path = "/api/admin/kb/hit-test", tag = "knowledge", params(("q" = String, Query), ("top_k" = Option<usize>, Query), ("org_id" = Option<i64>, Query)),
    responses((status = 200, description = "{faq: {pair, score, threshold, accepted} | null, hits: [Hit], min_confidence}"), (status = 400, body = ErrorBody)))]
pub async fn hit_test(State(s): State<AppState>, caller: Caller, Query(p): Query<HitTestParams>) -> Result<Response, ApiError> {
    allowed(&caller)?;
    let q = s.assistant.validate(&p.q)?;
    let kb = s.assistant.knowledge_base();
    let opts = SearchOptions { top_k: Some(p.top_k.unwrap_or(10).clamp(1, 50)), filter: SearchFilter::default(), ..Default::default() };
    let hits = kb.search(&q, &opts).await?;
    let audience = match p.org_id {
        Some(id) => dwt_store::Audience::new([s.core()?.orgs.get(id).await?.path]),
        None => dwt_store::Audience::anonymous(),
    };
    let faq = match s.assistant.faq() {
        Some(m) => m
            .match_question(&q, &audience)
            .await
            .map_err(|e| ApiError::internal("faq.failed", e))?
            .map(|m| serde_json::json!({"pair": m.pair, "score": m.score, "evidence": m.evidence, "accepted": m.accepted, "threshold": s.assistant.faq().map(|f| f.threshold())})),
        None => None,
    };
    Ok(Json(serde_json::json!({"question": q, "faq": faq, "hits": hits, "min_confidence": kb.settings().assistant.min_confidence})).into_response())
}

#[derive(Deserialize)]
pub struct FeedbackParams {
    /// down (default) | up | all
    rating: Option<String>,
    limit: Option<i64>,
}

/// Feedback review: rated answers with the question, the member's comment and the sources, so an
/// admin can open the chunk or turn the question into a curated pair.
#[utoipa::path(get, path = "/api/admin/feedback", tag = "knowledge", params(("rating" = Option<String>, Query), ("limit" = Option<i64>, Query)),
    responses((status = 200, description = "{items: [{message_id, rating, comment, created_at, question, answer, mode, confidence, sources}]}"), (status = 403, body = ErrorBody)))]
pub async fn feedback(State(s): State<AppState>, caller: Caller, Query(p): Query<FeedbackParams>) -> Result<Response, ApiError> {
    // 系统管理员: everything, anonymous askers included. 答复人员 and 组织管理员: the feedback of
    // members in their subtrees (anonymous conversations belong to no organisation).
    let who = &caller.auth.principal;
    let roots = if who.can_anywhere(Action::KnowledgeManage) {
        None
    } else {
        let mut roots = who.scope(Action::QaManage);
        roots.extend(who.scope(Action::AnswerHandoff));
        if roots.is_empty() {
            return Err(dwt_org::CoreError::Forbidden.into());
        }
        Some(roots)
    };
    let rating = match p.rating.as_deref() {
        None | Some("down") => Some("down"),
        Some("up") => Some("up"),
        Some("all") => None,
        Some(_) => return Err(ApiError::bad_request("feedback.bad_rating", "rating 取值无效（可选 down、up、all）")),
    };
    let items = s.assistant.conversations().feedback_list(rating, p.limit.unwrap_or(100).clamp(1, 500), roots.as_deref()).await?;
    Ok(Json(serde_json::json!({"items": items})).into_response())
}

/// The file name an upload is stored under: the last segment of a Windows or Unix path,
/// without control characters (a NUL or a newline is refused, not kept in the document key).
fn upload_name(raw: &str) -> Result<String, ApiError> {
    let name = raw.trim().rsplit(['/', '\\']).next().unwrap_or_default().trim();
    if name.is_empty() || name == "." || name == ".." {
        return Err(ApiError::bad_request("kb.bad_filename", "请提供文件名（filename）"));
    }
    if name.chars().any(char::is_control) {
        return Err(ApiError::bad_request("kb.bad_filename", "文件名中含有控制字符，请改名后再上传"));
    }
    if name.chars().count() > 200 {
        return Err(ApiError::bad_request("kb.bad_filename", "文件名过长（最多 200 个字符）"));
    }
    Ok(name.to_string())
}

#[derive(Deserialize)]
pub struct UploadParams {
    /// The file's name (its extension picks the parser: .md .markdown .txt .html .htm .docx .pdf).
    filename: String,
}

/// Uploads one document (raw file body). Its key is `upload:<filename>`: uploading the same file
/// name again replaces the document atomically (unchanged content is skipped).
#[utoipa::path(post, path = "/api/admin/kb/documents/upload", tag = "knowledge", params(("filename" = String, Query)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, description = "{document, outcome}"), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn upload(State(s): State<AppState>, caller: Caller, Query(p): Query<UploadParams>, body: axum::body::Bytes) -> Result<Response, ApiError> {
    allowed(&caller)?;
    let name = upload_name(&p.filename)?;
    let kb = s.assistant.knowledge_base();
    let limit = kb.settings().ingest.max_file_bytes;
    if body.len() as u64 > limit {
        return Err(ApiError::bad_request("ingest.file_too_large", format!("文件过大（{} 字节，上限 {limit} 字节）", body.len())));
    }
    let key = format!("upload:{name}");
    // PDF and Word parsing is CPU work (seconds for a large PDF): off the async workers.
    let (bytes, file, doc_key) = (body.to_vec(), name.clone(), key.clone());
    let doc = tokio::task::spawn_blocking(move || dwt_ingest::parse_bytes(bytes, std::path::Path::new(&file), doc_key))
        .await
        .map_err(|e| ApiError::internal("kb.parse_failed", e))?
        .map_err(|e| ApiError::bad_request(e.code(), e.to_string()))?;
    let source = kb.store.ensure_source("upload", "files").await?;
    let outcome = kb.ingest_batch(vec![doc], Some(source)).await?.into_iter().next();
    let stored = kb.store.document_by_key(&key).await?.ok_or_else(|| ApiError::internal("kb.upload_lost", "stored document not found after upload"))?;
    audit(&s, &caller, "kb.document_uploaded", "document", stored.id, Some(name)).await?;
    Ok(Json(serde_json::json!({"document": stored, "outcome": outcome})).into_response())
}

#[utoipa::path(delete, path = "/api/admin/kb/documents/{id}", tag = "knowledge", params(("id" = i64, Path)),
    responses((status = 200, description = "Deleted everywhere (SQL, vectors, BM25)"), (status = 404, body = ErrorBody)))]
pub async fn delete_document(State(s): State<AppState>, caller: Caller, Path(id): Path<i64>) -> Result<Response, ApiError> {
    allowed(&caller)?;
    let kb = s.assistant.knowledge_base();
    let doc = kb.store.document_by_id(id).await?.ok_or_else(|| ApiError::not_found("kb.document_not_found", "文档不存在"))?;
    kb.remove_document(id).await?;
    audit(&s, &caller, "kb.document_deleted", "document", id, Some(doc.title)).await?;
    Ok(Json(serde_json::json!({"deleted": true})).into_response())
}

#[cfg(test)]
mod tests {
    use super::upload_name;

    #[test]
    fn upload_names_keep_the_last_segment_and_refuse_control_characters() {
        assert_eq!(upload_name("C:\\Users\\王\\党支部规定.docx").ok().as_deref(), Some("党支部规定.docx"));
        assert_eq!(upload_name("../../etc/规定.md").ok().as_deref(), Some("规定.md"));
        assert_eq!(upload_name("  规定.md ").ok().as_deref(), Some("规定.md"));
        for bad in ["", "dir/", "..", "a\0b.md", "a\nb.md", &"长".repeat(201)] {
            let e = upload_name(bad).err().map(|e| e.code);
            assert_eq!(e.as_deref(), Some("kb.bad_filename"), "{bad:?}");
        }
    }
}
