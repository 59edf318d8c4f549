//! Repository and service tests of the core modules, on SQLite and (with DATABASE_URL) Postgres.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::cloned_ref_to_slice_refs, clippy::type_complexity)]

mod common;

use common::{core_with, databases, id_number};
use dwt_core::config::AuthSettings;
use dwt_org::audit::Actor;
use dwt_org::auth::sms::SmsPurpose;
use dwt_org::authz::{Action, Role};
use dwt_org::members::{MemberInput, MemberQuery};
use dwt_org::orgs::OrgInput;
use dwt_org::{Core, CoreError, LoginOutcome, NewUserInput};

fn org(name: &str, org_type: &str, code: &str) -> OrgInput {
    OrgInput { name: name.into(), org_type: org_type.into(), code: code.into(), ..Default::default() }
}

fn member(name: &str, org_id: i64, id: Option<String>, phone: Option<&str>) -> MemberInput {
    MemberInput { name: name.into(), org_id, id_number: id, phone: phone.map(str::to_string), status: "正式党员".into(), gender: Some("男".into()), ..Default::default() }
}

/// 工委 → (党委A → 支部A1, 支部A2), (党委B → 支部B1). Returns ids in that order.
async fn tree(core: &Core) -> [i64; 6] {
    let gw = core.orgs.create(None, &org("测试工委", "工委", "T-GW")).await.unwrap();
    let a = core.orgs.create(Some(gw.id), &org("党委A", "党委", "T-A")).await.unwrap();
    let a1 = core.orgs.create(Some(a.id), &org("支部A1", "党支部", "T-A1")).await.unwrap();
    let a2 = core.orgs.create(Some(a.id), &org("支部A2", "党支部", "T-A2")).await.unwrap();
    let b = core.orgs.create(Some(gw.id), &org("党委B", "党委", "T-B")).await.unwrap();
    let b1 = core.orgs.create(Some(b.id), &org("支部B1", "党支部", "T-B1")).await.unwrap();
    [gw.id, a.id, a1.id, a2.id, b.id, b1.id]
}

async fn user(core: &Core, username: &str, phone: Option<&str>, roles: &[(Role, i64)], first_login: bool) -> i64 {
    let input = NewUserInput {
        username: username.into(),
        display_name: username.into(),
        phone: phone.map(str::to_string),
        password: "Dwt#Demo2026".into(),
        member_id: None,
        must_change_password: first_login,
        first_login_pending: first_login,
    };
    core.auth.create_user(input, roles, &Actor::default()).await.unwrap().id
}

async fn session(core: &Core, username: &str, password: &str) -> dwt_org::Session {
    match core.auth.login(username, password, Some("127.0.0.1")).await.unwrap() {
        LoginOutcome::Ok(s) => s,
        other => panic!("expected a session, got {other:?}"),
    }
}

#[tokio::test]
async fn org_tree_subtree_move_and_dissolve() {
    for t in databases().await {
        let (core, _) = core_with(&t.db, AuthSettings::default());
        let [gw, a, a1, a2, b, b1] = tree(&core).await;
        let a_org = core.orgs.get(a).await.unwrap();
        assert_eq!(a_org.path, format!("/{gw}/{a}/"), "{}", t.name);
        assert_eq!(a_org.depth, 1);
        // "This node and everything below it" is one range query, in tree order.
        let sub: Vec<i64> = core.orgs.list(&[a_org.path.clone()]).await.unwrap().iter().map(|o| o.id).collect();
        assert_eq!(sub, vec![a, a1, a2], "{}", t.name);
        let all: Vec<i64> = core.orgs.list(&[format!("/{gw}/")]).await.unwrap().iter().map(|o| o.id).collect();
        assert_eq!(all, vec![gw, a, a1, a2, b, b1], "{}", t.name);

        // Move 党委A (with its two 支部) under 党委B: paths and depths of the whole subtree follow.
        let moved = core.orgs.move_to(a, b).await.unwrap();
        assert_eq!(moved.path, format!("/{gw}/{b}/{a}/"));
        assert_eq!(moved.parent_id, Some(b));
        let a1_now = core.orgs.get(a1).await.unwrap();
        assert_eq!((a1_now.path.as_str(), a1_now.depth), (format!("/{gw}/{b}/{a}/{a1}/").as_str(), 3), "{}", t.name);
        let under_b: Vec<i64> = core.orgs.list(&[core.orgs.get(b).await.unwrap().path]).await.unwrap().iter().map(|o| o.id).collect();
        assert_eq!(under_b, vec![b, a, a1, a2, b1], "{}", t.name);
        // Into its own subtree: refused, nothing changes.
        let e = core.orgs.move_to(b, a1).await.unwrap_err();
        assert_eq!(e.code(), "org.move_into_subtree");
        assert_eq!(core.orgs.get(b).await.unwrap().path, format!("/{gw}/{b}/"));

        // Duplicate code and bad type: clear errors.
        assert_eq!(core.orgs.create(Some(gw), &org("重复", "党支部", "T-A1")).await.unwrap_err().code(), "org.duplicate_code");
        let e = core.orgs.create(Some(gw), &org("类型错", "支部委员会", "T-X")).await.unwrap_err();
        assert_eq!(e.code(), "org.invalid_type");
        assert!(e.to_string().contains("党支部"), "{e}");

        // Dissolve: refused while members remain anywhere below, or active children remain.
        core.members.create(&member("张三", a2, Some(id_number("19800101", 11)), None)).await.unwrap();
        let e = core.orgs.dissolve(a).await.unwrap_err();
        assert!(e.code() == "org.has_members" && e.status() == 409, "{e:?}");
        assert!(e.to_string().contains("1 名党员"), "{e}");
        let e = core.orgs.dissolve(a2).await.unwrap_err();
        assert_eq!(e.code(), "org.has_members");
        let d = core.orgs.dissolve(a1).await.unwrap();
        assert_eq!(d.status, "dissolved");
        assert_eq!(core.orgs.create(Some(a1), &org("下级", "党支部", "T-Y")).await.unwrap_err().code(), "org.parent_dissolved");
    }
}

