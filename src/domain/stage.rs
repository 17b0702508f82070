//! The stage final (决赛) of a 业务比武: rounds of the Chinese 知识竞赛 format for teams on
//! stage — 必答 (each team answers its own questions in turn), 抢答 (a buzzer race), 风险 (a team
//! stakes points on a difficulty it picks) — and judged rounds (技能比武) scored by a panel.
//!
//! Pure: the conductor brings what happened (buzzes with the server's receive times, the
//! host's rulings, the stakes chosen, the judges' marks) and these rules say who answers, what
//! it is worth and where every team stands. Every score change is an [`Change`] with its reason,
//! so the records can hold each one and the standings can be recomputed from them.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The kinds of round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundKind {
    /// 必答题: question `i` of the round belongs to team `i mod n` in the stage order.
    Compulsory,
    /// 抢答题: the first buzz after the question opens answers.
    Buzzer,
    /// 风险题: each team in turn picks a stake and answers a question of that stake.
    Risk,
    /// 技能比武: a panel of judges marks each team against weighted criteria.
    Judged,
}

impl RoundKind {
    pub fn name_zh(self) -> &'static str {
        match self {
            RoundKind::Compulsory => "必答题",
            RoundKind::Buzzer => "抢答题",
            RoundKind::Risk => "风险题",
            RoundKind::Judged => "评分题",
        }
    }
}

/// What a wrong answer costs in a 风险 round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskCost {
    /// The whole stake (the usual rule: right +stake, wrong −stake).
    Stake,
    /// Half the stake, rounded down.
    Half,
    /// Nothing: only a right answer counts.
    Nothing,
}

/// A judged round's criterion: marks from 0 to `max`, weighing `weight` in the judge's total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Criterion {
    pub name: String,
    pub max: u32,
    pub weight: u32,
}

/// The rules of one round, as the host sets them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundRules {
    pub kind: RoundKind,
    /// Points for a right answer (必答, 抢答).
    #[serde(default = "ten")]
    pub right: i64,
    /// Points taken for a wrong answer or no answer in time (必答, 抢答); 0 for none.
    #[serde(default)]
    pub wrong: i64,
    /// Seconds to answer once a team has the question.
    #[serde(default = "thirty")]
    pub answer_s: u32,
    /// 抢答: points taken for a buzz before the question opens.
    #[serde(default)]
    pub false_start: i64,
    /// 抢答: after a wrong answer the question goes to the next team that buzzed (in receive
    /// order, false starters and teams that answered it already left out).
    #[serde(default)]
    pub pass_on_wrong: bool,
    /// 风险: the stakes offered, e.g. 10 / 20 / 30.
    #[serde(default)]
    pub stakes: Vec<i64>,
    /// 风险: what a wrong answer costs.
    #[serde(default = "stake")]
    pub risk_cost: RiskCost,
    /// Judged: the criteria.
    #[serde(default)]
    pub criteria: Vec<Criterion>,
    /// Judged: drop the highest and the lowest total when at least this many judges marked
    /// (5 by default; 0 never trims).
    #[serde(default = "five")]
    pub trim_from: u32,
    /// 必答, 抢答, 风险: the team answers on its device (graded by the key) instead of aloud
    /// (ruled by the host); the host may still rule, for a device that fails.
    #[serde(default)]
    pub on_device: bool,
    /// Judged: who speaks for each team, by team in stage order (member ids), when the round
    /// judges one contestant per team (a mock reception, a case analysis) rather than the
    /// team as a whole. The panel's score still goes to the team.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contestants: Vec<String>,
}

fn ten() -> i64 {
    10
}
fn thirty() -> u32 {
    30
}
fn five() -> u32 {
    5
}
fn stake() -> RiskCost {
    RiskCost::Stake
}

