//! Human handoff endpoints: members request and follow their consultations (我的咨询), staff
//! work the queue of their subtree, administrators approve Q&A proposals and read the numbers;
//! `/api/events` streams live changes to open pages.

use std::convert::Infallible;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use dwt_handoff::{Actor, Handoff, HubEvent, NewRequest, QueueFilter};
use dwt_org::authz::Action;
use serde::Deserialize;

use super::session::Caller;
use super::xlsx_response;
use crate::{rejected, ApiError, AppState, ErrorBody};

impl AppState {
    pub(crate) fn handoff(&self) -> Result<&std::sync::Arc<Handoff>, ApiError> {
        self.handoff.as_ref().ok_or_else(|| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "server.handoff_unavailable", "人工答复功能未启用"))
    }
}

fn actor(c: &Caller) -> Actor {
    Actor::user(&c.auth.principal, &c.auth.user.display_name)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RequestBody {
    /// The assistant message to hand off, with its conversation (both from the chat's `meta`
    /// event; the random conversation id proves the message is the caller's).
    pub message_id: Option<i64>,
    pub conversation_id: Option<String>,
    /// Required without `message_id`.
    pub question: Option<String>,
    pub note: Option<String>,
    pub category: Option<String>,
}

/// 申请人工答复.
#[utoipa::path(post, path = "/api/consultations", tag = "handoff", request_body = RequestBody,
    responses((status = 201, description = "Consultation (+ expected_hours)"), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn request(State(s): State<AppState>, caller: Caller, headers: axum::http::HeaderMap, body: Result<Json<RequestBody>, JsonRejection>) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(rejected)?;
    let h = s.handoff()?;
    let mut req = NewRequest { message_id: body.message_id, note: body.note, category: body.category, question: body.question.unwrap_or_default(), ..Default::default() };
    if let Some(mid) = body.message_id {
        let not_found = || ApiError::not_found("handoff.message_not_found", "找不到要转人工的那条回答");
        let conversations = s.assistant.conversations();
        let (question, answer) = conversations
            .answer_with_question(mid)
            .await?
            .filter(|(_, m)| body.conversation_id.as_deref() == Some(m.conversation_id.as_str()))
            .ok_or_else(not_found)?;
        // Only the conversation's own asker (this account, or this browser before logging in)
        // hands its answers to staff: someone else's is as unknown as a missing one.
        let asker = dwt_store::Asker { user_id: Some(caller.auth.principal.user_id), anon_token: super::session::asker_token(&headers) };
        if !conversations.accessible(&answer.conversation_id, &asker).await? {
            return Err(not_found());
        }
        if req.question.trim().is_empty() {
            req.question = question;
        }
        req.conversation_id = Some(answer.conversation_id.clone());
        req.ai_answer = Some(answer.content.clone());
        // Keep what staff need to see: title, article, link.
        req.ai_sources = serde_json::Value::Array(
            answer
                .sources
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|x| serde_json::json!({"index": x["index"], "doc_title": x["doc_title"], "article": x["article"], "url": x["url"]}))
                        .collect()
                })
                .unwrap_or_default(),
        );
    }
    let c = h.request(&caller.auth.principal, &caller.auth.user.display_name, req).await?;
    let mut v = serde_json::to_value(&c).map_err(|e| ApiError::internal("server.serialize", e))?;
    v["expected_hours"] = serde_json::json!(h.settings().sla_hours);
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

#[utoipa::path(get, path = "/api/consultations/mine", tag = "handoff", responses((status = 200, description = "{items, unread}"), (status = 401, body = ErrorBody)))]
pub async fn mine(State(s): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let (items, unread) = s.handoff()?.mine(&caller.auth.principal).await?;
    Ok(Json(serde_json::json!({"items": items, "unread": unread})).into_response())
}