#[tokio::test]
async fn members_validation_search_and_masking() {
    for t in databases().await {
        let (core, _) = core_with(&t.db, AuthSettings::default());
        let [gw, a, a1, _a2, _b, b1] = tree(&core).await;
        let e = core.members.create(&member("李四", a1, Some("110105198001010011".into()), None)).await.unwrap_err();
        assert_eq!(e.code(), "member.invalid_id_number", "{}", t.name);
        assert!(e.to_string().contains("校验位"), "{e}");
        let e = core.members.create(&member("李四", a1, None, Some("1380013800"))).await.unwrap_err();
        assert_eq!(e.code(), "member.invalid_phone");
        let e = core.members.create(&MemberInput { join_date: Some("2001-02-30".into()), ..member("李四", a1, None, None) }).await.unwrap_err();
        assert!(e.to_string().contains("入党日期"), "{e}");
        let e = core.members.create(&MemberInput { birth_date: Some("1990-01-01".into()), ..member("李四", a1, Some(id_number("19800101", 13)), None) }).await.unwrap_err();
        assert_eq!(e.code(), "member.birth_date_mismatch");

        let li = core.members.create(&member("李四", a1, Some(id_number("19800101", 13)), Some("13800138000"))).await.unwrap();
        assert_eq!(li.birth_date.as_deref(), Some("1980-01-01"), "birth date taken from the ID number");
        core.members.create(&member("王五", b1, Some(id_number("19900202", 15)), Some("13900139001"))).await.unwrap();
        let dup = core.members.create(&member("李四二", b1, Some(id_number("19800101", 13)), None)).await.unwrap_err();
        assert_eq!(dup.code(), "member.duplicate_id_number");

        let a_path = core.orgs.get(a).await.unwrap().path;
        let gw_path = core.orgs.get(gw).await.unwrap().path;
        let (n, items) = core.members.search(&[a_path.clone()], &MemberQuery::default()).await.unwrap();
        assert_eq!((n, items[0].name.as_str()), (1, "李四"), "subtree of 党委A holds only 李四 ({})", t.name);
        let (n, _) = core.members.search(&[gw_path.clone()], &MemberQuery::default()).await.unwrap();
        assert_eq!(n, 2);
        let (n, items) = core.members.search(&[gw_path.clone()], &MemberQuery { q: Some("9001".into()), ..Default::default() }).await.unwrap();
        assert_eq!((n, items[0].name.as_str()), (1, "王五"), "phone tail search");
        let (n, _) = core.members.search(&[gw_path.clone()], &MemberQuery { q: Some("李".into()), ..Default::default() }).await.unwrap();
        assert_eq!(n, 1);
        let (n, _) = core.members.search(&[], &MemberQuery::default()).await.unwrap();
        assert_eq!(n, 0, "no scope, no rows");

        let masked = core.members.get(li.id).await.unwrap().masked();
        assert_eq!(masked.phone.as_deref(), Some("138****8000"));
        let idm = masked.id_number.unwrap();
        assert!(idm.starts_with("110105") && idm.contains("********"), "{idm}");

        // Update moves the member; delete removes it.
        let moved = core.members.update(li.id, &member("李四", b1, Some(id_number("19800101", 13)), Some("13800138000"))).await.unwrap();
        assert_eq!(moved.org_id, b1);
        core.members.delete(li.id).await.unwrap();
        assert_eq!(core.members.get(li.id).await.unwrap_err().code(), "member.not_found");
    }
}

