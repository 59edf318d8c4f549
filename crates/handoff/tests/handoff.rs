//! Handoff lifecycle on SQLite and (with DATABASE_URL) Postgres: routing with ancestor
//! fallback and category rules, subtree authorization, atomic claiming under real concurrency,
//! the state machine's refusals, SLA escalation and auto-close with a driven clock, stored
//! notifications delivered with retries (also by a fresh instance, as after a restart),
//! proposals and statistics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../../org/tests/common/mod.rs"]
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{Duration, Utc};
use common::databases;
use dwt_core::config::{AuthSettings, HandoffSettings};
use dwt_handoff::notify::{Notifier, Recipient};
use dwt_handoff::{Actor, Handoff, NewRequest, Notification, QueueFilter, Status};
use dwt_org::{Core, CoreError, Db, LoginOutcome, Principal};

async fn who(core: &Core, username: &str) -> (Principal, Actor) {
    let token = match core.auth.login(username, dwt_org::demo::DEMO_PASSWORD, None).await.unwrap() {
        LoginOutcome::Ok(s) => s.token,
        other => panic!("{other:?}"),
    };
    let a = core.auth.authenticate(&token).await.unwrap().unwrap();
    let actor = Actor::user(&a.principal, &a.user.display_name);
    (a.principal, actor)
}

/// Counts deliveries; fails the first `fail_first` of them.
struct FlakyNotifier {
    fail_first: usize,
    calls: AtomicUsize,
}

#[async_trait]
impl Notifier for FlakyNotifier {
    fn channel(&self) -> &'static str {
        "wechat"
    }

    async fn deliver(&self, _to: &Recipient, _n: &Notification) -> Result<(), String> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        if n < self.fail_first {
            Err("gateway down".into())
        } else {
            Ok(())
        }
    }
}

async fn setup(db: &Db, settings: HandoffSettings, notifier: Arc<FlakyNotifier>) -> (Core, Handoff) {
    let core = Core::new(db.clone(), AuthSettings::default()).unwrap();
    dwt_org::demo::seed(&core).await.unwrap();
    (core, Handoff::new(db.clone(), settings, vec![notifier]))
}

fn ask(q: &str) -> NewRequest {
    NewRequest { question: q.into(), ai_answer: Some("根据《中国共产党章程》第七条……".into()), ai_sources: serde_json::json!([{"index": 1, "doc_title": "中国共产党章程", "article": "第七条"}]), ..Default::default() }
}