#[utoipa::path(get, path = "/api/consultations/{id}", tag = "handoff", responses((status = 200, description = "Consultation with its timeline"), (status = 404, body = ErrorBody)))]
pub async fn detail(State(s): State<AppState>, caller: Caller, Path(id): Path<i64>) -> Result<Response, ApiError> {
    Ok(Json(s.handoff()?.detail(&caller.auth.principal, id).await?).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RateBody {
    pub rating: i64,
    pub comment: Option<String>,
}

#[utoipa::path(post, path = "/api/consultations/{id}/rate", tag = "handoff", request_body = RateBody,
    responses((status = 200, description = "Closed with the rating"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn rate(State(s): State<AppState>, caller: Caller, Path(id): Path<i64>, body: Result<Json<RateBody>, JsonRejection>) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(rejected)?;
    Ok(Json(s.handoff()?.rate(&caller.auth.principal, &actor(&caller), id, body.rating, body.comment.as_deref()).await?).into_response())
}

#[utoipa::path(post, path = "/api/consultations/{id}/close", tag = "handoff", responses((status = 200, description = "Closed"), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn close(State(s): State<AppState>, caller: Caller, Path(id): Path<i64>) -> Result<Response, ApiError> {
    Ok(Json(s.handoff()?.close(&caller.auth.principal, &actor(&caller), id).await?).into_response())
}

#[utoipa::path(get, path = "/api/notifications", tag = "handoff", responses((status = 200, description = "{items, unread}"), (status = 401, body = ErrorBody)))]
pub async fn notifications(State(s): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let (items, unread) = s.handoff()?.notifications(caller.auth.principal.user_id).await?;
    Ok(Json(serde_json::json!({"items": items, "unread": unread})).into_response())
}

#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
pub struct ReadBody {
    /// Omitted: all.
    pub ids: Option<Vec<i64>>,
}

#[utoipa::path(post, path = "/api/notifications/read", tag = "handoff", request_body = ReadBody, responses((status = 200, description = "{unread}")))]
pub async fn notifications_read(State(s): State<AppState>, caller: Caller, body: Option<Json<ReadBody>>) -> Result<Response, ApiError> {
    let body = body.map(|Json(b)| b).unwrap_or_default();
    let unread = s.handoff()?.mark_read(caller.auth.principal.user_id, body.ids.as_deref()).await?;
    Ok(Json(serde_json::json!({"unread": unread})).into_response())
}

/// Live events for the logged-in user: `hello` {unread}, then `notification` and
/// `consultation` {id, status, org_id} for changes the user may see.
#[utoipa::path(get, path = "/api/events", tag = "handoff", responses((status = 200, description = "text/event-stream"), (status = 401, body = ErrorBody)))]
pub async fn events(State(s): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let h = s.handoff()?.clone();
    // Held by the stream: the slot is freed when the stream ends or the client goes away.
    let slot = s.streams.acquire(caller.auth.principal.user_id).ok_or_else(|| {
        ApiError::new(StatusCode::TOO_MANY_REQUESTS, "events.too_many_streams", "同时打开的实时连接过多，请关闭多余的页面后重试")
    })?;
    let unread = h.unread(caller.auth.principal.user_id).await?;
    let principal = caller.auth.principal;
    let rx = h.hub().subscribe();
    let hello = Event::default().event("hello").data(serde_json::json!({"unread": unread}).to_string());
    // A stream ends on server shutdown (so graceful shutdown does not wait for open pages) and
    // after an hour: EventSource reconnects by itself, and the reconnect re-checks the session
    // and the caller's current rights.
    let stop = s.stop.subscribe();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(3600);
    let stream = futures::stream::unfold((rx, Some(hello)), move |(mut rx, first)| {
        let principal = principal.clone();
        let mut stop = stop.clone();
        let _slot = &slot;
        async move {
            if let Some(e) = first {
                return Some((Ok::<_, Infallible>(e), (rx, None)));
            }
            loop {
                let received = tokio::select! {
                    r = rx.recv() => r,
                    _ = stop.changed() => return None,
                    _ = tokio::time::sleep_until(deadline) => return None,
                };
                match received {
                    Ok(HubEvent::Notification(n)) if n.user_id == principal.user_id => {
                        let e = Event::default().event("notification").data(serde_json::to_string(&n).unwrap_or_default());
                        return Some((Ok(e), (rx, None)));
                    }
                    Ok(HubEvent::Consultation { id, status, org_id, org_path, member_user_id })
                        if member_user_id == principal.user_id || principal.can(Action::AnswerHandoff, &org_path) =>
                    {
                        let e = Event::default().event("consultation").data(serde_json::json!({"id": id, "status": status, "org_id": org_id}).to_string());
                        return Some((Ok(e), (rx, None)));
                    }
                    Ok(_) => continue,
                    // Fell behind: tell the page to reload its lists.
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        return Some((Ok(Event::default().event("resync").data("{}")), (rx, None)));
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
                }
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()).into_response())
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct QueueParams {
    pub status: Option<String>,
    pub org_id: Option<String>,
    pub category: Option<String>,
    pub mine: Option<String>,
}

#[utoipa::path(get, path = "/api/staff/queue", tag = "handoff",
    params(("status" = Option<String>, Query, description = "open（默认）、all 或某一状态"), ("org_id" = Option<i64>, Query), ("category" = Option<String>, Query), ("mine" = Option<u8>, Query)),
    responses((status = 200, description = "{items}"), (status = 403, body = ErrorBody)))]
pub async fn queue(State(s): State<AppState>, caller: Caller, Query(p): Query<QueueParams>) -> Result<Response, ApiError> {
    let org_id = match p.org_id.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        Some(v) => Some(v.parse::<i64>().map_err(|_| ApiError::bad_request("handoff.invalid_org", "组织编号无效"))?),
        None => None,
    };
    let f = QueueFilter { status: p.status.filter(|v| !v.is_empty()), org_id, category: p.category, mine: matches!(p.mine.as_deref(), Some("1" | "true")) };
    Ok(Json(serde_json::json!({"items": s.handoff()?.queue(&caller.auth.principal, &f).await?})).into_response())
}

#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
pub struct TextBody {
    pub body: Option<String>,
    pub note: Option<String>,
    pub org_id: Option<i64>,
}

/// claim | release | reply {body} | note {body} | escalate {note} | transfer {org_id, note}.
#[utoipa::path(post, path = "/api/staff/consultations/{id}/{action}", tag = "handoff", request_body = TextBody,
    params(("id" = i64, Path), ("action" = String, Path, description = "claim, release, reply, note, escalate, transfer")),
    responses((status = 200, description = "Consultation"), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn staff_action(State(s): State<AppState>, caller: Caller, Path((id, action)): Path<(i64, String)>, body: Option<Json<TextBody>>) -> Result<Response, ApiError> {
    let h = s.handoff()?;
    let b = body.map(|Json(b)| b).unwrap_or_default();
    let who = &caller.auth.principal;
    let a = actor(&caller);
    let c = match action.as_str() {
        "claim" => h.claim(who, &a, id).await?,
        "release" => h.release(who, &a, id).await?,
        "reply" => h.reply(who, &a, id, b.body.as_deref().unwrap_or_default()).await?,
        "note" => h.note(who, &a, id, b.body.as_deref().unwrap_or_default()).await?,
        "escalate" => h.escalate(who, &a, id, b.note.as_deref()).await?,
        "transfer" => {
            let org = b.org_id.ok_or_else(|| ApiError::bad_request("handoff.invalid_org", "请选择转交的组织"))?;
            h.transfer(who, &a, id, org, b.note.as_deref()).await?
        }
        _ => return Err(ApiError::not_found("request.not_found", "接口不存在")),
    };
    Ok(Json(c).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PromoteBody {
    pub question: String,
    pub answer: String,
    pub category: Option<String>,
}

/// 采纳为常用问答: a proposal for an administrator to approve.
#[utoipa::path(post, path = "/api/staff/consultations/{id}/promote", tag = "handoff", request_body = PromoteBody,
    responses((status = 201, description = "{id, status: pending}"), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn promote(State(s): State<AppState>, caller: Caller, Path(id): Path<i64>, body: Result<Json<PromoteBody>, JsonRejection>) -> Result<Response, ApiError> {
    let Json(b) = body.map_err(rejected)?;
    let p = s.handoff()?.promote(&caller.auth.principal, &actor(&caller), id, &b.question, &b.answer, b.category.as_deref()).await?;
    Ok((StatusCode::CREATED, Json(p)).into_response())
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ProposalParams {
    pub status: Option<String>,
}

#[utoipa::path(get, path = "/api/admin/qa-proposals", tag = "handoff", params(("status" = Option<String>, Query)), responses((status = 200, description = "{items}"), (status = 403, body = ErrorBody)))]
pub async fn proposals(State(s): State<AppState>, caller: Caller, Query(p): Query<ProposalParams>) -> Result<Response, ApiError> {
    let items = s.handoff()?.proposals(&caller.auth.principal, p.status.as_deref().filter(|v| !v.is_empty())).await?;
    Ok(Json(serde_json::json!({"items": items})).into_response())
}

#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
pub struct ApproveBody {
    pub question: Option<String>,
    pub answer: Option<String>,
    pub category: Option<String>,
}

/// Approves (possibly edited): the pair is published and answers from now on.
#[utoipa::path(post, path = "/api/admin/qa-proposals/{id}/approve", tag = "handoff", request_body = ApproveBody,
    responses((status = 200, description = "{qa_id}"), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn approve(State(s): State<AppState>, caller: Caller, Path(id): Path<i64>, body: Option<Json<ApproveBody>>) -> Result<Response, ApiError> {
    let b = body.map(|Json(b)| b).unwrap_or_default();
    let h = s.handoff()?;
    let p = h.begin_approval(&caller.auth.principal, id).await?;
    match publish_pair(&s, h, &caller, &p, b).await {
        Ok(qa_id) => {
            h.finish_approval(&caller.auth.principal, id, qa_id).await?;
            // The matcher answers from the new pair at once.
            if let Some(faq) = s.assistant.faq() {
                if let Err(e) = faq.reload().await {
                    tracing::error!(error = %e, "FAQ reload after approval failed");
                }
            }
            Ok(Json(serde_json::json!({"qa_id": qa_id, "status": "approved"})).into_response())
        }
        Err(e) => {
            h.abort_approval(id).await?;
            Err(e)
        }
    }
}

/// Writes the approved pair; never replaces an existing curated pair (those belong to the Q&A
/// curation, not to one organisation's approval).
async fn publish_pair(s: &AppState, h: &Handoff, caller: &Caller, p: &dwt_handoff::Proposal, b: ApproveBody) -> Result<i64, ApiError> {
    let pick = |edited: Option<String>, original: &str| edited.map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).unwrap_or_else(|| original.to_string());
    let question = pick(b.question, &p.question);
    let answer = pick(b.answer, &p.answer);
    if question.chars().count() > 500 || answer.chars().count() > 5000 {
        return Err(ApiError::bad_request("handoff.invalid_field", "问题不能超过 500 字，答案不能超过 5000 字"));
    }
    // The sources the AI answer cited become the pair's 依据.
    let mut refs = Vec::new();
    if let Some(cid) = p.consultation_id {
        if let Ok(c) = h.detail(&caller.auth.principal, cid).await {
            for src in c.ai_sources.as_array().into_iter().flatten() {
                if let Some(doc) = src["doc_title"].as_str() {
                    refs.push(dwt_store::SourceRef { doc: doc.to_string(), article: src["article"].as_str().map(str::to_string) });
                }
            }
        }
    }
    let pair = dwt_store::NewQaPair { question: question.clone(), similar: Vec::new(), answer, category: pick(b.category, p.category.as_deref().unwrap_or("人工答复")), source_refs: refs };
    // A 系统管理员's approval answers everyone; an 组织管理员's answers the members of the
    // organisation where they manage Q&A (the one above the proposal's, the widest they hold).
    let who = &caller.auth.principal;
    let scope = if who.can_anywhere(dwt_org::authz::Action::KnowledgeManage) {
        None
    } else {
        who.grants
            .iter()
            .filter(|g| g.role.is_admin() && p.org_path.starts_with(g.org_path.as_str()))
            .min_by_key(|g| g.org_path.len())
            .map(|g| g.org_id)
    };
    let qa = s.assistant.qa_store();
    if let Some(existing) = qa.id_by_question(&question, scope).await? {
        // The same pair already written by an approval that crashed before finishing: reuse it.
        if qa.get(existing).await?.is_some_and(|e| e.answer == pair.answer) {
            return Ok(existing);
        }
        return Err(ApiError::new(StatusCode::CONFLICT, "handoff.qa_exists", "已有相同问题的常用问答，请修改问题后再通过"));
    }
    qa.upsert_all(&[pair], &who.username, false, scope).await?;
    qa.id_by_question(&question, scope).await?.ok_or_else(|| ApiError::internal("store.sql", "promoted pair not found after saving"))
}

#[derive(Debug, Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
pub struct RejectBody {
    pub reason: Option<String>,
}

#[utoipa::path(post, path = "/api/admin/qa-proposals/{id}/reject", tag = "handoff", request_body = RejectBody,
    responses((status = 200, description = "{status: rejected}"), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn reject(State(s): State<AppState>, caller: Caller, Path(id): Path<i64>, body: Option<Json<RejectBody>>) -> Result<Response, ApiError> {
    let b = body.map(|Json(b)| b).unwrap_or_default();
    let p = s.handoff()?.reject(&caller.auth.principal, id, b.reason.as_deref()).await?;
    Ok(Json(serde_json::json!({"status": p.status})).into_response())
}

#[utoipa::path(get, path = "/api/admin/handoff/stats", tag = "handoff", responses((status = 200, description = "{rows, total}"), (status = 403, body = ErrorBody)))]
pub async fn stats(State(s): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    Ok(Json(s.handoff()?.stats(&caller.auth.principal).await?).into_response())
}

#[utoipa::path(get, path = "/api/admin/handoff/stats/export", tag = "handoff", responses((status = 200, description = "xlsx"), (status = 403, body = ErrorBody)))]
pub async fn stats_export(State(s): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    let stats = s.handoff()?.stats(&caller.auth.principal).await?;
    Ok(xlsx_response("人工答复统计.xlsx", dwt_handoff::stats::export(&stats)?))
}

/// Background work of `serve`: SLA escalation, auto-close, notification deliveries. All state
/// is in the database, so a restart simply picks up where the last run stopped.
pub fn spawn_background(h: std::sync::Arc<Handoff>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let every = std::time::Duration::from_secs(h.settings().check_interval_secs.max(1));
        loop {
            let now = chrono::Utc::now();
            for (what, r) in [
                ("escalate", h.escalate_overdue(now).await),
                ("auto_close", h.auto_close(now).await),
                ("deliver", h.deliver_pending(now).await),
            ] {
                match r {
                    Ok(n) if n > 0 => tracing::info!(task = what, n, "handoff background"),
                    Ok(_) => {}
                    Err(e) => tracing::error!(task = what, error = %e, "handoff background task failed"),
                }
            }
            tokio::time::sleep(every).await;
        }
    })
}
