//! What kind of answer a question asks for (a number, a duration, a permission …) and whether a
//! passage can give that kind of answer. Members ask 「退休党员党费按什么比例交」 and retrieval
//! finds 「按期交纳党费」: the words match, but a passage without a ratio cannot answer a
//! question asking for one. The same type decides whether a curated pair that is about the same
//! topic answers the question asked (多少 vs 后果).

use std::sync::OnceLock;

use regex::Regex;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionType {
    /// 多长时间 / 几年 / 期限.
    Duration,
    /// 多少 / 几名 / 比例 / 几岁.
    Number,
    /// 什么时候 / 从何时起.
    When,
    /// 在哪 / 地址 / 电话: regulations name no places.
    Place,
    /// 谁 / 哪个组织 / 由谁批准.
    Who,
    /// 会怎样 / 什么处分 / 后果.
    Consequence,
    /// 能不能 / 可以…吗 / 是否允许.
    Permission,
    /// 怎么办 / 流程 / 怎么写.
    Procedure,
    /// 哪些 / 包括什么 / 几种.
    List,
    /// 是什么 / 什么意思.
    Definition,
    Other,
}

impl QuestionType {
    /// How the 命中测试 page names the kind of answer asked for.
    pub fn zh(self) -> &'static str {
        match self {
            QuestionType::Duration => "多长时间",
            QuestionType::Number => "数量",
            QuestionType::When => "什么时候",
            QuestionType::Place => "在哪里",
            QuestionType::Who => "由谁",
            QuestionType::Consequence => "后果",
            QuestionType::Permission => "能不能",
            QuestionType::Procedure => "怎么办",
            QuestionType::List => "哪些",
            QuestionType::Definition => "是什么",
            QuestionType::Other => "一般问题",
        }
    }
}

/// The patterns are constants covered by the unit tests.
#[allow(clippy::expect_used)]
fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("static regex compiles"))
}

/// Checked in order: the first that matches decides (「多少年」 is a duration, not a number).
fn rules() -> &'static [(QuestionType, Regex)] {
    static R: OnceLock<Vec<(QuestionType, Regex)>> = OnceLock::new();
    R.get_or_init(|| {
        #[allow(clippy::expect_used)]
        let p = |t, s: &str| (t, Regex::new(s).expect("static regex compiles"));
        vec![
            p(QuestionType::Place, r"在哪|哪里|哪儿|地址|电话|怎么走|联系方式"),
            p(QuestionType::Duration, r"多久|多长时间|多长|几年|几个月|几天|多少年|多少天|多少个月|多少学时|几个学时|多少小时|期限|几届|任期"),
            p(QuestionType::When, r"什么时候|何时|哪天|哪一天|哪年|从.{0,6}(算|起)|起算|算起|几号"),
            p(QuestionType::Number, r"多少|几名|几个|几人|几位|几次|几岁|多大|比例|百分之|几成|几%|人数|数量|标准是"),
            p(QuestionType::Who, r"谁|哪个部门|哪个组织|哪个机关|哪一级|哪级|由哪|归哪|找哪|哪个单位"),
            p(QuestionType::Consequence, r"会怎|怎么处理|怎么处分|如何处理|后果|什么处分|哪种处分|受到什么|会被|会不会被|咋处理|处分吗"),
            p(QuestionType::Permission, r"能不能|可不可以|可以不|行不行|能否|是否可以|是否允许|允许|准不准|让不让|可以.*吗|能.*吗|能.*么|可以.*么|算不算|要不要|需不需要|必须.*吗"),
            p(QuestionType::Procedure, r"怎么办|如何|怎么|咋办|咋弄|咋整|流程|程序|步骤|手续|办法"),
            p(QuestionType::List, r"哪些|哪几|有什么|有啥|包括|几种|几类|都有"),
            p(QuestionType::Definition, r"是什么|什么是|啥是|指什么|什么意思|啥意思|是啥"),
        ]
    })
}

pub fn question_type(question: &str) -> QuestionType {
    rules().iter().find(|(_, r)| r.is_match(question)).map(|(t, _)| *t).unwrap_or(QuestionType::Other)
}

/// Every kind of answer a question asks for, in rule order (「可以退党吗？要经过什么程序？」
/// asks for a permission and a procedure); `[Other]` when none is recognised.
pub fn question_types(question: &str) -> Vec<QuestionType> {
    let found: Vec<QuestionType> = rules().iter().filter(|(_, r)| r.is_match(question)).map(|(t, _)| *t).collect();
    if found.is_empty() {
        vec![QuestionType::Other]
    } else {
        found
    }
}

