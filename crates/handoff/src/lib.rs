//! Human handoff (人工答复): a member's question thread goes to the staff queue of the
//! organisation that answers for the member's 党支部 (or the nearest ancestor with staff),
//! is claimed by exactly one staff member, answered, rated and closed; unclaimed items escalate
//! to the parent organisation after the SLA. Every change is a compare-and-set on the status
//! (see [`state`]) recorded on the timeline in the same transaction, and a reply's notification
//! is stored with it, so a crash never loses either.

pub mod notify;
pub mod state;
pub mod stats;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use dwt_core::config::HandoffSettings;
use dwt_org::authz::{Action, Principal};
use dwt_org::db::{format_ts, Db};
use dwt_org::{validate, CoreError};
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

pub use notify::{Hub, HubEvent, Notification, Notifier};
pub use state::{Status, Transition};

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UserRef {
    pub user_id: i64,
    pub display_name: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MemberRef {
    pub user_id: i64,
    pub display_name: String,
    pub org_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TimelineEvent {
    pub id: i64,
    pub at: String,
    pub kind: String,
    pub kind_label: &'static str,
    pub actor_name: Option<String>,
    pub from_status: Option<String>,
    pub to_status: Option<String>,
    pub org_name: Option<String>,
    pub body: Option<String>,
    pub internal: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Consultation {
    pub id: i64,
    pub status: Status,
    pub status_label: &'static str,
    pub question: String,
    pub note: Option<String>,
    pub category: Option<String>,
    pub ai_answer: Option<String>,
    pub ai_sources: serde_json::Value,
    pub member: MemberRef,
    pub org_id: i64,
    pub org_name: String,
    #[serde(skip)]
    pub org_path: String,
    pub claimed_by: Option<UserRef>,
    pub reply: Option<String>,
    pub rating: Option<i64>,
    pub rating_comment: Option<String>,
    pub created_at: String,
    pub due_at: String,
    pub first_reply_at: Option<String>,
    pub answered_at: Option<String>,
    pub closed_at: Option<String>,
    pub unread: bool,
    /// Seconds until the SLA (negative: overdue); only while waiting in a queue.
    pub sla_remaining_secs: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<TimelineEvent>>,
}

/// A member's request for a human answer.
#[derive(Debug, Clone, Default)]
pub struct NewRequest {
    /// The assistant message handed off (one handoff per message).
    pub message_id: Option<i64>,
    pub conversation_id: Option<String>,
    pub question: String,
    pub ai_answer: Option<String>,
    pub ai_sources: serde_json::Value,
    pub note: Option<String>,
    pub category: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    /// `open` (default), `all`, or one status.
    pub status: Option<String>,
    pub org_id: Option<i64>,
    pub category: Option<String>,
    /// Only items the caller claimed.
    pub mine: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Proposal {
    pub id: i64,
    pub question: String,
    pub answer: String,
    pub category: Option<String>,
    pub consultation_id: Option<i64>,
    pub proposed_by: Option<String>,
    pub org_id: i64,
    pub org_name: String,
    #[serde(skip)]
    pub org_path: String,
    pub status: String,
    pub qa_id: Option<i64>,
    pub created_at: String,
}

/// Who acts: a user, or the system (SLA task).
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: Option<i64>,
    pub name: String,
}

impl Actor {
    pub fn user(p: &Principal, display_name: &str) -> Self {
        Self { id: Some(p.user_id), name: if display_name.is_empty() { p.username.clone() } else { display_name.to_string() } }
    }

    pub fn system() -> Self {
        Self { id: None, name: "系统".into() }
    }
}

const COLUMNS: &str = "c.id, c.status, c.question, c.note, c.category, c.ai_answer, c.ai_sources, c.member_user_id, mu.display_name AS member_name, \
    mo.name AS member_org_name, c.org_id, o.name AS org_name, o.path AS org_path, c.claimed_by, cu.display_name AS claimer_name, c.reply, c.rating, \
    c.rating_comment, c.created_at, c.due_at, c.first_reply_at, c.answered_at, c.closed_at, c.member_unread";
const FROM: &str = "consultations c JOIN orgs o ON o.id = c.org_id JOIN users mu ON mu.id = c.member_user_id \
    LEFT JOIN orgs mo ON mo.id = c.member_org_id LEFT JOIN users cu ON cu.id = c.claimed_by";

fn from_row(r: &AnyRow, now: DateTime<Utc>) -> Result<Consultation, CoreError> {
    let status_text: String = r.try_get("status")?;
    let status = Status::parse(&status_text).ok_or_else(|| CoreError::Config(format!("unknown consultation status {status_text}")))?;
    let sources: String = r.try_get("ai_sources")?;
    let due_at: String = r.try_get("due_at")?;
    let claimed_by: Option<i64> = r.try_get("claimed_by")?;
    Ok(Consultation {
        id: r.try_get("id")?,
        status,
        status_label: status.label(),
        question: r.try_get("question")?,
        note: r.try_get("note")?,
        category: r.try_get("category")?,
        ai_answer: r.try_get("ai_answer")?,
        ai_sources: serde_json::from_str(&sources).unwrap_or(serde_json::Value::Array(Vec::new())),
        member: MemberRef { user_id: r.try_get("member_user_id")?, display_name: r.try_get("member_name")?, org_name: r.try_get("member_org_name")? },
        org_id: r.try_get("org_id")?,
        org_name: r.try_get("org_name")?,
        org_path: r.try_get("org_path")?,
        claimed_by: match claimed_by {
            Some(id) => Some(UserRef { user_id: id, display_name: r.try_get::<Option<String>, _>("claimer_name")?.unwrap_or_default() }),
            None => None,
        },
        reply: r.try_get("reply")?,
        rating: r.try_get("rating")?,
        rating_comment: r.try_get("rating_comment")?,
        created_at: r.try_get("created_at")?,
        sla_remaining_secs: if status.is_waiting() { dwt_org::db::parse_ts(&due_at).map(|d| (d - now).num_seconds()) } else { None },
        due_at,
        first_reply_at: r.try_get("first_reply_at")?,
        answered_at: r.try_get("answered_at")?,
        closed_at: r.try_get("closed_at")?,
        unread: r.try_get::<i64, _>("member_unread")? != 0,
        events: None,
    })
}

struct NewNotification<'a> {
    user_id: i64,
    consultation_id: Option<i64>,
    kind: &'a str,
    title: &'a str,
    body: &'a str,
    now: &'a str,
}

enum Bind {
    Text(Option<String>),
    Int(Option<i64>),
}

/// What a transition writes besides the status.
#[derive(Debug, Default)]
struct Change {
    claimed_by: Option<Option<i64>>,
    org_id: Option<i64>,
    reply: Option<String>,
    rating: Option<(i64, Option<String>)>,
    /// Timeline text (note, reply, reason).
    body: Option<String>,
    /// Only the staff member holding the claim may do it.
    require_claimer: Option<i64>,
    /// The organisation the caller was authorized on: the item must still be there.
    expect_org: Option<i64>,
    /// SLA task: only while the item is still overdue.
    overdue_only: bool,
}

pub struct Handoff {
    db: Db,
    settings: HandoffSettings,
    hub: Hub,
    notifiers: Vec<Arc<dyn Notifier>>,
}

impl Handoff {
    pub fn new(db: Db, settings: HandoffSettings, notifiers: Vec<Arc<dyn Notifier>>) -> Self {
        Self { db, settings, hub: Hub::default(), notifiers }
    }

    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    pub fn settings(&self) -> &HandoffSettings {
        &self.settings
    }

    fn due_from(&self, now: DateTime<Utc>) -> String {
        format_ts(now + chrono::Duration::hours(i64::from(self.settings.sla_hours)))
    }

    async fn load(&self, id: i64) -> Result<Consultation, CoreError> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM {FROM} WHERE c.id = $1")).bind(id).fetch_optional(self.db.pool()).await?;
        match row {
            Some(r) => from_row(&r, Utc::now()),
            None => Err(CoreError::NotFound("handoff.not_found", format!("咨询（编号 {id}）不存在"))),
        }
    }

    async fn events(&self, id: i64, include_internal: bool) -> Result<Vec<TimelineEvent>, CoreError> {
        let rows = sqlx::query(
            "SELECT e.id, e.at, e.kind, e.actor_name, e.from_status, e.to_status, o.name AS org_name, e.body, e.internal \
             FROM consultation_events e LEFT JOIN orgs o ON o.id = e.org_id WHERE e.consultation_id = $1 ORDER BY e.id",
        )
        .bind(id)
        .fetch_all(self.db.pool())
        .await?;
        let mut out = Vec::new();
        for r in rows {
            let internal = r.try_get::<i64, _>("internal")? != 0;
            if internal && !include_internal {
                continue;
            }
            let kind: String = r.try_get("kind")?;
            out.push(TimelineEvent {
                id: r.try_get("id")?,
                at: r.try_get("at")?,
                kind_label: state::kind_label(&kind),
                kind,
                actor_name: r.try_get("actor_name")?,
                from_status: r.try_get("from_status")?,
                to_status: r.try_get("to_status")?,
                org_name: r.try_get("org_name")?,
                body: r.try_get("body")?,
                internal,
            });
        }
        Ok(out)
    }

    fn publish(&self, c: &Consultation) {
        self.hub.publish(HubEvent::Consultation { id: c.id, status: c.status.as_str().into(), org_id: c.org_id, org_path: c.org_path.clone(), member_user_id: c.member.user_id });
    }

    /// The member's organisation: the linked member record, else the first 党员 role grant.
    async fn member_org(&self, user_id: i64) -> Result<Option<i64>, CoreError> {
        let row = sqlx::query("SELECT m.org_id FROM users u JOIN members m ON m.id = u.member_id WHERE u.id = $1").bind(user_id).fetch_optional(self.db.pool()).await?;
        if let Some(r) = row {
            return Ok(Some(r.try_get("org_id")?));
        }
        let row = sqlx::query("SELECT org_id FROM user_roles WHERE user_id = $1 ORDER BY CASE role WHEN 'member' THEN 0 ELSE 1 END, org_id LIMIT 1")
            .bind(user_id)
            .fetch_optional(self.db.pool())
            .await?;
        Ok(row.map(|r| r.try_get("org_id")).transpose()?)
    }

    /// The organisation that answers for `org_id`: itself when it has active staff, else the
    /// nearest ancestor that has; the topmost organisation when none has.
    pub async fn answering_org(&self, org_id: i64) -> Result<i64, CoreError> {
        let path: String = sqlx::query("SELECT path FROM orgs WHERE id = $1").bind(org_id).fetch_one(self.db.pool()).await?.try_get("path")?;
        let chain: Vec<i64> = path.split('/').filter_map(|s| s.parse().ok()).collect();
        // One query for the whole chain (ids parsed from the path, so safe to inline).
        let ids = chain.iter().map(i64::to_string).collect::<Vec<_>>().join(", ");
        let staffed: Vec<i64> = sqlx::query(&format!(
            "SELECT DISTINCT r.org_id FROM user_roles r JOIN users u ON u.id = r.user_id JOIN orgs o ON o.id = r.org_id \
             WHERE r.org_id IN ({ids}) AND r.role = 'staff' AND u.status = 'active' AND o.status = 'active'"
        ))
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(|r| r.try_get("org_id"))
        .collect::<Result<_, _>>()?;
        if let Some(id) = chain.iter().rev().find(|id| staffed.contains(id)) {
            return Ok(*id);
        }
        Ok(chain.first().copied().unwrap_or(org_id))
    }

    /// 申请人工答复.
    pub async fn request(&self, who: &Principal, display_name: &str, req: NewRequest) -> Result<Consultation, CoreError> {
        let question = validate::required("handoff.question_required", "问题", &req.question, 2000)?;
        let note = validate::optional("handoff.invalid_field", "补充说明", req.note.as_deref(), 500)?;
        let category = validate::optional("handoff.invalid_field", "分类", req.category.as_deref(), 30)?;
        let Some(member_org) = self.member_org(who.user_id).await? else {
            return Err(CoreError::invalid("handoff.no_org", "您的账号未关联党组织，暂时无法申请人工答复，请联系管理员"));
        };
        if let Some(mid) = req.message_id {
            if let Some(r) = sqlx::query("SELECT id FROM consultations WHERE message_id = $1").bind(mid).fetch_optional(self.db.pool()).await? {
                let id: i64 = r.try_get("id")?;
                return Err(CoreError::Conflict { code: "handoff.already_requested", message: format!("这条回答已申请过人工答复（咨询编号 {id}）") });
            }
        }
        // A category rule names the answering organisation by code.
        let start = match category.as_deref().and_then(|c| self.settings.routes.get(c)) {
            Some(code) => match sqlx::query("SELECT id FROM orgs WHERE code = $1 AND status = 'active'").bind(code).fetch_optional(self.db.pool()).await? {
                Some(r) => r.try_get("id")?,
                None => {
                    tracing::warn!(code = %code, "handoff.routes names an unknown organisation; routing by the member's organisation");
                    member_org
                }
            },
            None => member_org,
        };
        let org_id = self.answering_org(start).await?;
        let now = Utc::now();
        let now_s = format_ts(now);
        let mut tx = self.db.pool().begin().await?;
        let id: i64 = sqlx::query(
            "INSERT INTO consultations (member_user_id, member_org_id, org_id, message_id, conversation_id, question, note, category, ai_answer, ai_sources, status, \
             member_unread, created_at, updated_at, due_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', 0, $11, $11, $12) RETURNING id",
        )
        .bind(who.user_id)
        .bind(member_org)
        .bind(org_id)
        .bind(req.message_id)
        .bind(&req.conversation_id)
        .bind(&question)
        .bind(&note)
        .bind(&category)
        .bind(&req.ai_answer)
        .bind(if req.ai_sources.is_null() { "[]".to_string() } else { req.ai_sources.to_string() })
        .bind(&now_s)
        .bind(self.due_from(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match &e {
            // Two requests for the same answer at once: the loser gets the same clear refusal.
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                CoreError::Conflict { code: "handoff.already_requested", message: "这条回答已申请过人工答复".into() }
            }
            _ => CoreError::from(e),
        })?
        .try_get("id")?;
        sqlx::query("INSERT INTO consultation_events (consultation_id, at, actor_id, actor_name, kind, to_status, org_id, body, internal) VALUES ($1, $2, $3, $4, 'requested', 'pending', $5, $6, 0)")
            .bind(id)
            .bind(&now_s)
            .bind(who.user_id)
            .bind(display_name)
            .bind(org_id)
            .bind(&note)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let c = self.load(id).await?;
        self.publish(&c);
        Ok(c)
    }

    /// Compare-and-set on the status plus the timeline entry (and, for a reply, the member's
    /// notification with its deliveries), in one transaction.
    async fn transition(&self, id: i64, t: Transition, actor: &Actor, change: Change, now: DateTime<Utc>) -> Result<Consultation, CoreError> {
        let before = self.load(id).await?;
        if change.expect_org.is_some_and(|o| o != before.org_id) {
            return Err(CoreError::Conflict { code: "handoff.moved", message: "该咨询已转到其他组织，请刷新后再试".into() });
        }
        if !t.from().contains(&before.status) {
            return Err(refusal(t, &before, change.require_claimer));
        }
        let now_s = format_ts(now);
        // Values bound in order: $1 status, $2 now, then one per extra column.
        let mut binds: Vec<Bind> = vec![Bind::Text(Some(t.to().as_str().into())), Bind::Text(Some(now_s.clone()))];
        let mut sets = vec!["status = $1".to_string(), "updated_at = $2".to_string()];
        let mut set = |col: &str, v: Bind, binds: &mut Vec<Bind>| {
            binds.push(v);
            sets.push(format!("{col} = ${}", binds.len()));
        };
        match t {
            Transition::Reply => set("reply", Bind::Text(change.reply.clone()), &mut binds),
            Transition::Rate => set("rating_comment", Bind::Text(change.rating.as_ref().and_then(|(_, c)| c.clone())), &mut binds),
            Transition::Escalate | Transition::AutoEscalate | Transition::Transfer => set("due_at", Bind::Text(Some(self.due_from(now))), &mut binds),
            _ => {}
        }
        if let Some(c) = change.claimed_by {
            set("claimed_by", Bind::Int(c), &mut binds);
        }
        if let Some(o) = change.org_id {
            set("org_id", Bind::Int(Some(o)), &mut binds);
        }
        if let Some((r, _)) = &change.rating {
            set("rating", Bind::Int(Some(*r)), &mut binds);
        }
        match t {
            Transition::Reply => {
                sets.push("answered_at = $2".into());
                sets.push("first_reply_at = COALESCE(first_reply_at, $2)".into());
                sets.push("member_unread = 1".into());
            }
            Transition::Rate | Transition::Close | Transition::AutoClose => sets.push("closed_at = $2".into()),
            _ => {}
        }
        binds.push(Bind::Int(Some(id)));
        // Pinned to what was read (status, organisation): anything that changed in between —
        // a claim, a transfer, an escalation — makes this update find no row, and the timeline
        // entry below always describes the transition that really happened.
        let mut sql = format!(
            "UPDATE consultations SET {} WHERE id = ${} AND status = '{}' AND org_id = {}",
            sets.join(", "),
            binds.len(),
            before.status.as_str(),
            before.org_id
        );
        if change.overdue_only {
            sql.push_str(" AND due_at < $2");
        }
        if let Some(c) = change.require_claimer {
            binds.push(Bind::Int(Some(c)));
            sql.push_str(&format!(" AND claimed_by = ${}", binds.len()));
        }
        let mut q = sqlx::query(&sql);
        for b in &binds {
            q = match b {
                Bind::Text(v) => q.bind(v.clone()),
                Bind::Int(v) => q.bind(*v),
            };
        }
        let mut tx = self.db.pool().begin().await?;
        let done = q.execute(&mut *tx).await?;
        if done.rows_affected() != 1 {
            drop(tx);
            let now_state = self.load(id).await?;
            return Err(refusal(t, &now_state, change.require_claimer));
        }
        let event_org = change.org_id.unwrap_or(before.org_id);
        sqlx::query(
            "INSERT INTO consultation_events (consultation_id, at, actor_id, actor_name, kind, from_status, to_status, org_id, body, internal) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(id)
        .bind(&now_s)
        .bind(actor.id)
        .bind(&actor.name)
        .bind(t.kind())
        .bind(before.status.as_str())
        .bind(t.to().as_str())
        .bind(event_org)
        .bind(&change.body)
        .bind(0i64)
        .execute(&mut *tx)
        .await?;
        let mut notification = None;
        if t == Transition::Reply {
            let body: String = change.reply.as_deref().unwrap_or_default().chars().take(80).collect();
            let n = NewNotification { user_id: before.member.user_id, consultation_id: Some(id), kind: "reply", title: "您的咨询已有人工答复", body: &body, now: &now_s };
            notification = Some(self.store_notification(&mut tx, n).await?);
        }
        tx.commit().await?;
        let after = self.load(id).await?;
        self.publish(&after);
        // Staff of the organisation it left (上报/转交) must drop it from their open queues.
        if after.org_path != before.org_path {
            self.hub.publish(HubEvent::Consultation { id, status: after.status.as_str().into(), org_id: after.org_id, org_path: before.org_path.clone(), member_user_id: after.member.user_id });
        }
        if let Some(n) = notification {
            self.hub.publish(HubEvent::Notification(n));
        }
        Ok(after)
    }

    /// Stores a notification and one pending delivery per configured channel, inside `tx`.
    async fn store_notification(&self, tx: &mut sqlx::Transaction<'_, sqlx::Any>, n: NewNotification<'_>) -> Result<Notification, CoreError> {
        let NewNotification { user_id, consultation_id, kind, title, body, now } = n;
        let id: i64 = sqlx::query("INSERT INTO notifications (user_id, consultation_id, kind, title, body, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id")
            .bind(user_id)
            .bind(consultation_id)
            .bind(kind)
            .bind(title)
            .bind(body)
            .bind(now)
            .fetch_one(&mut **tx)
            .await?
            .try_get("id")?;
        for n in &self.notifiers {
            sqlx::query("INSERT INTO notification_deliveries (notification_id, channel, status, attempts, next_attempt_at) VALUES ($1, $2, 'pending', 0, $3)")
                .bind(id)
                .bind(n.channel())
                .bind(now)
                .execute(&mut **tx)
                .await?;
        }
        Ok(Notification { id, user_id, kind: kind.into(), title: title.into(), body: body.into(), consultation_id, created_at: now.into(), read_at: None })
    }

    async fn staff_view(&self, who: &Principal, id: i64) -> Result<Consultation, CoreError> {
        let c = self.load(id).await?;
        who.require(Action::AnswerHandoff, &c.org_path)?;
        Ok(c)
    }

    /// One consultation with its timeline: the member sees their own (without internal notes,
    /// and viewing marks a reply read); staff see those in their scope, notes included.
    pub async fn detail(&self, who: &Principal, id: i64) -> Result<Consultation, CoreError> {
        let mut c = self.load(id).await?;
        let is_member = c.member.user_id == who.user_id;
        let is_staff = who.can(Action::AnswerHandoff, &c.org_path);
        if !is_member && !is_staff {
            // Not found rather than forbidden: ids of other people's consultations stay private.
            return Err(CoreError::NotFound("handoff.not_found", format!("咨询（编号 {id}）不存在")));
        }
        c.events = Some(self.events(id, is_staff && !is_member).await?);
        if is_member && c.unread {
            sqlx::query("UPDATE consultations SET member_unread = 0 WHERE id = $1").bind(id).execute(self.db.pool()).await?;
            sqlx::query("UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND consultation_id = $3 AND read_at IS NULL")
                .bind(format_ts(Utc::now()))
                .bind(who.user_id)
                .bind(id)
                .execute(self.db.pool())
                .await?;
        }
        Ok(c)
    }

    /// 我的咨询: newest first, with the number of unread replies.
    pub async fn mine(&self, who: &Principal) -> Result<(Vec<Consultation>, i64), CoreError> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM {FROM} WHERE c.member_user_id = $1 ORDER BY c.id DESC LIMIT 200")).bind(who.user_id).fetch_all(self.db.pool()).await?;
        let now = Utc::now();
        let items = rows.iter().map(|r| from_row(r, now)).collect::<Result<Vec<_>, _>>()?;
        let unread = items.iter().filter(|c| c.unread).count() as i64;
        Ok((items, unread))
    }

    /// The staff queue within the caller's subtree(s).
    pub async fn queue(&self, who: &Principal, f: &QueueFilter) -> Result<Vec<Consultation>, CoreError> {
        let roots = match f.org_id {
            Some(org) => {
                let path: String = sqlx::query("SELECT path FROM orgs WHERE id = $1")
                    .bind(org)
                    .fetch_optional(self.db.pool())
                    .await?
                    .ok_or_else(|| CoreError::invalid("handoff.invalid_org", "组织不存在"))?
                    .try_get("path")?;
                who.require(Action::AnswerHandoff, &path)?;
                vec![path]
            }
            None => who.scope(Action::AnswerHandoff),
        };
        if roots.is_empty() {
            return Err(CoreError::Forbidden);
        }
        let (clause, mut binds) = dwt_org::orgs::subtree_clause("o.path", &roots, 1);
        let mut sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE {clause}");
        match f.status.as_deref().unwrap_or("open") {
            "open" => sql.push_str(" AND c.status IN ('pending', 'escalated', 'transferred', 'claimed')"),
            "all" => {}
            s => {
                let st = Status::parse(s).ok_or_else(|| CoreError::invalid("handoff.invalid_status", format!("状态“{s}”无效")))?;
                sql.push_str(&format!(" AND c.status = '{}'", st.as_str()));
            }
        }
        if let Some(cat) = f.category.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
            binds.push(cat.to_string());
            sql.push_str(&format!(" AND c.category = ${}", binds.len()));
        }
        if f.mine {
            sql.push_str(&format!(" AND c.claimed_by = {}", who.user_id));
        }
        sql.push_str(" ORDER BY c.due_at, c.id LIMIT 500");
        let mut q = sqlx::query(&sql);
        for b in &binds {
            q = q.bind(b);
        }
        let rows = q.fetch_all(self.db.pool()).await?;
        let now = Utc::now();
        rows.iter().map(|r| from_row(r, now)).collect()
    }

    pub async fn claim(&self, who: &Principal, actor: &Actor, id: i64) -> Result<Consultation, CoreError> {
        let c = self.staff_view(who, id).await?;
        if c.member.user_id == who.user_id {
            return Err(CoreError::invalid("handoff.own_question", "不能受理自己提出的咨询"));
        }
        self.transition(id, Transition::Claim, actor, Change { claimed_by: Some(Some(who.user_id)), expect_org: Some(c.org_id), ..Default::default() }, Utc::now()).await
    }

    pub async fn release(&self, who: &Principal, actor: &Actor, id: i64) -> Result<Consultation, CoreError> {
        let c = self.staff_view(who, id).await?;
        self.transition(id, Transition::Release, actor, Change { claimed_by: Some(None), require_claimer: Some(who.user_id), expect_org: Some(c.org_id), ..Default::default() }, Utc::now()).await
    }

    pub async fn reply(&self, who: &Principal, actor: &Actor, id: i64, body: &str) -> Result<Consultation, CoreError> {
        let c = self.staff_view(who, id).await?;
        let body = validate::required("handoff.reply_required", "答复内容", body, 5000)?;
        let change = Change { reply: Some(body.clone()), body: Some(body), require_claimer: Some(who.user_id), expect_org: Some(c.org_id), ..Default::default() };
        self.transition(id, Transition::Reply, actor, change, Utc::now()).await
    }

    /// An internal note (staff only; no status change).
    pub async fn note(&self, who: &Principal, actor: &Actor, id: i64, body: &str) -> Result<Consultation, CoreError> {
        let c = self.staff_view(who, id).await?;
        let body = validate::required("handoff.note_required", "备注内容", body, 2000)?;
        sqlx::query("INSERT INTO consultation_events (consultation_id, at, actor_id, actor_name, kind, org_id, body, internal) VALUES ($1, $2, $3, $4, 'note', $5, $6, 1)")
            .bind(id)
            .bind(format_ts(Utc::now()))
            .bind(actor.id)
            .bind(&actor.name)
            .bind(c.org_id)
            .bind(&body)
            .execute(self.db.pool())
            .await?;
        self.publish(&c);
        self.load(id).await
    }

    async fn parent_of(&self, org_id: i64) -> Result<Option<i64>, CoreError> {
        Ok(sqlx::query("SELECT parent_id FROM orgs WHERE id = $1").bind(org_id).fetch_one(self.db.pool()).await?.try_get("parent_id")?)
    }

    /// 上报: to the parent organisation (the nearest ancestor with staff above it).
    pub async fn escalate(&self, who: &Principal, actor: &Actor, id: i64, note: Option<&str>) -> Result<Consultation, CoreError> {
        let c = self.staff_view(who, id).await?;
        let note = validate::optional("handoff.invalid_field", "上报说明", note, 500)?;
        let Some(parent) = self.parent_of(c.org_id).await? else {
            return Err(CoreError::invalid("handoff.no_parent", "已是最上级组织，无法继续上报"));
        };
        let target = self.answering_org(parent).await?;
        let change = Change { org_id: Some(target), claimed_by: Some(None), body: note, expect_org: Some(c.org_id), ..Default::default() };
        self.transition(id, Transition::Escalate, actor, change, Utc::now()).await
    }

    /// 转交 to another (active) organisation.
    pub async fn transfer(&self, who: &Principal, actor: &Actor, id: i64, org_id: i64, note: Option<&str>) -> Result<Consultation, CoreError> {
        let c = self.staff_view(who, id).await?;
        let note = validate::optional("handoff.invalid_field", "转交说明", note, 500)?;
        let row = sqlx::query("SELECT status FROM orgs WHERE id = $1").bind(org_id).fetch_optional(self.db.pool()).await?;
        match row {
            Some(r) if r.try_get::<String, _>("status")? == "active" => {}
            _ => return Err(CoreError::invalid("handoff.invalid_org", "转交的目标组织不存在或已撤销")),
        }
        if org_id == c.org_id {
            return Err(CoreError::invalid("handoff.invalid_org", "不能转交给当前答复组织"));
        }
        // Exactly where staff sent it: an organisation without staff of its own is still
        // answered by its ancestors' staff, whose queues include its subtree.
        let change = Change { org_id: Some(org_id), claimed_by: Some(None), body: note, expect_org: Some(c.org_id), ..Default::default() };
        self.transition(id, Transition::Transfer, actor, change, Utc::now()).await
    }

    fn require_member(who: &Principal, c: &Consultation) -> Result<(), CoreError> {
        if c.member.user_id == who.user_id {
            Ok(())
        } else {
            Err(CoreError::NotFound("handoff.not_found", format!("咨询（编号 {}）不存在", c.id)))
        }
    }

    pub async fn rate(&self, who: &Principal, actor: &Actor, id: i64, rating: i64, comment: Option<&str>) -> Result<Consultation, CoreError> {
        let c = self.load(id).await?;
        Self::require_member(who, &c)?;
        if !(1..=5).contains(&rating) {
            return Err(CoreError::invalid("handoff.invalid_rating", "评分应为 1 到 5"));
        }
        if c.status != Status::Answered {
            return Err(CoreError::invalid("handoff.not_answered", "答复之后才能评价"));
        }
        let comment = validate::optional("handoff.invalid_field", "评价", comment, 500)?;
        let change = Change { rating: Some((rating, comment.clone())), body: Some(format!("{rating} 星{}", comment.map(|c| format!("：{c}")).unwrap_or_default())), ..Default::default() };
        self.transition(id, Transition::Rate, actor, change, Utc::now()).await
    }

    pub async fn close(&self, who: &Principal, actor: &Actor, id: i64) -> Result<Consultation, CoreError> {
        let c = self.load(id).await?;
        Self::require_member(who, &c)?;
        self.transition(id, Transition::Close, actor, Change::default(), Utc::now()).await
    }

    /// SLA task: waiting items past their deadline move to the parent organisation. `now` is a
    /// parameter so tests drive the clock. Returns how many moved.
    pub async fn escalate_overdue(&self, now: DateTime<Utc>) -> Result<usize, CoreError> {
        // Items already at the top cannot move up: leave them out so they never crowd the batch.
        let rows = sqlx::query(
            "SELECT c.id, c.org_id FROM consultations c JOIN orgs o ON o.id = c.org_id \
             WHERE c.status IN ('pending', 'escalated', 'transferred') AND c.due_at < $1 AND o.parent_id IS NOT NULL ORDER BY c.due_at LIMIT 200",
        )
            .bind(format_ts(now))
            .fetch_all(self.db.pool())
            .await?;
        let mut moved = 0;
        for r in rows {
            let id: i64 = r.try_get("id")?;
            let org_id: i64 = r.try_get("org_id")?;
            let Some(parent) = self.parent_of(org_id).await? else { continue };
            let target = self.answering_org(parent).await?;
            let change = Change {
                org_id: Some(target),
                claimed_by: Some(None),
                body: Some(format!("超过 {} 小时未受理，自动上报", self.settings.sla_hours)),
                expect_org: Some(org_id),
                overdue_only: true,
                ..Default::default()
            };
            match self.transition(id, Transition::AutoEscalate, &Actor::system(), change, now).await {
                Ok(_) => moved += 1,
                // Claimed or closed meanwhile: nothing to do.
                Err(CoreError::Conflict { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(moved)
    }

    /// Closes answered items the member left alone for `auto_close_days`.
    pub async fn auto_close(&self, now: DateTime<Utc>) -> Result<usize, CoreError> {
        let cutoff = format_ts(now - chrono::Duration::days(i64::from(self.settings.auto_close_days)));
        let rows = sqlx::query("SELECT id FROM consultations WHERE status = 'answered' AND answered_at < $1 LIMIT 200").bind(cutoff).fetch_all(self.db.pool()).await?;
        let mut closed = 0;
        for r in rows {
            let change = Change { body: Some(format!("答复后 {} 天未评价，自动结束", self.settings.auto_close_days)), ..Default::default() };
            if self.transition(r.try_get("id")?, Transition::AutoClose, &Actor::system(), change, now).await.is_ok() {
                closed += 1;
            }
        }
        Ok(closed)
    }

    pub async fn notifications(&self, user_id: i64) -> Result<(Vec<Notification>, i64), CoreError> {
        let rows = sqlx::query("SELECT id, user_id, kind, title, body, consultation_id, created_at, read_at FROM notifications WHERE user_id = $1 ORDER BY id DESC LIMIT 100")
            .bind(user_id)
            .fetch_all(self.db.pool())
            .await?;
        let items = rows
            .iter()
            .map(|r| {
                Ok(Notification {
                    id: r.try_get("id")?,
                    user_id: r.try_get("user_id")?,
                    kind: r.try_get("kind")?,
                    title: r.try_get("title")?,
                    body: r.try_get("body")?,
                    consultation_id: r.try_get("consultation_id")?,
                    created_at: r.try_get("created_at")?,
                    read_at: r.try_get("read_at")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok((items, self.unread(user_id).await?))
    }

    pub async fn unread(&self, user_id: i64) -> Result<i64, CoreError> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM notifications WHERE user_id = $1 AND read_at IS NULL").bind(user_id).fetch_one(self.db.pool()).await?.try_get("n")?)
    }

    /// Marks the given notifications (all when None) read; returns the unread count left.
    pub async fn mark_read(&self, user_id: i64, ids: Option<&[i64]>) -> Result<i64, CoreError> {
        let now = format_ts(Utc::now());
        match ids {
            None => {
                sqlx::query("UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL").bind(&now).bind(user_id).execute(self.db.pool()).await?;
            }
            Some(ids) => {
                for id in ids.iter().take(500) {
                    sqlx::query("UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND id = $3 AND read_at IS NULL").bind(&now).bind(user_id).bind(*id).execute(self.db.pool()).await?;
                }
            }
        }
        self.unread(user_id).await
    }

    /// Sends due deliveries; failures retry with backoff (1, 2, 4 … 60 min), giving up after 10.
    pub async fn deliver_pending(&self, now: DateTime<Utc>) -> Result<usize, CoreError> {
        let rows = sqlx::query(
            "SELECT d.id, d.channel, d.attempts, n.id AS nid, n.user_id, n.kind, n.title, n.body, n.consultation_id, n.created_at, u.username, u.phone \
             FROM notification_deliveries d JOIN notifications n ON n.id = d.notification_id JOIN users u ON u.id = n.user_id \
             WHERE d.status IN ('pending', 'sending') AND d.next_attempt_at <= $1 ORDER BY d.id LIMIT 100",
        )
        .bind(format_ts(now))
        .fetch_all(self.db.pool())
        .await?;
        let mut sent = 0;
        for r in rows {
            let did: i64 = r.try_get("id")?;
            // Lease the row first: with several servers only one sends it; a crash mid-send
            // lets the lease run out and the next run retries (at-least-once).
            let leased = sqlx::query("UPDATE notification_deliveries SET status = 'sending', next_attempt_at = $1 WHERE id = $2 AND status IN ('pending', 'sending') AND next_attempt_at <= $3")
                .bind(format_ts(now + chrono::Duration::minutes(5)))
                .bind(did)
                .bind(format_ts(now))
                .execute(self.db.pool())
                .await?;
            if leased.rows_affected() != 1 {
                continue;
            }
            let channel: String = r.try_get("channel")?;
            let attempts: i64 = r.try_get("attempts")?;
            let n = Notification {
                id: r.try_get("nid")?,
                user_id: r.try_get("user_id")?,
                kind: r.try_get("kind")?,
                title: r.try_get("title")?,
                body: r.try_get("body")?,
                consultation_id: r.try_get("consultation_id")?,
                created_at: r.try_get("created_at")?,
                read_at: None,
            };
            let to = notify::Recipient { user_id: n.user_id, username: r.try_get("username")?, phone: r.try_get("phone")? };
            let result = match self.notifiers.iter().find(|x| x.channel() == channel) {
                Some(notifier) => notifier.deliver(&to, &n).await,
                None => Err(format!("channel {channel} is not configured")),
            };
            match result {
                Ok(()) => {
                    sqlx::query("UPDATE notification_deliveries SET status = 'sent', attempts = attempts + 1, sent_at = $1 WHERE id = $2").bind(format_ts(now)).bind(did).execute(self.db.pool()).await?;
                    sent += 1;
                }
                Err(e) => {
                    let next = format_ts(now + chrono::Duration::minutes((1i64 << attempts.min(6)).min(60)));
                    let status = if attempts + 1 >= 10 { "failed" } else { "pending" };
                    tracing::warn!(delivery = did, channel = %channel, error = %e, "notification delivery failed");
                    sqlx::query("UPDATE notification_deliveries SET status = $1, attempts = attempts + 1, last_error = $2, next_attempt_at = $3 WHERE id = $4")
                        .bind(status)
                        .bind(e)
                        .bind(next)
                        .bind(did)
                        .execute(self.db.pool())
                        .await?;
                }
            }
        }
        Ok(sent)
    }

    /// 采纳为常用问答: a proposal waiting for an administrator.
    pub async fn promote(&self, who: &Principal, actor: &Actor, id: i64, question: &str, answer: &str, category: Option<&str>) -> Result<Proposal, CoreError> {
        let c = self.staff_view(who, id).await?;
        if c.reply.is_none() {
            return Err(CoreError::invalid("handoff.not_answered", "答复之后才能采纳为常用问答"));
        }
        let question = validate::required("handoff.invalid_field", "问题", question, 500)?;
        let answer = validate::required("handoff.invalid_field", "答案", answer, 5000)?;
        let category = validate::optional("handoff.invalid_field", "分类", category, 30)?;
        let pid: i64 = sqlx::query(
            "INSERT INTO qa_proposals (consultation_id, question, answer, category, org_id, proposed_by, proposed_by_name, status, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8) RETURNING id",
        )
        .bind(id)
        .bind(&question)
        .bind(&answer)
        .bind(&category)
        .bind(c.org_id)
        .bind(actor.id)
        .bind(&actor.name)
        .bind(format_ts(Utc::now()))
        .fetch_one(self.db.pool())
        .await?
        .try_get("id")?;
        self.proposal(pid).await
    }

    async fn proposal(&self, id: i64) -> Result<Proposal, CoreError> {
        let row = sqlx::query(&format!("SELECT {PROPOSAL_COLUMNS} FROM qa_proposals p JOIN orgs o ON o.id = p.org_id WHERE p.id = $1"))
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?
            .ok_or_else(|| CoreError::NotFound("handoff.proposal_not_found", format!("待审核问答（编号 {id}）不存在")))?;
        Ok(proposal_from_row(&row)?)
    }

    /// Proposals within the caller's `QaManage` scope.
    pub async fn proposals(&self, who: &Principal, status: Option<&str>) -> Result<Vec<Proposal>, CoreError> {
        let roots = who.scope(Action::QaManage);
        if roots.is_empty() {
            return Err(CoreError::Forbidden);
        }
        let (clause, binds) = dwt_org::orgs::subtree_clause("o.path", &roots, 1);
        let mut sql = format!("SELECT {PROPOSAL_COLUMNS} FROM qa_proposals p JOIN orgs o ON o.id = p.org_id WHERE {clause}");
        match status.unwrap_or("pending") {
            "all" => {}
            s @ ("pending" | "approved" | "rejected") => sql.push_str(&format!(" AND p.status = '{s}'")),
            s => return Err(CoreError::invalid("handoff.invalid_status", format!("状态“{s}”无效"))),
        }
        sql.push_str(" ORDER BY p.id DESC LIMIT 500");
        let mut q = sqlx::query(&sql);
        for b in &binds {
            q = q.bind(b);
        }
        let rows = q.fetch_all(self.db.pool()).await?;
        Ok(rows.iter().map(proposal_from_row).collect::<Result<_, _>>()?)
    }

    /// First half of an approval: checks rights, then moves the proposal `pending → approving`
    /// (only one of two simultaneous approvals gets it). The caller writes the Q&A pair and calls
    /// [`Handoff::finish_approval`], or [`Handoff::abort_approval`] when that fails; after a
    /// crash in between, the `approving` lease runs out after 5 minutes and it can be approved again.
    pub async fn begin_approval(&self, who: &Principal, id: i64) -> Result<Proposal, CoreError> {
        let p = self.proposal(id).await?;
        who.require(Action::QaManage, &p.org_path)?;
        let now = Utc::now();
        let taken = sqlx::query(
            "UPDATE qa_proposals SET status = 'approving', reviewed_by = $1, reviewed_at = $2 \
             WHERE id = $3 AND (status = 'pending' OR (status = 'approving' AND reviewed_at < $4))",
        )
        .bind(who.user_id)
        .bind(format_ts(now))
        .bind(id)
        .bind(format_ts(now - chrono::Duration::minutes(5)))
        .execute(self.db.pool())
        .await?;
        if taken.rows_affected() != 1 {
            return Err(CoreError::Conflict { code: "handoff.proposal_reviewed", message: "该问答已审核过或正在审核".into() });
        }
        Ok(p)
    }

    pub async fn abort_approval(&self, id: i64) -> Result<(), CoreError> {
        sqlx::query("UPDATE qa_proposals SET status = 'pending' WHERE id = $1 AND status = 'approving'").bind(id).execute(self.db.pool()).await?;
        Ok(())
    }

    pub async fn finish_approval(&self, who: &Principal, id: i64, qa_id: i64) -> Result<Proposal, CoreError> {
        sqlx::query("UPDATE qa_proposals SET status = 'approved', qa_id = $1, reviewed_by = $2, reviewed_at = $3 WHERE id = $4 AND status = 'approving'")
            .bind(qa_id)
            .bind(who.user_id)
            .bind(format_ts(Utc::now()))
            .bind(id)
            .execute(self.db.pool())
            .await?;
        self.proposal(id).await
    }

    pub async fn reject(&self, who: &Principal, id: i64, reason: Option<&str>) -> Result<Proposal, CoreError> {
        let p = self.proposal(id).await?;
        who.require(Action::QaManage, &p.org_path)?;
        let reason = validate::optional("handoff.invalid_field", "原因", reason, 500)?;
        let done = sqlx::query("UPDATE qa_proposals SET status = 'rejected', review_note = $1, reviewed_by = $2, reviewed_at = $3 WHERE id = $4 AND status = 'pending'")
            .bind(reason)
            .bind(who.user_id)
            .bind(format_ts(Utc::now()))
            .bind(p.id)
            .execute(self.db.pool())
            .await?;
        if done.rows_affected() != 1 {
            return Err(CoreError::Conflict { code: "handoff.proposal_reviewed", message: "该问答已审核过或正在审核".into() });
        }
        self.proposal(id).await
    }

    pub fn db(&self) -> &Db {
        &self.db
    }
}

const PROPOSAL_COLUMNS: &str = "p.id, p.question, p.answer, p.category, p.consultation_id, p.proposed_by_name, p.org_id, o.name AS org_name, o.path AS org_path, p.status, p.qa_id, p.created_at";

fn proposal_from_row(r: &AnyRow) -> Result<Proposal, sqlx::Error> {
    Ok(Proposal {
        id: r.try_get("id")?,
        question: r.try_get("question")?,
        answer: r.try_get("answer")?,
        category: r.try_get("category")?,
        consultation_id: r.try_get("consultation_id")?,
        proposed_by: r.try_get("proposed_by_name")?,
        org_id: r.try_get("org_id")?,
        org_name: r.try_get("org_name")?,
        org_path: r.try_get("org_path")?,
        status: r.try_get("status")?,
        qa_id: r.try_get("qa_id")?,
        created_at: r.try_get("created_at")?,
    })
}

/// Why a transition found the consultation in another state, in words for the user.
fn refusal(t: Transition, now: &Consultation, claimer: Option<i64>) -> CoreError {
    match (t, now.status, &now.claimed_by) {
        (Transition::Claim, Status::Claimed, Some(by)) => {
            CoreError::Conflict { code: "handoff.already_claimed", message: format!("已由 {} 受理", by.display_name) }
        }
        (_, Status::Claimed, Some(by)) if claimer.is_some_and(|c| c != by.user_id) => {
            CoreError::Conflict { code: "handoff.not_claimed_by_you", message: format!("该咨询由 {} 受理，只有受理人可以操作", by.display_name) }
        }
        _ => CoreError::Conflict { code: "handoff.invalid_state", message: format!("该咨询当前为“{}”，不能{}", now.status.label(), state::kind_label(t.kind())) },
    }
}
