//! Curating Q&A pairs one at a time: create, edit (version-guarded), change status along the
//! review workflow, list with filters, version history and rollback, duplicate checks. Each
//! change is one transaction with its version snapshot.

use serde::{Deserialize, Serialize};
use sqlx::{Row, Sqlite, Transaction};

use crate::refuse;
use crate::qa::{to_pair, SELECT};
use crate::{NewQaPair, QaPair, QaStore, StoreError};

pub const QA_STATUSES: [&str; 4] = ["draft", "pending", "published", "retired"];

/// What an editor submits: the pair as an importer writes it, plus its effective dates.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QaInput {
    #[serde(flatten)]
    pub pair: NewQaPair,
    #[serde(default)]
    pub effective_from: Option<String>,
    #[serde(default)]
    pub effective_to: Option<String>,
    /// The pair's org scope (None: the whole system). Who may set which scope is the caller's
    /// business (the server checks it against the curator's rights).
    #[serde(default)]
    pub org_id: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QaVersion {
    pub version: i64,
    pub action: String,
    pub pair: QaPair,
    pub editor: String,
    pub created_at: String,
}

#[derive(Debug, Clone, Default)]
pub struct QaFilter {
    /// Words in the question, similar phrasings or answer.
    pub q: Option<String>,
    pub category: Option<String>,
    pub status: Option<String>,
    /// Only pairs of this scope: `Some(None)` system-wide ones, `Some(Some(org))` one organisation's.
    pub org: Option<Option<i64>>,
    /// Updated on or after / before this Beijing date (YYYY-MM-DD, inclusive).
    pub updated_from: Option<String>,
    pub updated_to: Option<String>,
}

/// Question text for duplicate checks: no spaces or punctuation, half-width, lower case.
pub fn normalize_question(q: &str) -> String {
    q.chars()
        .map(|c| match c {
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            _ => c,
        })
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn valid_date(d: &str) -> bool {
    chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok()
}

/// A YYYY-MM-DD date or nothing (empty); errors name the field (`label`) in Chinese.
fn optional_date(d: &Option<String>, label: &str) -> Result<Option<String>, StoreError> {
    match d.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        None => Ok(None),
        Some(d) if valid_date(d) => Ok(Some(d.to_string())),
        Some(d) => Err(refuse("qa.bad_date", format!("{label}格式应为 YYYY-MM-DD：{d}"))),
    }
}

/// Checks and tidies an input; errors name the field in Chinese.
fn clean(input: &QaInput) -> Result<QaInput, StoreError> {
    let question = input.pair.question.trim().to_string();
    let answer = input.pair.answer.trim().to_string();
    if question.is_empty() {
        return Err(refuse("qa.question_required", "请填写标准问题"));
    }
    if question.chars().count() > 200 {
        return Err(refuse("qa.question_too_long", "标准问题请控制在 200 字以内"));
    }
    if answer.is_empty() {
        return Err(refuse("qa.answer_required", "请填写答案"));
    }
    let effective_from = optional_date(&input.effective_from, "生效日期")?;
    let effective_to = optional_date(&input.effective_to, "失效日期")?;
    if let (Some(a), Some(b)) = (&effective_from, &effective_to) {
        if a > b {
            return Err(refuse("qa.bad_date", "失效日期不能早于生效日期"));
        }
    }
    let mut similar: Vec<String> = Vec::new();
    for s in input.pair.similar.iter().map(|s| s.trim()).filter(|s| !s.is_empty() && *s != question) {
        if !similar.iter().any(|x| x == s) {
            similar.push(s.to_string());
        }
    }
    Ok(QaInput {
        pair: NewQaPair {
            question,
            similar,
            answer,
            category: input.pair.category.trim().to_string(),
            source_refs: input.pair.source_refs.iter().filter(|r| !r.doc.trim().is_empty()).cloned().collect(),
        },
        effective_from,
        effective_to,
        org_id: input.org_id,
    })
}

pub(crate) async fn load(tx: &mut Transaction<'_, Sqlite>, id: i64) -> Result<QaPair, StoreError> {
    let row = sqlx::query(&format!("{SELECT} WHERE id = ?")).bind(id).fetch_optional(&mut **tx).await?;
    row.as_ref().map(to_pair).transpose()?.ok_or_else(|| refuse("qa.not_found", format!("常用问答 {id} 不存在")))
}

