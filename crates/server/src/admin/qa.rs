//! Curated Q&A pairs (常用问答) one by one: list with filters, create, edit (version-guarded),
//! review workflow (draft → pending → published → retired), history and rollback. Duplicates are
//! refused: the same question after normalisation, or (unless `force`) a question an existing
//! published pair already answers. Every change reloads the FAQ-first matcher at once.
//!
//! Org scope: a pair answers everyone (系统管理员 curates those) or only the members of one
//! organisation's subtree; 组织管理员 curate the pairs of organisations within their own
//! subtrees and see system-wide pairs read-only.

use std::collections::HashMap;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use dwt_org::authz::Action;
use dwt_store::{Audience, QaFilter, QaInput, QaPair};
use serde::Deserialize;

use super::session::Caller;
use crate::{rejected, ApiError, AppState, ErrorBody};

/// System-wide curation (categories): 系统管理员.
fn allowed(caller: &Caller) -> Result<(), ApiError> {
    Ok(caller.auth.principal.require_anywhere(Action::KnowledgeManage)?)
}

/// Which pairs a caller may curate: all of them (系统管理员), or those scoped to organisations in
/// the subtrees where the caller holds `QaManage` (组织管理员).
struct Curator {
    all: bool,
    roots: Vec<String>,
    /// Every organisation: id → (name, path), for scope checks and display.
    orgs: HashMap<i64, (String, String)>,
}

impl Curator {
    async fn of(s: &AppState, caller: &Caller) -> Result<Self, ApiError> {
        let p = &caller.auth.principal;
        let all = p.can_anywhere(Action::KnowledgeManage);
        let roots = if all { Vec::new() } else { p.scope(Action::QaManage) };
        if !all && roots.is_empty() {
            return Err(dwt_org::CoreError::Forbidden.into());
        }
        let orgs = s.core()?.orgs.names_and_paths().await?.into_iter().map(|(id, name, path)| (id, (name, path))).collect();
        Ok(Self { all, roots, orgs })
    }

    fn path(&self, org_id: Option<i64>) -> Option<&str> {
        org_id.and_then(|id| self.orgs.get(&id)).map(|(_, p)| p.as_str())
    }

    fn may(&self, org_id: Option<i64>) -> bool {
        self.all || self.path(org_id).is_some_and(|p| self.roots.iter().any(|r| p.starts_with(r.as_str())))
    }

    /// A pair the caller may see in the console: its own scope, or a system-wide one.
    fn sees(&self, org_id: Option<i64>) -> bool {
        org_id.is_none() || self.may(org_id)
    }

    /// Refuses a scope the caller may not curate (or an organisation that does not exist).
    fn check(&self, org_id: Option<i64>) -> Result<(), ApiError> {
        if let Some(id) = org_id {
            if !self.orgs.contains_key(&id) {
                return Err(ApiError::bad_request("qa.unknown_org", format!("适用组织不存在（编号 {id}）")));
            }
        }
        if self.may(org_id) {
            return Ok(());
        }
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "auth.forbidden",
            if org_id.is_none() { "全系统通用的问答只能由系统管理员维护，请选择您管理的组织作为适用范围" } else { "该组织不在您的管理范围内" },
        ))
    }

    /// The pair, if the caller may change it.
    async fn editable(&self, s: &AppState, id: i64) -> Result<QaPair, ApiError> {
        let p = s.assistant.qa_store().get(id).await?.ok_or_else(|| ApiError::not_found("qa.not_found", format!("常用问答 {id} 不存在")))?;
        self.check(p.org_id)?;
        Ok(p)
    }

    /// Who a pair of this scope answers, for duplicate checks.
    fn audience(&self, org_id: Option<i64>) -> Audience {
        Audience::new(self.path(org_id).map(str::to_string))
    }

    /// The pair as the console shows it: with its scope's name and whether the caller may edit it.
    fn view(&self, p: &QaPair) -> serde_json::Value {
        let mut v = serde_json::to_value(p).unwrap_or_default();
        v["org_name"] = match p.org_id {
            None => serde_json::Value::String("全系统".into()),
            Some(id) => serde_json::json!(self.orgs.get(&id).map(|(n, _)| n.clone()).unwrap_or_else(|| format!("已删除的组织 {id}"))),
        };
        v["editable"] = serde_json::json!(self.may(p.org_id));
        v
    }
}

