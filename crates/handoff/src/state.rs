//! The consultation state machine. Every status change in the database is a compare-and-set
//! from the statuses this table allows, so an illegal transition cannot be written even by
//! concurrent requests.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Waiting for a staff member of the answering organisation.
    Pending,
    /// One staff member is answering it.
    Claimed,
    Answered,
    Closed,
    /// Moved up to the parent organisation (by staff or by the SLA), waiting there.
    Escalated,
    /// Handed to another organisation, waiting there.
    Transferred,
}

impl Status {
    pub const ALL: [Status; 6] = [Status::Pending, Status::Claimed, Status::Answered, Status::Closed, Status::Escalated, Status::Transferred];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Claimed => "claimed",
            Status::Answered => "answered",
            Status::Closed => "closed",
            Status::Escalated => "escalated",
            Status::Transferred => "transferred",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Pending => "待受理",
            Status::Claimed => "处理中",
            Status::Answered => "已答复",
            Status::Closed => "已结束",
            Status::Escalated => "已上报",
            Status::Transferred => "已转交",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Waiting in a queue, not yet claimed.
    pub fn is_waiting(self) -> bool {
        matches!(self, Status::Pending | Status::Escalated | Status::Transferred)
    }

    pub fn is_open(self) -> bool {
        self.is_waiting() || self == Status::Claimed
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transition {
    Claim,
    Release,
    Reply,
    Escalate,
    AutoEscalate,
    Transfer,
    Rate,
    Close,
    AutoClose,
}

impl Transition {
    pub const ALL: [Transition; 9] = [
        Transition::Claim,
        Transition::Release,
        Transition::Reply,
        Transition::Escalate,
        Transition::AutoEscalate,
        Transition::Transfer,
        Transition::Rate,
        Transition::Close,
        Transition::AutoClose,
    ];

    /// The event kind recorded on the timeline.
    pub fn kind(self) -> &'static str {
        match self {
            Transition::Claim => "claimed",
            Transition::Release => "released",
            Transition::Reply => "replied",
            Transition::Escalate => "escalated",
            Transition::AutoEscalate => "auto_escalated",
            Transition::Transfer => "transferred",
            Transition::Rate => "rated",
            Transition::Close => "closed",
            Transition::AutoClose => "auto_closed",
        }
    }

    /// The statuses this transition may start from.
    pub fn from(self) -> &'static [Status] {
        use Status::*;
        match self {
            Transition::Claim | Transition::AutoEscalate => &[Pending, Escalated, Transferred],
            Transition::Release | Transition::Reply => &[Claimed],
            Transition::Escalate | Transition::Transfer => &[Pending, Escalated, Transferred, Claimed],
            Transition::Rate | Transition::AutoClose => &[Answered],
            Transition::Close => &[Pending, Escalated, Transferred, Claimed, Answered],
        }
    }

    pub fn to(self) -> Status {
        match self {
            Transition::Claim => Status::Claimed,
            Transition::Release => Status::Pending,
            Transition::Reply => Status::Answered,
            Transition::Escalate | Transition::AutoEscalate => Status::Escalated,
            Transition::Transfer => Status::Transferred,
            Transition::Rate | Transition::Close | Transition::AutoClose => Status::Closed,
        }
    }
}

/// The status after `t` from `from`, or None when `t` is not allowed there.
pub fn next(from: Status, t: Transition) -> Option<Status> {
    t.from().contains(&from).then(|| t.to())
}

pub fn kind_label(kind: &str) -> &'static str {
    match kind {
        "requested" => "申请人工答复",
        "claimed" => "受理",
        "released" => "退回待受理",
        "replied" => "答复",
        "note" => "内部备注",
        "escalated" => "上报上级组织",
        "auto_escalated" => "超时自动上报",
        "transferred" => "转交",
        "rated" => "评价",
        "closed" => "结束",
        "auto_closed" => "自动结束",
        _ => "其他",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exhaustive over every (status, transition): closed is final, only a claim leads to
    /// claimed, only a reply to answered, and every allowed transition lands in its target.
    #[test]
    fn no_illegal_transition() {
        for from in Status::ALL {
            for t in Transition::ALL {
                match next(from, t) {
                    Some(to) => {
                        assert_ne!(from, Status::Closed, "closed is final ({t:?})");
                        assert_eq!(to, t.to());
                        if to == Status::Claimed {
                            assert!(t == Transition::Claim && from.is_waiting(), "{from:?} -{t:?}-> claimed");
                        }
                        if to == Status::Answered {
                            assert_eq!((from, t), (Status::Claimed, Transition::Reply));
                        }
                        if t == Transition::AutoEscalate {
                            assert!(from.is_waiting(), "the SLA never takes an item from the staff member answering it");
                        }
                    }
                    None => assert!(!t.from().contains(&from)),
                }
            }
        }
        // Everything open can still be closed; nothing leaves closed.
        for s in Status::ALL {
            assert_eq!(next(s, Transition::Close).is_some(), s != Status::Closed);
        }
        assert!(Transition::ALL.iter().all(|t| next(Status::Closed, *t).is_none()));
    }

    /// Random walks from pending only ever visit reachable states through allowed edges.
    #[test]
    fn random_walks_stay_legal() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..2000 {
            let mut s = Status::Pending;
            for _ in 0..20 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let t = Transition::ALL[(seed % Transition::ALL.len() as u64) as usize];
                if let Some(n) = next(s, t) {
                    assert!(t.from().contains(&s));
                    s = n;
                }
            }
        }
    }
}