#[tokio::test]
async fn lockout_after_five_failures_without_revealing_accounts() {
    for t in databases().await {
        let (core, _) = core_with(&t.db, AuthSettings::default());
        let [gw, ..] = tree(&core).await;
        let id = user(&core, "zhangsan", None, &[(Role::Member, gw)], false).await;
        for i in 1..=4 {
            let e = core.auth.login("zhangsan", "wrong-password", None).await.unwrap_err();
            assert!(matches!(e, CoreError::InvalidCredentials), "failure {i}: {e:?} ({})", t.name);
            assert_eq!(e.status(), 401);
        }
        let e = core.auth.login("zhangsan", "wrong-password", None).await.unwrap_err();
        assert!(matches!(e, CoreError::Locked { minutes: 15 }), "5th failure locks: {e:?}");
        assert_eq!(e.status(), 423);
        // Locked: even the right password is refused.
        let e = core.auth.login("zhangsan", "Dwt#Demo2026", None).await.unwrap_err();
        assert!(matches!(e, CoreError::Locked { .. }), "{e:?}");
        let locks = core.audit.recent(Some("auth.locked"), 10).await.unwrap();
        assert_eq!(locks.len(), 1);
        assert_eq!(locks[0].target_id.as_deref(), Some(id.to_string().as_str()));
        // An unknown username behaves exactly the same: 401 ×4, then 423.
        for _ in 1..=4 {
            assert!(matches!(core.auth.login("nobody", "x", None).await.unwrap_err(), CoreError::InvalidCredentials));
        }
        assert!(matches!(core.auth.login("nobody", "x", None).await.unwrap_err(), CoreError::Locked { .. }));
        // The count lives in the database: another instance on it sees the lock too, and the
        // attempts are audited like a wrong password's (the same writes: no timing tell).
        let (other_instance, _) = core_with(&t.db, AuthSettings::default());
        assert!(matches!(other_instance.auth.login("NoBody", "x", Some("203.0.113.5")).await.unwrap_err(), CoreError::Locked { .. }), "{}", t.name);
        let unknown = core.audit.recent(Some("auth.login_failed"), 50).await.unwrap();
        let unknown: Vec<_> = unknown.iter().filter(|e| e.actor_name.as_deref() == Some("nobody")).collect();
        assert_eq!(unknown.len(), 6, "{}: {unknown:?}", t.name);
        assert!(unknown.iter().all(|e| e.actor_id.is_none() && e.detail.as_deref() == Some("用户名不存在")));
        assert_eq!(unknown[0].client_ip.as_deref(), Some("203.0.113.5"));
        // Parallel guesses under an unknown name cannot outrun the limit either.
        let burst = futures::future::join_all((0..12).map(|_| core.auth.login("ghost-burst", "x", None))).await;
        let invalid = burst.iter().filter(|o| matches!(o, Err(CoreError::InvalidCredentials))).count();
        assert_eq!(invalid, 4, "{}: {burst:?}", t.name);
        // An admin unlocks; the right password works again and the counter restarts.
        let u = core.auth.unlock(id, &Actor::default()).await.unwrap();
        assert!(u.locked_until.is_none());
        session(&core, "zhangsan", "Dwt#Demo2026").await;
        assert!(matches!(core.auth.login("zhangsan", "bad", None).await.unwrap_err(), CoreError::InvalidCredentials));

        // Admission is one atomic statement: of 20 parallel attempts exactly 5 get in, and the
        // 5th sets the lock.
        core.auth.unlock(id, &Actor::default()).await.unwrap();
        let until = "2999-01-01T00:00:00Z";
        let admitted: Vec<_> = futures::future::join_all((0..20).map(|_| core.users.admit_attempt(id, 5, until))).await.into_iter().filter_map(|r| r.unwrap()).collect();
        assert_eq!(admitted.len(), 5, "{} {admitted:?}", t.name);
        assert_eq!(admitted.iter().filter(|(_, l)| l.is_some()).count(), 1, "{admitted:?}");
        // End to end: a burst of wrong guesses with the right password among them verifies at
        // most 5 passwords in all; the rest are refused as locked before any hash is checked.
        core.auth.unlock(id, &Actor::default()).await.unwrap();
        let burst = (0..11).map(|i| core.auth.login("zhangsan", if i == 10 { "Dwt#Demo2026" } else { "wrong-password" }, None));
        let outcomes = futures::future::join_all(burst).await;
        let invalid = outcomes.iter().filter(|o| matches!(o, Err(CoreError::InvalidCredentials))).count();
        let ok = outcomes.iter().filter(|o| o.is_ok()).count();
        let locked = outcomes.iter().filter(|o| matches!(o, Err(CoreError::Locked { .. }))).count();
        assert_eq!(invalid + ok + locked, 11, "{}", t.name);
        assert!(invalid <= 4 && locked >= 6, "{}: {invalid} invalid, {ok} ok, {locked} locked", t.name);
        if ok == 0 {
            assert!(matches!(core.auth.login("zhangsan", "Dwt#Demo2026", None).await.unwrap_err(), CoreError::Locked { .. }), "the burst locked the account");
        }
    }
}