async fn after_change(s: &AppState, caller: &Caller, action: &str, p: &QaPair) -> Result<(), ApiError> {
    super::reload_faq(s).await?;
    super::record_audit(s, caller, action, "qa_pair", Some(p.id.to_string()), Some(format!("版本 {}：{}", p.version, p.question))).await
}

/// Refuses a question that a different published pair already answers (what a member of the
/// pair's audience would get).
async fn near_duplicate(s: &AppState, question: &str, except: Option<i64>, audience: &Audience, org_id: Option<i64>) -> Result<(), ApiError> {
    let Some(m) = s.assistant.faq() else { return Ok(()) };
    let found = m.match_question(question, audience).await.map_err(|e| ApiError::internal("faq.failed", e))?;
    match found {
        // The same question written differently is a plain duplicate (the store says so too).
        Some(f)
            if Some(f.pair.id) != except
                && f.pair.org_id == org_id
                && dwt_store::normalize_question(&f.pair.question) == dwt_store::normalize_question(question) =>
        {
            Err(ApiError::new(StatusCode::CONFLICT, "qa.duplicate", format!("与已有问答重复：{}（编号 {}）", f.pair.question, f.pair.id)))
        }
        Some(f) if f.accepted && Some(f.pair.id) != except => Err(ApiError::new(
            StatusCode::CONFLICT,
            "qa.near_duplicate",
            if f.pair.org_id == org_id {
                format!("已有问答会回答这个问题：{}（编号 {}，相似度 {:.2}）。如确需新增，请勾选“仍然保存”", f.pair.question, f.pair.id, f.score)
            } else {
                format!(
                    "上级或全系统的问答已会回答这个问题：{}（编号 {}，相似度 {:.2}）。如需为本组织提供专门答复，请勾选“仍然保存”，本组织党员将优先看到本条",
                    f.pair.question, f.pair.id, f.score
                )
            },
        )),
        _ => Ok(()),
    }
}

#[derive(Deserialize)]
pub struct ListParams {
    q: Option<String>,
    category: Option<String>,
    status: Option<String>,
    /// `system` (whole system) or an organisation id.
    org: Option<String>,
    /// Updated from / to (Beijing dates, YYYY-MM-DD, inclusive).
    updated_from: Option<String>,
    updated_to: Option<String>,
}

fn org_filter(org: Option<&str>) -> Result<Option<Option<i64>>, ApiError> {
    match org.map(str::trim).filter(|o| !o.is_empty()) {
        None => Ok(None),
        Some("system") => Ok(Some(None)),
        Some(id) => id.parse().map(|id| Some(Some(id))).map_err(|_| ApiError::bad_request("qa.bad_org", "适用范围应为 system 或组织编号")),
    }
}

#[utoipa::path(get, path = "/api/admin/qa", tag = "knowledge", params(("q" = Option<String>, Query), ("category" = Option<String>, Query), ("status" = Option<String>, Query), ("org" = Option<String>, Query), ("updated_from" = Option<String>, Query), ("updated_to" = Option<String>, Query)),
    responses((status = 200, description = "{items: [QaPair + org_name, editable]} most recently updated first: a 组织管理员 sees system-wide pairs (read-only) and those of the organisations they manage"), (status = 403, body = ErrorBody)))]