impl RoundRules {
    /// The rules are usable, or what is wrong with them in the host's words.
    pub fn check(&self) -> Result<(), String> {
        if !(0..=10_000).contains(&self.right) || !(0..=10_000).contains(&self.wrong) {
            return Err("答对、答错的分值应在 0–10000 之间".into());
        }
        if !(0..=10_000).contains(&self.false_start) {
            return Err("抢跑扣分应在 0–10000 之间".into());
        }
        if !(5..=600).contains(&self.answer_s) {
            return Err("答题时间应为 5–600 秒".into());
        }
        match self.kind {
            RoundKind::Risk
                if self.stakes.is_empty()
                    || self.stakes.iter().any(|s| !(1..=10_000).contains(s)) =>
            {
                return Err("风险题至少设一档分值，每档 1–10000 分".into());
            }
            RoundKind::Judged => {
                if self.on_device {
                    return Err("评分题没有设备作答".into());
                }
                if self.criteria.is_empty() {
                    return Err("评分标准至少设一项".into());
                }
                for c in &self.criteria {
                    if c.name.trim().is_empty() || c.max == 0 || c.max > 1000 || c.weight == 0 {
                        return Err(format!(
                            "评分标准「{}」：名称不能为空，满分应为 1–1000，权重应大于 0",
                            c.name
                        ));
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Who answers question `index` of a 必答 round among `teams` teams (in stage order).
pub fn compulsory_turn(index: usize, teams: usize) -> usize {
    index % teams.max(1)
}

/// One buzz as the server received it: the team, the server's receive time in microseconds
/// on the round's clock, and the receive sequence number (ties in time are decided by it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Buzz {
    pub team: usize,
    pub at_us: i64,
    pub seq: u64,
}

/// What the buzzes of one question decide.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Arbitration {
    /// Teams that buzzed at or after the opening, each once (its first buzz), in the order
    /// the server received them: the first one answers.
    pub order: Vec<usize>,
    /// Teams whose first buzz came before the opening (each counted once): they are penalised
    /// and may not answer this question.
    pub false_starts: Vec<usize>,
}

impl Arbitration {
    pub fn winner(&self) -> Option<usize> {
        self.order.first().copied()
    }
}

/// Decides a buzz race: the question opened at `open_us` on the server's clock; a buzz
/// received before it is a false start; among the others the first received wins, the
/// receive sequence deciding equal times. A team's later buzzes change nothing.
pub fn arbitrate(open_us: i64, buzzes: &[Buzz]) -> Arbitration {
    let mut sorted: Vec<Buzz> = buzzes.to_vec();
    sorted.sort_by_key(|b| (b.at_us, b.seq));
    let mut out = Arbitration::default();
    for b in sorted {
        if out.order.contains(&b.team) || out.false_starts.contains(&b.team) {
            continue;
        }
        if b.at_us < open_us {
            out.false_starts.push(b.team);
        } else {
            out.order.push(b.team);
        }
    }
    out
}

/// The host's ruling on a spoken answer (or the answer pad's grading).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ruling {
    Right,
    Wrong,
    /// No answer in the time given.
    Timeout,
}

/// Why a team's score changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Why {
    Answer {
        ruling: Ruling,
        /// What the team entered on its device, when it answered there (graded by the key).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        given: Option<String>,
    },
    FalseStart,
    Stake {
        stake: i64,
        ruling: Ruling,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        given: Option<String>,
    },
    Judged {
        milli: i64,
    },
}

/// One score change of one team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub team: usize,
    pub delta: i64,
    #[serde(flatten)]
    pub why: Why,
}

impl Change {
    /// The change in thousandths of a point: a panel's exact score, or whole points.
    pub fn milli(&self) -> i64 {
        match self.why {
            Why::Judged { milli } => milli,
            _ => self.delta * 1000,
        }
    }
}

fn answer_delta(rules: &RoundRules, ruling: Ruling) -> i64 {
    match ruling {
        Ruling::Right => rules.right,
        Ruling::Wrong | Ruling::Timeout => -rules.wrong,
    }
}

/// The changes of one 必答 or 抢答 answer.
pub fn answer(rules: &RoundRules, team: usize, ruling: Ruling) -> Change {
    Change {
        team,
        delta: answer_delta(rules, ruling),
        why: Why::Answer {
            ruling,
            given: None,
        },
    }
}

/// The penalties of a buzz race's false starts (none when the rule sets no penalty).
pub fn false_starts(rules: &RoundRules, a: &Arbitration) -> Vec<Change> {
    a.false_starts
        .iter()
        .map(|&team| Change {
            team,
            delta: -rules.false_start,
            why: Why::FalseStart,
        })
        .collect()
}

/// Who answers a 抢答 question next after the teams in `answered` were ruled wrong: the next
/// team in the race's order, if the rule passes the question on; `None` closes the question.
pub fn next_in_race(rules: &RoundRules, a: &Arbitration, answered: &[usize]) -> Option<usize> {
    if answered.is_empty() {
        return a.winner();
    }
    if !rules.pass_on_wrong {
        return None;
    }
    a.order.iter().copied().find(|t| !answered.contains(t))
}

/// The change of a 风险 answer: `stake` must be one the round offers.
pub fn risk(rules: &RoundRules, team: usize, stake: i64, ruling: Ruling) -> Result<Change, String> {
    if !rules.stakes.contains(&stake) {
        return Err(format!("本轮没有 {stake} 分这一档"));
    }
    let delta = match (ruling, rules.risk_cost) {
        (Ruling::Right, _) => stake,
        (_, RiskCost::Stake) => -stake,
        (_, RiskCost::Half) => -(stake / 2),
        (_, RiskCost::Nothing) => 0,
    };
    Ok(Change {
        team,
        delta,
        why: Why::Stake {
            stake,
            ruling,
            given: None,
        },
    })
}

/// One judge's total for one team, in thousandths of a point: Σ mark / max × weight. Marks
/// must be one per criterion and within 0–max.
pub fn judge_total(criteria: &[Criterion], marks: &[u32]) -> Result<i64, String> {
    if marks.len() != criteria.len() {
        return Err(format!(
            "应为 {} 项评分，实为 {} 项",
            criteria.len(),
            marks.len()
        ));
    }
    let mut milli = 0i64;
    for (c, &m) in criteria.iter().zip(marks) {
        if m > c.max {
            return Err(format!("「{}」满分 {}，给了 {m}", c.name, c.max));
        }
        // Rounded to the nearest thousandth once per criterion.
        milli += (i64::from(m) * i64::from(c.weight) * 1000 * 2 + i64::from(c.max))
            / (2 * i64::from(c.max));
    }
    Ok(milli)
}

/// The panel's score from the judges' totals (thousandths): with at least `trim_from` judges
/// (and `trim_from` > 0) the highest and the lowest are dropped; the mean of the rest,
/// rounded to the nearest thousandth. `None` without any total.
pub fn panel_score(totals: &[i64], trim_from: u32) -> Option<i64> {
    if totals.is_empty() {
        return None;
    }
    let mut t = totals.to_vec();
    t.sort_unstable();
    let kept: &[i64] = if trim_from > 0 && t.len() >= trim_from as usize && t.len() >= 3 {
        &t[1..t.len() - 1]
    } else {
        &t
    };
    let sum: i64 = kept.iter().sum();
    let n = kept.len() as i64;
    Some((2 * sum + n).div_euclid(2 * n))
}

/// A team's place on the scoreboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    pub team: usize,
    /// In thousandths of a point (judged rounds give fractions).
    pub score_milli: i64,
    /// 1-based; equal scores share a rank.
    pub rank: u32,
    /// The last change, for the screen's "+10".
    pub last_delta_milli: Option<i64>,
}