#[tokio::test]
async fn first_login_needs_the_sms_code_and_sessions_end() {
    for t in databases().await {
        let (core, sms) = core_with(&t.db, AuthSettings::default());
        let [gw, ..] = tree(&core).await;
        user(&core, "newbie", Some("13700137000"), &[(Role::Member, gw)], true).await;
        let LoginOutcome::SmsRequired { challenge, phone_masked } = core.auth.login("newbie", "Dwt#Demo2026", None).await.unwrap() else {
            panic!("first login must ask for the SMS code ({})", t.name)
        };
        assert_eq!(phone_masked, "137****7000");
        assert_eq!(sms.sent.lock().unwrap()[0].1, SmsPurpose::FirstLogin);
        assert_eq!(core.auth.login_sms(&challenge, "000000x", None).await.unwrap_err().code(), "auth.sms_invalid");
        let s = core.auth.login_sms(&challenge, &sms.last_code(), None).await.unwrap();
        assert!(s.user.must_change_password, "an admin-created account must change its password");
        // The challenge is single-use.
        assert_eq!(core.auth.login_sms(&challenge, &sms.last_code(), None).await.unwrap_err().code(), "auth.sms_invalid");
        let who = core.auth.authenticate(&s.token).await.unwrap().expect("session valid");
        assert_eq!(who.principal.username, "newbie");
        assert!(who.principal.has_role(Role::Member));
        assert!(!who.principal.can(Action::OrgView, &core.orgs.get(gw).await.unwrap().path));
        // Later logins go straight through.
        session(&core, "newbie", "Dwt#Demo2026").await;
        // Logout ends the session; an expired session is gone too.
        core.auth.logout(&who.token_hash).await.unwrap();
        assert!(core.auth.authenticate(&s.token).await.unwrap().is_none());
        let s2 = session(&core, "newbie", "Dwt#Demo2026").await;
        sqlx::query("UPDATE sessions SET expires_at = '2000-01-01T00:00:00Z'").execute(t.db.pool()).await.unwrap();
        assert!(core.auth.authenticate(&s2.token).await.unwrap().is_none(), "expired session ({})", t.name);
        assert!(core.auth.authenticate("not-a-token").await.unwrap().is_none());
    }
}

#[tokio::test]
async fn password_change_policy_history_and_reset() {
    for t in databases().await {
        let settings = AuthSettings { sms: dwt_core::config::SmsSettings { min_interval_secs: 0, ..Default::default() }, ..Default::default() };
        let (core, sms) = core_with(&t.db, settings);
        let [gw, ..] = tree(&core).await;
        user(&core, "lisi", Some("13600136000"), &[(Role::Member, gw)], false).await;
        let s = session(&core, "lisi", "Dwt#Demo2026").await;
        let who = core.auth.authenticate(&s.token).await.unwrap().unwrap();
        core.auth.send_change_code(who.principal.user_id, None).await.unwrap();
        let code = sms.last_code();
        // Weak: every problem listed; the code is not spent by a policy failure.
        let e = core.auth.change_password(&who, "Dwt#Demo2026", "abc", &code, None).await.unwrap_err();
        assert_eq!(e.code(), "auth.password_policy", "{}", t.name);
        assert!(e.to_string().contains("至少 8 位"), "{e}");
        // Wrong old password.
        assert!(matches!(core.auth.change_password(&who, "nope", "Hx7#kq2Lm", &code, None).await.unwrap_err(), CoreError::InvalidCredentials));
        // Reusing the current password is refused by the history rule.
        core.auth.send_change_code(who.principal.user_id, None).await.unwrap();
        let e = core.auth.change_password(&who, "Dwt#Demo2026", "Dwt#Demo2026", &sms.last_code(), None).await.unwrap_err();
        assert!(e.to_string().contains("最近 5 次"), "{e}");
        core.auth.send_change_code(who.principal.user_id, None).await.unwrap();
        core.auth.change_password(&who, "Dwt#Demo2026", "Hx7#kq2Lm", &sms.last_code(), None).await.unwrap();
        assert!(matches!(core.auth.login("lisi", "Dwt#Demo2026", None).await.unwrap_err(), CoreError::InvalidCredentials));
        session(&core, "lisi", "Hx7#kq2Lm").await;
        // Reset by SMS: unknown users get the same answer and no SMS.
        let before = sms.count();
        core.auth.send_reset_code("ghost", None).await.unwrap();
        assert_eq!(sms.count(), before);
        core.auth.send_reset_code("lisi", None).await.unwrap();
        let code = sms.last_code();
        core.auth.reset_password("lisi", &code, "Q9!vLm2#tz", None).await.unwrap();
        session(&core, "lisi", "Q9!vLm2#tz").await;
        assert_eq!(core.auth.reset_password("lisi", &code, "Other#Pass99", None).await.unwrap_err().code(), "auth.sms_invalid", "codes are single-use");
        let changed = core.audit.recent(Some("auth.password_changed"), 10).await.unwrap();
        assert_eq!(changed.len(), 1);
    }
}