pub async fn list(State(s): State<AppState>, caller: Caller, Query(p): Query<ListParams>) -> Result<Response, ApiError> {
    let cur = Curator::of(&s, &caller).await?;
    let org = org_filter(p.org.as_deref())?;
    let items: Vec<serde_json::Value> = s
        .assistant
        .qa_store()
        .list(&QaFilter { q: p.q, category: p.category, status: p.status, org, updated_from: p.updated_from, updated_to: p.updated_to })
        .await?
        .iter()
        .filter(|x| cur.sees(x.org_id))
        .map(|x| cur.view(x))
        .collect();
    Ok(Json(serde_json::json!({"items": items})).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct PairBody {
    #[serde(flatten)]
    #[schema(value_type = Object)]
    input: QaInput,
    /// draft (default) | pending | published
    status: Option<String>,
    /// The version being edited (PUT).
    version: Option<i64>,
    /// Save even though an existing pair already answers the question.
    #[serde(default)]
    force: bool,
}

#[utoipa::path(post, path = "/api/admin/qa", tag = "knowledge", request_body = PairBody,
    responses((status = 201, description = "The pair"), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(State(s): State<AppState>, caller: Caller, body: Result<Json<PairBody>, JsonRejection>) -> Result<Response, ApiError> {
    let cur = Curator::of(&s, &caller).await?;
    let Json(b) = body.map_err(rejected)?;
    cur.check(b.input.org_id)?;
    if !b.force {
        near_duplicate(&s, &b.input.pair.question, None, &cur.audience(b.input.org_id), b.input.org_id).await?;
    }
    let p = s.assistant.qa_store().create(&b.input, b.status.as_deref().unwrap_or("draft"), &caller.auth.principal.username).await?;
    after_change(&s, &caller, "qa.created", &p).await?;
    Ok((StatusCode::CREATED, Json(cur.view(&p))).into_response())
}

#[utoipa::path(put, path = "/api/admin/qa/{id}", tag = "knowledge", params(("id" = i64, Path)), request_body = PairBody,
    responses((status = 200, description = "The pair"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn update(State(s): State<AppState>, caller: Caller, Path(id): Path<i64>, body: Result<Json<serde_json::Value>, JsonRejection>) -> Result<Response, ApiError> {
    let cur = Curator::of(&s, &caller).await?;
    let Json(raw) = body.map_err(rejected)?;
    // An edit without `org_id` keeps the pair's scope (null moves it to the whole system).
    let has_scope = raw.get("org_id").is_some();
    let mut b: PairBody = serde_json::from_value(raw).map_err(|e| ApiError::bad_request("request.invalid_json", format!("请求格式错误：{}", crate::error::json_problem(&e.to_string()))))?;
    let current = cur.editable(&s, id).await?;
    if !has_scope {
        b.input.org_id = current.org_id;
    }
    cur.check(b.input.org_id)?;
    if !b.force {
        near_duplicate(&s, &b.input.pair.question, Some(id), &cur.audience(b.input.org_id), b.input.org_id).await?;
    }
    let p = s.assistant.qa_store().update(id, b.version, &b.input, &caller.auth.principal.username).await?;
    after_change(&s, &caller, "qa.edited", &p).await?;
    Ok(Json(cur.view(&p)).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct StatusBody {
    status: String,
}

#[utoipa::path(post, path = "/api/admin/qa/{id}/status", tag = "knowledge", params(("id" = i64, Path)), request_body = StatusBody,
    responses((status = 200, description = "The pair"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_status(State(s): State<AppState>, caller: Caller, Path(id): Path<i64>, body: Result<Json<StatusBody>, JsonRejection>) -> Result<Response, ApiError> {
    let cur = Curator::of(&s, &caller).await?;
    let Json(b) = body.map_err(rejected)?;
    cur.editable(&s, id).await?;
    let p = s.assistant.qa_store().transition(id, &b.status, &caller.auth.principal.username).await?;
    after_change(&s, &caller, "qa.status", &p).await?;
    Ok(Json(cur.view(&p)).into_response())
}

#[utoipa::path(get, path = "/api/admin/qa/{id}/versions", tag = "knowledge", params(("id" = i64, Path)),
    responses((status = 200, description = "{items: [{version, action, pair, editor, created_at}]} newest first")))]
pub async fn versions(State(s): State<AppState>, caller: Caller, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let cur = Curator::of(&s, &caller).await?;
    let p = s.assistant.qa_store().get(id).await?.ok_or_else(|| ApiError::not_found("qa.not_found", format!("常用问答 {id} 不存在")))?;
    if !cur.sees(p.org_id) {
        return Err(dwt_org::CoreError::Forbidden.into());
    }
    let items = s.assistant.qa_store().versions(id).await?;
    Ok(Json(serde_json::json!({"items": items})).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct RollbackBody {
    version: i64,
}

#[utoipa::path(post, path = "/api/admin/qa/{id}/rollback", tag = "knowledge", params(("id" = i64, Path)), request_body = RollbackBody,
    responses((status = 200, description = "The pair"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn rollback(State(s): State<AppState>, caller: Caller, Path(id): Path<i64>, body: Result<Json<RollbackBody>, JsonRejection>) -> Result<Response, ApiError> {
    let cur = Curator::of(&s, &caller).await?;
    let Json(b) = body.map_err(rejected)?;
    cur.editable(&s, id).await?;
    let p = s.assistant.qa_store().rollback(id, b.version, &caller.auth.principal.username).await?;
    after_change(&s, &caller, "qa.rolled_back", &p).await?;
    Ok(Json(cur.view(&p)).into_response())
}

const TEMPLATE_HEADERS: [&str; 5] = ["标准问题", "相似问法", "答案", "分类", "依据"];

fn refs_text(refs: &[dwt_store::SourceRef]) -> String {
    refs.iter().map(|r| format!("{} {}", r.doc, r.article.as_deref().unwrap_or_default()).trim().to_string()).collect::<Vec<_>>().join("; ")
}

fn xlsx(headers: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>, ApiError> {
    let rows: Vec<Vec<&str>> = rows.iter().map(|r| r.iter().map(String::as_str).collect()).collect();
    Ok(dwt_org::xlsx::sheet_from_rows(headers, &rows)?)
}

/// The import template: the columns the importer reads, with one example row.
#[utoipa::path(get, path = "/api/admin/qa/template", tag = "knowledge", responses((status = 200, description = "xlsx"), (status = 403, body = ErrorBody)))]
pub async fn template(State(s): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    Curator::of(&s, &caller).await?;
    let example = vec![
        "预备党员的预备期是多长时间？".to_string(),
        "预备期几年\n预备期多久".to_string(),
        "预备党员的预备期为一年。".to_string(),
        "党员发展".to_string(),
        "中国共产党章程 第七条".to_string(),
    ];
    Ok(super::xlsx_response("常用问答导入模板.xlsx", xlsx(&TEMPLATE_HEADERS, &[example])?))
}

#[utoipa::path(get, path = "/api/admin/qa/export", tag = "knowledge", responses((status = 200, description = "xlsx of every pair the caller sees"), (status = 403, body = ErrorBody)))]
pub async fn export(State(s): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let cur = Curator::of(&s, &caller).await?;
    let pairs = s.assistant.qa_store().list(&QaFilter::default()).await?;
    let headers = ["标准问题", "相似问法", "答案", "分类", "依据", "状态", "生效日期", "失效日期", "版本", "编号", "更新人", "更新时间", "适用范围"];
    let rows: Vec<Vec<String>> = pairs
        .iter()
        .filter(|p| cur.sees(p.org_id))
        .map(|p| {
            vec![
                p.question.clone(),
                p.similar.join("\n"),
                p.answer.clone(),
                p.category.clone(),
                refs_text(&p.source_refs),
                p.status.clone(),
                p.effective_from.clone().unwrap_or_default(),
                p.effective_to.clone().unwrap_or_default(),
                p.version.to_string(),
                p.id.to_string(),
                p.updated_by.clone(),
                p.updated_at.clone(),
                cur.view(p)["org_name"].as_str().unwrap_or_default().to_string(),
            ]
        })
        .collect();
    Ok(super::xlsx_response("常用问答.xlsx", xlsx(&headers, &rows)?))
}

/// Imports an uploaded spreadsheet (the template's columns). Good rows are written in one
/// transaction (as published; an existing question is updated and versioned); bad rows — missing
/// fields, repeated in the file, or a near-identical question of another pair — are reported by
/// sheet row number and nothing is written for them.
#[derive(Deserialize)]
pub struct ImportParams {
    /// Scope of new pairs: an organisation id (required for a 组织管理员), else the whole system.
    org_id: Option<i64>,
}

#[utoipa::path(post, path = "/api/admin/qa/import", tag = "knowledge", params(("org_id" = Option<i64>, Query)), request_body(content = Vec<u8>, content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    responses((status = 200, description = "{rows, inserted, updated, unchanged, failed, errors: [{row, message}]}"), (status = 400, body = ErrorBody)))]
pub async fn import(State(s): State<AppState>, caller: Caller, Query(q): Query<ImportParams>, body: axum::body::Bytes) -> Result<Response, ApiError> {
    let cur = Curator::of(&s, &caller).await?;
    cur.check(q.org_id)?;
    // Parsed on a blocking thread within the upload limits: a hostile sheet is refused before it
    // is allocated and never stalls the async workers.
    let limits = s.assistant.knowledge_base().settings().upload.clone();
    let file = tokio::task::spawn_blocking(move || dwt_ingest::qa::parse_spreadsheet_bytes(&body, "上传的文件", &limits))
        .await
        .map_err(|e| ApiError::internal("qa_import.parser_failed", e))?
        .map_err(|e| ApiError::bad_request(e.code(), e.to_string()))?;
    let rows = file.pairs.len() + file.errors.len();
    if rows == 0 {
        return Err(ApiError::bad_request("qa_import.empty", "表格中没有数据（表头下方没有任何一行问答），请按模板填写后再导入"));
    }
    let store = s.assistant.qa_store();
    let existing = store.list(&QaFilter::default()).await?;
    let mut errors = file.errors;
    let mut good = Vec::new();
    // Rows are pairs of the chosen scope: the same question there updates that pair; other
    // scopes' pairs are neither changed nor in the way. Each phrasing of the scope's pairs is
    // normalised once (a lookup per row, not a scan).
    let mut phrasings: HashMap<String, &QaPair> = HashMap::new();
    for e in existing.iter().filter(|e| e.org_id == q.org_id) {
        for phrase in std::iter::once(&e.question).chain(&e.similar) {
            phrasings.entry(dwt_store::normalize_question(phrase)).or_insert(e);
        }
    }
    for (row, p) in file.pairs {
        let clash = phrasings.get(&dwt_store::normalize_question(&p.question)).filter(|e| e.question != p.question);
        match clash {
            Some(c) => errors.push(dwt_ingest::qa::RowError { row, message: format!("与已有问答重复：{}（编号 {}）", c.question, c.id) }),
            None => good.push(p),
        }
    }
    errors.sort_by_key(|e| e.row);
    let outcomes = store.upsert_all(&good, &caller.auth.principal.username, true, q.org_id).await?;
    let count = |o: dwt_store::UpsertOutcome| outcomes.iter().filter(|x| **x == o).count();
    let report = serde_json::json!({
        "rows": rows,
        "inserted": count(dwt_store::UpsertOutcome::Inserted),
        "updated": count(dwt_store::UpsertOutcome::Updated),
        "unchanged": count(dwt_store::UpsertOutcome::Unchanged),
        "failed": errors.len(),
        "errors": errors,
    });
    super::reload_faq(&s).await?;
    super::record_audit(&s, &caller, "qa.imported", "qa_pair", None, Some(format!("新增 {}，更新 {}，失败 {}", report["inserted"], report["updated"], report["failed"]))).await?;
    Ok(Json(report).into_response())
}

#[utoipa::path(get, path = "/api/admin/qa/categories", tag = "knowledge",
    responses((status = 200, description = "{items: [{id, parent_id, name, position, pairs, published}]} by parent, then position"), (status = 403, body = ErrorBody)))]
pub async fn categories(State(s): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    // Every curator picks categories; only 系统管理员 change the tree.
    Curator::of(&s, &caller).await?;
    Ok(Json(serde_json::json!({"items": s.assistant.qa_store().categories().await?})).into_response())
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct CategoryBody {
    name: Option<String>,
    parent_id: Option<i64>,
    /// 0-based place among the new siblings (move).
    position: Option<usize>,
}

async fn audit_category(s: &AppState, caller: &Caller, action: &str, id: i64, detail: String) -> Result<(), ApiError> {
    super::record_audit(s, caller, action, "qa_category", Some(id.to_string()), Some(detail)).await
}

#[utoipa::path(post, path = "/api/admin/qa/categories", tag = "knowledge", request_body = CategoryBody,
    responses((status = 201, description = "{id}"), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create_category(State(s): State<AppState>, caller: Caller, body: Result<Json<CategoryBody>, JsonRejection>) -> Result<Response, ApiError> {
    allowed(&caller)?;
    let Json(b) = body.map_err(rejected)?;
    let name = b.name.unwrap_or_default();
    let id = s.assistant.qa_store().create_category(&name, b.parent_id).await?;
    audit_category(&s, &caller, "qa.category_created", id, name).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({"id": id}))).into_response())
}

#[utoipa::path(put, path = "/api/admin/qa/categories/{id}", tag = "knowledge", params(("id" = i64, Path)), request_body = CategoryBody,
    responses((status = 200, description = "Renamed (with its pairs)"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn rename_category(State(s): State<AppState>, caller: Caller, Path(id): Path<i64>, body: Result<Json<CategoryBody>, JsonRejection>) -> Result<Response, ApiError> {
    allowed(&caller)?;
    let Json(b) = body.map_err(rejected)?;
    let name = b.name.unwrap_or_default();
    s.assistant.qa_store().rename_category(id, &name).await?;
    super::reload_faq(&s).await?;
    audit_category(&s, &caller, "qa.category_renamed", id, name).await?;
    Ok(Json(serde_json::json!({"renamed": true})).into_response())
}

/// Drag and drop: a new parent and place among its children.
#[utoipa::path(post, path = "/api/admin/qa/categories/{id}/move", tag = "knowledge", params(("id" = i64, Path)), request_body = CategoryBody,
    responses((status = 200, description = "Moved"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn move_category(State(s): State<AppState>, caller: Caller, Path(id): Path<i64>, body: Result<Json<CategoryBody>, JsonRejection>) -> Result<Response, ApiError> {
    allowed(&caller)?;
    let Json(b) = body.map_err(rejected)?;
    let position = b.position.unwrap_or(usize::MAX);
    s.assistant.qa_store().move_category(id, b.parent_id, position).await?;
    audit_category(&s, &caller, "qa.category_moved", id, format!("上级 {:?}，位置 {position}", b.parent_id)).await?;
    Ok(Json(serde_json::json!({"moved": true})).into_response())
}

#[utoipa::path(delete, path = "/api/admin/qa/categories/{id}", tag = "knowledge", params(("id" = i64, Path)),
    responses((status = 200, description = "Deleted"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_category(State(s): State<AppState>, caller: Caller, Path(id): Path<i64>) -> Result<Response, ApiError> {
    allowed(&caller)?;
    s.assistant.qa_store().delete_category(id).await?;
    audit_category(&s, &caller, "qa.category_deleted", id, String::new()).await?;
    Ok(Json(serde_json::json!({"deleted": true})).into_response())
}

#[derive(Deserialize)]
pub struct FaqParams {
    category: Option<String>,
    q: Option<String>,
}

/// 常用咨询分类和查询 for members: the category tree with published counts, and the published
/// pairs (of one category, or matching words). Public like the chat.
#[utoipa::path(get, path = "/api/faq", tag = "chat", params(("category" = Option<String>, Query), ("q" = Option<String>, Query)),
    responses((status = 200, description = "{categories: [{id, parent_id, name, published}], items: [{id, question, answer, category, source_refs}]}")))]
pub async fn public_faq(State(s): State<AppState>, caller: super::session::MaybeCaller, Query(p): Query<FaqParams>) -> Result<Response, ApiError> {
    let audience = super::session::audience(caller.0.as_ref());
    let store = s.assistant.qa_store();
    let published: Vec<QaPair> = store.published().await?.into_iter().filter(|x| audience.sees(x.org_id)).collect();
    // Counts are of the pairs this visitor may see; a category whose published pairs all belong
    // to other organisations is not shown at all (its name would say what they curate).
    let all = store.categories().await?;
    let categories: Vec<serde_json::Value> = all
        .iter()
        .filter_map(|c| {
            let visible = published.iter().filter(|x| x.category == c.name).count();
            let has_children = all.iter().any(|x| x.parent_id == Some(c.id));
            (visible > 0 || c.published == 0 || has_children)
                .then(|| serde_json::json!({"id": c.id, "parent_id": c.parent_id, "name": c.name, "position": c.position, "published": visible}))
        })
        .collect();
    let q = p.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let items: Vec<serde_json::Value> = published
        .into_iter()
        .filter(|x| p.category.as_deref().is_none_or(|c| c.is_empty() || x.category == c))
        .filter(|x| q.is_none_or(|q| x.question.contains(q) || x.answer.contains(q) || x.similar.iter().any(|s| s.contains(q))))
        .map(|x| serde_json::json!({"id": x.id, "question": x.question, "answer": x.answer, "category": x.category, "source_refs": x.source_refs}))
        .collect();
    Ok(Json(serde_json::json!({"categories": categories, "items": items})).into_response())
}