#[tokio::test]
async fn lifecycle_routing_claims_and_notifications() {
    for t in databases().await {
        let flaky = Arc::new(FlakyNotifier { fail_first: 1, calls: AtomicUsize::new(0) });
        let (core, h) = setup(&t.db, HandoffSettings::default(), flaky.clone()).await;
        let (member, member_actor) = who(&core, "member1").await;
        let zb01 = core.orgs.get_by_code("ZB01").await.unwrap().unwrap();

        let c = h.request(&member, "张红", ask("预备党员的预备期是多长？")).await.unwrap();
        assert_eq!((c.status, c.org_id), (Status::Pending, zb01.id), "routed to the member's own 支部, which has staff ({})", t.name);
        assert!(c.sla_remaining_secs.unwrap() > 23 * 3600);

        // Visible to staff of the 支部 and of every ancestor, not to another subtree.
        for (u, sees) in [("zb1_staff", true), ("jy_staff", true), ("gw_staff", true), ("wj_staff", false)] {
            let (p, _) = who(&core, u).await;
            let q = h.queue(&p, &QueueFilter::default()).await.unwrap();
            assert_eq!(q.iter().any(|x| x.id == c.id), sees, "{u} ({})", t.name);
        }
        let (wj, wj_actor) = who(&core, "wj_staff").await;
        assert!(matches!(h.claim(&wj, &wj_actor, c.id).await.unwrap_err(), CoreError::Forbidden));
        assert_eq!(h.detail(&wj, c.id).await.unwrap_err().code(), "handoff.not_found", "other subtrees cannot even read it");

        // Two staff claim at the same moment: exactly one wins, the other is told who has it.
        let (zb1, zb1_actor) = who(&core, "zb1_staff").await;
        let (jy, jy_actor) = who(&core, "jy_staff").await;
        let (r1, r2) = tokio::join!(h.claim(&zb1, &zb1_actor, c.id), h.claim(&jy, &jy_actor, c.id));
        let (winner, loser_err) = match (r1, r2) {
            (Ok(c1), Err(e)) => ((zb1.clone(), zb1_actor.clone(), c1), e),
            (Err(e), Ok(c2)) => ((jy.clone(), jy_actor.clone(), c2), e),
            other => panic!("exactly one claim must win: {other:?} ({})", t.name),
        };
        assert_eq!(loser_err.code(), "handoff.already_claimed");
        assert!(loser_err.to_string().starts_with("已由"), "{loser_err}");
        let (wp, wa, claimed) = winner;
        assert_eq!(claimed.status, Status::Claimed);
        // Only the claimer replies.
        let (other_p, other_a) = if wp.user_id == zb1.user_id { (jy.clone(), jy_actor.clone()) } else { (zb1.clone(), zb1_actor.clone()) };
        assert_eq!(h.reply(&other_p, &other_a, c.id, "抢答").await.unwrap_err().code(), "handoff.not_claimed_by_you");
        assert_eq!(h.rate(&member, &member_actor, c.id, 5, None).await.unwrap_err().code(), "handoff.not_answered");
        h.note(&wp, &wa, c.id, "内部：已核对党章第七条").await.unwrap();
        let answered = h.reply(&wp, &wa, c.id, "预备期为一年，从支部大会通过之日起计算。").await.unwrap();
        assert_eq!(answered.status, Status::Answered);
        assert!(answered.unread);
        let (notes, unread) = h.notifications(member.user_id).await.unwrap();
        assert_eq!((notes.len(), unread), (1, 1));
        assert_eq!(notes[0].consultation_id, Some(c.id));

        // The member's detail hides internal notes and marks the reply read.
        let d = h.detail(&member, c.id).await.unwrap();
        let kinds: Vec<&str> = d.events.as_ref().unwrap().iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, vec!["requested", "claimed", "replied"], "{}", t.name);
        assert_eq!(h.unread(member.user_id).await.unwrap(), 0);
        assert!(!h.mine(&member).await.unwrap().0[0].unread);
        let staff_kinds: Vec<String> = h.detail(&wp, c.id).await.unwrap().events.unwrap().into_iter().map(|e| e.kind).collect();
        assert_eq!(staff_kinds, vec!["requested", "claimed", "note", "replied"]);

        let rated = h.rate(&member, &member_actor, c.id, 5, Some("很清楚")).await.unwrap();
        assert_eq!((rated.status, rated.rating), (Status::Closed, Some(5)));
        let e = h.claim(&wp, &wa, c.id).await.unwrap_err();
        assert_eq!(e.code(), "handoff.invalid_state", "closed is final");
        // Another member cannot touch it.
        let (zb1_admin, zb1_admin_actor) = who(&core, "zb1_admin").await;
        assert_eq!(h.close(&zb1_admin, &zb1_admin_actor, c.id).await.unwrap_err().code(), "handoff.not_found");

        // Staff cannot take their own question (it would land in their own queue).
        let own = h.request(&zb1, "答复员", ask("答复员自己的问题")).await.unwrap();
        assert_eq!(h.claim(&zb1, &zb1_actor, own.id).await.unwrap_err().code(), "handoff.own_question");

        // The same message cannot be handed off twice.
        let mut with_msg = ask("第二个问题");
        with_msg.message_id = Some(4242);
        h.request(&member, "张红", with_msg.clone()).await.unwrap();
        assert_eq!(h.request(&member, "张红", with_msg).await.unwrap_err().code(), "handoff.already_requested");

        // Deliveries: the first attempt fails and is retried later, by a fresh instance (as
        // after a restart) reading the same database.
        let now = Utc::now();
        assert_eq!(h.deliver_pending(now).await.unwrap(), 0);
        let restarted = Handoff::new(t.db.clone(), HandoffSettings::default(), vec![flaky.clone()]);
        assert_eq!(restarted.deliver_pending(now).await.unwrap(), 0, "not due yet (backoff)");
        assert_eq!(restarted.deliver_pending(now + Duration::minutes(2)).await.unwrap(), 1);
        assert_eq!(restarted.deliver_pending(now + Duration::minutes(10)).await.unwrap(), 0, "sent once");
        assert_eq!(flaky.calls.load(Ordering::SeqCst), 2);
    }
}

