//! 小结点评: the facts of a section's period and the draft a head starts from.
//!
//! The draft only states what the records show — participation, accuracy and its change, who
//! improved, who fell behind, which topics are weak — in the order a review is written
//! (基本情况, 肯定成绩, 指出不足, 下一步). The head reads it, rewrites what they like and
//! publishes; nothing here is ever published on its own.

use serde::{Deserialize, Serialize};

/// A member whose accuracy rose from one period to the next.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub name: String,
    pub from: f64,
    pub to: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeakTopic {
    pub name: String,
    pub accuracy: f64,
    pub answers: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Laggard {
    pub name: String,
    pub drills: i64,
}

/// What the records say about a section's period; stored with the review it started.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Facts {
    pub section: String,
    pub from: String,
    pub to: String,
    pub members: i64,
    /// Members who answered at least one drill question in the period.
    pub active: i64,
    pub participation: Option<f64>,
    /// Drills the target asks of each member in the period, and how many met it.
    pub target: i64,
    pub met_target: i64,
    pub answers: i64,
    pub accuracy: Option<f64>,
    /// The accuracy of the period of the same length just before.
    pub previous_accuracy: Option<f64>,
    /// Most progress first.
    pub progress: Vec<Progress>,
    /// Met the target with the best accuracy, best first.
    pub leaders: Vec<String>,
    /// Lowest accuracy first.
    pub weak_topics: Vec<WeakTopic>,
    /// Did not meet the target, fewest drills first.
    pub laggards: Vec<Laggard>,
}

fn pct(r: f64) -> String {
    format!("{:.0}%", r * 100.0)
}

fn join(names: impl IntoIterator<Item = String>) -> String {
    names.into_iter().collect::<Vec<_>>().join("、")
}

/// The draft review of a period.
pub fn draft(f: &Facts) -> String {
    let mut paras = Vec::new();

    // 基本情况
    let mut basic = format!(
        "{}至{}，{}共有{}名同志，{}人参加岗位练兵",
        f.from, f.to, f.section, f.members, f.active
    );
    if let Some(p) = f.participation {
        basic += &format!("，参与率{}", pct(p));
    }
    basic += &format!(
        "；{}人达到练兵目标（本期每人{}次）。",
        f.met_target, f.target
    );
    if f.answers > 0 {
        basic += &format!("共答题{}道", f.answers);
        if let Some(a) = f.accuracy {
            basic += &format!("，正确率{}", pct(a));
            match f.previous_accuracy {
                Some(prev) => {
                    let change = ((a - prev) * 100.0).round() as i64;
                    basic += &match change {
                        0 => "，与上期持平".to_string(),
                        c if c > 0 => format!("，比上期提高{c}个百分点"),
                        c => format!("，比上期下降{}个百分点", -c),
                    };
                }
                None => basic += "（上期无练兵记录，暂无对比）",
            }
        }
        basic += "。";
    } else {
        basic += "本期没有练兵记录。";
    }
    paras.push(basic);

    // 肯定成绩
    let mut good = Vec::new();
    if !f.progress.is_empty() {
        good.push(format!(
            "{}进步明显",
            join(f.progress.iter().map(|p| format!(
                "{}（正确率由{}提高到{}）",
                p.name,
                pct(p.from),
                pct(p.to)
            )))
        ));
    }
    if !f.leaders.is_empty() {
        good.push(format!(
            "{}按时完成练兵，正确率领先",
            join(f.leaders.iter().cloned())
        ));
    }
    if good.is_empty() && f.active > 0 {
        good.push("参加练兵的同志保持了学习的连续性".to_string());
    }
    if !good.is_empty() {
        paras.push(format!("肯定成绩：{}。", good.join("；")));
    }

    // 指出不足
    let mut short = Vec::new();
    let (idle, behind): (Vec<&Laggard>, Vec<&Laggard>) =
        f.laggards.iter().partition(|l| l.drills == 0);
    if !idle.is_empty() {
        short.push(format!(
            "{}本期未参加练兵",
            join(idle.iter().map(|l| l.name.clone()))
        ));
    }
    if !behind.is_empty() {
        short.push(format!(
            "{}练兵次数未达到目标",
            join(
                behind
                    .iter()
                    .map(|l| format!("{}（{}次）", l.name, l.drills))
            )
        ));
    }
    if !f.weak_topics.is_empty() {
        short.push(format!(
            "{}是本处的薄弱环节",
            join(
                f.weak_topics
                    .iter()
                    .map(|w| format!("{}（正确率{}）", w.name, pct(w.accuracy)))
            )
        ));
    }
    if !short.is_empty() {
        paras.push(format!("指出不足：{}。", short.join("；")));
    }

    // 下一步
    let mut next = Vec::new();
    if !f.laggards.is_empty() {
        next.push("未达到目标的同志要合理安排时间，按时完成每周练兵");
    }
    if !f.weak_topics.is_empty() {
        next.push("全处围绕薄弱专题开展针对性练习，用好错题本");
    }
    if next.is_empty() {
        next.push("继续保持练兵节奏，巩固学习成果");
    }
    paras.push(format!("下一步：{}。", next.join("；")));
    paras.join("\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> Facts {
        Facts {
            section: "文秘处".into(),
            from: "2026-11-30".into(),
            to: "2026-12-06".into(),
            members: 6,
            active: 4,
            participation: Some(4.0 / 6.0),
            target: 3,
            met_target: 2,
            answers: 120,
            accuracy: Some(0.75),
            previous_accuracy: Some(0.70),
            progress: vec![Progress {
                name: "李晓雯".into(),
                from: 0.6,
                to: 0.8,
            }],
            leaders: vec!["王志强".into()],
            weak_topics: vec![WeakTopic {
                name: "信访业务".into(),
                accuracy: 0.55,
                answers: 40,
            }],
            laggards: vec![
                Laggard {
                    name: "赵宏伟".into(),
                    drills: 0,
                },
                Laggard {
                    name: "孙丽娜".into(),
                    drills: 1,
                },
            ],
        }
    }

    #[test]
    fn the_draft_states_the_facts_in_review_order() {
        let d = draft(&facts());
        assert!(
            d.starts_with("2026-11-30至2026-12-06，文秘处共有6名同志，4人参加岗位练兵，参与率67%")
        );
        assert!(d.contains("正确率75%，比上期提高5个百分点"));
        assert!(d.contains("李晓雯（正确率由60%提高到80%）进步明显"));
        assert!(d.contains("赵宏伟本期未参加练兵"));
        assert!(d.contains("孙丽娜（1次）练兵次数未达到目标"));
        assert!(d.contains("信访业务（正确率55%）是本处的薄弱环节"));
        let order: Vec<usize> = ["肯定成绩", "指出不足", "下一步"]
            .iter()
            .map(|h| d.find(h).unwrap())
            .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn a_quiet_period_says_so_without_inventing_praise() {
        let mut f = facts();
        f.active = 0;
        f.answers = 0;
        f.accuracy = None;
        f.progress.clear();
        f.leaders.clear();
        f.weak_topics.clear();
        let d = draft(&f);
        assert!(d.contains("本期没有练兵记录"));
        assert!(!d.contains("肯定成绩"));
        let mut f = facts();
        f.previous_accuracy = Some(0.80);
        assert!(draft(&f).contains("比上期下降5个百分点"));
        f.previous_accuracy = None;
        assert!(draft(&f).contains("上期无练兵记录"));
    }
}
