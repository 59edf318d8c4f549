//! `dangwutong demo seed`: a small realistic organisation tree, members, and one admin and one
//! staff user per level, so a newcomer can try every role in a minute. Idempotent: existing
//! organisations (by code) and users (by username) are left as they are.

use crate::audit::Actor;
use crate::auth::NewUserInput;
use crate::authz::Role;
use crate::members::MemberInput;
use crate::orgs::OrgInput;
use crate::{validate, Core, CoreError};

/// Every demo account's password (meets the admin policy).
pub const DEMO_PASSWORD: &str = "Dwt#Demo2026";

#[derive(Debug, Clone)]
pub struct DemoAccount {
    pub username: String,
    pub role: Role,
    pub org_name: String,
    pub created: bool,
}

/// (code, name, type, parent code, leader, phone)
const ORGS: [(&str, &str, &str, &str, &str, &str); 7] = [
    ("GW01", "示范市直机关工委", "工委", "", "王建国", "010-66001001"),
    ("DW01", "市教育局党委", "党委", "GW01", "李明华", "010-66002001"),
    ("DW02", "市卫健委党委", "党委", "GW01", "赵卫东", "010-66003001"),
    ("ZB01", "第一中学党支部", "党支部", "DW01", "陈晓燕", "010-66002101"),
    ("ZB02", "第二中学党支部", "党支部", "DW01", "刘志强", "010-66002201"),
    ("ZB03", "市人民医院党支部", "党支部", "DW02", "孙丽娟", "010-66003101"),
    ("ZB04", "疾控中心党支部", "党支部", "DW02", "周国平", "010-66003201"),
];

/// (username, display name, role, org code, phone)
const USERS: [(&str, &str, Role, &str, &str); 10] = [
    ("sysadmin", "系统管理员", Role::SysAdmin, "GW01", "13800000001"),
    ("gw_admin", "工委管理员", Role::OrgAdmin, "GW01", "13800000002"),
    ("gw_staff", "工委答复员", Role::Staff, "GW01", "13800000003"),
    ("jy_admin", "教育局党委管理员", Role::OrgAdmin, "DW01", "13800000004"),
    ("jy_staff", "教育局党委答复员", Role::Staff, "DW01", "13800000005"),
    ("wj_admin", "卫健委党委管理员", Role::OrgAdmin, "DW02", "13800000006"),
    ("wj_staff", "卫健委党委答复员", Role::Staff, "DW02", "13800000007"),
    ("zb1_admin", "第一中学支部管理员", Role::OrgAdmin, "ZB01", "13800000008"),
    ("zb1_staff", "第一中学支部答复员", Role::Staff, "ZB01", "13800000009"),
    ("member1", "张红", Role::Member, "ZB01", "13900000001"),
];

/// (name, gender, birth yyyymmdd, area code, org code, status, join date, position)
type DemoMember = (&'static str, &'static str, &'static str, &'static str, &'static str, &'static str, &'static str, &'static str);
const MEMBERS: [DemoMember; 8] = [
    ("张红", "女", "19880312", "110105", "ZB01", "正式党员", "2010-07-01", "支部委员"),
    ("陈晓燕", "女", "19790521", "110105", "ZB01", "正式党员", "2002-06-18", "支部书记"),
    ("李强", "男", "19950809", "110108", "ZB01", "预备党员", "2025-12-20", ""),
    ("刘志强", "男", "19820117", "110101", "ZB02", "正式党员", "2005-05-04", "支部书记"),
    ("孙丽娟", "女", "19800630", "110102", "ZB03", "正式党员", "2003-07-01", "支部书记"),
    ("马军", "男", "19911102", "110106", "ZB03", "流动党员", "2014-10-10", ""),
    ("周国平", "男", "19760404", "110107", "ZB04", "正式党员", "1999-07-01", "支部书记"),
    ("吴静", "女", "19930225", "110109", "ZB04", "正式党员", "2016-06-30", "组织委员"),
];

pub async fn seed(core: &Core) -> Result<Vec<DemoAccount>, CoreError> {
    // Demo accounts share a published password: never add them beside real accounts.
    let demo_names: Vec<&str> = USERS.iter().map(|u| u.0).collect();
    let rows = sqlx::query("SELECT username FROM users").fetch_all(core.db.pool()).await?;
    for r in rows {
        let name: String = sqlx::Row::try_get(&r, "username")?;
        if !demo_names.contains(&name.as_str()) {
            return Err(CoreError::Conflict {
                code: "demo.real_accounts",
                message: format!("数据库中已有非演示账号（如 {name}），为安全起见不创建演示数据（演示账号的密码是公开的）"),
            });
        }
    }
    for (code, name, org_type, parent, leader, phone) in ORGS {
        if core.orgs.get_by_code(code).await?.is_some() {
            continue;
        }
        let parent_id = if parent.is_empty() { None } else { core.orgs.get_by_code(parent).await?.map(|o| o.id) };
        let input = OrgInput {
            name: name.into(),
            org_type: org_type.into(),
            code: code.into(),
            leader_name: Some(leader.into()),
            contact_phone: Some(phone.into()),
            address: None,
            lat: None,
            lng: None,
            sort_order: 0,
        };
        core.orgs.create(parent_id, &input).await?;
    }
    let mut member_ids = std::collections::HashMap::new();
    for (i, (name, gender, birth, area, org_code, status, join, position)) in MEMBERS.into_iter().enumerate() {
        let first17 = format!("{area}{birth}{:03}", 11 + 2 * i + usize::from(gender == "女"));
        let check = validate::id_check_char(&first17).unwrap_or('0');
        let id_number = format!("{first17}{check}");
        let existing = core.members.find_by_id_number(&id_number).await?;
        let id = match existing {
            Some(m) => m.id,
            None => {
                let Some(org) = core.orgs.get_by_code(org_code).await? else { continue };
                let input = MemberInput {
                    name: name.into(),
                    gender: Some(gender.into()),
                    ethnicity: Some("汉族".into()),
                    birth_date: None,
                    id_number: Some(id_number),
                    phone: Some(format!("1390000{:04}", i + 1)),
                    education: Some("大学本科".into()),
                    join_date: Some(join.into()),
                    full_member_date: None,
                    status: status.into(),
                    org_id: org.id,
                    party_position: (!position.is_empty()).then(|| position.to_string()),
                    work_unit: Some(org.name.replace("党支部", "")),
                    remarks: None,
                };
                core.members.create(&input).await?.id
            }
        };
        member_ids.insert(name, id);
    }
    let actor = Actor { id: None, name: Some("demo seed".into()), ip: None };
    let mut out = Vec::new();
    for (username, display, role, org_code, phone) in USERS {
        let Some(org) = core.orgs.get_by_code(org_code).await? else { continue };
        let created = if core.users.account_by_username(username).await?.is_none() {
            let member_id = if role == Role::Member { member_ids.get(display).copied() } else { None };
            let input = NewUserInput {
                username: username.into(),
                display_name: display.into(),
                phone: Some(phone.into()),
                password: DEMO_PASSWORD.into(),
                member_id,
                must_change_password: false,
                first_login_pending: false,
            };
            core.auth.create_user(input, &[(role, org.id)], &actor).await?;
            true
        } else {
            false
        };
        out.push(DemoAccount { username: username.into(), role, org_name: org.name, created });
    }
    Ok(out)
}