/// The scoreboard: each team's base score plus its changes (judged changes in thousandths,
/// the others in points), ranked by score; equal scores share a rank, listed in stage order.
pub fn standings(base: &[i64], changes: &[Change]) -> Vec<Standing> {
    let mut score: Vec<i64> = base.iter().map(|b| b * 1000).collect();
    let mut last: HashMap<usize, i64> = HashMap::new();
    for c in changes {
        let milli = c.milli();
        if let Some(s) = score.get_mut(c.team) {
            *s += milli;
            last.insert(c.team, milli);
        }
    }
    let mut order: Vec<usize> = (0..score.len()).collect();
    order.sort_by(|&a, &b| score[b].cmp(&score[a]).then(a.cmp(&b)));
    let mut out: Vec<Standing> = Vec::with_capacity(order.len());
    for (i, &team) in order.iter().enumerate() {
        let rank = match out.last() {
            Some(prev) if prev.score_milli == score[team] => prev.rank,
            _ => i as u32 + 1,
        };
        out.push(Standing {
            team,
            score_milli: score[team],
            rank,
            last_delta_milli: last.get(&team).copied(),
        });
    }
    out
}

/// The change a judged round makes for one team: the panel's score.
pub fn judged(team: usize, panel_milli: i64) -> Change {
    Change {
        team,
        delta: panel_milli / 1000,
        why: Why::Judged { milli: panel_milli },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng, rngs::StdRng};

    fn rules(kind: RoundKind) -> RoundRules {
        serde_json::from_value(serde_json::json!({"kind": kind})).unwrap()
    }

    #[test]
    fn defaults_are_the_usual_contest_rules_and_bad_rules_are_named() {
        let r = rules(RoundKind::Compulsory);
        assert_eq!((r.right, r.wrong, r.answer_s, r.trim_from), (10, 0, 30, 5));
        assert_eq!(r.risk_cost, RiskCost::Stake);
        assert!(r.check().is_ok());
        let risk = rules(RoundKind::Risk);
        assert!(risk.check().unwrap_err().contains("风险题"));
        let judged = rules(RoundKind::Judged);
        assert!(judged.check().unwrap_err().contains("评分标准"));
        let mut bad = rules(RoundKind::Buzzer);
        bad.answer_s = 2;
        assert!(bad.check().unwrap_err().contains("答题时间"));
    }

    #[test]
    fn compulsory_questions_go_round_the_teams_in_stage_order() {
        let turns: Vec<usize> = (0..7).map(|i| compulsory_turn(i, 3)).collect();
        assert_eq!(turns, [0, 1, 2, 0, 1, 2, 0]);
        let mut r = rules(RoundKind::Compulsory);
        r.wrong = 5;
        let changes = vec![
            answer(&r, 0, Ruling::Right),
            answer(&r, 1, Ruling::Wrong),
            answer(&r, 2, Ruling::Timeout),
        ];
        let board = standings(&[100, 100, 100], &changes);
        let by_team: HashMap<usize, i64> = board
            .iter()
            .map(|s| (s.team, s.score_milli / 1000))
            .collect();
        assert_eq!(by_team[&0], 110);
        assert_eq!(by_team[&1], 95);
        assert_eq!(by_team[&2], 95);
        // Equal scores share the rank.
        assert_eq!(board.iter().map(|s| s.rank).collect::<Vec<_>>(), [1, 2, 2]);
        assert_eq!(board[0].last_delta_milli, Some(10_000));
    }

    #[test]
    fn the_first_buzz_after_the_opening_wins_and_early_ones_are_false_starts() {
        let open = 1_000_000;
        let buzzes = [
            Buzz {
                team: 2,
                at_us: open + 1_500,
                seq: 4,
            },
            Buzz {
                team: 0,
                at_us: open - 200,
                seq: 1,
            }, // false start
            Buzz {
                team: 1,
                at_us: open + 1_500,
                seq: 3,
            }, // same time as team 2, received first
            Buzz {
                team: 0,
                at_us: open + 10,
                seq: 5,
            }, // after its false start: ignored
            Buzz {
                team: 3,
                at_us: open + 900,
                seq: 2,
            },
            Buzz {
                team: 3,
                at_us: open + 2_000,
                seq: 6,
            }, // a second buzz changes nothing
        ];
        let a = arbitrate(open, &buzzes);
        assert_eq!(a.order, [3, 1, 2]);
        assert_eq!(a.false_starts, [0]);
        assert_eq!(a.winner(), Some(3));
        let mut r = rules(RoundKind::Buzzer);
        r.false_start = 5;
        assert_eq!(
            false_starts(&r, &a),
            [Change {
                team: 0,
                delta: -5,
                why: Why::FalseStart
            }]
        );
        // Passing on after wrong answers, in race order; without the rule the question closes.
        assert_eq!(next_in_race(&r, &a, &[]), Some(3));
        assert_eq!(next_in_race(&r, &a, &[3]), None);
        r.pass_on_wrong = true;
        assert_eq!(next_in_race(&r, &a, &[3]), Some(1));
        assert_eq!(next_in_race(&r, &a, &[3, 1]), Some(2));
        assert_eq!(next_in_race(&r, &a, &[3, 1, 2]), None);
    }

    #[test]
    fn arbitration_matches_receive_order_for_planted_near_simultaneous_buzzes() {
        // Ten teams buzzing within a few microseconds, in a shuffled arrival: the winner and
        // the order are those of (time, sequence), computed here independently.
        let mut rng = StdRng::seed_from_u64(11);
        for _ in 0..200 {
            let open = 5_000_000i64;
            let mut buzzes: Vec<Buzz> = (0..10)
                .map(|team| Buzz {
                    team,
                    at_us: open + rng.random_range(-3..5),
                    seq: 0,
                })
                .collect();
            use rand::seq::SliceRandom;
            buzzes.shuffle(&mut rng);
            for (i, b) in buzzes.iter_mut().enumerate() {
                b.seq = i as u64;
            }
            let a = arbitrate(open, &buzzes);
            let mut expected: Vec<&Buzz> = buzzes.iter().filter(|b| b.at_us >= open).collect();
            expected.sort_by(|x, y| x.at_us.cmp(&y.at_us).then(x.seq.cmp(&y.seq)));
            let expected: Vec<usize> = expected.iter().map(|b| b.team).collect();
            assert_eq!(a.order, expected);
            let early = buzzes.iter().filter(|b| b.at_us < open).count();
            assert_eq!(a.false_starts.len(), early);
        }
    }

    #[test]
    fn a_stake_is_won_or_lost_by_the_rule() {
        let mut r = rules(RoundKind::Risk);
        r.stakes = vec![10, 20, 30];
        assert_eq!(risk(&r, 1, 20, Ruling::Right).unwrap().delta, 20);
        assert_eq!(risk(&r, 1, 30, Ruling::Wrong).unwrap().delta, -30);
        r.risk_cost = RiskCost::Half;
        assert_eq!(risk(&r, 1, 30, Ruling::Timeout).unwrap().delta, -15);
        r.risk_cost = RiskCost::Nothing;
        assert_eq!(risk(&r, 1, 10, Ruling::Wrong).unwrap().delta, 0);
        assert!(risk(&r, 1, 25, Ruling::Right).unwrap_err().contains("25"));
    }

    #[test]
    fn judges_totals_and_the_trimmed_mean() {
        let criteria = vec![
            Criterion {
                name: "政策把握".into(),
                max: 10,
                weight: 40,
            },
            Criterion {
                name: "沟通表达".into(),
                max: 10,
                weight: 30,
            },
            Criterion {
                name: "处置规范".into(),
                max: 20,
                weight: 30,
            },
        ];
        // 8/10·40 + 7/10·30 + 15/20·30 = 32 + 21 + 22.5 = 75.5
        assert_eq!(judge_total(&criteria, &[8, 7, 15]), Ok(75_500));
        assert!(
            judge_total(&criteria, &[8, 7])
                .unwrap_err()
                .contains("应为 3 项")
        );
        assert!(
            judge_total(&criteria, &[11, 7, 15])
                .unwrap_err()
                .contains("政策把握")
        );
        // Five judges: the highest and lowest are dropped.
        let five = [75_500, 90_000, 60_000, 80_000, 70_000];
        // (75.5 + 80 + 70) / 3 = 75.1666…, rounded to the nearest thousandth.
        assert_eq!(panel_score(&five, 5), Some(75_167));
        // Four judges: all count.
        let four = [75_500, 90_000, 60_000, 80_000];
        assert_eq!(panel_score(&four, 5), Some(76_375));
        // Rounded to the nearest thousandth: (1 + 2 + 2) / 3 = 1.667.
        assert_eq!(panel_score(&[1, 2, 2], 0), Some(2));
        assert_eq!(panel_score(&[], 5), None);
        // The panel's score moves the team by fractions of a point.
        let board = standings(&[100, 100], &[judged(1, 75_167)]);
        assert_eq!(board[0].team, 1);
        assert_eq!(board[0].score_milli, 175_167);
    }

    #[test]
    fn standings_are_the_base_plus_every_change() {
        // A whole final against an independent sum.
        let mut rng = StdRng::seed_from_u64(3);
        let base = [100, 100, 100, 100];
        let mut r = rules(RoundKind::Buzzer);
        r.wrong = 10;
        r.false_start = 5;
        let mut changes = Vec::new();
        let mut expected = base.map(|b| b * 1000);
        for _ in 0..60 {
            let team = rng.random_range(0..4);
            let c = match rng.random_range(0..3) {
                0 => answer(&r, team, Ruling::Right),
                1 => answer(&r, team, Ruling::Wrong),
                _ => Change {
                    team,
                    delta: -r.false_start,
                    why: Why::FalseStart,
                },
            };
            expected[team] += c.delta * 1000;
            changes.push(c);
        }
        let board = standings(&base, &changes);
        for s in &board {
            assert_eq!(s.score_milli, expected[s.team]);
        }
        assert!(
            board
                .windows(2)
                .all(|w| w[0].score_milli >= w[1].score_milli)
        );
    }
}
