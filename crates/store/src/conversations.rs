//! Conversations, messages and feedback.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::{Row, SqlitePool};

use crate::StoreError;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MessageRow {
    pub id: i64,
    pub conversation_id: String,
    pub role: String,
    pub content: String,
    pub standalone: Option<String>,
    pub mode: Option<String>,
    pub confidence: Option<f64>,
    pub handoff_suggested: bool,
    /// JSON array of the sources shown with an assistant answer.
    pub sources: serde_json::Value,
    pub notice: Option<String>,
    pub created_at: String,
}

/// A rated answer for the feedback review.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FeedbackItem {
    pub message_id: i64,
    pub rating: String,
    pub comment: String,
    pub created_at: String,
    pub question: String,
    pub answer: String,
    pub mode: Option<String>,
    pub confidence: Option<f64>,
    /// The sources shown with the answer (chunk_id, doc_id, article … for "open the chunk").
    pub sources: serde_json::Value,
    /// The asker's organisation path (None: anonymous); for scoping, not shown.
    #[serde(skip)]
    pub org_path: Option<String>,
}

/// What an assistant turn stores beside its text.
#[derive(Debug, Clone, Default)]
pub struct AssistantTurn {
    pub content: String,
    pub mode: String,
    pub confidence: f64,
    pub handoff_suggested: bool,
    pub sources: serde_json::Value,
    pub notice: Option<String>,
}

/// Who is asking: the logged-in user and/or the anonymous asker token of this browser (an
/// HttpOnly cookie). A conversation belongs to the asker who started it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Asker {
    pub user_id: Option<i64>,
    pub anon_token: Option<String>,
}

impl Asker {
    /// A new anonymous asker token (256 random bits, hex).
    pub fn new_token() -> String {
        hex::encode(rand::random::<[u8; 32]>())
    }

    fn user_key(&self) -> Option<String> {
        self.user_id.map(|id| format!("user:{id}"))
    }

    /// The token is stored hashed: the database alone does not let anyone act as the asker.
    fn anon_key(&self) -> Option<String> {
        self.anon_token.as_deref().filter(|t| !t.is_empty()).map(|t| format!("anon:{}", hex::encode(Sha256::digest(t.as_bytes()))))
    }

    /// The owner recorded for a conversation this asker starts (the account when logged in).
    pub fn owner_key(&self) -> Option<String> {
        self.user_key().or_else(|| self.anon_key())
    }