#[tokio::test]
async fn sms_codes_expire_limit_attempts_and_rate_limit() {
    for t in databases().await {
        // ttl 0: a code is already expired when checked.
        let expired = AuthSettings { sms: dwt_core::config::SmsSettings { code_ttl_secs: 0, min_interval_secs: 0, ..Default::default() }, ..Default::default() };
        let (core, sms) = core_with(&t.db, expired);
        let [gw, ..] = tree(&core).await;
        let uid = user(&core, "wangwu", Some("13500135000"), &[(Role::Member, gw)], false).await;
        core.auth.send_reset_code("wangwu", None).await.unwrap();
        let e = core.auth.reset_password("wangwu", &sms.last_code(), "Hx7#kq2Lm", None).await.unwrap_err();
        assert_eq!(e.code(), "auth.sms_invalid", "expired code ({})", t.name);

        // Five wrong tries spend a code even for the right digits afterwards.
        let settings = AuthSettings { sms: dwt_core::config::SmsSettings { min_interval_secs: 0, per_phone_per_hour: 3, ..Default::default() }, ..Default::default() };
        let (core, sms) = core_with(&t.db, settings);
        core.auth.send_reset_code("wangwu", None).await.unwrap();
        let code = sms.last_code();
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for _ in 0..5 {
            assert_eq!(core.auth.reset_password("wangwu", wrong, "Hx7#kq2Lm", None).await.unwrap_err().code(), "auth.sms_invalid");
        }
        assert_eq!(core.auth.reset_password("wangwu", &code, "Hx7#kq2Lm", None).await.unwrap_err().code(), "auth.sms_invalid");
        // Per-phone limit: 1 expired + 1 spent above; the 3rd is allowed, the 4th in the hour is not.
        // A reset request still answers OK (it must not reveal the account) but sends nothing;
        // a logged-in password change is told.
        core.auth.send_reset_code("wangwu", None).await.unwrap();
        let sent = sms.count();
        core.auth.send_reset_code("wangwu", None).await.unwrap();
        assert_eq!(sms.count(), sent, "over the per-phone limit nothing is sent");
        let e = core.auth.send_change_code(uid, None).await.unwrap_err();
        assert_eq!((e.code(), e.status()), ("auth.sms_rate_limited", 429), "{e:?}");
        // Minimum interval between two codes to one phone.
        let (core, _) = core_with(&t.db, AuthSettings::default());
        let other = user(&core, "zhaoliu", Some("13400134000"), &[(Role::Member, gw)], false).await;
        core.auth.send_change_code(other, None).await.unwrap();
        let e = core.auth.send_change_code(other, None).await.unwrap_err();
        assert!(e.to_string().contains("秒后"), "{e}");
        // Per-IP limit.
        let ip_limited = AuthSettings { sms: dwt_core::config::SmsSettings { min_interval_secs: 0, per_ip_per_hour: 1, ..Default::default() }, ..Default::default() };
        let (core, _) = core_with(&t.db, ip_limited);
        let third = user(&core, "sunqi", Some("13300133000"), &[(Role::Member, gw)], false).await;
        core.auth.send_change_code(third, Some("10.0.0.9")).await.unwrap();
        assert_eq!(core.auth.send_change_code(uid, Some("10.0.0.9")).await.unwrap_err().code(), "auth.sms_rate_limited");
    }
}

#[tokio::test]
async fn admin_accounts_get_the_stricter_policy() {
    for t in databases().await {
        let (core, _) = core_with(&t.db, AuthSettings::default());
        let [gw, ..] = tree(&core).await;
        let weak_for_admin = NewUserInput {
            username: "admin2".into(),
            display_name: "管理员".into(),
            phone: None,
            password: "Hx7kq2Lmab9Z".into(),
            member_id: None,
            must_change_password: false,
            first_login_pending: false,
        };
        let e = core.auth.create_user(weak_for_admin, &[(Role::OrgAdmin, gw)], &Actor::default()).await.unwrap_err();
        assert_eq!(e.code(), "auth.password_policy", "{}", t.name);
        assert!(e.to_string().contains("4 类"), "{e}");
        let ok_for_member = NewUserInput {
            username: "member2".into(),
            display_name: "党员".into(),
            phone: None,
            password: "Hx7kq2Lmab9Z".into(),
            member_id: None,
            must_change_password: false,
            first_login_pending: false,
        };
        core.auth.create_user(ok_for_member, &[(Role::Member, gw)], &Actor::default()).await.unwrap();
        assert_eq!(core.users.account_by_username("admin2").await.unwrap().map(|a| a.id), None, "nothing stored for the refused account");
    }
}

