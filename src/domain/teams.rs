//! Team standings (团体成绩) of a competition or an exam: who a team is, how its score is
//! made from its members' scores, and the ranking. Pure: the caller brings the roster and the
//! individual scores.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// What the teams are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TeamBy {
    /// No team standings.
    #[default]
    None,
    /// Every section (处) of the roster is a team.
    Section,
    /// Every department (司室) of the roster is a team.
    Department,
    /// Teams the host names and fills (代表队).
    Named,
}

/// How a team's score is made from its members' scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TeamScore {
    /// The mean: a team's size does not decide.
    #[default]
    Mean,
    Sum,
}

/// The host's team rule, stored in the competition's or exam's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TeamRule {
    #[serde(default)]
    pub by: TeamBy,
    #[serde(default)]
    pub score: TeamScore,
    /// Members who did not take part count as 0 in the mean (only when the host says so).
    #[serde(default)]
    pub absent_as_zero: bool,
    /// How many teams are proposed as 优胜团队 (0: none).
    #[serde(default = "one")]
    pub winners: u32,
}

fn one() -> u32 {
    1
}

impl TeamRule {
    pub fn enabled(&self) -> bool {
        self.by != TeamBy::None
    }

    /// The kind of team as recorded with a team award.
    pub fn kind_id(&self) -> &'static str {
        match self.by {
            TeamBy::None => "none",
            TeamBy::Section => "section",
            TeamBy::Department => "department",
            TeamBy::Named => "named",
        }
    }
}

/// A team and everyone on it (members of the roster; guests are on no team).
#[derive(Debug, Clone, PartialEq)]
pub struct Team {
    /// Section id, department id or the named team's id.
    pub id: String,
    pub name: String,
    pub members: Vec<String>,
}

/// A team's place.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamStanding {
    pub id: String,
    pub name: String,
    /// Competition rank (ties share); `None` when nobody of the team took part and absent
    /// members do not count.
    pub rank: Option<u32>,
    /// The team's score in thousandths of a point (a mean need not be whole).
    pub score_milli: Option<i64>,
    /// Members whose scores the team score counted.
    pub counted: u32,
    /// Members who took part.
    pub took_part: u32,
    /// Members on the team.
    pub size: u32,
    /// The member ids that took part, for the award record.
    #[serde(skip)]
    pub participants: Vec<String>,
}

impl TeamStanding {
    /// The score as people read it: at most two decimals.
    pub fn score_display(&self) -> String {
        display_milli(self.score_milli)
    }
}

/// A team score in thousandths of a point as people read it: at most two decimals, `—`
/// without a score (also for scores kept with a team award).
pub fn display_milli(score_milli: Option<i64>) -> String {
    match score_milli {
        None => "—".into(),
        Some(m) => {
            let s = format!("{:.2}", m as f64 / 1000.0);
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        }
    }
}

