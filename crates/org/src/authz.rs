//! The one authorization layer. Every admin handler asks `Principal::require(action, org)`
//! (or `scope(action)` for lists) — no role checks anywhere else — so the authorization
//! matrix test covers every endpoint.
//!
//! Rights are grants of a role at an organisation; a grant applies to that organisation's
//! whole subtree (materialised path prefix).

use serde::Serialize;

use crate::CoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 党员
    Member,
    /// 答复人员: answers escalated questions.
    Staff,
    /// 组织管理员: manages members, users, Q&A and knowledge within an org subtree.
    OrgAdmin,
    /// 系统管理员
    SysAdmin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Member, Role::Staff, Role::OrgAdmin, Role::SysAdmin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Staff => "staff",
            Role::OrgAdmin => "org_admin",
            Role::SysAdmin => "sys_admin",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Member => "党员",
            Role::Staff => "答复人员",
            Role::OrgAdmin => "组织管理员",
            Role::SysAdmin => "系统管理员",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s || r.label() == s)
    }

    pub fn is_admin(self) -> bool {
        matches!(self, Role::OrgAdmin | Role::SysAdmin)
    }

    /// What this role may do inside the subtree it is granted on.
    fn allows(self, action: Action) -> bool {
        use Action::*;
        match self {
            Role::SysAdmin => true,
            Role::OrgAdmin => !matches!(action, GrantSysAdmin | CreateRootOrg | AuditView | CrawlManage | KnowledgeManage),
            Role::Staff => matches!(action, OrgView | MemberView | AnswerHandoff),
            Role::Member => false,
        }
    }
}

/// Everything a caller can ask to do on an organisation's subtree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    OrgView,
    /// Create children, edit, move within, dissolve, import.
    OrgManage,
    /// An organisation without a parent.
    CreateRootOrg,
    MemberView,
    MemberManage,
    /// See unmasked 身份证号 / 手机号 (each view is audit-logged).
    MemberViewPii,
    UserView,
    UserManage,
    GrantSysAdmin,
    /// Read the audit log (系统管理员 only: entries are not tied to one organisation).
    AuditView,
    /// Reply to escalated questions (the handoff queue).
    AnswerHandoff,
    /// Curate Q&A pairs (approve proposals from staff replies).
    QaManage,
    /// Crawler sources: view runs, run now, add article URLs (系统管理员 only: sources feed the
    /// whole knowledge base, not one organisation's).
    CrawlManage,
    /// Knowledge base curation: documents, chunk tuning, hit-testing (系统管理员: documents are
    /// shared by every organisation).
    KnowledgeManage,
}

/// One role granted at one organisation (with the organisation's path, resolved at login).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Grant {
    pub role: Role,
    pub org_id: i64,
    pub org_name: String,
    #[serde(skip)]
    pub org_path: String,
}

/// The authenticated caller.
#[derive(Debug, Clone, Serialize)]
pub struct Principal {
    pub user_id: i64,
    pub username: String,
    pub grants: Vec<Grant>,
}

impl Principal {
    /// May the caller do `action` on the organisation with this path?
    pub fn can(&self, action: Action, org_path: &str) -> bool {
        self.grants.iter().any(|g| g.role.allows(action) && org_path.starts_with(&g.org_path))
    }

    pub fn require(&self, action: Action, org_path: &str) -> Result<(), CoreError> {
        if self.can(action, org_path) {
            Ok(())
        } else {
            Err(CoreError::Forbidden)
        }
    }

    /// Actions not tied to one organisation (creating a root org, granting 系统管理员).
    pub fn can_anywhere(&self, action: Action) -> bool {
        self.grants.iter().any(|g| g.role.allows(action))
    }

    pub fn require_anywhere(&self, action: Action) -> Result<(), CoreError> {
        if self.can_anywhere(action) {
            Ok(())
        } else {
            Err(CoreError::Forbidden)
        }
    }

    /// The subtree roots (paths) where `action` is allowed, without nested duplicates.
    /// Empty = nowhere. Lists filter by these.
    pub fn scope(&self, action: Action) -> Vec<String> {
        let mut paths: Vec<String> = self.grants.iter().filter(|g| g.role.allows(action)).map(|g| g.org_path.clone()).collect();
        paths.sort();
        paths.dedup();
        let mut out: Vec<String> = Vec::new();
        for p in paths {
            if !out.iter().any(|q| p.starts_with(q.as_str())) {
                out.push(p);
            }
        }
        out
    }

    pub fn is_admin(&self) -> bool {
        self.grants.iter().any(|g| g.role.is_admin())
    }

    pub fn has_role(&self, role: Role) -> bool {
        self.grants.iter().any(|g| g.role == role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(grants: &[(Role, &str)]) -> Principal {
        Principal {
            user_id: 1,
            username: "u".into(),
            grants: grants.iter().map(|(r, p)| Grant { role: *r, org_id: 0, org_name: String::new(), org_path: p.to_string() }).collect(),
        }
    }

    #[test]
    fn grants_apply_to_the_subtree_only() {
        let p = principal(&[(Role::OrgAdmin, "/1/2/")]);
        assert!(p.can(Action::MemberManage, "/1/2/"));
        assert!(p.can(Action::MemberManage, "/1/2/7/"));
        assert!(!p.can(Action::MemberManage, "/1/"));
        assert!(!p.can(Action::MemberManage, "/1/3/"));
        // "/1/2/" must not match "/1/20/": paths end with a slash.
        assert!(!p.can(Action::MemberManage, "/1/20/"));
        assert!(!p.can_anywhere(Action::GrantSysAdmin));
    }

    #[test]
    fn staff_and_members_have_no_admin_rights() {
        let staff = principal(&[(Role::Staff, "/1/")]);
        assert!(staff.can(Action::OrgView, "/1/5/"));
        assert!(!staff.can(Action::MemberViewPii, "/1/5/"));
        assert!(!staff.can(Action::OrgManage, "/1/5/"));
        let member = principal(&[(Role::Member, "/1/")]);
        assert!(!member.can(Action::OrgView, "/1/"));
        assert!(member.scope(Action::OrgView).is_empty());
    }

    #[test]
    fn scope_drops_nested_roots() {
        let p = principal(&[(Role::OrgAdmin, "/1/2/"), (Role::OrgAdmin, "/1/2/5/"), (Role::Staff, "/1/3/"), (Role::OrgAdmin, "/4/")]);
        assert_eq!(p.scope(Action::MemberManage), vec!["/1/2/".to_string(), "/4/".to_string()]);
        assert_eq!(p.scope(Action::OrgView), vec!["/1/2/".to_string(), "/1/3/".to_string(), "/4/".to_string()]);
    }
}