#[tokio::test]
async fn routing_falls_back_to_the_nearest_ancestor_with_staff_and_follows_category_rules() {
    for t in databases().await {
        let mut settings = HandoffSettings::default();
        settings.routes.insert("党费".into(), "GW01".into());
        let (core, h) = setup(&t.db, settings, Arc::new(FlakyNotifier { fail_first: 0, calls: AtomicUsize::new(0) })).await;
        // 刘志强 of 第二中学党支部 (no staff there) gets a login.
        let zb02 = core.orgs.get_by_code("ZB02").await.unwrap().unwrap();
        let (_, members) = core.members.search(std::slice::from_ref(&zb02.path), &Default::default()).await.unwrap();
        core.auth
            .create_user(
                dwt_org::NewUserInput { username: "liuzq".into(), display_name: "刘志强".into(), phone: None, password: dwt_org::demo::DEMO_PASSWORD.into(), member_id: Some(members[0].id), must_change_password: false, first_login_pending: false },
                &[(dwt_org::Role::Member, zb02.id)],
                &dwt_org::audit::Actor::default(),
            )
            .await
            .unwrap();
        let (liu, _) = who(&core, "liuzq").await;
        let c = h.request(&liu, "刘志强", ask("组织关系怎么转接？")).await.unwrap();
        assert_eq!(c.org_name, "市教育局党委", "no staff in 第二中学党支部: its 党委 answers ({})", t.name);
        assert_eq!(c.member.org_name.as_deref(), Some("第二中学党支部"));
        let dues = h.request(&liu, "刘志强", NewRequest { category: Some("党费".into()), ..ask("党费按什么比例交纳？") }).await.unwrap();
        assert_eq!(dues.org_name, "示范市直机关工委", "category rule");

        // No organisation link at all: a clear refusal.
        let e = h.request(&Principal { user_id: 999_999, username: "x".into(), grants: vec![] }, "x", ask("问题")).await.unwrap_err();
        assert_eq!(e.code(), "handoff.no_org");
        assert_eq!(h.request(&liu, "刘志强", ask("  ")).await.unwrap_err().code(), "handoff.question_required");
    }
}

#[tokio::test]
async fn sla_escalation_auto_close_and_manual_moves_with_a_driven_clock() {
    for t in databases().await {
        let (core, h) = setup(&t.db, HandoffSettings::default(), Arc::new(FlakyNotifier { fail_first: 0, calls: AtomicUsize::new(0) })).await;
        let (member, member_actor) = who(&core, "member1").await;
        let waiting = h.request(&member, "张红", ask("等待中的问题")).await.unwrap();
        let claimed = h.request(&member, "张红", ask("已受理的问题")).await.unwrap();
        let (zb1, zb1_actor) = who(&core, "zb1_staff").await;
        h.claim(&zb1, &zb1_actor, claimed.id).await.unwrap();

        let now = Utc::now();
        assert_eq!(h.escalate_overdue(now).await.unwrap(), 0, "nothing is due yet ({})", t.name);
        assert_eq!(h.escalate_overdue(now + Duration::hours(25)).await.unwrap(), 1, "only the unclaimed item moves");
        let (jy, jy_actor) = who(&core, "jy_staff").await;
        let moved = h.detail(&jy, waiting.id).await.unwrap();
        assert_eq!((moved.status, moved.org_name.as_str()), (Status::Escalated, "市教育局党委"));
        assert_eq!(moved.events.unwrap().last().unwrap().kind, "auto_escalated");
        assert_eq!(h.detail(&zb1, claimed.id).await.unwrap().status, Status::Claimed);
        // The parent's deadline restarts; after it passes again it moves up once more, and at
        // the top it stays.
        assert_eq!(h.escalate_overdue(now + Duration::hours(49)).await.unwrap(), 0, "restarted deadline not reached");
        assert_eq!(h.escalate_overdue(now + Duration::hours(75)).await.unwrap(), 1);
        assert_eq!(h.detail(&jy, waiting.id).await.unwrap_err().code(), "handoff.not_found", "now above 教育局 staff's subtree");
        assert_eq!(h.escalate_overdue(now + Duration::hours(200)).await.unwrap(), 0, "the 工委 has no parent");

        // Manual 上报 and 转交.
        let (gw, gw_actor) = who(&core, "gw_staff").await;
        assert_eq!(h.escalate(&gw, &gw_actor, waiting.id, Some("请上级")).await.unwrap_err().code(), "handoff.no_parent");
        let wj_org = core.orgs.get_by_code("DW02").await.unwrap().unwrap();
        let tr = h.transfer(&gw, &gw_actor, waiting.id, wj_org.id, Some("卫健委更清楚")).await.unwrap();
        assert_eq!((tr.status, tr.org_name.as_str()), (Status::Transferred, "市卫健委党委"));
        let up = h.escalate(&zb1, &zb1_actor, claimed.id, Some("需党委答复")).await.unwrap();
        assert_eq!((up.status, up.org_name.as_str(), up.claimed_by.is_none()), (Status::Escalated, "市教育局党委", true));

        // Auto-close answered items after the configured days.
        h.claim(&jy, &jy_actor, claimed.id).await.unwrap();
        h.reply(&jy, &jy_actor, claimed.id, "答复").await.unwrap();
        assert_eq!(h.auto_close(Utc::now() + Duration::days(6)).await.unwrap(), 0);
        assert_eq!(h.auto_close(Utc::now() + Duration::days(8)).await.unwrap(), 1);
        assert_eq!(h.detail(&member, claimed.id).await.unwrap().status, Status::Closed);
        let (sys, _) = who(&core, "sysadmin").await;
        assert_eq!(h.stats(&sys).await.unwrap().total.sla_breaches, 1, "the auto-escalated item counts as a breach after its deadline was reset");
        assert_eq!(h.close(&member, &member_actor, claimed.id).await.unwrap_err().code(), "handoff.invalid_state");
    }
}