/// Team standings from the members' scores (`scores`: member id → points, for those who took
/// part). Mean: the sum over those who took part divided by their number (or by the team's
/// size when absent members count as 0), rounded to a thousandth; sum: the sum over those who
/// took part. Teams are ranked by score, highest first; equal scores share a rank; teams
/// without a score come last, unranked, in name order.
pub fn standings(
    rule: &TeamRule,
    teams: &[Team],
    scores: &HashMap<String, i64>,
) -> Vec<TeamStanding> {
    let mut out: Vec<TeamStanding> = teams
        .iter()
        .map(|t| {
            let participants: Vec<String> = t
                .members
                .iter()
                .filter(|m| scores.contains_key(*m))
                .cloned()
                .collect();
            let sum: i64 = participants.iter().map(|m| scores[m]).sum();
            let took_part = participants.len() as u32;
            let size = t.members.len() as u32;
            let (score_milli, counted) = match rule.score {
                TeamScore::Sum => ((took_part > 0).then_some(sum * 1000), took_part),
                TeamScore::Mean => {
                    let n = if rule.absent_as_zero { size } else { took_part };
                    let score = (n > 0 && (took_part > 0 || rule.absent_as_zero))
                        .then(|| div_round(sum * 1000, i64::from(n)));
                    (score, n)
                }
            };
            TeamStanding {
                id: t.id.clone(),
                name: t.name.clone(),
                rank: None,
                score_milli,
                counted,
                took_part,
                size,
                participants,
            }
        })
        .collect();
    out.sort_by(|a, b| match (a.score_milli, b.score_milli) {
        (Some(x), Some(y)) => y.cmp(&x).then_with(|| a.name.cmp(&b.name)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.name.cmp(&b.name),
    });
    let mut previous: Option<i64> = None;
    let mut rank = 0;
    for (i, s) in out.iter_mut().enumerate() {
        let Some(score) = s.score_milli else { break };
        if previous != Some(score) {
            rank = i as u32 + 1;
            previous = Some(score);
        }
        s.rank = Some(rank);
    }
    out
}

/// Rounds `n / d` to the nearest integer, halves away from zero.
fn div_round(n: i64, d: i64) -> i64 {
    let q = n / d;
    let r = n % d;
    if 2 * r.abs() >= d.abs() {
        q + n.signum() * d.signum()
    } else {
        q
    }
}

/// The teams proposed as 优胜团队: the first `rule.winners` ranks (ties at the boundary
/// included).
pub fn winners<'a>(rule: &TeamRule, standings: &'a [TeamStanding]) -> Vec<&'a TeamStanding> {
    standings
        .iter()
        .filter(|s| s.rank.is_some_and(|r| r <= rule.winners))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn team(id: &str, members: &[&str]) -> Team {
        Team {
            id: id.into(),
            name: format!("队{id}"),
            members: members.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn scores(pairs: &[(&str, i64)]) -> HashMap<String, i64> {
        pairs.iter().map(|(m, s)| (m.to_string(), *s)).collect()
    }

    #[test]
    fn mean_ignores_size_and_absent_members_unless_told() {
        let teams = [team("a", &["a1", "a2", "a3", "a4"]), team("b", &["b1"])];
        let s = scores(&[("a1", 80), ("a2", 70), ("b1", 76)]);
        let rule = TeamRule::default();
        let st = standings(&rule, &teams, &s);
        // a: (80 + 70) / 2 = 75; b: 76.
        assert_eq!(st[0].id, "b");
        assert_eq!(st[0].score_milli, Some(76_000));
        assert_eq!(st[1].score_milli, Some(75_000));
        assert_eq!((st[1].took_part, st[1].counted, st[1].size), (2, 2, 4));
        let zero = TeamRule {
            absent_as_zero: true,
            ..rule
        };
        let st = standings(&zero, &teams, &s);
        // a: 150 / 4 = 37.5.
        let a = st.iter().find(|t| t.id == "a").unwrap();
        assert_eq!(a.score_milli, Some(37_500));
        assert_eq!(a.score_display(), "37.5");
        assert_eq!(a.rank, Some(2));
    }

    #[test]
    fn sum_ties_share_a_rank_and_empty_teams_come_last() {
        let teams = [
            team("a", &["a1", "a2"]),
            team("b", &["b1"]),
            team("c", &["c1"]),
        ];
        let s = scores(&[("a1", 30), ("a2", 20), ("b1", 50)]);
        let rule = TeamRule {
            by: TeamBy::Named,
            score: TeamScore::Sum,
            absent_as_zero: false,
            winners: 1,
        };
        let st = standings(&rule, &teams, &s);
        assert_eq!(
            st.iter()
                .map(|t| (t.id.as_str(), t.rank))
                .collect::<Vec<_>>(),
            [("a", Some(1)), ("b", Some(1)), ("c", None)]
        );
        assert_eq!(winners(&rule, &st).len(), 2);
    }

    #[test]
    fn thirds_round_to_the_nearest_thousandth() {
        let teams = [team("a", &["x", "y", "z"])];
        let s = scores(&[("x", 1), ("y", 1), ("z", 0)]);
        let st = standings(&TeamRule::default(), &teams, &s);
        assert_eq!(st[0].score_milli, Some(667));
        assert_eq!(st[0].score_display(), "0.67");
    }

    #[test]
    fn scores_read_with_at_most_two_decimals() {
        assert_eq!(display_milli(None), "—");
        assert_eq!(display_milli(Some(1_462_500)), "1462.5");
        assert_eq!(display_milli(Some(75_000)), "75");
        assert_eq!(display_milli(Some(0)), "0");
    }
}