    /// May this asker read, continue and rate a conversation of `owner`? Conversations started
    /// before owners were recorded (None) stay reachable by their id.
    pub fn owns(&self, owner: Option<&str>) -> bool {
        match owner {
            None => true,
            Some(o) => self.user_key().as_deref() == Some(o) || self.anon_key().as_deref() == Some(o),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ConversationStore {
    pool: SqlitePool,
}

fn new_id() -> String {
    let bytes: [u8; 16] = rand::random();
    hex::encode(bytes)
}

impl ConversationStore {
    pub fn new(pool: SqlitePool) -> Self {
        Self { pool }
    }

    /// Returns `id` when that conversation exists, or a new conversation's id when `id` is None.
    /// An unknown id is an error so that a client cannot append to someone else's guess.
    /// Continues conversation `id`, or starts one (titled by the first question) for an asker of
    /// organisation `org_path` (None: anonymous).
    /// Someone else's conversation is as unknown as a missing one.
    pub async fn open_or_create(&self, id: Option<&str>, title: &str, org_path: Option<&str>, asker: &Asker) -> Result<Option<String>, StoreError> {
        match id {
            Some(id) => Ok(self.accessible(id, asker).await?.then(|| id.to_string())),
            None => {
                let id = new_id();
                let title: String = title.chars().take(40).collect();
                sqlx::query("INSERT INTO conversations (id, title, org_path, owner) VALUES (?, ?, ?, ?)")
                    .bind(&id)
                    .bind(title)
                    .bind(org_path)
                    .bind(asker.owner_key())
                    .execute(&self.pool)
                    .await?;
                Ok(Some(id))
            }
        }
    }

    /// The conversation exists and `asker` may read and continue it.
    pub async fn accessible(&self, conversation_id: &str, asker: &Asker) -> Result<bool, StoreError> {
        let owner: Option<Option<String>> = sqlx::query_scalar("SELECT owner FROM conversations WHERE id = ?").bind(conversation_id).fetch_optional(&self.pool).await?;
        Ok(owner.is_some_and(|o| asker.owns(o.as_deref())))
    }

    /// Messages of a conversation `asker` may read; None when it is missing or someone else's.
    pub async fn messages_for(&self, conversation_id: &str, asker: &Asker) -> Result<Option<Vec<MessageRow>>, StoreError> {
        if !self.accessible(conversation_id, asker).await? {
            return Ok(None);
        }
        self.messages(conversation_id).await
    }

    pub async fn add_user_message(&self, conversation_id: &str, content: &str, standalone: &str) -> Result<i64, StoreError> {
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO messages (conversation_id, role, content, standalone) VALUES (?, 'user', ?, ?) RETURNING id",
        )
        .bind(conversation_id)
        .bind(content)
        .bind(standalone)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("UPDATE conversations SET updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?")
            .bind(conversation_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Replaces a user message's standalone form once a follow-up has been rewritten.
    pub async fn set_standalone(&self, message_id: i64, standalone: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE messages SET standalone = ? WHERE id = ? AND role = 'user'").bind(standalone).bind(message_id).execute(&self.pool).await?;
        Ok(())
    }

    /// Reserves the assistant message id before streaming starts (so the client can refer to it),
    /// then [`Self::finish_assistant_message`] fills it in one statement when the answer is complete.
    pub async fn start_assistant_message(&self, conversation_id: &str) -> Result<i64, StoreError> {
        let id: i64 = sqlx::query_scalar("INSERT INTO messages (conversation_id, role, content) VALUES (?, 'assistant', '') RETURNING id")
            .bind(conversation_id)
            .fetch_one(&self.pool)
            .await?;
        Ok(id)
    }

    pub async fn finish_assistant_message(&self, message_id: i64, turn: &AssistantTurn) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE messages SET content = ?, mode = ?, confidence = ?, handoff_suggested = ?, sources_json = ?, notice = ? WHERE id = ?",
        )
        .bind(&turn.content)
        .bind(&turn.mode)
        .bind(turn.confidence)
        .bind(turn.handoff_suggested)
        .bind(turn.sources.to_string())
        .bind(&turn.notice)
        .bind(message_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn exists(&self, conversation_id: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 FROM conversations WHERE id = ?").bind(conversation_id).fetch_optional(&self.pool).await?;
        Ok(row.is_some())
    }

    /// Messages of a conversation, oldest first; `None` when the conversation does not exist.
    pub async fn messages(&self, conversation_id: &str) -> Result<Option<Vec<MessageRow>>, StoreError> {
        if !self.exists(conversation_id).await? {
            return Ok(None);
        }
        let rows = sqlx::query(
            "SELECT id, conversation_id, role, content, standalone, mode, confidence, handoff_suggested, sources_json, notice, created_at
             FROM messages WHERE conversation_id = ? ORDER BY id",
        )
        .bind(conversation_id)
        .fetch_all(&self.pool)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let sources: String = r.get("sources_json");
            out.push(MessageRow {
                id: r.get("id"),
                conversation_id: r.get("conversation_id"),
                role: r.get("role"),
                content: r.get("content"),
                standalone: r.get("standalone"),
                mode: r.get("mode"),
                confidence: r.get("confidence"),
                handoff_suggested: r.get::<i64, _>("handoff_suggested") != 0,
                sources: serde_json::from_str(&sources).map_err(|e| StoreError::Corrupt(format!("messages.sources_json: {e}")))?,
                notice: r.get("notice"),
                created_at: r.get("created_at"),
            });
        }
        Ok(Some(out))
    }

    /// Records (or replaces) the asker's vote on an assistant message of their own conversation:
    /// one vote per answer, by the one who asked. False when there is no such assistant message
    /// or it answered someone else.
    pub async fn set_feedback(&self, message_id: i64, up: bool, comment: &str, asker: &Asker) -> Result<bool, StoreError> {
        let owner: Option<Option<String>> = sqlx::query_scalar(
            "SELECT c.owner FROM messages m JOIN conversations c ON c.id = m.conversation_id WHERE m.id = ? AND m.role = 'assistant'",
        )
        .bind(message_id)
        .fetch_optional(&self.pool)
        .await?;
        if !owner.is_some_and(|o| asker.owns(o.as_deref())) {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO feedback (message_id, rating, comment) VALUES (?, ?, ?)
             ON CONFLICT(message_id) DO UPDATE SET rating = excluded.rating, comment = excluded.comment,
             created_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        )
        .bind(message_id)
        .bind(if up { "up" } else { "down" })
        .bind(comment)
        .execute(&self.pool)
        .await?;
        Ok(true)
    }

    /// An assistant message with the member's question it answered (the user turn just before
    /// it): `(question, answer)`; None when there is no such assistant message.
    pub async fn answer_with_question(&self, message_id: i64) -> Result<Option<(String, MessageRow)>, StoreError> {
        let row = sqlx::query("SELECT conversation_id FROM messages WHERE id = ? AND role = 'assistant'").bind(message_id).fetch_optional(&self.pool).await?;
        let Some(row) = row else { return Ok(None) };
        let conversation: String = row.get(0);
        let messages = self.messages(&conversation).await?.unwrap_or_default();
        let Some(pos) = messages.iter().position(|m| m.id == message_id) else { return Ok(None) };
        let question = messages[..pos].iter().rev().find(|m| m.role == "user").map(|m| m.content.clone()).unwrap_or_default();
        Ok(Some((question, messages[pos].clone())))
    }

    /// Rated answers, newest first, with the question each answered (`rating`: up / down / all).
    /// Rated answers, newest first. `roots`: only conversations of askers in these organisation
    /// subtrees (materialised paths); None: all, anonymous ones included.
    pub async fn feedback_list(&self, rating: Option<&str>, limit: i64, roots: Option<&[String]>) -> Result<Vec<FeedbackItem>, StoreError> {
        let (scope, binds) = match roots {
            None => ("1 = 1".to_string(), Vec::new()),
            Some([]) => ("1 = 0".to_string(), Vec::new()),
            Some(roots) => {
                let parts: Vec<&str> = roots.iter().map(|_| "substr(c.org_path, 1, length(?)) = ?").collect();
                (format!("({})", parts.join(" OR ")), roots.iter().flat_map(|r| [r.clone(), r.clone()]).collect())
            }
        };
        let sql = format!(
            "SELECT f.message_id, f.rating, f.comment, f.created_at, m.content, m.mode, m.confidence, m.sources_json,
                    (SELECT u.content FROM messages u WHERE u.conversation_id = m.conversation_id AND u.role = 'user' AND u.id < m.id
                     ORDER BY u.id DESC LIMIT 1) AS question, c.org_path
             FROM feedback f JOIN messages m ON m.id = f.message_id JOIN conversations c ON c.id = m.conversation_id
             WHERE (? IS NULL OR f.rating = ?) AND {scope} ORDER BY f.created_at DESC, f.id DESC LIMIT ?"
        );
        let mut q = sqlx::query(&sql).bind(rating).bind(rating);
        for b in &binds {
            q = q.bind(b);
        }
        let rows = q.bind(limit).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                let sources: String = r.try_get(7)?;
                Ok(FeedbackItem {
                    message_id: r.try_get(0)?,
                    rating: r.try_get(1)?,
                    comment: r.try_get(2)?,
                    created_at: r.try_get(3)?,
                    answer: r.try_get(4)?,
                    mode: r.try_get(5)?,
                    confidence: r.try_get(6)?,
                    sources: serde_json::from_str(&sources).unwrap_or_default(),
                    question: r.try_get::<Option<String>, _>(8)?.unwrap_or_default(),
                    org_path: r.try_get(9)?,
                })
            })
            .collect()
    }

    pub async fn feedback_of(&self, message_id: i64) -> Result<Option<(String, String)>, StoreError> {
        let row = sqlx::query("SELECT rating, comment FROM feedback WHERE message_id = ?").bind(message_id).fetch_optional(&self.pool).await?;
        Ok(row.map(|r| (r.get(0), r.get(1))))
    }
}