/// True when some kind one question asks for agrees with some kind the other asks for.
pub fn any_types_agree(a: &[QuestionType], b: &[QuestionType]) -> bool {
    a.iter().any(|x| b.iter().any(|y| types_agree(*x, *y)))
}

fn duration_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"[0-9一二三四五六七八九十两半百]+\s*(个)?(年|月|日|天|周|小时|学时|个工作日|届)|期满|期限|任期|届满|每年|每月|每季度|每半年")
}

fn number_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"[0-9一二三四五六七八九十两百千万]+\s*(名|人|个|次|岁|%|％|倍|元|学时|年|天|日|月|票|项|种|类|以上|以下|以内)|百分之|分之|过半数|半数|多数|三分之")
}

fn when_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"之日|起算|算起|以前|以后|之前|之后|期间|届满|期满|时，|时应|[0-9一二三四五六七八九十]+(年|月|日)|每年|每月|定期|及时")
}

fn place_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"地址|路[0-9一二三四五六七八九十]+号|电话|[0-9]{7,}")
}

fn consequence_re() -> &'static Regex {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"处分|警告|撤销|留党察看|开除|除名|追究|责任|处理|批评|教育|脱党|限期改正|视为|给予|问责|通报")
}

/// True when `text` can give the kind of answer `t` asks for. Types without a clear textual
/// signal (permissions, procedures, lists, definitions) are always answerable here; their
/// answerability is left to the retrieval evidence.
pub fn passage_answers(t: QuestionType, text: &str) -> bool {
    match t {
        QuestionType::Duration => duration_re().is_match(text),
        QuestionType::Number => number_re().is_match(text),
        QuestionType::When => when_re().is_match(text) || duration_re().is_match(text),
        QuestionType::Place => place_re().is_match(text),
        QuestionType::Consequence => consequence_re().is_match(text),
        _ => true,
    }
}

/// Question types that two questions must share to be the same question: a curated pair on how
/// much 党费 is does not answer what happens when it is not paid. `Other` agrees with anything.
pub fn types_agree(a: QuestionType, b: QuestionType) -> bool {
    use QuestionType::*;
    let group = |t: QuestionType| match t {
        Duration | When => 1,
        Number => 2,
        Place => 3,
        Who => 4,
        Consequence => 5,
        Permission => 6,
        Procedure => 7,
        List | Definition => 8,
        Other => 0,
    };
    let (ga, gb) = (group(a), group(b));
    ga == 0 || gb == 0 || ga == gb
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_what_members_ask_for() {
        use QuestionType::*;
        let cases = [
            ("预备期要多久才能转正", Duration),
            ("支部委员会几年换一届", Duration),
            ("党龄从什么时候算", When),
            ("入党要几个介绍人", Number),
            ("退休党员党费按什么比例交", Number),
            ("党群服务中心在哪里", Place),
            ("处分决定由谁批准", Who),
            ("不交党费会怎么样", Consequence),
            ("预备党员能投票吗", Permission),
            ("组织关系转接怎么办", Procedure),
            ("党员有哪些义务", List),
            ("什么是民主集中制", Definition),
            ("党的最高理想", Other),
        ];
        for (q, t) in cases {
            assert_eq!(question_type(q), t, "{q}");
        }
    }

    #[test]
    fn passages_must_hold_the_kind_of_answer() {
        assert!(!passage_answers(QuestionType::Number, "党员必须按期交纳党费。"));
        assert!(passage_answers(QuestionType::Number, "申请入党的人，要有两名正式党员作介绍人。"));
        assert!(passage_answers(QuestionType::Duration, "预备党员的预备期为一年。"));
        assert!(!passage_answers(QuestionType::Duration, "党员要发挥先锋模范作用。"));
        assert!(!passage_answers(QuestionType::Place, "党组织应当为党员提供服务。"));
        assert!(passage_answers(QuestionType::Permission, "预备党员没有表决权。"));
    }

    #[test]
    fn amount_and_consequence_do_not_agree() {
        let amount = question_type("党费每个月交多少");
        let consequence = question_type("不交党费会怎么样");
        assert!(!types_agree(amount, consequence));
        assert!(types_agree(question_type("预备期多长"), question_type("预备期几年")));
        assert!(types_agree(QuestionType::Other, amount));
    }

    #[test]
    fn a_question_may_ask_for_several_kinds() {
        use QuestionType::*;
        let pair = question_types("党员可以退党吗？退党要经过什么程序？");
        assert!(pair.contains(&Permission) && pair.contains(&Procedure), "{pair:?}");
        assert!(any_types_agree(&question_types("退党咋办手续"), &pair));
        assert!(!any_types_agree(&question_types("党费每个月交多少"), &question_types("不交党费会怎么样")));
        assert_eq!(question_types("党的最高理想"), vec![Other]);
    }
}