#[tokio::test]
async fn spreadsheet_import_reports_bad_rows_and_writes_nothing() {
    use dwt_org::xlsx::{import_members, import_orgs, sheet_from_rows, ORG_IMPORT_HEADERS};
    for t in databases().await {
        let (core, _) = core_with(&t.db, AuthSettings::default());
        let [gw, ..] = tree(&core).await;
        let sys = dwt_org::Principal {
            user_id: 0,
            username: "t".into(),
            grants: vec![dwt_org::authz::Grant { role: Role::SysAdmin, org_id: gw, org_name: String::new(), org_path: format!("/{gw}/") }],
        };
        let bad = sheet_from_rows(
            ORG_IMPORT_HEADERS,
            &[
                vec!["N-1", "新党委", "党委", "T-GW"],
                vec!["N-2", "", "党支部", "N-1"],
                vec!["N-3", "新支部", "支部", "N-1"],
                vec!["N-4", "孤儿支部", "党支部", "NOPE"],
            ],
        )
        .unwrap();
        let before = core.orgs.count().await.unwrap();
        let r = import_orgs(&core.orgs, &sys, &bad, &Default::default()).await.unwrap();
        let rows: Vec<usize> = r.errors.iter().map(|e| e.row).collect();
        assert_eq!(rows, vec![3, 4, 5], "{:?} ({})", r.errors, t.name);
        assert!(r.errors[0].message.contains("组织名称"), "{:?}", r.errors);
        assert!(r.errors[2].message.contains("NOPE"), "{:?}", r.errors);
        assert_eq!(core.orgs.count().await.unwrap(), before, "nothing written when any row is bad");

        let good = sheet_from_rows(ORG_IMPORT_HEADERS, &[vec!["N-1", "新党委", "党委", "T-GW"], vec!["N-2", "新支部", "党支部", "N-1"]]).unwrap();
        let r = import_orgs(&core.orgs, &sys, &good, &Default::default()).await.unwrap();
        assert_eq!((r.inserted, r.updated, r.errors.len()), (2, 0, 0), "{r:?}");
        let r = import_orgs(&core.orgs, &sys, &good, &Default::default()).await.unwrap();
        assert_eq!((r.inserted, r.updated), (0, 2), "re-import updates, never duplicates");
        let n2 = core.orgs.get_by_code("N-2").await.unwrap().unwrap();
        assert_eq!(n2.parent_id, core.orgs.get_by_code("N-1").await.unwrap().map(|o| o.id));

        // Members: bad 身份证号 and unknown org are reported by row; then a good file imports.
        let h = dwt_org::xlsx::MEMBER_IMPORT_HEADERS;
        let id1 = id_number("19850505", 21);
        let row = |name: &'static str, id: String, org: &'static str| {
            let mut r = vec![""; h.len()];
            r[0] = name;
            r[4] = Box::leak(id.into_boxed_str());
            r[9] = "正式党员";
            r[10] = org;
            r
        };
        let bad = sheet_from_rows(h, &[row("甲", id1.clone(), "N-2"), row("乙", "110105198505050000".into(), "N-2"), row("丙", id_number("19850505", 23), "X-9")]).unwrap();
        let r = import_members(&core.orgs, &core.members, &sys, &bad, None, &Default::default()).await.unwrap();
        assert_eq!(r.errors.iter().map(|e| e.row).collect::<Vec<_>>(), vec![3, 4], "{:?}", r.errors);
        assert!(r.errors[0].message.contains("身份证号"), "{:?}", r.errors);
        let (n, _) = core.members.search(&[format!("/{gw}/")], &MemberQuery::default()).await.unwrap();
        assert_eq!(n, 0);
        let good = sheet_from_rows(h, &[row("甲", id1.clone(), "N-2")]).unwrap();
        assert_eq!(import_members(&core.orgs, &core.members, &sys, &good, None, &Default::default()).await.unwrap().inserted, 1);
        assert_eq!(import_members(&core.orgs, &core.members, &sys, &good, None, &Default::default()).await.unwrap().updated, 1);
        // Export round-trips through the importer.
        let (_, all) = core.members.search(&[format!("/{gw}/")], &MemberQuery::default()).await.unwrap();
        let codes = core.orgs.list(&[format!("/{gw}/")]).await.unwrap().into_iter().map(|o| (o.id, o.code)).collect();
        let bytes = dwt_org::xlsx::export_members(&all, &codes).unwrap();
        let r = import_members(&core.orgs, &core.members, &sys, &bytes, None, &Default::default()).await.unwrap();
        assert_eq!((r.inserted, r.updated, r.errors.len()), (0, 1, 0), "{r:?}");
        // Not a spreadsheet at all.
        assert_eq!(import_orgs(&core.orgs, &sys, b"hello", &Default::default()).await.unwrap_err().code(), "upload.not_a_zip");
    }
}