#[tokio::test]
async fn proposals_need_an_admin_of_the_subtree_and_stats_count_it_all() {
    for t in databases().await {
        let (core, h) = setup(&t.db, HandoffSettings::default(), Arc::new(FlakyNotifier { fail_first: 0, calls: AtomicUsize::new(0) })).await;
        let (member, member_actor) = who(&core, "member1").await;
        let c = h.request(&member, "张红", ask("入党誓词是什么？")).await.unwrap();
        let (zb1, zb1_actor) = who(&core, "zb1_staff").await;
        h.claim(&zb1, &zb1_actor, c.id).await.unwrap();
        assert_eq!(h.promote(&zb1, &zb1_actor, c.id, "q", "a", None).await.unwrap_err().code(), "handoff.not_answered", "only a reply can be promoted");
        h.reply(&zb1, &zb1_actor, c.id, "入党誓词见党章第六条。").await.unwrap();
        h.rate(&member, &member_actor, c.id, 4, None).await.unwrap();
        let p = h.promote(&zb1, &zb1_actor, c.id, "入党誓词是什么？", "入党誓词见党章第六条。", None).await.unwrap();
        assert_eq!(p.status, "pending");
        // Staff cannot approve; the 支部 admin and above can; another subtree cannot.
        assert!(matches!(h.proposals(&zb1, None).await.unwrap_err(), CoreError::Forbidden));
        let (wj, _) = who(&core, "wj_admin").await;
        assert!(h.proposals(&wj, None).await.unwrap().is_empty(), "{}", t.name);
        assert!(matches!(h.begin_approval(&wj, p.id).await.unwrap_err(), CoreError::Forbidden));
        let (admin, _) = who(&core, "zb1_admin").await;
        assert_eq!(h.proposals(&admin, None).await.unwrap().len(), 1);
        h.begin_approval(&admin, p.id).await.unwrap();
        let done = h.finish_approval(&admin, p.id, 77).await.unwrap();
        assert_eq!((done.status.as_str(), done.qa_id), ("approved", Some(77)));
        assert_eq!(h.begin_approval(&admin, p.id).await.unwrap_err().code(), "handoff.proposal_reviewed");

        let (sys, _) = who(&core, "sysadmin").await;
        let s = h.stats(&sys).await.unwrap();
        assert_eq!((s.total.closed, s.total.ratings, s.total.avg_rating), (1, 1, Some(4.0)));
        assert!(s.total.median_first_reply_secs.is_some());
        assert_eq!(s.rows.len(), 1);
        assert_eq!(s.rows[0].org_name, "第一中学党支部");
        let bytes = dwt_handoff::stats::export(&s).unwrap();
        let rows = dwt_org::xlsx::read_sheet(&bytes).unwrap();
        assert_eq!(rows[1][0], "第一中学党支部");
        assert!(matches!(h.stats(&zb1).await.unwrap_err(), CoreError::Forbidden));
    }
}