pub(crate) async fn snapshot(tx: &mut Transaction<'_, Sqlite>, p: &QaPair, action: &str, editor: &str) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO qa_versions (pair_id, version, action, snapshot, editor) VALUES (?, ?, ?, ?, ?) ON CONFLICT(pair_id, version) DO NOTHING")
        .bind(p.id)
        .bind(p.version)
        .bind(action)
        .bind(serde_json::to_string(p).unwrap_or_default())
        .bind(editor)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Another pair of the same scope (not `except`) whose question or phrasings normalise to the
/// same text. Other scopes may word a question the same way: an organisation's own answer.
async fn exact_duplicate(tx: &mut Transaction<'_, Sqlite>, input: &QaInput, except: Option<i64>) -> Result<Option<QaPair>, StoreError> {
    let mine: Vec<String> = std::iter::once(&input.pair.question).chain(&input.pair.similar).map(|q| normalize_question(q)).collect();
    let rows = sqlx::query(&format!("{SELECT} WHERE status <> 'retired'")).fetch_all(&mut **tx).await?;
    for r in &rows {
        let p = to_pair(r)?;
        if Some(p.id) == except || p.org_id != input.org_id {
            continue;
        }
        if std::iter::once(&p.question).chain(&p.similar).any(|q| mine.contains(&normalize_question(q))) {
            return Ok(Some(p));
        }
    }
    Ok(None)
}

/// The duplicate refusal (always a pair of the same scope, which its editor may see).
fn duplicate_of(d: &QaPair) -> StoreError {
    refuse("qa.duplicate", format!("与已有问答重复：{}（编号 {}）", d.question, d.id))
}

async fn write(tx: &mut Transaction<'_, Sqlite>, id: i64, i: &QaInput, status: &str, version: i64, editor: &str) -> Result<(), StoreError> {
    let r = sqlx::query(
        "UPDATE qa_pairs SET question = ?, similar_json = ?, answer = ?, category = ?, source_refs_json = ?, effective_from = ?, effective_to = ?,
             status = ?, version = ?, content_hash = ?, updated_by = ?, org_id = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?",
    )
    .bind(&i.pair.question)
    .bind(serde_json::to_string(&i.pair.similar).unwrap_or_else(|_| "[]".into()))
    .bind(&i.pair.answer)
    .bind(&i.pair.category)
    .bind(serde_json::to_string(&i.pair.source_refs).unwrap_or_else(|_| "[]".into()))
    .bind(&i.effective_from)
    .bind(&i.effective_to)
    .bind(status)
    .bind(version)
    .bind(i.pair.content_hash())
    .bind(editor)
    .bind(i.org_id)
    .bind(id)
    .execute(&mut **tx)
    .await;
    match r {
        Ok(_) => Ok(()),
        Err(sqlx::Error::Database(d)) if d.is_unique_violation() => Err(refuse("qa.duplicate", format!("已有相同的标准问题：{}", i.pair.question))),
        Err(e) => Err(e.into()),
    }
}

fn input_of(p: &QaPair) -> QaInput {
    QaInput {
        pair: NewQaPair {
            question: p.question.clone(),
            similar: p.similar.clone(),
            answer: p.answer.clone(),
            category: p.category.clone(),
            source_refs: p.source_refs.clone(),
        },
        effective_from: p.effective_from.clone(),
        effective_to: p.effective_to.clone(),
        org_id: p.org_id,
    }
}

impl QaStore {
    /// Pairs matching the filter, most recently updated first.
    pub async fn list(&self, f: &QaFilter) -> Result<Vec<QaPair>, StoreError> {
        let q = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()).map(|q| format!("%{}%", q.replace(['%', '_'], "")));
        let rows = sqlx::query(&format!(
            "{SELECT} WHERE (?1 IS NULL OR question LIKE ?1 OR similar_json LIKE ?1 OR answer LIKE ?1)
               AND (?2 IS NULL OR category = ?2) AND (?3 IS NULL OR status = ?3) ORDER BY updated_at DESC, id DESC"
        ))
        .bind(q)
        .bind(f.category.as_deref().filter(|c| !c.is_empty()))
        .bind(f.status.as_deref().filter(|s| !s.is_empty()))
        .fetch_all(self.pool())
        .await?;
        let pairs: Result<Vec<QaPair>, StoreError> = rows.iter().map(to_pair).collect();
        let (from, to) = (optional_date(&f.updated_from, "更新起始日期")?, optional_date(&f.updated_to, "更新截止日期")?);
        // updated_at is UTC; the filter is by Beijing date.
        let beijing_day = |ts: &str| {
            chrono::DateTime::parse_from_rfc3339(ts)
                .map(|t| (t + chrono::Duration::hours(8)).format("%Y-%m-%d").to_string())
                .unwrap_or_else(|_| ts.chars().take(10).collect())
        };
        Ok(pairs?
            .into_iter()
            .filter(|p| f.org.is_none_or(|o| p.org_id == o))
            .filter(|p| {
                let d = beijing_day(&p.updated_at);
                from.as_ref().is_none_or(|f| &d >= f) && to.as_ref().is_none_or(|t| &d <= t)
            })
            .collect())
    }

    /// Creates a pair (draft, pending or published). The same question, or a phrasing equal to
    /// another pair's after normalisation, is refused as a duplicate.
    pub async fn create(&self, input: &QaInput, status: &str, editor: &str) -> Result<QaPair, StoreError> {
        if !QA_STATUSES.contains(&status) {
            return Err(refuse("qa.bad_status", format!("状态无效：{status}")));
        }
        let i = clean(input)?;
        let mut tx = crate::begin_immediate(self.pool()).await?;
        if let Some(d) = exact_duplicate(&mut tx, &i, None).await? {
            return Err(duplicate_of(&d));
        }
        let id: i64 = sqlx::query_scalar("INSERT INTO qa_pairs (question, answer, content_hash, status, org_id) VALUES (?, '', '', 'draft', ?) RETURNING id")
            .bind(&i.pair.question)
            .bind(i.org_id)
            .fetch_one(&mut *tx)
            .await?;
        write(&mut tx, id, &i, status, 1, editor).await?;
        let p = load(&mut tx, id).await?;
        snapshot(&mut tx, &p, "create", editor).await?;
        tx.commit().await?;
        Ok(p)
    }

    /// Edits content (status unchanged). `expected_version` guards against lost updates.
    pub async fn update(&self, id: i64, expected_version: Option<i64>, input: &QaInput, editor: &str) -> Result<QaPair, StoreError> {
        let i = clean(input)?;
        let mut tx = crate::begin_immediate(self.pool()).await?;
        let before = load(&mut tx, id).await?;
        if let Some(v) = expected_version.filter(|v| *v != before.version) {
            return Err(refuse("qa.version_conflict", format!("该问答已被他人修改（当前版本 {}，您编辑的是版本 {v}），请刷新后重试", before.version)));
        }
        if input_of(&before) == i {
            return Ok(before);
        }
        if let Some(d) = exact_duplicate(&mut tx, &i, Some(id)).await? {
            return Err(duplicate_of(&d));
        }
        snapshot(&mut tx, &before, "original", "").await?;
        write(&mut tx, id, &i, &before.status, before.version + 1, editor).await?;
        let p = load(&mut tx, id).await?;
        snapshot(&mut tx, &p, "edit", editor).await?;
        tx.commit().await?;
        Ok(p)
    }

    /// Moves a pair along the workflow (any of draft / pending / published / retired).
    pub async fn transition(&self, id: i64, status: &str, editor: &str) -> Result<QaPair, StoreError> {
        if !QA_STATUSES.contains(&status) {
            return Err(refuse("qa.bad_status", format!("状态无效：{status}（可选 draft、pending、published、retired）")));
        }
        let mut tx = crate::begin_immediate(self.pool()).await?;
        let before = load(&mut tx, id).await?;
        if before.status == status {
            return Ok(before);
        }
        snapshot(&mut tx, &before, "original", "").await?;
        write(&mut tx, id, &input_of(&before), status, before.version + 1, editor).await?;
        let p = load(&mut tx, id).await?;
        snapshot(&mut tx, &p, "status", editor).await?;
        tx.commit().await?;
        Ok(p)
    }

    pub async fn versions(&self, id: i64) -> Result<Vec<QaVersion>, StoreError> {
        let rows = sqlx::query("SELECT version, action, snapshot, editor, created_at FROM qa_versions WHERE pair_id = ? ORDER BY version DESC")
            .bind(id)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                let snap: String = r.try_get(2)?;
                Ok(QaVersion {
                    version: r.try_get(0)?,
                    action: r.try_get(1)?,
                    pair: serde_json::from_str(&snap).map_err(|e| StoreError::Corrupt(format!("qa_versions.snapshot: {e}")))?,
                    editor: r.try_get(3)?,
                    created_at: r.try_get(4)?,
                })
            })
            .collect()
    }

    /// Restores the content of an earlier version (status stays as it is) as a new version.
    pub async fn rollback(&self, id: i64, version: i64, editor: &str) -> Result<QaPair, StoreError> {
        let target = self.versions(id).await?.into_iter().find(|v| v.version == version);
        let Some(target) = target else { return Err(refuse("qa.version_not_found", format!("常用问答 {id} 没有版本 {version}"))) };
        let mut tx = crate::begin_immediate(self.pool()).await?;
        let before = load(&mut tx, id).await?;
        // Content only: the scope stays as it is now.
        let i = QaInput { org_id: before.org_id, ..input_of(&target.pair) };
        if let Some(d) = exact_duplicate(&mut tx, &i, Some(id)).await? {
            return Err(refuse("qa.duplicate", format!("回滚后的问题与已有问答重复：{}（编号 {}）", d.question, d.id)));
        }
        write(&mut tx, id, &i, &before.status, before.version + 1, editor).await?;
        let p = load(&mut tx, id).await?;
        snapshot(&mut tx, &p, "rollback", editor).await?;
        tx.commit().await?;
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::KnowledgeStore;

    fn input(q: &str, a: &str) -> QaInput {
        QaInput { pair: NewQaPair { question: q.into(), answer: a.into(), category: "党员发展".into(), ..NewQaPair::default() }, ..QaInput::default() }
    }

    #[test]
    fn audience_sees_system_pairs_and_its_own_ancestors_only() {
        let a = crate::Audience::new(["/1/5/9/".to_string()]);
        assert_eq!(a.specificity(None), Some(0));
        assert_eq!((a.specificity(Some(1)), a.specificity(Some(5)), a.specificity(Some(9))), (Some(1), Some(2), Some(3)));
        // A sibling, a descendant, or an id that only shares digits is not visible.
        for other in [7, 19, 95, 59] {
            assert!(!a.sees(Some(other)), "{other}");
        }
        assert!(crate::Audience::anonymous().sees(None));
        assert!(!crate::Audience::anonymous().sees(Some(1)));
    }

    #[tokio::test]
    async fn org_scope_is_saved_filtered_and_kept_on_rollback() {
        let dir = tempfile::tempdir().unwrap();
        let ks = KnowledgeStore::open_sqlite(dir.path()).await.unwrap();
        let s = QaStore::new(ks.pool().clone());
        let sys = s.create(&input("党费怎么交？", "按月交纳。"), "published", "admin").await.unwrap();
        let org = s.create(&QaInput { org_id: Some(5), ..input("本支部组织生活会何时召开？", "每月第一个周五。") }, "published", "admin5").await.unwrap();
        assert_eq!((sys.org_id, org.org_id), (None, Some(5)));
        let only5 = s.list(&QaFilter { org: Some(Some(5)), ..QaFilter::default() }).await.unwrap();
        assert_eq!(only5.iter().map(|p| p.id).collect::<Vec<_>>(), vec![org.id]);
        let system = s.list(&QaFilter { org: Some(None), ..QaFilter::default() }).await.unwrap();
        assert_eq!(system.iter().map(|p| p.id).collect::<Vec<_>>(), vec![sys.id]);
        // Moving the pair to another scope is an edit; rolling back content keeps the scope.
        let moved = s.update(org.id, Some(1), &QaInput { org_id: Some(9), ..input("本支部组织生活会何时召开？", "每月第一个周五下午。") }, "admin").await.unwrap();
        assert_eq!(moved.org_id, Some(9));
        let back = s.rollback(org.id, 1, "admin").await.unwrap();
        assert_eq!((back.org_id, back.answer.as_str()), (Some(9), "每月第一个周五。"));
        let inserted = s.upsert_all(&[input("支部书记任期几年？", "一般每届三年。").pair], "admin", false, Some(5)).await.unwrap();
        assert_eq!(inserted, vec![crate::UpsertOutcome::Inserted]);
        let id = s.id_by_question("支部书记任期几年？", Some(5)).await.unwrap().unwrap();
        assert_eq!(s.id_by_question("支部书记任期几年？", None).await.unwrap(), None);
        // The same question in another scope is that scope's own pair, not a duplicate.
        let own = s.create(&QaInput { org_id: Some(9), ..input("支部书记任期几年？", "本支部：三年。") }, "published", "admin9").await.unwrap();
        assert_ne!(own.id, id);
        let dup = s.create(&QaInput { org_id: Some(9), ..input("支部书记任期几年", "x") }, "draft", "admin9").await.unwrap_err();
        assert!(matches!(&dup, StoreError::Refused(e) if e.code == "qa.duplicate"), "{dup:?}");
        let again = s.upsert_all(&[input("支部书记任期几年？", "本支部：三年（修订）。").pair], "admin9", true, Some(9)).await.unwrap();
        assert_eq!(again, vec![crate::UpsertOutcome::Updated]);
        assert_eq!(s.get(id).await.unwrap().unwrap().answer, "一般每届三年。", "another scope's pair is untouched");
        assert_eq!(s.get(id).await.unwrap().unwrap().org_id, Some(5));
    }

    #[tokio::test]
    async fn workflow_versions_rollback_and_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let ks = KnowledgeStore::open_sqlite(dir.path()).await.unwrap();
        let s = QaStore::new(ks.pool().clone());
        let p = s.create(&input("入党积极分子培养多长时间？", "一般不少于一年。"), "draft", "admin").await.unwrap();
        assert_eq!((p.version, p.status.as_str()), (1, "draft"));
        assert!(s.published().await.unwrap().is_empty(), "drafts do not answer");
        let dup = s.create(&input("入党积极分子培养多长时间", "另一个答案"), "draft", "admin").await.unwrap_err();
        assert!(matches!(&dup, StoreError::Refused(e) if e.code == "qa.duplicate"), "{dup:?}");
        let p = s.transition(p.id, "published", "admin").await.unwrap();
        assert_eq!((p.version, s.published().await.unwrap().len()), (2, 1));
        let edited = s.update(p.id, Some(2), &input("入党积极分子培养多长时间？", "一般不少于一年（以组织考察为准）。"), "admin").await.unwrap();
        assert_eq!(edited.version, 3);
        let stale = s.update(p.id, Some(2), &input("入党积极分子培养多长时间？", "x"), "other").await.unwrap_err();
        assert!(matches!(&stale, StoreError::Refused(e) if e.code == "qa.version_conflict"));
        let back = s.rollback(p.id, 1, "admin").await.unwrap();
        assert_eq!((back.version, back.answer.as_str(), back.status.as_str()), (4, "一般不少于一年。", "published"));
        let actions: Vec<String> = s.versions(p.id).await.unwrap().into_iter().map(|v| v.action).collect();
        assert_eq!(actions, ["rollback", "edit", "status", "create"]);
        let bad = QaInput { effective_from: Some("2026/1/1".into()), ..input("另一个问题", "答") };
        assert!(matches!(s.create(&bad, "draft", "a").await.unwrap_err(), StoreError::Refused(e) if e.code == "qa.bad_date"));
        let later = QaInput { effective_from: Some("2999-01-01".into()), ..input("明年起施行的规定？", "答") };
        s.create(&later, "published", "admin").await.unwrap();
        assert_eq!(s.published().await.unwrap().len(), 1, "not yet effective");
        s.transition(p.id, "retired", "admin").await.unwrap();
        assert!(s.published().await.unwrap().is_empty());
        let listed = s.list(&QaFilter { q: Some("积极分子".into()), status: Some("retired".into()), ..QaFilter::default() }).await.unwrap();
        assert_eq!(listed.len(), 1);
        // Updated-time filter by Beijing date.
        let today = (chrono::Utc::now() + chrono::Duration::hours(8)).format("%Y-%m-%d").to_string();
        let on = |from: &str, to: &str| QaFilter { updated_from: Some(from.into()), updated_to: Some(to.into()), ..QaFilter::default() };
        assert_eq!(s.list(&on(&today, &today)).await.unwrap().len(), 2);
        assert!(s.list(&on("2000-01-01", "2000-12-31")).await.unwrap().is_empty());
        let bad = s.list(&on("昨天", "")).await.unwrap_err();
        assert!(matches!(bad, StoreError::Refused(e) if e.code == "qa.bad_date"));
    }

    #[test]
    fn questions_normalise_for_duplicate_checks() {
        assert_eq!(normalize_question("党费 怎么交？"), normalize_question("党费怎么交?"));
        assert_eq!(normalize_question("ＡＢＣ党员"), "abc党员");
    }
}