#[tokio::test]
async fn demo_seed_is_idempotent_and_every_account_logs_in() {
    for t in databases().await {
        let (core, _) = core_with(&t.db, AuthSettings::default());
        let first = dwt_org::demo::seed(&core).await.unwrap();
        assert!(first.iter().all(|a| a.created));
        let again = dwt_org::demo::seed(&core).await.unwrap();
        assert!(again.iter().all(|a| !a.created));
        assert_eq!(core.orgs.count().await.unwrap(), 7, "{}", t.name);
        for a in &first {
            let s = session(&core, &a.username, dwt_org::demo::DEMO_PASSWORD).await;
            assert!(s.user.roles.iter().any(|r| r.role == a.role), "{}", a.username);
        }
        let jy = core.auth.authenticate(&session(&core, "jy_admin", dwt_org::demo::DEMO_PASSWORD).await.token).await.unwrap().unwrap();
        let names: Vec<String> = core.orgs.list(&jy.principal.scope(Action::OrgView)).await.unwrap().into_iter().map(|o| o.name).collect();
        assert_eq!(names, vec!["市教育局党委", "第一中学党支部", "第二中学党支部"]);
    }
}

#[tokio::test]
async fn an_old_password_must_be_changed() {
    for t in databases().await {
        let (core, _) = core_with(&t.db, AuthSettings::default());
        let [gw, ..] = tree(&core).await;
        let id = user(&core, "oldpw", None, &[(Role::Member, gw)], false).await;
        let s = session(&core, "oldpw", "Dwt#Demo2026").await;
        assert!(!s.user.must_change_password);
        // 181 days old under the member policy's 180-day maximum.
        let old = dwt_org::db::format_ts(chrono::Utc::now() - chrono::Duration::days(181));
        sqlx::query("UPDATE users SET password_changed_at = $1 WHERE id = $2").bind(old).bind(id).execute(t.db.pool()).await.unwrap();
        let who = core.auth.authenticate(&s.token).await.unwrap().unwrap();
        assert!(who.user.must_change_password, "expired password forces a change ({})", t.name);
    }
}

#[tokio::test]
async fn http_sms_sender_posts_to_the_gateway() {
    use dwt_org::auth::sms::{HttpSmsSender, SmsSender};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let gateway = tokio::spawn(async move {
        let mut seen = Vec::new();
        for status in ["200 OK", "500 Internal Server Error"] {
            let (mut sock, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 8192];
            let mut req = String::new();
            // Read headers and the JSON body (Content-Length bounded).
            loop {
                let n = sock.read(&mut buf).await.unwrap();
                req.push_str(&String::from_utf8_lossy(&buf[..n]));
                if let Some(i) = req.find("\r\n\r\n") {
                    let len: usize = req.lines().find_map(|l| l.to_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap())).unwrap_or(0);
                    if req.len() >= i + 4 + len {
                        break;
                    }
                }
            }
            seen.push(req);
            sock.write_all(format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").as_bytes()).await.unwrap();
        }
        seen
    });
    let sender = HttpSmsSender::new(&format!("http://{addr}/sms"), Some("gw-secret".into())).unwrap();
    sender.send("13800138000", SmsPurpose::PasswordReset, "123456", "【党务通】验证码 123456").await.unwrap();
    let e = sender.send("13800138000", SmsPurpose::PasswordReset, "654321", "x").await.unwrap_err();
    assert_eq!(e.code(), "auth.sms_send_failed");
    let seen = gateway.await.unwrap();
    assert!(seen[0].starts_with("POST /sms "), "{}", seen[0]);
    assert!(seen[0].to_lowercase().contains("authorization: bearer gw-secret"), "{}", seen[0]);
    let body: serde_json::Value = serde_json::from_str(&seen[0][seen[0].find("\r\n\r\n").unwrap() + 4..]).unwrap();
    assert_eq!((body["phone"].as_str(), body["code"].as_str(), body["purpose"].as_str()), (Some("13800138000"), Some("123456"), Some("password_reset")));
}

#[tokio::test]
async fn review_fixes_hold() {
    use dwt_org::xlsx::{import_orgs, sheet_from_rows, ORG_IMPORT_HEADERS};
    for t in databases().await {
        let settings = AuthSettings { sms: dwt_core::config::SmsSettings { min_interval_secs: 0, ..Default::default() }, ..Default::default() };
        let (core, sms) = core_with(&t.db, settings);
        let [gw, a, _a1, _a2, b, b1] = tree(&core).await;

        // An org admin of 党委A cannot pull 支部B1 into its subtree through a new org created
        // earlier in the same file, nor edit an organisation outside its subtree.
        let a_path = core.orgs.get(a).await.unwrap().path;
        let admin_a = dwt_org::Principal {
            user_id: 0,
            username: "a".into(),
            grants: vec![dwt_org::authz::Grant { role: Role::OrgAdmin, org_id: a, org_name: String::new(), org_path: a_path.clone() }],
        };
        let file = sheet_from_rows(ORG_IMPORT_HEADERS, &[vec!["NEW-1", "新支部", "党支部", "T-A"], vec!["T-B1", "支部B1", "党支部", "NEW-1"]]).unwrap();
        let r = import_orgs(&core.orgs, &admin_a, &file, &Default::default()).await.unwrap();
        assert_eq!(r.errors.iter().map(|e| e.row).collect::<Vec<_>>(), vec![3], "{:?} ({})", r.errors, t.name);
        assert_eq!(core.orgs.get(b1).await.unwrap().parent_id, Some(b), "B1 did not move");
        // A cycle through a planned parent is refused too (system admin).
        let sys = dwt_org::Principal {
            user_id: 0,
            username: "s".into(),
            grants: vec![dwt_org::authz::Grant { role: Role::SysAdmin, org_id: gw, org_name: String::new(), org_path: format!("/{gw}/") }],
        };
        let file = sheet_from_rows(ORG_IMPORT_HEADERS, &[vec!["NEW-2", "新支部", "党支部", "T-B1"], vec!["T-B", "党委B", "党委", "NEW-2"]]).unwrap();
        let r = import_orgs(&core.orgs, &sys, &file, &Default::default()).await.unwrap();
        assert!(r.errors.iter().any(|e| e.row == 3 && e.message.contains("下级")), "{:?}", r.errors);

        // Password reset checks the code before anything else: a guess equal to the current
        // password answers exactly like any other guess without the code.
        let uid = user(&core, "victim", Some("13100131000"), &[(Role::Member, gw)], false).await;
        let e = core.auth.reset_password("victim", "000000", "Dwt#Demo2026", None).await.unwrap_err();
        assert_eq!(e.code(), "auth.sms_invalid", "{e}");
        // Parallel wrong guesses cannot exceed the attempt limit.
        core.auth.send_reset_code("victim", None).await.unwrap();
        let code = sms.last_code();
        let wrong = if code == "999999" { "888888" } else { "999999" };
        let guesses = (0..12).map(|_| core.auth.reset_password("victim", wrong, "Hx7#kq2Lm", None));
        for r in futures::future::join_all(guesses).await {
            assert_eq!(r.unwrap_err().code(), "auth.sms_invalid");
        }
        let attempts: i64 = sqlx::query("SELECT MAX(attempts) AS n FROM sms_codes WHERE user_id = $1").bind(uid).fetch_one(t.db.pool()).await.map(|r| sqlx::Row::get(&r, "n")).unwrap();
        assert_eq!(attempts, 5, "{}", t.name);
        assert_eq!(core.auth.reset_password("victim", &code, "Hx7#kq2Lm", None).await.unwrap_err().code(), "auth.sms_invalid");
        // Reset requests answer the same for unknown users, and count against the IP.
        core.auth.send_reset_code("nobody-here", Some("10.1.1.1")).await.unwrap();
        let n: i64 = sqlx::query("SELECT COUNT(*) AS n FROM sms_codes WHERE client_ip = '10.1.1.1'").fetch_one(t.db.pool()).await.map(|r| sqlx::Row::get(&r, "n")).unwrap();
        assert_eq!(n, 1);

        // After a lock expires, one more wrong password does not lock again at once.
        for _ in 0..5 {
            let _ = core.auth.login("victim", "bad-guess", None).await;
        }
        assert!(matches!(core.auth.login("victim", "Dwt#Demo2026", None).await.unwrap_err(), CoreError::Locked { .. }));
        sqlx::query("UPDATE users SET locked_until = '2000-01-01T00:00:00Z' WHERE id = $1").bind(uid).execute(t.db.pool()).await.unwrap();
        assert!(matches!(core.auth.login("victim", "bad-guess", None).await.unwrap_err(), CoreError::InvalidCredentials), "{}", t.name);
        session(&core, "victim", "Dwt#Demo2026").await;
    }
}

#[test]
fn a_sheet_naming_a_far_cell_is_refused_without_allocating_the_grid() {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "组织编码").unwrap();
    ws.write_string(1_000_000, 16_000, "x").unwrap();
    let bytes = wb.save_to_buffer().unwrap();
    let e = dwt_org::xlsx::read_sheet(&bytes).unwrap_err();
    assert!(e.to_string().contains("表格过大"), "{e}");
}
